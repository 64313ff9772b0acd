"""`WS /api/v1/stream`: the event stream over a websocket, and `/`: the dashboard that lives on it.

Theory of operation
-------------------
The socket is accepted first and then checked (token, role, rate limit, query), so a refusal
reaches the client as a close code with a reason it can print, not as a bare HTTP 403 that
browsers hide. Browsers cannot set headers on a websocket, so the token may also come as the
`token` query parameter or as a subprotocol `bearer.<token>` (the server never echoes that one:
it selects another offered subprotocol, `tocsin` by convention, when there is one).

Then two tasks share the socket. The sender catches up from the journal after `since`
(records decoded and encoded in a worker thread, a chunk per write), then follows the shared
feed of live events (`actors.stream.SharedStream`: one bus subscription and one encoding per
event for every connection), each one JSON text message `{"seq","ts","type","version",
"data"}` (the shape of `tocsin journal replay --format jsonl`); every `ping_interval` seconds
it sends `{"type":"ping","last_seq":N}`, where N is the last seq the stream has gone past,
filtered out or not, so a client with narrow filters can still resume from near the head. The
reader notices the client leaving and cancels the sender.

Fan-out is the cost here: a hundred clients at thousands of events a second are hundreds of
thousands of messages. So the stream gives way to ingest: after a write a client's sender
sleeps until the next beat of `subscribers / writes_per_second` seconds (all on the same
beat), and then takes everything that arrived meanwhile; more clients or more events make
bigger writes, not more of them. With `FrameWrites` in front of the app each of those is one
socket write of ready-made frames, shared by every client that takes the same range;
without it, one ASGI message per event (the same bytes on the wire, far more CPU).

Each client has a bounded buffer (`buffer` events). One that takes too long (a socket that
does not drain, so the sender waits in a write) falls more than `buffer` behind: it is sent
the `buffer` events after its place, then closed with `CLOSE_FELL_BEHIND` and the reason
`fell behind; resume with since=N`. Ingest never waits for a websocket.

A client that stops reading altogether never gets there: once its TCP window and the
kernel's buffers are full, its sender waits in a socket write that Hypercorn shields from
cancellation, for as long as the peer keeps the connection open. So a watchdog per
connection aborts it when one write (the close frame included) has been blocked for
`write_timeout` seconds: the socket is closed with SO_LINGER 0, the peer gets a TCP reset
and the blocked write returns. No close frame: it could not reach a peer that does not
read; a client that finds its connection reset resumes with the last seq it has, as after
any drop. Writes are timed in pieces of at most `WRITE_PIECE` (1 MiB) whole frames, so a
client that reads slowly through a large catch-up is not taken for one that stopped: it is
aborted only when it took less than a piece in `write_timeout` (51 KiB/s at the defaults),
and otherwise, if it falls too far behind, closed with 4408 as above. The abort needs `FrameWrites` under Hypercorn over
HTTP/1.1 (it reaches the connection's socket the same guarded way); elsewhere there is no
watchdog, and such a client holds its connection until the peer leaves.

Close codes: 4400 bad query, 4401 no or bad token, 4403 role missing, 4429 rate limited,
4503 not ready yet, 4410 `since` is before what retention kept, 4408 fell behind, 1001 the
daemon is stopping.
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import logging
import math
import re
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from tocsin.actors.bus import BusMessage, SubscriberFellBehind
from tocsin.actors.stream import Batch, Feed, SharedStream
from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext
from tocsin.adapters.http.errors import ApiError
from tocsin.config.model import Role
from tocsin.core.codec import CODEC, CodecError, from_micros
from tocsin.core.labels import Labels
from tocsin.journal import RecordsCompacted, StoredRecord

__all__ = [
    "ABORT_EXTENSION",
    "CLOSE_FELL_BEHIND",
    "DEFAULT_BUFFER",
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_WRITES_PER_SECOND",
    "DEFAULT_WRITE_TIMEOUT",
    "FRAMES_EXTENSION",
    "STATIC_DIR",
    "EventFilter",
    "FrameWrites",
    "encode_event",
    "encode_frame",
    "stream_routes",
    "text_frame",
]

log = logging.getLogger("tocsin.http.stream")

DEFAULT_BUFFER = 10_000
DEFAULT_PING_INTERVAL = 15.0
#: Socket writes a second over all subscribers: each waits `subscribers / this` seconds
#: between writes, so more subscribers means bigger writes, not more of them.
DEFAULT_WRITES_PER_SECOND = 1_000.0
#: Seconds one write may stay blocked (the peer does not read) before the connection is
#: aborted: long enough for a 2,000-event catch-up chunk over a slow link.
DEFAULT_WRITE_TIMEOUT = 20.0
#: The scope extension `FrameWrites` adds: an async callable taking bytes of whole frames.
FRAMES_EXTENSION = "tocsin.websocket.frames"
#: The scope extension `FrameWrites` adds where it can: a callable that aborts the TCP
#: connection at once (a reset, no close frame), waking a write blocked on it.
ABORT_EXTENSION = "tocsin.websocket.abort"
CLOSE_FELL_BEHIND = 4408
CLOSE_BAD_QUERY = 4400
CLOSE_COMPACTED = 4410
CLOSE_NOT_READY = 4503
CLOSE_GOING_AWAY = 1001
STATIC_DIR = Path(__file__).parent / "static"

_MAX_FILTERS = 32
_CHUNK = 2_000  # journal records per read when catching up
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
        return self.wants_kind(msg.event.TYPE, getattr(msg.event, "group_id", None))

    def wants_kind(self, tag: str, group: str | None) -> bool:
        """Whether an event with type `tag` in `group` passes."""
        if self.groups and group not in self.groups:
            return False
        if self.everything or tag in self.exact:
            return True
        return self.pattern is not None and self.pattern.match(tag) is not None

    @property
    def passes_all(self) -> bool:
        return self.everything and not self.groups


def encode_event(msg: BusMessage) -> str:
    """One stream message: the shape of `tocsin journal replay --format jsonl`."""
    return _encode(msg).decode()


def _encode(msg: BusMessage) -> bytes:
    # What orjson.dumps(..., default=str) of `to_jsonable(event)` gives, byte for byte
    # (pinned by a test over every event type), at a quarter of the cost: orjson walks the
    # event itself, asking `_jsonable` only for attrs instances, label sets and durations,
    # and the timestamp is formatted once per millisecond.
    ms = msg.ts // 1000
    ts = _last_ts[0]  # one tuple, swapped whole: journal catch-up encodes in threads too
    if ts[0] != ms:
        iso = from_micros(msg.ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ts = _last_ts[0] = (ms, iso)
    event = msg.event
    body = {
        "seq": msg.seq,
        "ts": ts[1],
        "type": event.TYPE,
        "version": event.VERSION,
        "data": event,
    }
    return orjson.dumps(body, default=_jsonable, option=orjson.OPT_UTC_Z)


_last_ts: list[tuple[int, str]] = [(-1, "")]
_FIELDS: dict[type, tuple[str, ...]] = {}


def _jsonable(obj: Any) -> Any:
    """orjson's fallback: cattrs' default unstructuring with `to_jsonable`'s hooks."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in attrs.fields(cls)) if attrs.has(cls) else ()
    if names:
        return {name: getattr(obj, name) for name in names}
    if isinstance(obj, Labels):
        return obj.to_dict()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    return str(obj)


