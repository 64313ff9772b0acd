"""Segment files: naming, scanning, recovery rules and reading records across segments.

A journal directory holds segment files named `NNNNNNNNNNNNNNNNNNNN.seg`, the 20-digit
zero-padded sequence number of the first record the segment holds (or will hold, for an empty
one). Segments follow each other without gaps: each starts right after the previous one's last
record. Only the last segment is ever written to. Other files in the directory are ignored.

Recovery rules, applied by `scan_journal`, which never modifies anything:

* A problem in the **last** segment with nothing valid after it (an incomplete header, an
  incomplete body, a CRC mismatch, and any bytes after those) is a **torn tail**: what a crash
  mid-write leaves. A writer truncates it; a reader stops before it. Either way it is reported
  with its byte count.
* Any other problem is **corruption** (`JournalCorrupt`, naming the file and byte offset): a bad
  record followed by a valid one, a problem in a segment that is not the last, a CRC-valid body
  that does not decode, a segment whose name disagrees with its records, or a gap between
  segments. It is never repaired automatically.

A writer acknowledges records only after they are completely written, so truncating a torn tail
drops only records nobody was told about.

Known limit: after a power loss (not a process crash), a file system may keep later pages of an
unacknowledged batch and lose earlier ones. That looks like a bad frame followed by valid ones,
which these rules call corruption: `verify` shows where, and truncating there by hand is safe
only if the records after it were never acknowledged.
"""

from __future__ import annotations

import bisect
import os
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import attrs
import msgpack

from tocsin.journal.errors import JournalCorrupt, JournalError, RecordsCompacted
from tocsin.journal.framing import (
    HEADER,
    HEADER_SIZE,
    MAX_RECORD_BYTES,
    READ_CHUNK,
    FrameWalker,
    classify_stop,
    decode_body,
    describe_frame_problem,
)
from tocsin.journal.records import StoredRecord

__all__ = [
    "SEGMENT_SUFFIX",
    "JournalScan",
    "SegmentScan",
    "SequenceGap",
    "TornTail",
    "iter_records",
    "list_segments",
    "scan_journal",
    "scan_segment",
    "segment_name",
]

SEGMENT_SUFFIX: Final = ".seg"
_SEGMENT_NAME: Final = re.compile(r"(\d{20})\.seg\Z")


@attrs.frozen
class TornTail:
    """`length` bytes at `offset` of `segment` that do not form a complete, valid record."""

    segment: str
    offset: int
    length: int
    reason: str


@attrs.frozen
class SequenceGap:
    """At `offset` of `segment`, a record has seq `found` where `expected` should have been."""

    segment: str
    offset: int
    expected: int
    found: int


