"""`WS /api/v1/stream` on a real Hypercorn on 127.0.0.1, with trio-websocket as the client.

The runtime runs on a memory journal in the test's own trio loop; alerts go in through the
runtime directly (the HTTP ingest path is tested elsewhere), events come out of the socket.
Each stream test runs twice: with `FrameWrites` in front of the app (frames joined into one
write) and without (one ASGI message per event); clients must not see a difference.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import orjson
import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from tocsin.actors.bus import BusMessage
from tocsin.actors.runtime import Runtime, open_runtime
from tocsin.adapters.http import ApiContext, serve_http
from tocsin.adapters.http.routes_ops import ops_routes
from tocsin.adapters.http.routes_stream import (
    CLOSE_FELL_BEHIND,
    FRAMES_EXTENSION,
    FrameWrites,
    encode_event,
    stream_routes,
)
from tocsin.config import load_text
from tocsin.core.codec import from_micros, to_jsonable
from tocsin.core.events import EVENT_TYPES, AlertData, Event
from tocsin.core.labels import Labels
from tocsin.daemon import rules_of
from tocsin.journal import MemoryStore, open_memory_journal

CONFIG = """\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: team
tocsin:
  auth:
    tokens:
      - {name: viewer, token: read-secret, roles: [read]}
      - {name: prometheus, token: ingest-secret, roles: [ingest]}
