"""An in-memory journal, for unit tests of the layers above the journal.

It behaves like the segment-file journal where a caller can tell: records are msgpack-encoded on
append (so an unencodable payload raises `InvalidRecord`, a record above the size limit too, and
what `read` returns never aliases what was appended), sequence numbers continue across close and
reopen of the same `MemoryStore`, a store is open at most once at a time (`JournalLocked`), and
`inject_write_error` makes it fail the way a full disk would. Appends are durable as soon as they
return; there is no batching, no fsync and no retention of records (snapshots are kept as the
segment journal keeps them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager

import attrs
import msgpack
import trio

from tocsin.journal.errors import InvalidRecord, JournalClosed, JournalLocked, JournalWriteError
from tocsin.journal.framing import encode_drafts, new_packer
from tocsin.journal.records import (
    JournalStatistics,
    RecordDraft,
    Snapshot,
    StoredRecord,
)
from tocsin.journal.snapshots import decode_snapshot, encode_snapshot

__all__ = ["MemoryJournal", "MemoryStore", "open_memory_journal"]


@attrs.define
class MemoryStore:
    """What a memory journal keeps across close and reopen: its "disk".

    `bodies[i]` is the msgpack body of record `i + 1`; `snapshots` maps seq to snapshot bytes.
    """

    bodies: list[bytes] = attrs.field(factory=list)
    snapshots: dict[int, bytes] = attrs.field(factory=dict)
    in_use: bool = False


class MemoryJournal:
    """A journal held in a `MemoryStore`. Obtain one from `open_memory_journal`."""

    def __init__(self, store: MemoryStore, *, keep_snapshots: int) -> None:
        self._store = store
        self._keep_snapshots = keep_snapshots
        self._packer = new_packer()
        self._closed = False
        self._failure: OSError | None = None
        self._records_appended = 0
        self._bytes_appended = 0
        self._batches = 0
        self._largest_batch = 0

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record (0 if there is none)."""
        return len(self._store.bodies)

    async def append(self, drafts: Sequence[RecordDraft]) -> list[int]:
        """Append `drafts` as consecutive records and return their sequence numbers.

        Raises `InvalidRecord` (nothing appended), `JournalWriteError` after
        `inject_write_error`, `JournalClosed`.
        """
        await trio.lowlevel.checkpoint()
        if self._failure is not None:
            raise JournalWriteError(f"injected write error: {self._failure}") from self._failure
        if self._closed:
            raise JournalClosed("the journal is closed")
        if not drafts:
            return []
        first = self.last_seq + 1
        chunks, nbytes = encode_drafts(self._packer, drafts, first)
        self._store.bodies.extend(chunks[1::2])
        count = len(drafts)
        self._records_appended += count
        self._bytes_appended += nbytes
        self._batches += 1
        self._largest_batch = max(self._largest_batch, count)
        return list(range(first, first + count))

    def read(self, after: int = 0) -> Iterator[StoredRecord]:
        """Iterate the records with seq > `after`, up to `last_seq` as of this call.

        Raises `JournalClosed`, `ValueError` for a negative `after`.
        """
        if self._closed:
            raise JournalClosed("the journal is closed")
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        return self._records(after, self.last_seq)

    def _records(self, after: int, until: int) -> Iterator[StoredRecord]:
        bodies = self._store.bodies
        for index in range(after, until):
            seq, ts, type_, version, payload = msgpack.unpackb(
                bodies[index], raw=False, strict_map_key=False
            )
            yield StoredRecord(seq, ts, type_, version, payload)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store `snapshot`, keeping the newest `keep_snapshots`.

        Raises `InvalidRecord` (beyond `last_seq`, or unencodable), `JournalClosed`.
        """
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise JournalClosed("the journal is closed")
        if snapshot.seq > self.last_seq:
            raise InvalidRecord(
                f"snapshot of seq {snapshot.seq} is beyond the last record {self.last_seq}"
            )
        snapshots = self._store.snapshots
        snapshots[snapshot.seq] = encode_snapshot(snapshot)
        for seq in sorted(snapshots)[: -self._keep_snapshots]:
            del snapshots[seq]

    async def save_snapshot_built(self, build: Callable[[], Snapshot]) -> int:
        """`save_snapshot(build())`, built right here; returns its seq."""
        snapshot = build()
        await self.save_snapshot(snapshot)
        return snapshot.seq

    def load_snapshot(self) -> Snapshot | None:
        """The newest snapshot, or None."""
        snapshots = self._store.snapshots
        if not snapshots:
            return None
        newest = max(snapshots)
        return decode_snapshot(snapshots[newest], newest)

    def statistics(self) -> JournalStatistics:
        """A frozen snapshot of the counters since open (no fsyncs, no segment)."""
        return JournalStatistics(
            last_seq=self.last_seq,
            records_appended=self._records_appended,
            bytes_appended=self._bytes_appended,
            batches=self._batches,
            largest_batch=self._largest_batch,
            fsyncs=0,
            current_segment=None,
            pending_records=0,
            tasks_waiting_for_space=0,
        )

    def inject_write_error(self, cause: OSError | None = None) -> None:
        """Make this and every later `append` fail with `JournalWriteError`, as after a failed
        write, until the store is reopened."""
        self._failure = cause if cause is not None else OSError("injected write error")

    def _close(self) -> None:
        self._closed = True
        self._store.in_use = False


@asynccontextmanager
async def open_memory_journal(
    store: MemoryStore | None = None, *, keep_snapshots: int = 2
) -> AsyncIterator[MemoryJournal]:
    """Open a memory journal on `store` (a fresh one if None); reopen the same store to continue.

    Raises `JournalLocked` if the store is already open, `ValueError` for `keep_snapshots < 1`.
    """
    if keep_snapshots < 1:
        raise ValueError("keep_snapshots must be >= 1")
    store = MemoryStore() if store is None else store
    if store.in_use:
        raise JournalLocked("this memory store is already open")
    store.in_use = True
    journal = MemoryJournal(store, keep_snapshots=keep_snapshots)
    try:
        await trio.lowlevel.checkpoint()
        yield journal
    finally:
        journal._close()
