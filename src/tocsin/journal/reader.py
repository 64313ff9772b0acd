"""Read-only access to a journal directory, with or without a writer running on it.

For `tocsin journal replay|state` against a live daemon's journal. A `JournalReader` never
creates, truncates, removes or locks anything. It stops before a torn tail (which, against a
live writer, may simply be a batch being written) and reports it in `torn_tail`; corruption
raises `JournalCorrupt` as it does for a writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from tocsin.journal.errors import JournalClosed, JournalError
from tocsin.journal.records import Snapshot, StoredRecord
from tocsin.journal.segments import TornTail, iter_records, list_segments, scan_journal
from tocsin.journal.snapshots import SnapshotStore

__all__ = ["JournalReader", "open_journal_reader"]


class JournalReader:
    """A read-only view of a journal directory. Obtain one from `open_journal_reader`.

    `last_seq` and `torn_tail` are as scanned on open; `read` sees records appended since, up
    to whatever is complete when it gets there, and updates `torn_tail` when it ends.
    """

    def __init__(self, directory: Path, last_seq: int, torn_tail: TornTail | None) -> None:
        self.directory = directory
        self.last_seq = last_seq
        self.torn_tail = torn_tail
        self._snapshots = SnapshotStore(directory)
        self._closed = False

    def read(self, after: int = 0) -> Iterator[StoredRecord]:
        """Iterate every complete record with seq > `after`, stopping before a torn tail.

        Raises `JournalClosed`, `ValueError` for a negative `after`; iterating raises
        `RecordsCompacted`, `JournalCorrupt`, and `JournalError` for I/O errors.
        """
        if self._closed:
            raise JournalClosed("the reader is closed")
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        try:
            listed = list_segments(self.directory)
        except OSError as exc:
            raise JournalError(f"cannot list {self.directory}: {exc}") from exc
        self.torn_tail = None
        return iter_records(listed, after, None, self._saw_torn_tail)

    def first_seq(self) -> int:
        """The oldest record still stored (retention removes segments a snapshot covers);
        `last_seq + 1` when none is. Raises `JournalError` if the directory cannot be listed."""
        try:
            listed = list_segments(self.directory)
        except OSError as exc:
            raise JournalError(f"cannot list {self.directory}: {exc}") from exc
        return listed[0][0] if listed else self.last_seq + 1

    def load_snapshot(self, until_ts: int | None = None) -> Snapshot | None:
        """The newest valid snapshot no newer than `last_seq` — and, with `until_ts`, taken at
        or before that time (µs) — or None (bad ones are logged)."""
        if self._closed:
            raise JournalClosed("the reader is closed")
        return self._snapshots.load_newest(max_seq=self.last_seq, max_ts=until_ts)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _saw_torn_tail(self, torn: TornTail) -> None:
        self.torn_tail = torn


def open_journal_reader(directory: str | os.PathLike[str]) -> JournalReader:
    """Open the journal in `directory` read-only, scanning it (without changing anything).

    Raises `JournalError` if there is no journal there or it cannot be read, and
    `JournalCorrupt` for corruption (a torn tail is not corruption: see `torn_tail`).
    """
    path = Path(directory)
    if not path.is_dir():
        raise JournalError(f"no journal directory at {path}")
    try:
        scan = scan_journal(path)
    except OSError as exc:
        raise JournalError(f"cannot read the journal in {path}: {exc}") from exc
    return JournalReader(path, scan.last_seq, scan.torn_tail)