def encode_frame(msg: BusMessage) -> bytes:
    """One stream message as a ready-made websocket text frame (see `FrameWrites`)."""
    return text_frame(_encode(msg))


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final websocket text frame (RFC 6455 section 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65_536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def _frame_text(frame: bytes) -> str:
    """The message a `text_frame` carries."""
    n = frame[1]
    return frame[2 if n < 126 else 4 if n == 126 else 10 :].decode()


class FrameWrites:
    """ASGI middleware that lets the stream write many ready-made frames in one go, and abort
    a connection whose peer has stopped reading.

    ASGI has one `websocket.send` per message, and under Hypercorn each one costs a trip
    through the protocol stack and a socket write (about 0.1 ms here): a hundred subscribers
    times thousands of events a second is more than a core. Under Hypercorn this middleware
    puts a `FRAMES_EXTENSION` callable in a websocket's scope extensions that hands bytes
    holding whole frames to the connection, below wsproto, behind the same lock as
    Hypercorn's own writes (so its pongs and close frames land between ours, never inside).
    Frames written this way are plain uncompressed text frames, valid whatever extensions the
    handshake agreed on (RFC 7692 section 6). Elsewhere it adds nothing and the stream falls
    back to one `websocket.send` per message; what clients receive is the same.

    Hypercorn shields its socket writes from cancellation, so a write to a peer that does not
    read waits for as long as the peer keeps the connection. Over HTTP/1.1 (the websocket is
    then the connection's only stream) the middleware also puts an `ABORT_EXTENSION`
    callable in the scope: it closes the connection's socket with SO_LINGER 0 (the peer gets
    a reset, no close frame) which wakes the blocked write; Hypercorn then sees the
    connection closed, as when a peer vanishes. Where Hypercorn's objects are not where this
    expects them, that extension is missing and nothing is aborted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            added = _hypercorn_extensions(send)
            if added:
                scope["extensions"] = {**(scope.get("extensions") or {}), **added}
        await self.app(scope, receive, send)


def _hypercorn_extensions(send: Send) -> dict[str, Any]:
    try:
        from hypercorn.protocol.events import Data
        from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
    except ImportError:  # pragma: no cover - another server, or a Hypercorn that moved these
        return {}
    stream = getattr(send, "__self__", None)
    if not isinstance(stream, WSStream):
        return {}

    async def write(data: Buffer) -> None:
        if stream.closed or stream.state is not ASGIWebsocketState.CONNECTED:
            raise WebSocketDisconnect(1006, "the connection is closed")
        # A memoryview goes through to trio's send_all untouched (Hypercorn's type says bytes).
        await stream.send(Data(stream_id=stream.stream_id, data=data))  # type: ignore[arg-type]

    added: dict[str, Any] = {FRAMES_EXTENSION: write}
    sock = _hypercorn_socket(stream)
    if sock is not None:

        def abort() -> None:
            with contextlib.suppress(OSError):  # already closed: the close below is a no-op
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            sock.close()  # wakes a task blocked on it with ClosedResourceError

        added[ABORT_EXTENSION] = abort
    return added


_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends a reset


def _hypercorn_socket(stream: Any) -> trio.socket.SocketType | None:
    """The socket of the HTTP/1.1 connection a Hypercorn `WSStream` runs on: its `send` is
    bound to the `H11Protocol`, whose `send` is bound to the trio worker's `TCPServer`."""
    try:
        from hypercorn.protocol.h11 import H11Protocol
        from hypercorn.trio.tcp_server import TCPServer
    except ImportError:  # pragma: no cover - a Hypercorn that moved these
        return None
    protocol = getattr(stream.send, "__self__", None)
    if not isinstance(protocol, H11Protocol):
        return None  # HTTP/2: the socket carries other streams too
    server = getattr(protocol.send, "__self__", None)
    if not isinstance(server, TCPServer):
        return None
    transport = getattr(server, "stream", None)
    transport = getattr(transport, "transport_stream", transport)  # under TLS
    if not isinstance(transport, trio.SocketStream):
        return None
    return transport.socket


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
    writes_per_second: float = DEFAULT_WRITES_PER_SECOND,
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
    static_dir: Path = STATIC_DIR,
    shared: SharedStream | None = None,
) -> list[BaseRoute]:
    """The stream's websocket route and the dashboard's static routes. `shared`, when given,
    is the feed the connections share (its `statistics()` count cut-offs and aborts); it is
    made with `encode_frame` and `buffer` otherwise. `/metrics` reports its statistics."""
    if shared is None:
        shared = SharedStream(encode_frame, capacity=buffer)
    ctx.metrics.watch_stream(shared)

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
        send, joins = _writer(ws)
        abort = (ws.scope.get("extensions") or {}).get(ABORT_EXTENSION)
        watch = _WriteWatch()
        name = f"ws:{principal.name}"
        last = start  # the last seq this client has gone past, sent or filtered out
        outcome: tuple[int, str] = (CLOSE_GOING_AWAY, "the daemon is stopping")

        async def write(frames: list[bytes], joined: bytes | None) -> None:
            # Timed piece by piece (whole frames, at most WRITE_PIECE bytes each), so the
            # watchdog measures a stall, not the time a slow reader takes for a big catch-up.
            for piece, piece_joined in _pieces(frames, joined, joins):
                await watch.timed(send(piece, piece_joined))

        def keep(batch: Batch) -> list[bytes]:
            if wanted.passes_all:
                return batch.data
            wants = wanted.wants_kind
            return [
                frame
                for tag, group, frame in zip(batch.types, batch.groups, batch.data, strict=True)
                if wants(tag, group)
            ]

        async def ping() -> None:
            await write([text_frame(orjson.dumps({"type": "ping", "last_seq": last}))], None)

        async def catch_up(feed: Feed) -> None:
            """From the journal up to what the feed holds, decoded and encoded in a worker
            thread, one write per chunk."""
            nonlocal last
            next_ping = trio.current_time() + ping_interval
            records: Iterator[StoredRecord] | None = None
            while last < feed.low:
                if feed.broken is not None:
                    raise feed.broken
                fresh = records is None
                if records is None:
                    records = rt.journal.read(after=last)
                upto = feed.head  # applied, so durable: all of it is in the journal
                batch, seen, done = await trio.to_thread.run_sync(_read_chunk, records, upto)
                if done:
                    records = None  # reopened from `last` next time
                if frames := keep(batch):
                    await write(frames, None)
                if seen > last:
                    last = seen
                elif done and fresh:
                    last = max(last, upto)  # the journal holds nothing in (last, upto]
                if trio.current_time() >= next_ping:
                    await ping()
                    next_ping = trio.current_time() + ping_interval

        async def follow(feed: Feed) -> None:
            """Live, from the feed: each write takes everything new since the last one."""
            nonlocal last, outcome
            next_ping = trio.current_time() + ping_interval
            with feed.follow(last) as cursor:
                while True:
                    new, behind = feed.take(cursor)
                    if feed.broken is not None:
                        raise feed.broken
                    if new.seqs:
                        frames = keep(new)
                        if frames is new.data:  # the whole range: as the others got it
                            await write(frames, feed.joined(new) if joins else None)
                        elif frames:
                            await write(frames, None)
                        last = new.seqs[-1]
                    if behind:
                        cut_off()
                        return
                    if trio.current_time() >= next_ping:
                        await ping()
                        next_ping = trio.current_time() + ping_interval
                    if new.seqs:
                        # Lower priority than ingest: at most `writes_per_second` writes a
                        # second over all subscribers, so more subscribers (or more events)
                        # make bigger writes, not more of them. On a shared beat, so that
                        # subscribers wake together and share one joined copy.
                        beat = feed.users / writes_per_second
                        await trio.sleep_until((trio.current_time() // beat + 1) * beat)
                    else:
                        with trio.move_on_at(next_ping):
                            await feed.wait_beyond(cursor.seq)

        def cut_off() -> None:
            nonlocal outcome
            log.warning("stream subscriber %s fell behind at seq %d: cut off", name, last)
            shared.note_cut_off()
            outcome = (CLOSE_FELL_BEHIND, f"fell behind; resume with since={last}")

        async def watchdog(abort: Callable[[], None], scope: trio.CancelScope) -> None:
            """Aborts the connection once one write has been blocked `write_timeout` s."""
            await watch.wait_stalled(write_timeout)
            log.warning(
                "stream subscriber %s stopped reading after seq %d: a write blocked for %gs, "
                "connection aborted",
                name,
                last,
                write_timeout,
            )
            shared.note_aborted()
            abort()  # the blocked write returns; Hypercorn sees the connection closed
            scope.cancel()

        async def serve(cancel: Callable[[], None]) -> None:
            nonlocal outcome
            try:
                with shared.attach(rt) as feed:
                    await catch_up(feed)
                    await follow(feed)
            except SubscriberFellBehind:
                cut_off()
            except RecordsCompacted as exc:
                outcome = (CLOSE_COMPACTED, _reason(f"since={start} is gone: {exc}"))
            cancel()

        async def reader(cancel: Callable[[], None]) -> None:
            nonlocal outcome
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    outcome = (0, "")
                    cancel()
                    return

        gone = False
        async with trio.open_nursery() as guarded:
            if abort is not None:
                guarded.start_soon(watchdog, abort, guarded.cancel_scope)
            try:
                async with trio.open_nursery() as nursery:
                    cancel = nursery.cancel_scope.cancel
                    nursery.start_soon(serve, cancel)
                    nursery.start_soon(reader, cancel)
            except* (WebSocketDisconnect, OSError, RuntimeError, trio.BrokenResourceError):
                gone = True  # the client went away mid-send
            if outcome[0] and not gone:
                await watch.timed(_close(ws, *outcome))  # blocks too if the peer does not read
            guarded.cancel_scope.cancel()

    async def index(_request: object) -> Response:
        return FileResponse(static_dir / "index.html", headers={"Cache-Control": "no-cache"})

    return [
        WebSocketRoute("/api/v1/stream", stream),
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=static_dir, check_dir=False), name="static"),
    ]


