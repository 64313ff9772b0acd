"""A snapshot is the state at its own seq, also when it had to wait for the journal's lock."""

from __future__ import annotations

import os
from pathlib import Path

import trio
import trio.testing

from tocsin.actors.clock import TrioClock
from tocsin.actors.runtime import RuntimeSettings, open_runtime, recover_world
from tocsin.daemon import TimedJournal
from tocsin.journal import RecordDraft, Snapshot, open_segment_journal

from ..core.lifecycle_harness import T0
from .conftest import GroupByRouter, Recorder, firing


async def test_a_snapshot_that_waited_for_the_lock_holds_the_state_at_its_seq(
    tmp_path: Path,
) -> None:
    clock = TrioClock(T0)
    async with (
        open_segment_journal(tmp_path) as journal,
        open_runtime(
            journal,
            router=GroupByRouter(),
            clock=clock,
            notifier=Recorder(clock),
            settings=RuntimeSettings(),
        ) as rt,
    ):
        assert journal.fork_snapshots  # the case at stake: built in a forked child
        await rt.ingest([firing("First")])
        # Another snapshot holds the journal's lock; this one waits, and alerts arrive
        # meanwhile (new groups: replayed twice, their GroupOpened would start a new episode).
        done: list[int] = []

        async def take() -> None:
            done.append(await rt.snapshot())

        await journal._snapshot_lock.acquire()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(take)
            await trio.testing.wait_all_tasks_blocked()
            await rt.ingest([firing("Second"), firing("Third", instance="x")])
            assert not done
            journal._snapshot_lock.release()
        snapshot = journal.load_snapshot()
        assert snapshot is not None and snapshot.seq == done[0] == rt.world.applied_seq
        assert recover_world(journal)[0].to_snapshot() == rt.world.to_snapshot()


async def test_the_daemons_journal_builds_snapshots_in_a_child(tmp_path: Path) -> None:
    """The daemon wraps its journal (`TimedJournal`, for /metrics): the wrapper must hand the
    builder on, or the daemon would build every snapshot on its event loop."""
    observed: list[float] = []
    async with open_segment_journal(tmp_path) as segments:
        journal = TimedJournal(segments, observed.append)
        await journal.append([RecordDraft(1, "test.record", 1, {})])
        await journal.save_snapshot_built(lambda: Snapshot(1, 1, {"pid": os.getpid()}))
        snapshot = journal.load_snapshot()
    assert snapshot is not None and snapshot.payload["pid"] != os.getpid()
    assert len(observed) == 1
