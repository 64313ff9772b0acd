"""The resumable stream: journal then live, no gap, no duplicate; a slow reader is cut off."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tocsin.actors.bus import SubscriberFellBehind
from tocsin.actors.stream import stream_events

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