#: The most one timed write carries: a client that takes less than this in `write_timeout`
#: (1 MiB in 20 s: 51 KiB/s) has stopped reading, for the watchdog. Large, so that most
#: writes are one piece (they average ~400 KB with 100 subscribers at full ingest).
WRITE_PIECE = 1024 * 1024


def _pieces(
    frames: list[bytes], joined: bytes | None, joins: bool
) -> Iterator[tuple[list[bytes], Buffer | None]]:
    """`(frames, joined)` as writes of at most `WRITE_PIECE` bytes each (a larger frame alone),
    cut between frames; a shared `joined` is sliced (memoryviews), not copied or joined again."""
    if not joins:
        for frame in frames:
            yield [frame], None
        return
    total = len(joined) if joined is not None else sum(map(len, frames))
    if total <= WRITE_PIECE:
        yield frames, joined
        return
    # Slices of a memoryview: no copy (a shared `joined` is written to every subscriber).
    blob = memoryview(joined if joined is not None else b"".join(frames))
    start = size = 0
    for frame in frames:
        if size and size + len(frame) > WRITE_PIECE:
            yield [], blob[start : start + size]
            start, size = start + size, 0
        size += len(frame)
    if size:
        yield [], blob[start : start + size]


class _WriteWatch:
    """When the write in flight began, so that a watchdog can tell one blocked for too long.
    Two attribute stores per write: it is on the path of every write of every client."""

    __slots__ = ("began", "count")

    def __init__(self) -> None:
        self.began = math.inf  # no write in flight
        self.count = 0  # writes begun, to tell one blocked write from the next

    async def timed(self, write: Awaitable[None]) -> None:
        self.count += 1
        self.began = trio.current_time()
        try:
            await write
        finally:
            self.began = math.inf

    async def wait_stalled(self, limit: float) -> None:
        """Return once one write has been in flight for `limit` seconds. Wakes every
        `limit / 4` s while no write is in flight, and at the deadline of the one that is."""
        while True:
            began, count = self.began, self.count
            if began == math.inf:
                await trio.sleep(limit / 4)
                continue
            await trio.sleep_until(began + limit)
            if self.count == count and self.began == began:
                return


