"""`tocsin watch`: tail the daemon's event stream (`WS /api/v1/stream`), one line per event.

Lines are coloured by kind when stdout is a terminal. A dropped connection (daemon restarted,
network blip, the server cutting off a reader that fell behind) is resumed from the last seq
seen, so no event is missed or shown twice. The first connection failing, or the daemon
refusing the token, ends the command with one line on stderr and exit 1.

Retries back off from 0.25 s to 5 s. The back-off starts again from 0.25 s once a connection
has delivered a message (an event or a ping), not merely on the handshake: a daemon that
accepts and closes at once (rate limited, not ready) keeps being backed off from, while a
watch that sat on a healthy but quiet stream for hours retries its next drop quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit, urlunsplit

import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection, open_websocket_url

from tocsin.cli.remote import DEFAULT_URL
from tocsin.logs import redact

__all__ = ["add_parser", "format_line", "stream_url"]

_RESET = "\x1b[0m"
_COLOURS = (
    ("group.acknowledged", "\x1b[34m"),
    ("group.resolved", "\x1b[32m"),
    ("alert.resolved", "\x1b[32m"),
    ("notification.failed", "\x1b[31;1m"),
    ("notification.", "\x1b[36m"),
    ("group.escalated", "\x1b[35;1m"),
    ("alert.", "\x1b[33m"),
    ("silence.", "\x1b[90m"),
)
_FATAL = {4400: "bad request", 4401: "unauthorized", 4403: "forbidden", 4410: "gone"}
_MIN_BACKOFF = 0.25
_MAX_BACKOFF = 5.0

# How `watch` opens a websocket: trio-websocket's `open_websocket_url`, or a test's stand-in.
Connect = Callable[..., AbstractAsyncContextManager[WebSocketConnection]]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="tail the live event stream",
        description="Print the daemon's events as they happen, one line each (coloured on a "
        "terminal), resuming after a dropped connection from the last seq seen.",
    )
    p.add_argument(
        "--url",
        default=os.environ.get("TOCSIN_URL") or DEFAULT_URL,
        help=f"the daemon's URL (default: $TOCSIN_URL, else {DEFAULT_URL})",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("TOCSIN_TOKEN") or None,
        help="bearer token with the read role (default: $TOCSIN_TOKEN)",
    )
    p.add_argument(
        "--since", type=int, metavar="SEQ", help="start after this seq (default: from now on)"
    )
    p.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="T",
        help="only these event types, exact or patterns like 'alert.*' (repeatable)",
    )
    p.add_argument("--group", action="append", default=[], metavar="ID", help="only this group")
    p.add_argument("--json", action="store_true", help="print each event as its JSON line")
    p.add_argument("--count", type=int, metavar="N", help="exit after N events")
    p.set_defaults(func=cmd_watch)


def stream_url(base: str, since: int | None, types: list[str], groups: list[str]) -> str:
    """The websocket URL of the stream under `base` (http → ws, https → wss)."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query: list[tuple[str, str]] = []
    if since is not None:
        query.append(("since", str(since)))
    query += [("type", t) for t in types] + [("group", g) for g in groups]
    path = parts.path.rstrip("/") + "/api/v1/stream"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


def _summary(data: dict[str, Any]) -> str:
    bits: list[str] = []
    alert = data.get("alert")
    if isinstance(alert, dict):
        labels = alert.get("labels") or {}
        bits.append(" ".join(f"{k}={v}" for k, v in labels.items()))
    for key in ("change", "receiver", "integration", "reason", "outcome", "level", "by", "error"):
        value = data.get(key)
        if value not in (None, "", [], {}):
            bits.append(f"{key}={value}")
    if "group_id" in data:
        bits.append(f"group={data['group_id']}")
    return " ".join(bits)


def format_line(msg: dict[str, Any], colour: bool) -> str:
    """One event as a line: `SEQ TIME TYPE summary`."""
    kind = str(msg.get("type", "?"))
    line = (
        f"{msg.get('seq', '?'):>8} {msg.get('ts', '')} {kind:<24} {_summary(msg.get('data') or {})}"
    )
    if colour:
        for prefix, code in _COLOURS:
            if kind.startswith(prefix):
                return f"{code}{line}{_RESET}"
    return line.rstrip()


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        return trio.run(watch, args, sys.stdout)
    except KeyboardInterrupt:
        return 130


async def watch(
    args: argparse.Namespace, out: TextIO, connect: Connect = open_websocket_url
) -> int:
    """Print events until `--count` is reached or the daemon refuses; returns the exit code."""
    colour = out.isatty() and not os.environ.get("NO_COLOR")
    headers = [(b"Authorization", f"Bearer {args.token}".encode())] if args.token else []
    since: int | None = args.since
    shown = 0
    connected_once = False
    backoff = _MIN_BACKOFF
    while True:
        url = stream_url(args.url, since, args.type, args.group)
        try:
            async with connect(url, extra_headers=headers) as ws:
                connected_once = True
                while True:
                    msg = json.loads(await ws.get_message())
                    backoff = _MIN_BACKOFF  # the connection works: the next drop retries soon
                    if msg.get("type") == "ping":
                        since = max(since or 0, int(msg.get("last_seq", 0)))
                        continue
                    since = msg["seq"]
                    print(json.dumps(msg) if args.json else format_line(msg, colour), file=out)
                    out.flush()
                    shown += 1
                    if args.count is not None and shown >= args.count:
                        return 0
        except ConnectionClosed as exc:
            code = exc.reason.code if exc.reason is not None else 1006
            reason = (exc.reason.reason if exc.reason is not None else None) or ""
            if code in _FATAL:
                return _fail(f"the daemon refused the stream ({_FATAL[code]}): {reason}")
            match = re.search(r"since=(\d+)", reason)
            if match:  # cut off for falling behind: resume at once from where it said
                since = int(match.group(1))
                continue
            why = f"{code} {reason}" if reason else f"{code}"
            _note(f"stream closed ({why}); resuming after seq {since}")
        except (OSError, HandshakeError, trio.BrokenResourceError) as exc:
            if not connected_once:
                return _fail(
                    f"cannot reach Tocsin at {redact(args.url)} ({_why(exc)}): is `tocsin run` running "
                    "there? (set --url or $TOCSIN_URL)"
                )
            _note(f"connection lost ({_why(exc)}); retrying after seq {since}")
        await trio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF)


def _why(exc: BaseException) -> str:
    """The first line of what went wrong, from the innermost cause: trio-websocket's
    HandshakeError wraps trio's OSError, which wraps the refusal of each address tried."""
    while True:
        inner = exc.__cause__ or exc.__context__
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            inner = exc.exceptions[0]
        if inner is None:
            break
        exc = inner
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _note(text: str) -> None:
    print(f"tocsin watch: {text}", file=sys.stderr, flush=True)


def _fail(text: str) -> int:
    print(f"tocsin: error: {text}", file=sys.stderr, flush=True)
    return 1
