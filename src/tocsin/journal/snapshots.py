"""Snapshot files: the whole state as of a sequence number, written atomically.

Snapshots live in `<journal>/snapshots/`, one file per snapshot named `NNNNNNNNNNNNNNNNNNNN.snap`
(its sequence number, 20 digits). A file is a 32-byte header and a msgpack body:

    offset size  field (little-endian)
    0      4     magic b"TSNP"
    4      2     format version (1)
    6      2     reserved, 0
    8      8     seq (u64), equal to the number in the file name
    16     8     ts (i64, microseconds since the Unix epoch)
    24     4     body length (u32), equal to the file size minus 32
    28     4     crc32 of the body

The body is `msgpack.packb(payload, use_bin_type=True)`, unpacked with `raw=False,
strict_map_key=False`. A file is written as a temporary file, fsynced, renamed into place, and
the directory fsynced (as Alertmanager's nflog does), so a crash leaves either the old set of
snapshots or the new one, plus at most a stray temporary file that the next writer removes.

Loading takes the newest *valid* snapshot: a newest one that fails a check is logged (logger
`tocsin.journal`) and the one before it is used. That is why retention keeps two by default,
removes records only below the oldest one kept, and removes none before it has two.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Final

import attrs
import msgpack

from tocsin.journal.errors import InvalidRecord
from tocsin.journal.records import Snapshot

__all__ = [
    "SNAPSHOT_DIRECTORY",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_MAGIC",
    "SnapshotInfo",
    "SnapshotStore",
    "decode_snapshot",
    "encode_snapshot",
    "fsync_directory",
]

logger = logging.getLogger("tocsin.journal")

SNAPSHOT_DIRECTORY: Final = "snapshots"
SNAPSHOT_MAGIC: Final = b"TSNP"
SNAPSHOT_FORMAT: Final = 1
_HEADER: Final = struct.Struct("<4sHHQqII")
_NAME: Final = re.compile(r"(\d{20})\.snap\Z")
_TEMP_SUFFIX: Final = ".snap.tmp"
_MAX_BODY: Final = 2**32 - 1


@attrs.frozen
class SnapshotInfo:
    """One snapshot file as `verify` saw it; `problem` is None when it is valid."""

    name: str
    seq: int
    ts: int | None
    size: int
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None


def encode_snapshot(snapshot: Snapshot) -> bytes:
    """Header and body of `snapshot`. Raises `InvalidRecord` if msgpack cannot encode it."""
    if type(snapshot.seq) is not int or snapshot.seq < 0 or type(snapshot.ts) is not int:
        raise InvalidRecord(f"snapshot seq must be an int >= 0 and ts an int: {snapshot!r:.200}")
    try:
        body = msgpack.packb(snapshot.payload, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidRecord(f"snapshot payload cannot be encoded: {exc}") from exc
    if len(body) > _MAX_BODY:
        raise InvalidRecord(f"snapshot body of {len(body)} bytes is above the 4 GiB limit")
    header = _HEADER.pack(
        SNAPSHOT_MAGIC, SNAPSHOT_FORMAT, 0, snapshot.seq, snapshot.ts, len(body), zlib.crc32(body)
    )
    return header + body


def decode_snapshot(data: bytes, expected_seq: int | None = None) -> Snapshot:
    """Check and decode a snapshot file's bytes. Raises `ValueError` saying what is wrong."""
    if len(data) < _HEADER.size:
        raise ValueError(f"file of {len(data)} bytes is shorter than the header")
    magic, version, _, seq, ts, length, crc = _HEADER.unpack_from(data)
    if magic != SNAPSHOT_MAGIC:
        raise ValueError(f"bad magic {magic!r}")
    if version != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format version {version}")
    if expected_seq is not None and seq != expected_seq:
        raise ValueError(f"header says seq {seq}, the file name says {expected_seq}")
    if length != len(data) - _HEADER.size:
        raise ValueError(f"header says {length} body bytes, the file has {len(data) - 32}")
    body = data[_HEADER.size :]
    if zlib.crc32(body) != crc:
        raise ValueError("CRC mismatch")
    try:
        payload = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ValueError(f"undecodable body: {exc}") from exc
    return Snapshot(seq=seq, ts=ts, payload=payload)


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (creations, renames, removals) durable. Raises `OSError`."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotStore:
    """The `snapshots/` directory of one journal. Blocking I/O: call it from a thread.

    Methods raise `OSError` when the file system fails them, except where they say otherwise.
    """

    def __init__(self, journal_directory: Path) -> None:
        self.directory = journal_directory / SNAPSHOT_DIRECTORY

    def files(self) -> list[tuple[int, Path]]:
        """`(seq, path)` of every snapshot file, oldest first (none if the directory is absent)."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        found = []
        for name in entries:
            match = _NAME.match(name)
            if match is not None:
                found.append((int(match.group(1)), self.directory / name))
        found.sort()
        return found

    def write(self, snapshot: Snapshot) -> Path:
        """Store `snapshot` atomically and durably; returns its path.

        Raises `InvalidRecord` if it cannot be encoded (nothing is written).
        """
        data = encode_snapshot(snapshot)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{snapshot.seq:020d}.snap"
        path = self.directory / name
        temp = self.directory / f"{name[: -len('.snap')]}{_TEMP_SUFFIX}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsync_directory(self.directory)
        return path

    def load_newest(self, max_seq: int | None = None, max_ts: int | None = None) -> Snapshot | None:
        """The newest valid snapshot with `seq <= max_seq` (any seq if None) taken at or before
        `max_ts` (µs; any time if None), or None.

        Invalid ones are logged and skipped, and so are (with a warning) snapshots newer than
        the journal's last record, which a crash under `fsync="never"` can leave behind. Never
        raises for a bad file; a file that cannot be read counts as bad.
        """
        for seq, path in reversed(self.files()):
            if max_seq is not None and seq > max_seq:
                logger.warning(
                    "snapshot %s is of seq %d, beyond the journal's last record %d: not used",
                    path,
                    seq,
                    max_seq,
                )
                continue
            try:
                snapshot = decode_snapshot(path.read_bytes(), seq)
            except (OSError, ValueError) as exc:
                logger.error("snapshot %s is invalid (%s): falling back to an older one", path, exc)
                continue
            if max_ts is None or snapshot.ts <= max_ts:
                return snapshot
        return None

    def inspect(self) -> list[SnapshotInfo]:
        """Check every snapshot file (read-only), oldest first."""
        infos = []
        for seq, path in self.files():
            try:
                data = path.read_bytes()
            except OSError as exc:
                infos.append(SnapshotInfo(path.name, seq, None, 0, f"unreadable: {exc}"))
                continue
            try:
                snapshot = decode_snapshot(data, seq)
            except ValueError as exc:
                infos.append(SnapshotInfo(path.name, seq, None, len(data), str(exc)))
            else:
                infos.append(SnapshotInfo(path.name, seq, snapshot.ts, len(data), None))
        return infos

    def prune(self, keep: int) -> int | None:
        """Remove all but the `keep` newest snapshot files.

        Returns the seq below which records may go: the oldest kept snapshot's, but only once
        `keep` snapshots exist, so that a bad snapshot always has something to fall back on
        (an older snapshot, or the records from the start). None until then.
        """
        listed = self.files()
        kept = listed[-keep:]
        removed = listed[: len(listed) - len(kept)]
        for _, path in removed:
            path.unlink(missing_ok=True)
        if removed:
            fsync_directory(self.directory)
        return kept[0][0] if len(kept) == keep else None

    def remove_temporaries(self) -> None:
        """Remove temporary files a crash left behind mid-write."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in entries:
            if name.endswith(_TEMP_SUFFIX):
                (self.directory / name).unlink(missing_ok=True)