#: Bytes, or a memoryview of them (a piece of a shared buffer, not copied).
Buffer = bytes | memoryview

#: Sends frames; the second argument, when given, is the first already joined.
_Write = Callable[[list[bytes], Buffer | None], Awaitable[None]]


def _writer(ws: WebSocket) -> tuple[_Write, bool]:
    """How this connection sends frames, and whether it takes them joined: all in one write
    when `FrameWrites` is in front of the app, else one ASGI message each."""
    send_frames = (ws.scope.get("extensions") or {}).get(FRAMES_EXTENSION)
    if send_frames is not None:

        async def write_joined(frames: list[bytes], joined: Buffer | None = None) -> None:
            await send_frames(b"".join(frames) if joined is None else joined)

        return write_joined, True

    async def write_each(frames: list[bytes], _joined: Buffer | None = None) -> None:
        for frame in frames:
            await ws.send_text(_frame_text(frame))

    return write_each, False


def _read_chunk(records: Iterator[StoredRecord], upto: int) -> tuple[Batch, int, bool]:
    """Up to `_CHUNK` records with seq <= `upto`, decoded and encoded (run in a worker thread):
    (the batch, the last seq gone past or 0, whether `records` is done with: exhausted, or it
    yielded one past `upto`)."""
    msgs: list[BusMessage] = []
    frames: list[bytes] = []
    seen = 0
    count = 0
    for rec in itertools.islice(records, _CHUNK):
        count += 1
        if rec.seq > upto:
            return Batch.of(msgs, frames), seen, True  # the rest is in the feed
        seen = rec.seq
        try:
            event = CODEC.decode(rec.type, rec.version, rec.payload)
        except CodecError:
            continue  # a record this Tocsin cannot read: skipped, not fatal
        msg = BusMessage(rec.seq, rec.ts, event)
        msgs.append(msg)
        frames.append(encode_frame(msg))
    return Batch.of(msgs, frames), seen, count < _CHUNK or seen >= upto


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):  # already gone
        await ws.close(code=code, reason=_reason(reason))
