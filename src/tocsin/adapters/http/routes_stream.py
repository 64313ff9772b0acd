"""`WS /api/v1/stream`: the event stream over a websocket, and `/`: the dashboard that lives on it.

Theory of operation
-------------------
The socket is accepted first and then checked (token, role, rate limit, query), so a refusal
reaches the client as a close code with a reason it can print, not as a bare HTTP 403 that
browsers hide. Browsers cannot set headers on a websocket, so the token may also come as the
`token` query parameter or as a subprotocol `bearer.<token>` (the server never echoes that one:
it selects another offered subprotocol, `tocsin` by convention, when there is one).

Then three tasks share the socket: the pump sends each event from `stream_events` that passes
the filters, one JSON text message `{"seq","ts","type","version","data"}` (the shape of
`tocsin journal replay --format jsonl`); the pinger sends `{"type":"ping","last_seq":N}` every
`ping_interval` seconds, where N is the last seq the stream has gone past, filtered out or
not, so a client with narrow filters can still resume from near the head; the reader notices
the client leaving and cancels the other two. One lock serialises the sends.

The subscription's buffer is bounded (`buffer` events). A client that reads too slowly makes
the pump wait on the socket, the buffer fills, and the bus cuts the subscription off; the
socket is then closed with `CLOSE_FELL_BEHIND` and the reason `fell behind; resume with
since=N`. Ingest never waits for a websocket.

Close codes: 4400 bad query, 4401 no or bad token, 4403 role missing, 4429 rate limited,
4503 not ready yet, 4410 `since` is before what retention kept, 4408 fell behind, 1001 the
daemon is stopping.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import trio
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from tocsin.actors.bus import BusMessage, SubscriberFellBehind
from tocsin.actors.stream import stream_events
from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext
from tocsin.adapters.http.errors import ApiError
from tocsin.config.model import Role
from tocsin.core.codec import from_micros, to_jsonable
from tocsin.journal import RecordsCompacted

__all__ = [
    "CLOSE_FELL_BEHIND",
    "DEFAULT_BUFFER",
    "DEFAULT_PING_INTERVAL",
    "STATIC_DIR",
    "EventFilter",
    "encode_event",
    "stream_routes",
]

log = logging.getLogger("tocsin.http.stream")

DEFAULT_BUFFER = 10_000
DEFAULT_PING_INTERVAL = 15.0
CLOSE_FELL_BEHIND = 4408
CLOSE_BAD_QUERY = 4400
CLOSE_COMPACTED = 4410
CLOSE_NOT_READY = 4503
CLOSE_GOING_AWAY = 1001
STATIC_DIR = Path(__file__).parent / "static"

_MAX_FILTERS = 32
_BEARER_PROTOCOL = "bearer."


class EventFilter:
    """Which events a subscriber wants: any of `types` (exact tags or shell patterns such as
    `alert.*`; none means all) and, when `groups` is given, only events of those groups."""

    def __init__(self, types: Sequence[str] = (), groups: Sequence[str] = ()) -> None:
        self.groups = frozenset(groups)
        self.exact = frozenset(t for t in types if not any(c in t for c in "*?["))
        patterns = [fnmatch.translate(t) for t in types if t not in self.exact]
        self.pattern = re.compile("|".join(patterns)) if patterns else None
        self.everything = not types

    def wants(self, msg: BusMessage) -> bool:
        event = msg.event
        if self.groups and getattr(event, "group_id", None) not in self.groups:
            return False
        if self.everything or event.TYPE in self.exact:
            return True
        return self.pattern is not None and self.pattern.match(event.TYPE) is not None


def encode_event(msg: BusMessage) -> str:
    """One stream message: the shape of `tocsin journal replay --format jsonl`."""
    ts = from_micros(msg.ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "seq": msg.seq,
        "ts": ts,
        "type": msg.event.TYPE,
        "version": msg.event.VERSION,
        "data": to_jsonable(msg.event),
    }
    return orjson.dumps(body, default=str).decode()


class _EncodedCache:
    """The last `size` events as encoded text, by seq: a hundred subscribers cost one
    encoding per event, not a hundred. (One cache per app, so per runtime: seqs are unique
    within it.)"""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._texts: dict[int, str] = {}

    def encode(self, msg: BusMessage) -> str:
        text = self._texts.get(msg.seq)
        if text is None:
            text = encode_event(msg)
            if len(self._texts) >= self.size:
                del self._texts[next(iter(self._texts))]  # the oldest (insertion order)
            self._texts[msg.seq] = text
        return text


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _reason(text: str) -> str:
    """A close reason fits in 123 bytes (RFC 6455)."""
    raw = text.encode()
    return text if len(raw) <= 123 else raw[:120].decode(errors="ignore") + "..."


def _credentials(ws: WebSocket) -> tuple[str | None, str | None]:
    """(the Authorization header value to check, the subprotocol to accept with)."""
    offered: list[str] = list(ws.scope.get("subprotocols") or [])
    bearer = [p for p in offered if p.startswith(_BEARER_PROTOCOL)]
    others = [p for p in offered if not p.startswith(_BEARER_PROTOCOL)]
    # The server must select one offered subprotocol or browsers fail the handshake; select
    # one that does not carry the token, so the token is never echoed back.
    chosen = others[0] if others else (bearer[0] if bearer else None)
    header = ws.headers.get("authorization")
    if header:
        return header, chosen
    token = ws.query_params.get("token")
    if token:
        return f"Bearer {token}", chosen
    if bearer:
        return f"Bearer {bearer[0][len(_BEARER_PROTOCOL) :]}", chosen
    return None, chosen


def _query(ws: WebSocket) -> tuple[int | None, EventFilter]:
    raw = ws.query_params.get("since")
    since: int | None = None
    if raw is not None and raw != "":
        try:
            since = int(raw)
        except ValueError:
            raise _Refused(
                CLOSE_BAD_QUERY, f"since: expected a sequence number, got {raw[:40]!r}"
            ) from None
        if since < 0:
            raise _Refused(CLOSE_BAD_QUERY, f"since: must not be negative, got {since}")
    types = ws.query_params.getlist("type")
    groups = ws.query_params.getlist("group")
    if len(types) > _MAX_FILTERS or len(groups) > _MAX_FILTERS:
        raise _Refused(CLOSE_BAD_QUERY, f"at most {_MAX_FILTERS} type and group filters each")
    return since, EventFilter(types, groups)


def stream_routes(
    ctx: ApiContext,
    *,
    buffer: int = DEFAULT_BUFFER,
    ping_interval: float = DEFAULT_PING_INTERVAL,
    static_dir: Path = STATIC_DIR,
) -> list[BaseRoute]:
    """The stream's websocket route and the dashboard's static routes."""
    cache = _EncodedCache()

    def authenticate(ws: WebSocket) -> Principal:
        authorization, _ = _credentials(ws)
        try:
            principal = ctx.auth.authenticate(authorization)
            ctx.auth.require(principal, Role.READ)
            if principal.authenticated:
                ctx.limiter.check(principal.name)
        except ApiError as exc:
            ctx.metrics.rejected.labels("rate limit" if exc.status == 429 else "auth").inc()
            raise _Refused(4000 + exc.status, f"{exc.error}: {exc.detail}") from None
        return principal

    async def stream(ws: WebSocket) -> None:
        _, subprotocol = _credentials(ws)
        await ws.accept(subprotocol=subprotocol)
        try:
            principal = authenticate(ws)
            since, wanted = _query(ws)
            rt = ctx.rt
            if rt is None or not rt.ready.is_set():
                raise _Refused(CLOSE_NOT_READY, "not ready: the journal is still being replayed")
        except _Refused as exc:
            await _close(ws, exc.code, exc.reason)
            return
        start = rt.world.applied_seq if since is None else since
        lock = trio.Lock()
        last = start
        outcome: tuple[int, str] = (CLOSE_GOING_AWAY, "the daemon is stopping")

        async def send(text: str) -> None:
            async with lock:
                await ws.send_text(text)

        async def pump(cancel: Callable[[], None]) -> None:
            nonlocal last, outcome
            name = f"ws:{principal.name}"
            try:
                async for msg in stream_events(rt, start, name=name, buffer=buffer):
                    if wanted.wants(msg):
                        await send(cache.encode(msg))
                    last = msg.seq
            except SubscriberFellBehind:
                log.warning("stream subscriber %s fell behind at seq %d: cut off", name, last)
                outcome = (CLOSE_FELL_BEHIND, f"fell behind; resume with since={last}")
            except RecordsCompacted as exc:
                outcome = (CLOSE_COMPACTED, _reason(f"since={start} is gone: {exc}"))
            cancel()

        async def pinger() -> None:
            while True:
                await trio.sleep(ping_interval)
                await send(orjson.dumps({"type": "ping", "last_seq": last}).decode())

        async def reader(cancel: Callable[[], None]) -> None:
            nonlocal outcome
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    outcome = (0, "")
                    cancel()
                    return

        try:
            async with trio.open_nursery() as nursery:
                cancel = nursery.cancel_scope.cancel
                nursery.start_soon(pump, cancel)
                nursery.start_soon(pinger)
                nursery.start_soon(reader, cancel)
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the client went away mid-send
        if outcome[0]:
            await _close(ws, *outcome)

    async def index(_request: object) -> Response:
        return FileResponse(static_dir / "index.html", headers={"Cache-Control": "no-cache"})

    return [
        WebSocketRoute("/api/v1/stream", stream),
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=static_dir, check_dir=False), name="static"),
    ]


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):  # already gone
        await ws.close(code=code, reason=_reason(reason))