"""

DEADLINE = 20.0  # seconds: generous under a loaded CI machine; tests finish well before


@attrs.define
class Served:
    url: str
    rt: Runtime

    def ws(self, query: str = "", token: str | None = "read-secret") -> Any:
        sep = "&" if query else ""
        auth = f"token={token}" if token else ""
        return open_websocket_url(f"{self.url}/api/v1/stream?{query}{sep if auth else ''}{auth}")

    async def settled(self) -> int:
        """The last seq once the runtime is done reacting (flushes, notifications)."""
        await trio.testing.wait_all_tasks_blocked(0.05)
        return self.rt.world.applied_seq

    async def fire(self, *names: str) -> None:
        await self.rt.ingest(
            [AlertData(Labels.of({"alertname": n}), Labels.of({"summary": n})) for n in names]
        )


@pytest.fixture(params=[False, True], ids=["asgi-messages", "frame-writes"])
def framed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@asynccontextmanager
async def serving(
    framed: bool = False, *, with_ops: bool = False, **route_kw: Any
) -> AsyncIterator[Served]:
    """The stream on a real Hypercorn on 127.0.0.1 (`with_ops`: and `/metrics`, `/-/...`)."""
    config = load_text(CONFIG, env={})
    async with (
        open_memory_journal(MemoryStore()) as journal,
        open_runtime(journal, rules=rules_of(config)) as rt,
    ):
        ctx = ApiContext(config)
        ctx.attach(rt)
        middleware = [Middleware(FrameWrites)] if framed else []
        routes = [*(ops_routes(ctx) if with_ops else []), *stream_routes(ctx, **route_kw)]
        app = Starlette(routes=routes, middleware=middleware)
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_http, app, "127.0.0.1:0", stop.wait)
            yield Served(url.replace("http://", "ws://"), rt)
            stop.set()
            nursery.cancel_scope.deadline = trio.current_time() + 5


async def events(ws: WebSocketConnection, until_seq: int) -> list[dict[str, Any]]:
    """Messages (pings left out) until one with seq >= `until_seq`."""
    out: list[dict[str, Any]] = []
    with trio.fail_after(DEADLINE):
        while not out or out[-1]["seq"] < until_seq:
            msg = json.loads(await ws.get_message())
            if msg["type"] != "ping":
                out.append(msg)
    return out


async def test_journal_then_live_in_the_jsonl_shape(framed: bool):
    async with serving(framed) as s:
        await s.fire("Before")
        head = await s.settled()
        async with s.ws("since=0") as ws:
            got = await events(ws, head)
            await s.fire("After")
            got += await events(ws, await s.settled())
        assert [m["seq"] for m in got] == list(range(1, s.rt.world.applied_seq + 1))
        first = got[0]
        assert set(first) == {"seq", "ts", "type", "version", "data"}
        assert first["ts"].endswith("Z")
        received = [m for m in got if m["type"] == "alert.received"]
        assert [m["data"]["alert"]["labels"]["alertname"] for m in received] == [
            "Before",
            "After",
        ]


async def test_without_since_the_stream_starts_at_the_head(framed: bool):
    async with serving(framed) as s:
        await s.fire("Old")
        async with s.ws() as ws:
            await s.fire("New")
            got = await events(ws, await s.settled())
        names = [m["data"]["alert"]["labels"]["alertname"] for m in got if "alert" in m["data"]]
        assert names == ["New"]


async def test_a_client_that_drops_mid_storm_resumes_with_no_gap_and_no_duplicate(framed: bool):
    async with serving(framed, buffer=500) as s:
        reconnected = trio.Event()
        batches = away_at = 0

        async def storm() -> None:
            # Goes on while the client is away and until it is back, but at most 100 batches
            # past its leaving: the one-message-per-event path catches up on tens of thousands
            # of events slower than DEADLINE allows on a loaded machine.
            nonlocal batches
            while not reconnected.is_set() and not (away_at and batches >= away_at + 100):
                await s.fire(*(f"Storm{batches}-{j}" for j in range(10)))
                batches += 1
                await trio.lowlevel.checkpoint()

        seen: list[int] = []

        async def read(ws: WebSocketConnection, count: int) -> None:
            with trio.fail_after(DEADLINE):
                for _ in range(count):
                    msg = json.loads(await ws.get_message())
                    if msg["type"] != "ping":
                        seen.append(msg["seq"])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(storm)
            async with s.ws("since=0") as ws:
                await read(ws, 200)
            before = away_at = batches or 1
            async with s.ws(f"since={seen[-1]}") as ws:
                await read(ws, 200)
                reconnected.set()
                assert batches > before  # the storm went on while the client was away
                seen += [m["seq"] for m in await events(ws, await s.settled())]
        assert seen == list(range(1, s.rt.world.applied_seq + 1))


async def test_type_and_group_filters(framed: bool):
    async with serving(
        framed, ping_interval=0.05
    ) as s:  # pings say when the filtered stream is done
        await s.fire("One", "Two")
        head = await s.settled()
        two = next(g for g in s.rt.world.groups.values() if g.group_labels["alertname"] == "Two")
        async with s.ws("since=0&type=alert.*&type=group.opened") as ws:
            got = await _until_ping(ws, head)
        types = {m["type"] for m in got}
        assert types and all(t.startswith("alert.") or t == "group.opened" for t in types)
        assert "alert.received" in types and "group.opened" in types
        async with s.ws(f"since=0&group={two.group_id}") as ws:
            got = await _until_ping(ws, head)
        assert got and {m["data"]["group_id"] for m in got} == {two.group_id}


async def _until_ping(ws: WebSocketConnection, head: int) -> list[dict[str, Any]]:
    """Filtered messages until a ping says the stream has gone past `head`."""
    out: list[dict[str, Any]] = []
    with trio.fail_after(DEADLINE):
        while True:
            msg = json.loads(await ws.get_message())
            if msg["type"] == "ping":
                if msg["last_seq"] >= head:
                    return out
            else:
                out.append(msg)


@pytest.mark.parametrize(
    ("token", "code", "words"),
    [
        (None, 4401, "no bearer token"),
        ("wrong", 4401, "not valid"),
        ("ingest-secret", 4403, "lacks the 'read' role"),
    ],
)
async def test_auth_rejection_closes_with_a_reason(token: str | None, code: int, words: str):
    async with serving() as s, s.ws("since=0", token=token) as ws:
        with trio.fail_after(DEADLINE), pytest.raises(ConnectionClosed) as caught:
            await ws.get_message()
    assert caught.value.reason.code == code
    assert words in (caught.value.reason.reason or "")


async def test_token_as_subprotocol_is_accepted_and_not_echoed(framed: bool):
    async with serving(framed) as s:
        await s.fire("Seen")
        url = f"{s.url}/api/v1/stream?since=0"
        async with open_websocket_url(url, subprotocols=["tocsin", "bearer.read-secret"]) as ws:
            assert ws.subprotocol == "tocsin"
            got = await events(ws, await s.settled())
        assert got[0]["seq"] == 1


async def test_a_bad_since_is_refused():
    async with serving() as s, s.ws("since=yesterday") as ws:
        with trio.fail_after(DEADLINE), pytest.raises(ConnectionClosed) as caught:
            await ws.get_message()
    assert caught.value.reason.code == 4400
    assert "since" in (caught.value.reason.reason or "")


async def test_a_slow_subscriber_is_cut_off_with_its_resume_seq_and_ingest_goes_on(framed: bool):
    async with serving(framed, buffer=20) as s:
        # message_queue_size=0: the client stops reading its socket as soon as one message is
        # waiting, so the server's sends block once the kernel buffers are full.
        url = f"{s.url}/api/v1/stream?token=read-secret"
        async with open_websocket_url(url, message_queue_size=0) as ws:
            with trio.fail_after(DEADLINE):
                for i in range(40):  # each batch: group.opened + alert.received, and more
                    await s.fire(*(f"Slow{i}-{j}" for j in range(25)))
            seqs: list[int] = []
            with trio.fail_after(DEADLINE), pytest.raises(ConnectionClosed) as caught:
                while True:
                    msg = json.loads(await ws.get_message())
                    if msg["type"] != "ping":
                        seqs.append(msg["seq"])
        reason = caught.value.reason
        assert reason.code == CLOSE_FELL_BEHIND
        assert reason.reason is not None and reason.reason.startswith("fell behind")
        resume = int(reason.reason.rsplit("since=", 1)[1])
        head = await s.settled()
        assert seqs and resume == seqs[-1] < head
        # ...and it resumes from there with nothing missing (a buffer of 20 is enough now: the
        # runtime is quiet, everything comes from the journal)
        async with s.ws(f"since={resume}") as ws:
            rest = await events(ws, head)
        assert [m["seq"] for m in rest] == list(range(resume + 1, head + 1))


async def test_many_subscribers_get_the_same_events_joined_or_not(framed: bool):
    async with serving(framed) as s:
        start = s.rt.world.applied_seq
        async with s.ws(f"since={start}") as a, s.ws(f"since={start}") as b:
            for i in range(5):
                await s.fire(*(f"Many{i}-{j}" for j in range(20)))
            head = await s.settled()
            got_a, got_b = await events(a, head), await events(b, head)
        assert got_a == got_b
        assert [m["seq"] for m in got_a] == list(range(start + 1, head + 1))


@asynccontextmanager
async def probing(probe: Callable[[WebSocket], Awaitable[None]]) -> AsyncIterator[Any]:
    """A websocket client of `probe`, served at `/probe` behind `FrameWrites` by a real
    Hypercorn on 127.0.0.1: for tests that Hypercorn's internals are where we reach."""
    app = Starlette(routes=[WebSocketRoute("/probe", probe)], middleware=[Middleware(FrameWrites)])
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_http, app, "127.0.0.1:0", stop.wait)
        async with open_websocket_url(url.replace("http://", "ws://") + "/probe") as ws:
            yield ws
        stop.set()


