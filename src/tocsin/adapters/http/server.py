"""Serving the app with Hypercorn's trio worker, inside the caller's nursery.

`await nursery.start(serve_http, app, "127.0.0.1:9093", shutdown.wait)` binds, reports the
bound address through `task_status` (useful with port 0), serves until `shutdown_trigger`
returns, then stops accepting and gives requests in flight `graceful_timeout` to finish.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette

__all__ = ["is_loopback", "serve_http", "split_host_port"]

log = logging.getLogger("tocsin.http")


def split_host_port(listen: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` → (host, port). Raises `ValueError` with what is wrong."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {listen!r}: expected HOST:PORT (e.g. 127.0.0.1:9093)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_http(
    app: Starlette,
    listen: str,
    shutdown_trigger: Callable[[], Awaitable[None]],
    *,
    graceful_timeout: float = 5.0,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `listen` until `shutdown_trigger` returns. Raises `OSError` when the
    address cannot be bound. Reports `http://HOST:PORT` (the bound one) once listening."""
    host, port = split_host_port(listen)
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.graceful_timeout = graceful_timeout
    config.accesslog = None
    config.errorlog = logging.getLogger("tocsin.http.server")
    config.include_server_header = False
    # Hypercorn closes a keep-alive connection after 1,000 requests by default; Prometheus and
    # Alertmanager keep one connection open and would pay a reconnect every 1,000 batches.
    config.keep_alive_max_requests = 1_000_000

    async def started_with(task_status: trio.TaskStatus[list[str]]) -> None:
        await serve(
            app,  # type: ignore[arg-type]  # Starlette's ASGI types are looser than Hypercorn's
            config,
            shutdown_trigger=shutdown_trigger,
            task_status=task_status,
        )

    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(started_with)
        log.info("HTTP API listening on %s", ", ".join(binds))
        task_status.started(binds[0])
