"""`verify`: the read-only health report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tocsin.journal import (
    JournalError,
    SegmentInfo,
    Snapshot,
    TornTail,
    open_segment_journal,
    verify,
)

from .conftest import BASE_TS, draft, flip_byte, frame_spans, segment_files


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


async def make_journal(directory: Path, records: int = 30) -> None:
    async with open_segment_journal(directory, segment_bytes=150) as journal:
        for i in range(1, records + 1):
            await journal.append([draft(i)])
        await journal.save_snapshot(Snapshot(12, 99, {"n": 12}))


async def test_a_healthy_journal(tmp_path: Path) -> None:
    await make_journal(tmp_path)
    report = verify(tmp_path)
    assert report.ok
    assert (report.total_records, report.first_seq, report.last_seq) == (30, 1, 30)
    assert (report.first_ts, report.last_ts) == (BASE_TS + 1, BASE_TS + 30)
    assert report.torn_tail is None and report.corruption is None and report.gaps == ()
    files = segment_files(tmp_path)
    assert [s.name for s in report.segments] == [p.name for p in files]
    first = report.segments[0]
    assert first == SegmentInfo(
        files[0].name, len(frame_spans(files[0])), files[0].stat().st_size, 1, first.last_seq
    )
    assert sum(s.records for s in report.segments) == 30
    (snapshot,) = report.snapshots
    assert (snapshot.seq, snapshot.ts, snapshot.valid) == (12, 99, True)


async def test_verify_reports_a_torn_tail_and_changes_nothing(tmp_path: Path) -> None:
    await make_journal(tmp_path)
    last = segment_files(tmp_path)[-1]
    last.write_bytes(last.read_bytes() + b"\x07\x00\x00")
    before = tree(tmp_path)
    report = verify(tmp_path)
    assert report.ok  # a torn tail is what a crash leaves, not an error
    assert report.torn_tail == TornTail(
        last.name, last.stat().st_size - 3, 3, "incomplete record header (3 of 8 bytes)"
    )
    assert report.last_seq == 30
    assert tree(tmp_path) == before


async def test_verify_reports_corruption_with_segment_and_offset(tmp_path: Path) -> None:
    await make_journal(tmp_path)
    second = segment_files(tmp_path)[1]
    offset, length = frame_spans(second)[1]
    flip_byte(second, offset + length - 1)
    before = tree(tmp_path)
    report = verify(tmp_path)
    assert not report.ok
    assert report.corruption is not None
    assert (report.corruption.segment, report.corruption.offset) == (second.name, offset)
    assert "CRC mismatch" in report.corruption.reason
    assert tree(tmp_path) == before


async def test_verify_reports_gaps(tmp_path: Path) -> None:
    await make_journal(tmp_path)
    files = segment_files(tmp_path)
    files[2].unlink()
    report = verify(tmp_path)
    assert not report.ok
    (gap,) = report.gaps
    assert (gap.segment, gap.expected, gap.found) == (
        files[3].name,
        int(files[2].stem),
        int(files[3].stem),
    )


async def test_verify_reports_bad_snapshots(tmp_path: Path) -> None:
    await make_journal(tmp_path)
    (snapshot_file,) = (tmp_path / "snapshots").glob("*.snap")
    flip_byte(snapshot_file, 33)
    report = verify(tmp_path)
    assert not report.ok
    (snapshot,) = report.snapshots
    assert not snapshot.valid and snapshot.problem == "CRC mismatch"


def test_verify_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal directory"):
        verify(tmp_path / "missing")


def test_an_empty_directory_is_an_empty_healthy_journal(tmp_path: Path) -> None:
    report = verify(tmp_path)
    assert report.ok and report.total_records == 0 and report.last_seq is None
    assert os.listdir(tmp_path) == []
