"""The segment-file journal's own behaviour: opening, closing, locking, reading while writing."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from tocsin.journal import (
    InvalidRecord,
    JournalClosed,
    JournalLocked,
    RecordDraft,
    open_journal_reader,
    open_segment_journal,
)

from .conftest import FsyncGate, draft, frame_spans, segment_files


async def test_open_creates_the_directory_and_a_first_segment(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "journal"
    async with open_segment_journal(directory) as journal:
        assert journal.last_seq == 0
        assert list(journal.read()) == []
        assert journal.statistics().current_segment == f"{1:020d}.seg"
    assert [p.name for p in segment_files(directory)] == [f"{1:020d}.seg"]


async def test_one_writer_per_directory(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path):
        with pytest.raises(JournalLocked):
            async with open_segment_journal(tmp_path):
                pass  # pragma: no cover - must not open
        with open_journal_reader(tmp_path) as reader:  # readers need no lock
            assert reader.last_seq == 0
    async with open_segment_journal(tmp_path):
        pass


async def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync"):
        async with open_segment_journal(tmp_path, fsync="sometimes"):  # type: ignore[arg-type]
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="segment_bytes"):
        async with open_segment_journal(tmp_path, segment_bytes=0):
            pass  # pragma: no cover


async def test_an_invalid_draft_fails_its_call_alone_and_stores_nothing(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        assert await journal.append([draft(1)]) == [1]
        with pytest.raises(InvalidRecord):
            await journal.append([draft(2), RecordDraft(1, "T", 1, {"x": object()})])
        assert await journal.append([draft(3)]) == [2]
        assert await journal.append([]) == []
        assert [r.payload["i"] for r in journal.read()] == [1, 3]


async def test_closed_journal_refuses_appends_and_reads(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
    with pytest.raises(JournalClosed):
        await journal.append([draft(2)])
    with pytest.raises(JournalClosed):
        journal.read()


async def test_the_bodys_own_exception_comes_out_unwrapped(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        async with open_segment_journal(tmp_path) as journal:
            await journal.append([draft(1)])
            raise KeyError("mine")
    async with open_segment_journal(tmp_path) as journal:
        assert journal.last_seq == 1


async def test_records_queued_at_close_are_written_before_the_files_close(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 1
    results: list[list[int]] = []
    async with trio.open_nursery() as outside:
        async with open_segment_journal(tmp_path) as journal:

            async def append(i: int) -> None:
                results.append(await journal.append([draft(i)]))

            outside.start_soon(append, 1)
            await fsync_gate.wait_blocked()
            outside.start_soon(append, 2)
            await trio.testing.wait_all_tasks_blocked()
            fsync_gate.release()
        # The context has exited: both appenders have their answers.
        assert sorted(results) == [[1], [2]]
    assert len(frame_spans(segment_files(tmp_path)[0])) == 2


async def test_reads_see_only_acknowledged_records_while_the_writer_works(
    tmp_path: Path, fsync_gate: FsyncGate
) -> None:
    fsync_gate.block_call = 2
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1), draft(2)])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(journal.append, [draft(3)])
            await fsync_gate.wait_blocked()
            # Record 3 is in the file but not yet durable: nobody may see it yet.
            assert len(frame_spans(segment_files(tmp_path)[0])) == 3
            assert [r.seq for r in journal.read()] == [1, 2]
            assert journal.last_seq == 2
            fsync_gate.release()
        assert [r.seq for r in journal.read(after=1)] == [2, 3]
        iterator = journal.read()
        await journal.append([draft(4)])
        assert [r.seq for r in iterator] == [1, 2, 3]  # bounded by last_seq at the call


async def test_a_reader_on_a_live_journal_sees_whats_there_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with open_segment_journal(tmp_path, segment_bytes=200) as journal:
        for i in range(1, 21):
            await journal.append([draft(i)])
        before = {p.name: p.read_bytes() for p in segment_files(tmp_path)}
        with open_journal_reader(tmp_path) as reader:
            assert reader.last_seq == 20
            assert reader.torn_tail is None
            await journal.append([draft(21)])
            assert [r.seq for r in reader.read(after=15)] == [16, 17, 18, 19, 20, 21]
        after = {p.name: p.read_bytes() for p in segment_files(tmp_path)}
    assert all(after[name].startswith(data) for name, data in before.items())


async def test_cancelling_the_context_closes_the_journal_cleanly(tmp_path: Path) -> None:
    with trio.CancelScope() as scope:
        async with open_segment_journal(tmp_path) as journal:
            await journal.append([draft(1)])
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    with pytest.raises(JournalClosed):
        await journal.append([draft(2)])
    async with open_segment_journal(tmp_path) as journal:  # the lock was released
        assert journal.last_seq == 1
