"""Heartbeats (dead man's switches) over HTTP: beat, list, remove.

- `POST /api/v1/heartbeats/{name}` (role `ingest`: whatever can send alerts can beat — a cron
  job, a batch, another monitoring system): records a beat. The expected interval comes in the
  body, `{"interval": "5m"}`, or the query, `?interval=5m` (a Prometheus duration, or a number
  of seconds); it is required the first time and changes the heartbeat when different.
- `GET /api/v1/heartbeats` (role `read`): every heartbeat with its interval, last beat and
  whether it is missing.
- `DELETE /api/v1/heartbeats/{name}` (role `operate`): stop watching one; 404 if unknown.

A heartbeat that misses its interval raises `HeartbeatMissing` (see actors/selfmon.py). All of
them answer 503 when the daemon runs without self-monitoring.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin.actors.selfmon import SelfMonitor
from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext, json_body_object, read_body
from tocsin.adapters.http.errors import ApiError, json_response
from tocsin.adapters.http.ingest import jtype, parse_json
from tocsin.config.durations import DurationError, parse_duration
from tocsin.config.model import Role

__all__ = ["heartbeat_routes"]

_MAX_BODY = 4096
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def _interval(raw: Any) -> timedelta | None:
    """A Prometheus duration or a number of seconds; None when absent. Raises `ApiError`."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = float(raw)
        value = timedelta(seconds=seconds)
    elif isinstance(raw, str):
        try:
            value = timedelta(seconds=float(raw))
        except ValueError:
            try:
                value = parse_duration(raw)
            except DurationError as exc:
                raise ApiError(400, "invalid interval", str(exc)) from None
    else:
        raise ApiError(400, "invalid interval", f"expected a duration, got {jtype(raw)}")
    if value <= timedelta(0):
        raise ApiError(400, "invalid interval", "must be positive")
    return value


def _view(item: dict[str, Any]) -> dict[str, Any]:
    last = item["last_seen"]
    out = dict(item)
    if isinstance(last, datetime):
        out["last_seen"] = last.isoformat().replace("+00:00", "Z")
    return out


def heartbeat_routes(ctx: ApiContext) -> list[Route]:
    def monitor() -> SelfMonitor:
        rt = ctx.runtime()
        if rt.selfmon is None:
            raise ApiError(503, "self-monitoring is off", "this daemon does not watch heartbeats")
        return rt.selfmon

    def name_of(request: Request) -> str:
        name: str = request.path_params["name"]
        if not _NAME.fullmatch(name):
            raise ApiError(
                400, "invalid heartbeat name", "1 to 200 of A-Z a-z 0-9 _ . : - expected"
            )
        return name

    async def beat(request: Request, who: Principal) -> Response:
        name = name_of(request)
        body = await read_body(request, _MAX_BODY)
        data = json_body_object(parse_json(body), "heartbeat") if body.strip() else {}
        interval = _interval(data.get("interval", request.query_params.get("interval")))
        mon = monitor()
        try:
            await mon.beat(name, interval)
        except ValueError as exc:
            raise ApiError(400, "interval required", str(exc)) from None
        found = next(h for h in mon.heartbeats() if h["name"] == name)
        return json_response(_view(found))

    async def listing(request: Request, who: Principal) -> Response:
        return json_response({"heartbeats": [_view(h) for h in monitor().heartbeats()]})

    async def remove(request: Request, who: Principal) -> Response:
        name = name_of(request)
        try:
            await monitor().remove_heartbeat(name, who.name)
        except KeyError:
            raise ApiError(404, "unknown heartbeat", f"no heartbeat {name!r}") from None
        return json_response({"name": name, "removed": True})

    e = ctx.endpoint
    return [
        Route("/api/v1/heartbeats", e("heartbeats", Role.READ, listing), methods=["GET"]),
        Route(
            "/api/v1/heartbeats/{name}",
            e("heartbeat_beat", Role.INGEST, beat),
            methods=["POST"],
        ),
        Route(
            "/api/v1/heartbeats/{name}",
            e("heartbeat_remove", Role.OPERATE, remove),
            methods=["DELETE"],
        ),
    ]
