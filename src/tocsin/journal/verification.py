"""`verify`: a read-only health report of a journal directory, for `tocsin journal verify`.

Unlike opening, which stops at the first problem, `verify` decodes every record of every
segment and reports everything it can: per-segment counts, the torn tail (normal after a crash,
or against a live writer mid-batch: not an error), the first corruption, every gap in sequence
numbers, and every snapshot with its validity. It never modifies, creates or locks anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from tocsin.journal.errors import JournalError
from tocsin.journal.segments import SequenceGap, TornTail, list_segments, scan_segment
from tocsin.journal.snapshots import SnapshotInfo, SnapshotStore

__all__ = ["Corruption", "SegmentInfo", "VerifyReport", "verify"]


@attrs.frozen
class SegmentInfo:
    """One segment: its file name, valid records, size in bytes, first and last seq (if any)."""

    name: str
    records: int
    size: int
    first_seq: int | None
    last_seq: int | None


@attrs.frozen
class Corruption:
    """The first problem a crash cannot explain: where, and why."""

    segment: str
    offset: int
    reason: str


@attrs.frozen
class VerifyReport:
    """What `verify` found. `ok` is False for corruption, gaps or a bad snapshot."""

    directory: str
    segments: tuple[SegmentInfo, ...]
    snapshots: tuple[SnapshotInfo, ...]
    total_records: int
    first_seq: int | None
    last_seq: int | None
    first_ts: int | None
    last_ts: int | None
    torn_tail: TornTail | None
    corruption: Corruption | None
    gaps: tuple[SequenceGap, ...]

    @property
    def ok(self) -> bool:
        return (
            self.corruption is None
            and not self.gaps
            and all(snapshot.valid for snapshot in self.snapshots)
        )


def verify(directory: str | os.PathLike[str]) -> VerifyReport:
    """Check every record and snapshot in `directory` without changing anything.

    Raises `JournalError` if the directory does not exist or cannot be read; problems in the
    data are reported, not raised.
    """
    path = Path(directory)
    if not path.is_dir():
        raise JournalError(f"no journal directory at {path}")
    try:
        return _verify(path)
    except OSError as exc:
        raise JournalError(f"cannot read the journal in {path}: {exc}") from exc


def _verify(path: Path) -> VerifyReport:
    listed = list_segments(path)
    segments: list[SegmentInfo] = []
    gaps: list[SequenceGap] = []
    corruption: Corruption | None = None
    torn: TornTail | None = None
    total = 0
    first_seq = last_seq = first_ts = last_ts = None
    expected: int | None = None
    for index, (first, segment) in enumerate(listed):
        is_last = index == len(listed) - 1
        scan = scan_segment(segment, first, full=True)
        if expected is not None and first != expected:
            gaps.append(SequenceGap(segment.name, 0, expected, first))
        gaps.extend(scan.gaps)
        if scan.problem is not None:
            if is_last and scan.torn:
                torn = scan.torn_tail()
            elif corruption is None:
                where = "" if is_last else " (in a segment that is not the last)"
                corruption = Corruption(segment.name, scan.problem_offset, scan.problem + where)
        # After a corrupt segment, where the next one should start is unknown.
        expected = scan.last_seq + 1 if scan.problem is None or scan.torn else None
        if scan.records:
            segments.append(
                SegmentInfo(segment.name, scan.records, scan.file_bytes, first, scan.last_seq)
            )
            if first_seq is None:
                first_seq, first_ts = first, scan.first_ts
            last_seq, last_ts = scan.last_seq, scan.last_ts
            total += scan.records
        else:
            segments.append(SegmentInfo(segment.name, 0, scan.file_bytes, None, None))
    snapshots = []
    for info in SnapshotStore(path).inspect():
        if info.valid and info.seq > (last_seq or 0):
            info = attrs.evolve(info, problem=f"beyond the journal's last record {last_seq or 0}")
        snapshots.append(info)
    return VerifyReport(
        directory=str(path),
        segments=tuple(segments),
        snapshots=tuple(snapshots),
        total_records=total,
        first_seq=first_seq,
        last_seq=last_seq,
        first_ts=first_ts,
        last_ts=last_ts,
        torn_tail=torn,
        corruption=corruption,
        gaps=tuple(gaps),
    )
