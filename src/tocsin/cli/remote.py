"""What every command that talks to a running daemon shares: `--url`, `--token`, `--output`,
an HTTP client that turns every failure into one line, and plain-text tables.

Failures: a command raises `CommandFailed` with the reason a person should read (daemon down,
bad token, missing role, unknown id, ...); `remote_command` prints it as one line on stderr,
`tocsin: error: <reason>`, and exits 1. Foreign exceptions (httpx's) are translated here, at
the boundary, and nowhere else.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from tocsin.logs import redact

__all__ = [
    "DEFAULT_URL",
    "Api",
    "CommandFailed",
    "api_from_args",
    "emit_json",
    "print_table",
    "remote_command",
    "remote_options",
]

DEFAULT_URL = "http://127.0.0.1:9093"


class CommandFailed(Exception):
    """The command could not do what was asked; `str()` is the one-line reason."""


def remote_options(json_output: bool = True) -> argparse.ArgumentParser:
    """A parent parser with the options of every command against a running daemon."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--url",
        default=os.environ.get("TOCSIN_URL") or DEFAULT_URL,
        help=f"the daemon's URL (default: $TOCSIN_URL, else {DEFAULT_URL})",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("TOCSIN_TOKEN") or None,
        help="bearer token (default: $TOCSIN_TOKEN; none when the daemon has no tokens)",
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per HTTP request (default: 10)"
    )
    if json_output:
        p.add_argument(
            "-o",
            "--output",
            choices=["table", "json"],
            default="table",
            help="table (default, for people) or json (for scripts)",
        )
    return p


class Api:
    """A synchronous client for one daemon. Every method raises `CommandFailed`."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.has_token = bool(token)
        self._client = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.url = redact(url)  # for messages: no user:password@ of a URL

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Iterable[int] = (),
    ) -> httpx.Response:
        """Send a request; a status outside 2xx (and `allow`) raises `CommandFailed`."""
        if json is not None:
            content = orjson.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            response = self._client.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.ConnectError as exc:
            raise CommandFailed(
                f"cannot reach Tocsin at {self.url} ({_short(exc)}): is `tocsin run` running "
                "there? (set --url or $TOCSIN_URL)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise CommandFailed(f"{method} {path}: no answer from {self.url} in time") from exc
        except httpx.HTTPError as exc:
            raise CommandFailed(f"{method} {path} to {self.url} failed: {_short(exc)}") from exc
        if response.is_success or response.status_code in set(allow):
            return response
        raise CommandFailed(self._refusal(method, path, response))

    def get(self, path: str, **kw: Any) -> Any:
        return _json(self.request("GET", path, **kw))

    def post(self, path: str, **kw: Any) -> Any:
        return _json(self.request("POST", path, **kw))

    def delete(self, path: str, **kw: Any) -> Any:
        return _json(self.request("DELETE", path, **kw))

    def _refusal(self, method: str, path: str, response: httpx.Response) -> str:
        status = response.status_code
        error, detail = _error_of(response)
        if status == 401 and not self.has_token:
            return (
                f"the daemon at {self.url} requires a token (401 {error}): "
                "pass one with --token or $TOCSIN_TOKEN"
            )
        if status == 401:
            return (
                f"the daemon at {self.url} refused the token (401 {error}): "
                "pass a valid one with --token or $TOCSIN_TOKEN"
            )
        if status == 403:
            return f"not allowed (403): {detail or error}"
        reason = f"{error}: {detail}" if detail and detail != error else error or "(no detail)"
        return f"{method} {path}: {status} {reason}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """The (error, detail) of an error answer: Tocsin's `{"error", "detail"}` objects, the
    bare strings of Alertmanager-compatible routes, or the text."""
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or str(response.status_code), response.text.strip()[:300]
    if isinstance(data, dict):
        detail = data.get("detail", "")
        if not isinstance(detail, str):
            detail = orjson.dumps(detail).decode()
        return str(data.get("error", response.reason_phrase)), detail
    return response.reason_phrase, str(data)[:300]


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def api_from_args(args: argparse.Namespace) -> Api:
    return Api(args.url, args.token, args.timeout)


def remote_command(
    fn: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Run a command; a `CommandFailed` becomes one line on stderr and exit status 1."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except CommandFailed as exc:
            print(f"tocsin: error: {exc}", file=sys.stderr)
            return 1

    return run


def emit_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_table(
    rows: Sequence[Sequence[object]], header: Sequence[str], *, empty: str = "(none)"
) -> None:
    """Columns padded to their widest cell; the last column is not padded."""
    if not rows:
        print(empty)
        return
    cells = [[str(c) for c in header], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header) - 1)]
    for row in cells:
        print("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))
