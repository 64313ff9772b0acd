"""Group commit: batching, fsync policies, write failures and backpressure.

The writer thread's fdatasync is gated (see `FsyncGate`) so that "appends arrive while an fsync
runs" is arranged, not hoped for: no test here depends on timing.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from tocsin.journal import (
    JournalWriteError,
    SegmentJournal,
    open_segment_journal,
)

from .conftest import FsyncGate, draft, frame_spans, segment_files


async def _append(journal: SegmentJournal, i: int, results: dict[int, Any]) -> None:
    try:
        results[i] = await journal.append([draft(i)])
    except Exception as exc:
        results[i] = exc


async def test_appends_arriving_during_an_fsync_share_the_next_one(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    results: dict[int, Any] = {}
    async with open_segment_journal(tmp_path, fsync="batch") as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_append, journal, 0, results)
            await fsync_gate.wait_blocked()
            for i in range(1, 64):
                nursery.start_soon(_append, journal, i, results)
            await trio.testing.wait_all_tasks_blocked()
            stats = journal.statistics()
            assert (stats.last_seq, stats.pending_records, stats.fsyncs) == (0, 64, 0)
            assert not results
            fsync_gate.release()
        stats = journal.statistics()
        records = list(journal.read())
    assert (stats.fsyncs, stats.batches, stats.largest_batch) == (2, 2, 63)
    assert (stats.records_appended, stats.last_seq, stats.pending_records) == (64, 64, 0)
    assert results[0] == [1]
    assert sorted(seq for value in results.values() for seq in value) == list(range(1, 65))
    assert {r.seq: r.payload["i"] for r in records} == {value[0]: i for i, value in results.items()}


async def test_many_concurrent_appenders_need_far_fewer_fsyncs(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path, fsync="batch") as journal:

        async def appender(task: int) -> None:
            for k in range(10):
                await journal.append([draft(task * 100 + k)])

        async with trio.open_nursery() as nursery:
            for task in range(64):
                nursery.start_soon(appender, task)
        stats = journal.statistics()
    assert stats.records_appended == 640
    assert stats.fsyncs == stats.batches
    assert stats.fsyncs <= 640 // 8, stats
    assert stats.largest_batch > 8


async def test_always_fsyncs_once_per_call_even_when_calls_wait_together(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    async with open_segment_journal(tmp_path, fsync="always") as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(journal.append, [draft(0)])
            await fsync_gate.wait_blocked()
            for i in range(1, 11):
                nursery.start_soon(journal.append, [draft(i), draft(i + 100)])
            await trio.testing.wait_all_tasks_blocked()
            fsync_gate.release()
        stats = journal.statistics()
    assert (stats.fsyncs, stats.batches, stats.largest_batch) == (11, 11, 2)
    assert stats.records_appended == 21


async def test_never_does_not_fsync(tmp_path: Path, fsync_gate: FsyncGate) -> None:
    async with open_segment_journal(tmp_path, fsync="never") as journal:
        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(journal.append, [draft(i)])
        stats = journal.statistics()
    assert (stats.fsyncs, stats.records_appended) == (0, 20)
    assert fsync_gate.calls == 0
    assert len(frame_spans(segment_files(tmp_path)[0])) == 20


async def test_a_failed_fsync_fails_its_whole_batch_and_every_later_append(
    tmp_path: Path, fsync_gate: FsyncGate, caplog: pytest.LogCaptureFixture
) -> None:
    fsync_gate.block_call = 1
    fsync_gate.fail_calls = {2}
    results: dict[int, Any] = {}
    async with open_segment_journal(tmp_path, fsync="batch") as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_append, journal, 0, results)
            await fsync_gate.wait_blocked()
            for i in range(1, 6):
                nursery.start_soon(_append, journal, i, results)
            await trio.testing.wait_all_tasks_blocked()
            fsync_gate.release()
        assert results.pop(0) == [1]
        assert all(isinstance(value, JournalWriteError) for value in results.values()), results
        cause = results[1].__cause__
        assert isinstance(cause, OSError) and cause.errno == errno.EIO
        with pytest.raises(JournalWriteError, match="reopen"):
            await journal.append([draft(6)])
        assert journal.last_seq == 1
        assert [r.seq for r in journal.read()] == [1]
    assert "refusing appends until reopened" in caplog.text
    # The failed batch's bytes were taken back, so reopening finds only what was acknowledged.
    async with open_segment_journal(tmp_path, fsync="batch") as journal:
        assert journal.last_seq == 1
        assert await journal.append([draft(7)]) == [2]


async def test_a_partial_write_is_never_followed_by_more_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    writes = 0

    def short_then_fail(fd: int, data: bytes) -> int:
        nonlocal writes
        if not threading.current_thread().name.startswith("tocsin journal writer"):
            return real_write(fd, data)
        writes += 1
        if writes == 2:
            return real_write(fd, bytes(data)[:11])
        if writes == 3:
            raise OSError(errno.ENOSPC, "injected: no space left")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", short_then_fail)
    async with open_segment_journal(tmp_path, fsync="batch") as journal:
        assert await journal.append([draft(1)]) == [1]
        with pytest.raises(JournalWriteError) as caught:
            await journal.append([draft(2), draft(3)])
        assert isinstance(caught.value.__cause__, OSError)
        with pytest.raises(JournalWriteError):
            await journal.append([draft(4)])
    (segment,) = segment_files(tmp_path)
    assert len(frame_spans(segment)) == 1
    assert segment.stat().st_size == frame_spans(segment)[0][1]


async def test_a_full_queue_makes_appenders_wait_and_nothing_is_dropped(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    results: dict[int, Any] = {}
    async with open_segment_journal(tmp_path, max_pending_records=4) as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_append, journal, 0, results)
            await fsync_gate.wait_blocked()
            for i in range(1, 6):
                nursery.start_soon(_append, journal, i, results)
            await trio.testing.wait_all_tasks_blocked()
            stats = journal.statistics()
            assert (stats.pending_records, stats.tasks_waiting_for_space) == (4, 2)
            assert not results
            fsync_gate.release()
        stats = journal.statistics()
        records = list(journal.read())
    assert (stats.pending_records, stats.tasks_waiting_for_space) == (0, 0)
    assert sorted(results) == list(range(6))
    assert [r.seq for r in records] == list(range(1, 7))
    assert sorted(r.payload["i"] for r in records) == list(range(6))


async def test_a_call_larger_than_the_queue_bound_waits_for_an_empty_queue(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    async with open_segment_journal(tmp_path, max_pending_records=4) as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(journal.append, [draft(0)])
            await fsync_gate.wait_blocked()
            nursery.start_soon(journal.append, [draft(i) for i in range(1, 11)])
            await trio.testing.wait_all_tasks_blocked()
            assert journal.statistics().tasks_waiting_for_space == 1
            fsync_gate.release()
        assert journal.last_seq == 11


async def test_cancelling_an_appender_waiting_for_space_stores_nothing_and_frees_the_rest(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    results: dict[int, Any] = {}
    async with open_segment_journal(tmp_path, max_pending_records=2) as journal:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_append, journal, 0, results)
            await fsync_gate.wait_blocked()
            nursery.start_soon(_append, journal, 1, results)
            await trio.testing.wait_all_tasks_blocked()
            async with trio.open_nursery() as doomed:
                doomed.start_soon(_append, journal, 2, results)
                await trio.testing.wait_all_tasks_blocked()
                nursery.start_soon(_append, journal, 3, results)
                await trio.testing.wait_all_tasks_blocked()
                assert journal.statistics().tasks_waiting_for_space == 2
                doomed.cancel_scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert journal.statistics().tasks_waiting_for_space == 1
            fsync_gate.release()
        records = list(journal.read())
    assert 2 not in results
    assert results[3] == [3]
    assert [r.payload["i"] for r in records] == [0, 1, 3]


async def test_an_appender_cancelled_after_queueing_still_learns_its_seqs(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    got: list[int] = []
    async with open_segment_journal(tmp_path) as journal:
        async with trio.open_nursery() as nursery:

            async def append_then_get_cancelled() -> None:
                with trio.CancelScope() as scope:
                    nursery.start_soon(cancel_when_blocked, scope)
                    got.extend(await journal.append([draft(1)]))
                    await trio.lowlevel.checkpoint()  # the deferred cancellation lands here
                    raise AssertionError("not cancelled")  # pragma: no cover

            async def cancel_when_blocked(scope: trio.CancelScope) -> None:
                await fsync_gate.wait_blocked()
                scope.cancel()
                await trio.testing.wait_all_tasks_blocked()
                assert not got
                fsync_gate.release()

            nursery.start_soon(append_then_get_cancelled)
        assert got == [1]
        assert [r.seq for r in journal.read()] == [1]
