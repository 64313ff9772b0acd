"""The resumable stream: journal then live, no gap, no duplicate; a slow reader is cut off.
The shared feed: one subscription and one encoding for every consumer, bounded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from tocsin.actors.bus import BusMessage, SubscriberFellBehind
from tocsin.actors.stream import SharedStream, stream_events

from .conftest import GroupByRouter, firing


async def _produce(rt, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        await rt.ingest([firing(f"A{i % 7}", instance=str(i))])
        await trio.sleep(1)


async def test_a_stream_from_the_past_runs_into_the_live_events_without_gap(
    runtime, autojump_clock
):
    async with runtime(router=GroupByRouter()) as (rt, _):
        await _produce(rt, 10)
        got: list[int] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, rt, 20, 10)
            async for msg in stream_events(rt, since=3):
                got.append(msg.seq)
                if msg.seq >= rt.world.applied_seq and len(got) > 30:
                    break
            nursery.cancel_scope.cancel()
        assert got == list(range(4, got[-1] + 1))


async def test_resuming_with_the_last_seq_gives_no_gap_and_no_duplicate(runtime, autojump_clock):
    async with runtime(router=GroupByRouter()) as (rt, _):
        seen: list[int] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, rt, 40)
            # Disconnect twice mid-storm and resume from the last seq received.
            since = 0
            for stop_after in (7, 15, 10**9):
                async for msg in stream_events(rt, since=since):
                    seen.append(msg.seq)
                    if len(seen) >= stop_after:
                        break
                    if msg.seq == rt.world.applied_seq and rt.world.applied_seq > 80:
                        break
                since = seen[-1]
            nursery.cancel_scope.cancel()
        assert seen == list(range(1, seen[-1] + 1))


async def test_a_reader_that_falls_behind_is_cut_off_and_can_resume(runtime, autojump_clock):
    async with runtime(router=GroupByRouter()) as (rt, _):
        await rt.ingest([firing("First")])
        seen: list[int] = []
        with pytest.raises(SubscriberFellBehind) as info:
            async for msg in stream_events(rt, buffer=3):
                seen.append(msg.seq)
                # Publish a burst while this reader does not read: its buffer overflows.
                await rt.ingest([firing(f"B{i}") for i in range(10)])
        assert info.value.last_seq >= seen[-1]
        resumed = []
        async for msg in stream_events(rt, since=seen[-1]):
            resumed.append(msg.seq)
            if msg.seq == rt.world.applied_seq:
                break
        assert seen + resumed == list(range(1, rt.world.applied_seq + 1))


# -- the shared feed: one subscription and one encoding for many consumers -----------------
def _counting_encoder() -> tuple[list[int], Callable[[BusMessage], bytes]]:
    encoded: list[int] = []

    def encode(msg: BusMessage) -> bytes:
        encoded.append(msg.seq)
        return str(msg.seq).encode()

    return encoded, encode


async def test_one_bus_subscription_and_one_encoding_serve_every_consumer(runtime, autojump_clock):
    async with runtime(router=GroupByRouter()) as (rt, _):
        encoded, encode = _counting_encoder()
        shared = SharedStream(encode, capacity=100)
        with shared.attach(rt) as f1, shared.attach(rt) as f2, shared.attach(rt) as f3:
            assert f1 is f2 is f3
            assert rt.bus.statistics()["subscribers"] == 1
            start = rt.world.applied_seq
            await _produce(rt, 5)
            await trio.testing.wait_all_tasks_blocked()
            got = [f.after(start) for f in (f1, f2, f3)]
        assert rt.bus.statistics()["subscribers"] == 0  # the last one out ends it
        seqs = list(range(start + 1, rt.world.applied_seq + 1))
        assert encoded == seqs
        for batch in got:
            assert batch.seqs == seqs
            assert batch.data == [str(s).encode() for s in seqs]
            assert set(batch.types) <= {"alert.received", "group.opened"}
            assert None not in batch.groups


async def test_a_cursor_that_falls_behind_gets_its_buffers_worth_then_is_cut_off(
    runtime, autojump_clock
):
    async with runtime(router=GroupByRouter()) as (rt, _):
        _, encode = _counting_encoder()
        shared = SharedStream(encode, capacity=5)
        with shared.attach(rt) as feed, feed.follow(rt.world.applied_seq) as slow:
            start = slow.seq
            with feed.follow(start) as keeping_up:
                await rt.ingest([firing("One")])
                await trio.testing.wait_all_tasks_blocked()
                new, behind = feed.take(keeping_up)
                assert new.seqs and not behind
                # A burst of more than 5 events while `slow` takes nothing.
                await rt.ingest([firing(f"Burst{i}") for i in range(10)])
                await trio.testing.wait_all_tasks_blocked()
                new, behind = feed.take(slow)
                assert behind
                assert new.seqs == list(range(start + 1, start + 6))
                assert new.data == [str(seq).encode() for seq in new.seqs]
                _, behind = feed.take(keeping_up)  # idle through the burst too
                assert behind
        # The feed keeps a bounded tail: what is older is for the journal to serve.
        assert rt.world.applied_seq - feed.low <= 2 * 5


async def test_a_feed_started_again_begins_at_the_head(runtime, autojump_clock):
    async with runtime(router=GroupByRouter()) as (rt, _):
        _, encode = _counting_encoder()
        shared = SharedStream(encode, capacity=10)
        with shared.attach(rt) as first:
            await _produce(rt, 2)
        await _produce(rt, 2)
        with shared.attach(rt) as second:
            assert second is not first
            assert second.low == second.head == rt.world.applied_seq


async def test_a_subscription_drains_what_waits_then_ends_at_receive():
    from datetime import UTC, datetime

    from tocsin.actors.bus import EventBus
    from tocsin.core.events import ConfigLoaded

    T0 = datetime(2026, 1, 1, tzinfo=UTC)
    bus = EventBus()
    with bus.subscribe("drainer", size=2) as sub:
        assert sub.drain() == []
        for seq in (1, 2):
            bus.publish(seq, 0, ConfigLoaded("sha", "file", T0))
        assert [m.seq for m in sub.drain()] == [1, 2]
        bus.publish(3, 0, ConfigLoaded("sha", "file", T0))
        bus.publish(4, 0, ConfigLoaded("sha", "file", T0))
        bus.publish(5, 0, ConfigLoaded("sha", "file", T0))  # one more than it holds: cut off
        assert [m.seq for m in sub.drain()] == [3, 4]  # what it held, no exception
        with pytest.raises(SubscriberFellBehind):
            await sub.receive()
