"""The journal seam: what the rest of Tocsin may ask of a journal, whatever stores it.

Nothing outside `tocsin.journal` knows about files, offsets or fsync; a replicated backend can
take the segment files' place behind this Protocol. Every backend passes the one test suite in
`tests/journal/test_backends.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from tocsin.journal.records import JournalStatistics, RecordDraft, Snapshot, StoredRecord

__all__ = ["Journal"]


@runtime_checkable
class Journal(Protocol):
    """An append-only sequence of records, with snapshots of the state they build.

    * `append(drafts)` stores the drafts as consecutive records, all or nothing, and returns
      their sequence numbers once durable (the backend's meaning of durable). Raises
      `InvalidRecord`, `JournalWriteError`, `JournalClosed`.
    * `read(after)` iterates the records with seq > `after`, in order, up to `last_seq` as of
      the call. Raises `RecordsCompacted` when retention removed some of them, `JournalCorrupt`.
    * `save_snapshot(snapshot)` stores a snapshot of the state as of `snapshot.seq` (at most
      `last_seq`); `load_snapshot()` returns the newest valid one, or None.
    * `save_snapshot_built(build)` stores the snapshot `build()` returns and returns its seq;
      a backend may call `build` in a forked child (the segment journal does), so `build`
      must read the state and its seq itself, and only read memory.
    * `last_seq` is the last durable record's sequence number (0 for none); `statistics()` a
      frozen snapshot of counters.
    """

    @property
    def last_seq(self) -> int: ...

    async def append(self, drafts: Sequence[RecordDraft]) -> list[int]: ...

    def read(self, after: int = 0) -> Iterator[StoredRecord]: ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def save_snapshot_built(self, build: Callable[[], Snapshot]) -> int: ...

    def load_snapshot(self) -> Snapshot | None: ...

    def statistics(self) -> JournalStatistics: ...
