"""The one test suite every journal backend passes (as eventsourcing's tests/persistence.py).

A backend is something that can open (and, to test continuity, reopen) a journal on the same
storage. Adding a backend means adding it to `BACKENDS` and passing everything below.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import trio

from tocsin.journal import (
    InvalidRecord,
    Journal,
    JournalClosed,
    RecordDraft,
    Snapshot,
    StoredRecord,
    open_memory_journal,
    open_segment_journal,
)
from tocsin.journal.memory import MemoryStore

from .conftest import BASE_TS, draft

Opener = Callable[[], AbstractAsyncContextManager[Journal]]

BACKENDS = ["segments", "memory"]


@pytest.fixture(params=BACKENDS)
def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a journal on the same storage each time it is called."""
    if request.param == "segments":
        return lambda: open_segment_journal(tmp_path / "journal", segment_bytes=300)
    store = MemoryStore()
    return lambda: open_memory_journal(store)


async def test_it_is_a_journal(open_journal: Opener) -> None:
    async with open_journal() as journal:
        assert isinstance(journal, Journal)
        assert journal.last_seq == 0
        assert list(journal.read()) == []
        assert journal.load_snapshot() is None


async def test_append_and_read_round_trip(open_journal: Opener) -> None:
    drafts = [
        RecordDraft(BASE_TS, "AlertReceived", 1, {"labels": {"a": "b"}, "n": [1, 2.5, None]}),
        RecordDraft(BASE_TS + 1, "GroupFlushed", 3, {"bin": b"\x00\xff", "text": "é🚨"}),
        RecordDraft(BASE_TS + 2, "Empty", 1, {}),
    ]
    async with open_journal() as journal:
        assert await journal.append(drafts[:1]) == [1]
        assert await journal.append(drafts[1:]) == [2, 3]
        assert journal.last_seq == 3
        records = list(journal.read())
    assert records == [
        StoredRecord(i + 1, d.ts, d.type, d.version, d.payload) for i, d in enumerate(drafts)
    ]


async def test_what_is_read_does_not_alias_what_was_appended(open_journal: Opener) -> None:
    payload = {"list": [1]}
    async with open_journal() as journal:
        await journal.append([RecordDraft(1, "T", 1, payload)])
        payload["list"].append(2)
        (record,) = journal.read()
        record.payload["list"].append(3)
        assert next(iter(journal.read())).payload == {"list": [1]}


async def test_sequence_numbers_continue_across_reopen(open_journal: Opener) -> None:
    async with open_journal() as journal:
        for i in range(1, 21):
            await journal.append([draft(i)])
    async with open_journal() as journal:
        assert journal.last_seq == 20
        assert await journal.append([draft(21), draft(22)]) == [21, 22]
    async with open_journal() as journal:
        assert [(r.seq, r.payload["i"]) for r in journal.read()] == [(i, i) for i in range(1, 23)]


async def test_concurrent_appenders_get_contiguous_seqs_per_call(open_journal: Opener) -> None:
    calls: dict[tuple[int, int], list[int]] = {}
    async with open_journal() as journal:

        async def appender(task: int) -> None:
            for k in range(10):
                size = 1 + (task + k) % 3
                seqs = await journal.append([draft(task * 1000 + k * 10 + j) for j in range(size)])
                calls[task, k] = seqs

        async with trio.open_nursery() as nursery:
            for task in range(20):
                nursery.start_soon(appender, task)
        records = list(journal.read())
    everything = sorted(seq for seqs in calls.values() for seq in seqs)
    assert everything == list(range(1, len(everything) + 1))
    assert [r.seq for r in records] == everything
    for (task, k), seqs in calls.items():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        got = [records[seq - 1].payload["i"] for seq in seqs]
        assert got == [task * 1000 + k * 10 + j for j in range(len(seqs))]
    for task in range(20):  # each task's calls are in its own order
        firsts = [calls[task, k][0] for k in range(10)]
        assert firsts == sorted(firsts)


async def test_read_after(open_journal: Opener) -> None:
    async with open_journal() as journal:
        for i in range(1, 31):
            await journal.append([draft(i)])
        assert [r.seq for r in journal.read(after=0)] == list(range(1, 31))
        assert [r.seq for r in journal.read(after=17)] == list(range(18, 31))
        assert list(journal.read(after=30)) == []
        assert list(journal.read(after=99)) == []
        with pytest.raises(ValueError):
            journal.read(after=-1)
        iterator = journal.read(after=28)
        await journal.append([draft(31)])
        assert [r.seq for r in iterator] == [29, 30]


async def test_snapshots(open_journal: Opener) -> None:
    async with open_journal() as journal:
        await journal.append([draft(i) for i in range(1, 11)])
        await journal.save_snapshot(Snapshot(0, BASE_TS, {"empty": True}))
        await journal.save_snapshot(Snapshot(4, BASE_TS + 4, {"groups": {"g": [1, 2]}}))
        await journal.save_snapshot(Snapshot(7, BASE_TS + 7, {"groups": {"g": [1, 2, 3]}}))
        with pytest.raises(InvalidRecord):
            await journal.save_snapshot(Snapshot(11, BASE_TS, {}))
        with pytest.raises(InvalidRecord):
            await journal.save_snapshot(Snapshot(5, BASE_TS, {"x": object()}))
        assert journal.load_snapshot() == Snapshot(7, BASE_TS + 7, {"groups": {"g": [1, 2, 3]}})
    async with open_journal() as journal:
        snapshot = journal.load_snapshot()
        assert snapshot is not None
        assert [r.seq for r in journal.read(after=snapshot.seq)] == [8, 9, 10]


async def test_snapshots_built_by_a_callback(open_journal: Opener) -> None:
    """`save_snapshot_built` stores what `build` returns, however the backend runs it."""
    async with open_journal() as journal:
        await journal.append([draft(i) for i in range(1, 4)])
        seq = await journal.save_snapshot_built(lambda: Snapshot(3, BASE_TS, {"n": 3}))
        assert seq == 3
        assert journal.load_snapshot() == Snapshot(3, BASE_TS, {"n": 3})
        with pytest.raises(InvalidRecord):
            await journal.save_snapshot_built(lambda: Snapshot(9, BASE_TS, {}))
        assert journal.load_snapshot() == Snapshot(3, BASE_TS, {"n": 3})


async def test_invalid_drafts_store_nothing(open_journal: Opener) -> None:
    async with open_journal() as journal:
        with pytest.raises(InvalidRecord):
            await journal.append([draft(1), RecordDraft(1, "T", 1, {"s": {1}})])
        assert journal.last_seq == 0
        assert await journal.append([draft(2)]) == [1]


async def test_closed_means_closed(open_journal: Opener) -> None:
    async with open_journal() as journal:
        await journal.append([draft(1)])
    with pytest.raises(JournalClosed):
        await journal.append([draft(2)])


async def test_statistics(open_journal: Opener) -> None:
    async with open_journal() as journal:
        await journal.append([draft(1), draft(2), draft(3)])
        await journal.append([draft(4)])
        stats = journal.statistics()
    assert (stats.last_seq, stats.records_appended) == (4, 4)
    assert stats.largest_batch == 3
    assert stats.bytes_appended > 4 * 8
    assert (stats.pending_records, stats.tasks_waiting_for_space) == (0, 0)