@attrs.frozen
class SegmentScan:
    """What one pass over a segment found.

    `records` complete, valid records (seq `first_seq` … `last_seq`) end at `valid_bytes`.
    `problem` (or None) describes what is wrong at `problem_offset`; `torn` says nothing valid
    follows it, so a crash mid-write explains it. `gaps` is filled by full scans only.
    """

    path: Path
    first_seq: int
    records: int
    last_seq: int
    first_ts: int | None
    last_ts: int | None
    valid_bytes: int
    file_bytes: int
    problem: str | None
    problem_offset: int
    torn: bool
    gaps: tuple[SequenceGap, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    def torn_tail(self) -> TornTail | None:
        if self.problem is None or not self.torn:
            return None
        return TornTail(
            self.name, self.problem_offset, self.file_bytes - self.problem_offset, self.problem
        )


@attrs.frozen
class JournalScan:
    """The result of `scan_journal`: every segment, the last stored seq, the torn tail if any."""

    segments: tuple[SegmentScan, ...]
    last_seq: int
    torn_tail: TornTail | None


def segment_name(first_seq: int) -> str:
    """The file name of the segment whose first record is `first_seq`."""
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """`(first_seq, path)` of every segment file in `directory`, in order. Raises `OSError`."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            match = _SEGMENT_NAME.match(entry.name)
            if match is not None and entry.is_file():
                found.append((int(match.group(1)), Path(entry.path)))
    found.sort()
    return found


def scan_segment(path: Path, first_seq: int, *, full: bool) -> SegmentScan:
    """Walk one segment, checking every frame's length and CRC; never modifies it.

    `full` also decodes every body (checking types and sequence numbers, filling `gaps`, and
    stopping at an undecodable body); otherwise only the first and last bodies are decoded,
    which is enough to check the name and the count. Raises `OSError` if the file cannot be read.
    """
    records = 0
    expected = first_seq
    last_seq = first_seq - 1
    first_ts: int | None = None
    last_ts: int | None = None
    first_body: tuple[int, bytes] | None = None
    last_body: tuple[int, bytes] | None = None
    gaps: list[SequenceGap] = []
    problem: str | None = None
    problem_offset = 0
    decodable = True
    with open(path, "rb", buffering=0) as file:
        walker = FrameWalker(file)
        for offset, body in walker.frames():
            if full:
                try:
                    seq, ts, _, _, _ = decode_body(body)
                except ValueError as exc:
                    problem, problem_offset, decodable = str(exc), offset, False
                    break
                if seq != expected:
                    if records == 0:
                        problem = f"first record has seq {seq}, but the file name says {first_seq}"
                        problem_offset, decodable = offset, False
                        break
                    gaps.append(SequenceGap(path.name, offset, expected, seq))
                if first_ts is None:
                    first_ts = ts
                last_ts, last_seq, expected = ts, seq, seq + 1
            else:
                if first_body is None:
                    first_body = (offset, body)
                last_body = (offset, body)
            records += 1
        else:
            problem, problem_offset = walker.problem, walker.stop_offset
        valid_bytes = walker.stop_offset if decodable else problem_offset
        if not full and first_body is not None and last_body is not None:
            checked = _check_ends(path, first_seq, records, first_body, last_body)
            if isinstance(checked, str):
                problem, problem_offset, decodable = checked, 0, False
                records, valid_bytes = 0, 0
            else:
                first_ts, last_ts = checked
                last_seq = first_seq + records - 1
        torn = False
        if problem is not None and decodable:
            file.seek(problem_offset)
            kind = classify_stop(file.read())
            if kind == "grew":  # a live writer finished the frame meanwhile: a clean end
                problem = None
            torn = kind == "torn"
        file_bytes = os.fstat(file.fileno()).st_size
    return SegmentScan(
        path=path,
        first_seq=first_seq,
        records=records,
        last_seq=last_seq,
        first_ts=first_ts,
        last_ts=last_ts,
        valid_bytes=valid_bytes,
        file_bytes=max(file_bytes, valid_bytes),
        problem=problem,
        problem_offset=problem_offset,
        torn=torn,
        gaps=tuple(gaps),
    )


def _check_ends(
    path: Path,
    first_seq: int,
    records: int,
    first: tuple[int, bytes],
    last: tuple[int, bytes],
) -> tuple[int, int] | str:
    """Decode a segment's first and last bodies: their timestamps, or what is wrong."""
    try:
        seq0, ts0, _, _, _ = decode_body(first[1])
        seq1, ts1, _, _, _ = decode_body(last[1])
    except ValueError as exc:
        return f"{exc} (first or last record)"
    if seq0 != first_seq:
        return f"first record has seq {seq0}, but the file name says {first_seq}"
    if seq1 != first_seq + records - 1:
        return (
            f"last record (at byte {last[0]}) has seq {seq1}, but {records} records from "
            f"{first_seq} end at {first_seq + records - 1}"
        )
    return ts0, ts1


def scan_journal(directory: Path, *, full: bool = False) -> JournalScan:
    """Scan every segment and apply the recovery rules, without modifying anything.

    Raises `JournalCorrupt` for corruption (see the module docstring) and `OSError` if the
    directory or a segment cannot be read. An empty directory scans as an empty journal.
    """
    listed = list_segments(directory)
    scans: list[SegmentScan] = []
    expected: int | None = None
    for index, (first_seq, path) in enumerate(listed):
        if expected is not None and first_seq != expected:
            raise JournalCorrupt(
                str(path),
                0,
                f"segment starts at seq {first_seq}, but the previous one ends at {expected - 1}",
            )
        scan = scan_segment(path, first_seq, full=full)
        if scan.problem is not None:
            is_last = index == len(listed) - 1
            if not (is_last and scan.torn):
                where = "" if is_last else " (in a segment that is not the last)"
                raise JournalCorrupt(str(path), scan.problem_offset, scan.problem + where)
        if scan.gaps:
            gap = scan.gaps[0]
            raise JournalCorrupt(
                str(path), gap.offset, f"record has seq {gap.found}, expected {gap.expected}"
            )
        scans.append(scan)
        expected = scan.last_seq + 1
    last_seq = scans[-1].last_seq if scans else 0
    torn = scans[-1].torn_tail() if scans else None
    return JournalScan(tuple(scans), last_seq, torn)


def iter_records(
    listed: list[tuple[int, Path]],
    after: int,
    until: int | None,
    on_torn_tail: Callable[[TornTail], None] | None = None,
) -> Iterator[StoredRecord]:
    """Yield the records with `after < seq <= until` from the segments `listed`, in order.

    With `until=None`, read to the end of the last segment and stop before a torn tail,
    reporting it to `on_torn_tail`. With `until` set, the records up to it must be there.
    Segments before the one holding `after + 1` are located by name and never opened; within
    that one, earlier frames are stepped over without being decoded.

    Raises `RecordsCompacted` if `after + 1` is older than the oldest segment, `JournalCorrupt`
    for corruption met on the way, and `JournalError` if a segment cannot be read.
    """
    if until is not None and until <= after:
        return
    firsts = [first for first, _ in listed]
    index = bisect.bisect_right(firsts, after + 1) - 1
    if index < 0:
        if listed:
            raise RecordsCompacted(after, firsts[0])
        return
    unpack_header = HEADER.unpack_from
    crc32 = zlib.crc32
    unpackb = msgpack.unpackb
    expected = firsts[index]
    try:
        for position in range(index, len(listed)):
            first_seq, path = listed[position]
            if first_seq != expected:
                raise JournalCorrupt(
                    str(path), 0, f"segment starts at seq {first_seq}, expected {expected}"
                )
            seq = first_seq
            try:
                file = open(path, "rb", buffering=0)  # noqa: SIM115 - `with file` just below
            except FileNotFoundError:
                raise RecordsCompacted(after, seq) from None
            with file:
                # FrameWalker's loop, inlined: this is the replay hot path, and one generator
                # hop less per record is worth ~10% there.
                buf = b""
                pos = base = 0
                need = HEADER_SIZE
                bad = False
                while not bad:
                    more = file.read(max(READ_CHUNK, need))
                    if not more:
                        break
                    buf = buf[pos:] + more
                    base += pos
                    pos = 0
                    size = len(buf)
                    while size - pos >= HEADER_SIZE:
                        length, crc = unpack_header(buf, pos)
                        end = pos + HEADER_SIZE + length
                        if length == 0 or length > MAX_RECORD_BYTES:
                            bad = True
                            break
                        if end > size:
                            need = end - size
                            break
                        body = buf[pos + HEADER_SIZE : end]
                        if crc32(body) != crc:
                            bad = True
                            break
                        if seq > after:
                            try:
                                got, ts, type_, version, payload = unpackb(
                                    body, raw=False, strict_map_key=False
                                )
                            except (ValueError, TypeError, msgpack.UnpackException) as exc:
                                raise JournalCorrupt(
                                    str(path), base + pos, f"undecodable record: {exc}"
                                ) from exc
                            if got != seq:
                                raise JournalCorrupt(
                                    str(path), base + pos, f"record has seq {got}, expected {seq}"
                                )
                            yield StoredRecord(got, ts, type_, version, payload)
                            if got == until:
                                return
                        seq += 1
                        pos = end
                    else:
                        need = HEADER_SIZE
                if bad or pos < len(buf):
                    is_last = position == len(listed) - 1
                    _stopped_early(path, base + pos, is_last, until, on_torn_tail)
                    return
            expected = seq
    except OSError as exc:
        raise JournalError(f"cannot read the journal: {exc}") from exc
    if until is not None and expected <= until:
        raise JournalCorrupt(
            str(listed[-1][1]), 0, f"records end at seq {expected - 1}, expected up to {until}"
        )


def _stopped_early(
    path: Path,
    offset: int,
    is_last: bool,
    until: int | None,
    on_torn_tail: Callable[[TornTail], None] | None,
) -> None:
    """Reading stopped at a frame that is not valid: report a torn tail, or raise."""
    with open(path, "rb", buffering=0) as file:
        file.seek(offset)
        rest = file.read()
    if is_last and until is None:
        kind = classify_stop(rest)
        if kind == "grew":  # a live writer completed it meanwhile: read again to see it
            return
        if kind == "torn":
            if on_torn_tail is not None:
                problem = describe_frame_problem(rest)
                on_torn_tail(TornTail(path.name, offset, len(rest), problem))
            return
    where = "" if is_last else " (in a segment that is not the last)"
    raise JournalCorrupt(str(path), offset, describe_frame_problem(rest) + where)
