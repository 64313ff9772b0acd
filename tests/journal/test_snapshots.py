"""Snapshot files and retention."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import struct
import time
import zlib
from pathlib import Path

import msgpack
import pytest
import trio
import trio.lowlevel

from tocsin.journal import (
    InvalidRecord,
    JournalError,
    RecordsCompacted,
    Snapshot,
    open_journal_reader,
    open_segment_journal,
)
from tocsin.journal.snapshots import SnapshotStore

from ..fakes import wait_for
from .conftest import draft, flip_byte, segment_files

STATE = {"groups": {"g1": {"state": "firing", "alerts": [b"\x01", 2]}}, "silences": []}


def snapshot_files(directory: Path) -> list[Path]:
    return sorted((directory / "snapshots").glob("*.snap"))


async def test_snapshot_file_layout(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(i) for i in range(5)])
        await journal.save_snapshot(Snapshot(seq=5, ts=123_456, payload=STATE))
    (path,) = snapshot_files(tmp_path)
    assert path.name == f"{5:020d}.snap"
    data = path.read_bytes()
    magic, version, reserved, seq, ts, length, crc = struct.unpack_from("<4sHHQqII", data)
    body = data[32:]
    assert (magic, version, reserved, seq, ts) == (b"TSNP", 1, 0, 5, 123_456)
    assert (length, crc) == (len(body), zlib.crc32(body))
    assert msgpack.unpackb(body, raw=False) == STATE
    assert not list((tmp_path / "snapshots").glob("*.tmp"))


async def test_load_returns_the_newest_snapshot(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        assert journal.load_snapshot() is None
        await journal.append([draft(i) for i in range(5)])
        await journal.save_snapshot(Snapshot(2, 1, {"n": 2}))
        await journal.save_snapshot(Snapshot(4, 2, {"n": 4}))
    async with open_segment_journal(tmp_path) as journal:
        assert journal.load_snapshot() == Snapshot(4, 2, {"n": 4})


@pytest.mark.parametrize("damage", ["flip body", "truncate", "bad magic", "empty"])
async def test_a_bad_newest_snapshot_is_logged_and_the_previous_one_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(i) for i in range(5)])
        await journal.save_snapshot(Snapshot(3, 1, {"n": 3}))
        await journal.save_snapshot(Snapshot(5, 2, {"n": 5}))
    newest = snapshot_files(tmp_path)[-1]
    if damage == "flip body":
        flip_byte(newest, 33)
    elif damage == "truncate":
        newest.write_bytes(newest.read_bytes()[:-1])
    elif damage == "bad magic":
        flip_byte(newest, 0)
    else:
        newest.write_bytes(b"")
    with caplog.at_level(logging.ERROR, logger="tocsin.journal"):
        async with open_segment_journal(tmp_path) as journal:
            assert journal.load_snapshot() == Snapshot(3, 1, {"n": 3})
    assert f"snapshot {newest} is invalid" in caplog.text
    with open_journal_reader(tmp_path) as reader:
        assert reader.load_snapshot() == Snapshot(3, 1, {"n": 3})


async def test_a_snapshot_beyond_the_journal_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(i) for i in range(3)])
        await journal.save_snapshot(Snapshot(2, 1, {"n": 2}))
        with pytest.raises(InvalidRecord, match="beyond the last record"):
            await journal.save_snapshot(Snapshot(4, 1, {}))
    # As a crash with fsync="never" could leave: a snapshot newer than the surviving records.
    SnapshotStore(tmp_path).write(Snapshot(9, 1, {"n": 9}))
    async with open_segment_journal(tmp_path) as journal:
        assert journal.load_snapshot() == Snapshot(2, 1, {"n": 2})
    assert "beyond the journal's last record 3" in caplog.text


async def test_an_unencodable_snapshot_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        with pytest.raises(InvalidRecord):
            await journal.save_snapshot(Snapshot(1, 1, {"x": {1, 2}}))
    assert snapshot_files(tmp_path) == []


async def test_stray_temporary_snapshot_files_are_removed_on_open(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        await journal.save_snapshot(Snapshot(1, 1, {}))
    stray = tmp_path / "snapshots" / f"{7:020d}.snap.tmp"
    stray.write_bytes(b"half a snapshot")
    async with open_segment_journal(tmp_path) as journal:
        assert journal.load_snapshot() == Snapshot(1, 1, {})
    assert not stray.exists()


async def test_retention_keeps_two_snapshots_and_removes_only_covered_segments(
    tmp_path: Path,
) -> None:
    unrelated = tmp_path / "notes.txt"
    async with open_segment_journal(tmp_path, segment_bytes=150) as journal:
        unrelated.write_text("not ours")
        for i in range(1, 61):
            await journal.append([draft(i)])
        firsts = [int(p.stem) for p in segment_files(tmp_path)]
        assert len(firsts) > 6
        for seq in (10, 25, 40):
            await journal.save_snapshot(Snapshot(seq, seq, {"at": seq}))
        remaining = [int(p.stem) for p in segment_files(tmp_path)]
        assert [p.name for p in snapshot_files(tmp_path)] == [
            f"{25:020d}.snap",
            f"{40:020d}.snap",
        ]
        # Removed: exactly the segments whose last record (next first - 1) is <= 25.
        expected_removed = [first for first, nxt in itertools.pairwise(firsts) if nxt - 1 <= 25]
        assert remaining == [f for f in firsts if f not in expected_removed]
        assert remaining[0] <= 26
        assert unrelated.read_text() == "not ours"
        assert (tmp_path / "LOCK").exists()

        with pytest.raises(RecordsCompacted):
            list(journal.read())
        assert [r.seq for r in journal.read(after=25)] == list(range(26, 61))
    # The segment being written is never removed, even when a snapshot covers all of it.
    async with open_segment_journal(tmp_path, segment_bytes=150, keep_snapshots=1) as journal:
        await journal.save_snapshot(Snapshot(60, 60, {"at": 60}))
        current = journal.statistics().current_segment
        assert [p.name for p in segment_files(tmp_path)] == [current]
        assert [p.name for p in snapshot_files(tmp_path)] == [f"{60:020d}.snap"]
        assert await journal.append([draft(61)]) == [61]
    async with open_segment_journal(tmp_path, segment_bytes=150) as journal:
        snapshot = journal.load_snapshot()
        assert snapshot is not None and snapshot.seq == 60
        assert [r.seq for r in journal.read(after=snapshot.seq)] == [61]


async def test_nothing_is_removed_until_there_is_a_snapshot_to_fall_back_on(
    tmp_path: Path,
) -> None:
    async with open_segment_journal(tmp_path, segment_bytes=150) as journal:
        for i in range(1, 31):
            await journal.append([draft(i)])
        before = segment_files(tmp_path)
        await journal.save_snapshot(Snapshot(20, 1, {}))
        assert segment_files(tmp_path) == before
        await journal.save_snapshot(Snapshot(25, 2, {}))
        assert segment_files(tmp_path) != before
        assert int(segment_files(tmp_path)[0].stem) <= 21


# -- snapshots built in a forked child (save_snapshot_built) ---------------------------------------
async def test_a_built_snapshot_is_made_in_a_child_and_retention_follows(tmp_path: Path) -> None:
    parent = os.getpid()
    async with open_segment_journal(tmp_path) as journal:
        assert journal.fork_snapshots
        for seq in (1, 2, 3):
            await journal.append([draft(seq)])
            saved = await journal.save_snapshot_built(
                lambda seq=seq: Snapshot(seq, seq, {"pid": os.getpid()})
            )
            assert saved == seq
        loaded = journal.load_snapshot()
    assert loaded is not None and loaded.seq == 3
    assert loaded.payload["pid"] != parent  # built in another process
    assert [p.name for p in snapshot_files(tmp_path)] == [f"{2:020d}.snap", f"{3:020d}.snap"]
    assert list((tmp_path / "snapshots").glob("*.tmp")) == []


async def test_the_loop_runs_while_the_child_builds_the_state_as_of_the_call(
    tmp_path: Path,
) -> None:
    """The child sees the state at the instant of the call, however the parent changes it
    meanwhile, and the parent's loop keeps running: the build waits until the parent's loop
    has ticked three times during the save (built inline, it would hold the loop and no tick
    could come: it gives up after 30 s and the test fails)."""
    ticked = tmp_path / "ticked"
    state = {"n": 0}
    since: list[int] = []  # the tick count when the save began

    def build() -> Snapshot:
        deadline = time.monotonic() + 30.0
        while not ticked.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return Snapshot(1, 1, {**state, "released": ticked.exists()})

    async with open_segment_journal(tmp_path / "j") as journal, trio.open_nursery() as nursery:
        await journal.append([draft(1)])

        async def tick() -> None:
            while True:
                await trio.sleep(0.01)
                state["n"] += 1
                if since and state["n"] - since[0] >= 3 and not ticked.exists():
                    ticked.write_text("three ticks while the child builds")

        nursery.start_soon(tick)
        await trio.lowlevel.checkpoint()  # let the ticker park in its sleep
        since.append(state["n"])
        await journal.save_snapshot_built(build)
        ticks_during_save = state["n"] - since[0]
        nursery.cancel_scope.cancel()
        loaded = journal.load_snapshot()
    assert loaded is not None and loaded.payload == {"n": since[0], "released": True}
    assert ticks_during_save >= 3


async def test_a_failing_child_is_reported_and_the_journal_stays_usable(tmp_path: Path) -> None:
    def boom() -> Snapshot:
        raise ValueError("no state here")

    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        with pytest.raises(JournalError, match="ValueError: no state here"):
            await journal.save_snapshot_built(boom)
        with pytest.raises(InvalidRecord, match="beyond the last record 1"):
            await journal.save_snapshot_built(lambda: Snapshot(5, 1, {}))
        with pytest.raises(InvalidRecord):  # msgpack cannot encode a set
            await journal.save_snapshot_built(lambda: Snapshot(1, 1, {"x": {1, 2}}))
        assert snapshot_files(tmp_path) == []
        await journal.append([draft(2)])
        assert await journal.save_snapshot_built(lambda: Snapshot(2, 2, {"ok": True})) == 2
        assert journal.load_snapshot() == Snapshot(2, 2, {"ok": True})
    assert list((tmp_path / "snapshots").glob("*.tmp")) == []


async def test_without_fork_the_snapshot_is_built_inline(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path) as journal:
        journal.fork_snapshots = False
        await journal.append([draft(1)])
        await journal.save_snapshot_built(lambda: Snapshot(1, 1, {"pid": os.getpid()}))
        assert journal.load_snapshot() == Snapshot(1, 1, {"pid": os.getpid()})


async def test_a_cancelled_save_kills_its_child_and_writes_nothing(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    def slow() -> Snapshot:
        pid_file.write_text(str(os.getpid()))
        signal.alarm(60)  # a bound, should the kill under test not come
        signal.pause()  # until the parent kills it
        return Snapshot(1, 1, {})

    async with open_segment_journal(tmp_path / "j") as journal:
        await journal.append([draft(1)])
        with trio.move_on_after(60) as scope:  # the bound; cancelled by hand below
            async with trio.open_nursery() as nursery:
                nursery.start_soon(journal.save_snapshot_built, slow)
                await wait_for(
                    lambda: pid_file.exists() and pid_file.read_text() != "",
                    every=0.01,
                    what="the child to start",
                )
                nursery.cancel_scope.cancel()
        assert not scope.cancelled_caught
        pid = int(pid_file.read_text())
        # Killed and reaped: no zombie left.
        await wait_for(lambda: not _alive(pid), within=10, every=0.01, what="the child to be gone")
        assert snapshot_files(tmp_path / "j") == []
        assert await journal.save_snapshot_built(lambda: Snapshot(1, 1, {"ok": 1})) == 1


async def test_when_fork_fails_the_snapshot_is_built_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        with caplog.at_level(logging.WARNING, "tocsin.journal"):
            saved = await journal.save_snapshot_built(lambda: Snapshot(1, 1, {"pid": os.getpid()}))
        assert saved == 1
        assert journal.load_snapshot() == Snapshot(1, 1, {"pid": os.getpid()})
    assert "cannot fork" in caplog.text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_child_holds_nothing_of_the_parents_and_goes_first_under_memory_pressure(
    tmp_path: Path,
) -> None:
    theirs, mine = os.pipe()  # stands for the journal's lock, the sockets: the parent's fds
    try:

        def build() -> Snapshot:
            try:
                os.fstat(theirs)
                inherited = True
            except OSError:
                inherited = False
            with open("/proc/self/oom_score_adj") as f:
                oom = f.read().strip()
            handler = signal.getsignal(signal.SIGUSR1)
            return Snapshot(1, 1, {"inherited": inherited, "oom": oom, "usr1": str(handler)})

        previous = signal.signal(signal.SIGUSR1, lambda *_: None)
        try:
            async with open_segment_journal(tmp_path) as journal:
                await journal.append([draft(1)])
                await journal.save_snapshot_built(build)
                loaded = journal.load_snapshot()
        finally:
            signal.signal(signal.SIGUSR1, previous)
    finally:
        os.close(theirs)
        os.close(mine)
    assert loaded is not None
    assert loaded.payload == {"inherited": False, "oom": "1000", "usr1": str(signal.SIG_DFL)}


async def test_a_child_killed_mid_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    def killed_while_writing() -> Snapshot:
        (tmp_path / "snapshots").mkdir(exist_ok=True)
        (tmp_path / "snapshots" / f"{1:020d}.snap.tmp").write_bytes(b"half a state")
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        with pytest.raises(JournalError, match="exited with status -9"):
            await journal.save_snapshot_built(killed_while_writing)
        assert list((tmp_path / "snapshots").glob("*.tmp")) == []