async def test_frame_writes_reach_the_stream_under_hypercorn():
    async def probe(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("yes" if FRAMES_EXTENSION in ws.scope["extensions"] else "no")
        await ws.close()

    async with probing(probe) as ws:
        with trio.fail_after(DEADLINE):
            assert await ws.get_message() == "yes"


# -- the encoding: byte for byte what `to_jsonable` gives, at a fraction of the cost --------
def _reference(msg: BusMessage) -> str:
    ts = from_micros(msg.ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "seq": msg.seq,
        "ts": ts,
        "type": msg.event.TYPE,
        "version": msg.event.VERSION,
        "data": to_jsonable(msg.event),
    }
    return orjson.dumps(body, default=str).decode()


_LABELS = st.dictionaries(
    st.text("abc_", min_size=1, max_size=4), st.text(max_size=6), max_size=3
).map(Labels.of)
_TIMES = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]))


def _values(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a field type, as events hold them (aware times, label sets, 64-bit ints)."""
    if tp is Labels:
        return _LABELS
    if tp is datetime:
        return _TIMES
    if tp is int:
        return st.integers(-(2**63), 2**63 - 1)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_values(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_values(args[0]), max_size=3).map(tuple)
        return st.tuples(*(_values(a) for a in args))
    if origin in (frozenset, set, AbstractSet):
        return st.frozensets(_values(args[0]), max_size=3)
    if origin in (dict, Mapping):
        return st.dictionaries(_values(args[0]), _values(args[1]), max_size=3)
    if attrs.has(tp):
        attrs.resolve_types(tp)
        return st.builds(tp, **{f.name: _values(f.type) for f in attrs.fields(tp) if f.init})
    return st.from_type(tp)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    event=st.one_of(*(_values(cls) for cls in EVENT_TYPES.values())),
    ts=st.integers(0, 4_102_444_800_000_000),
)
def test_a_stream_message_is_the_jsonl_shape_of_the_event(event: Event, ts: int) -> None:
    msg = BusMessage(7, ts, event)
    assert encode_event(msg) == _reference(msg)
