"""The segment-file journal: recovery on open, group commit, reads, snapshots and retention.

Theory of operation
-------------------
**Open.** `open_segment_journal` creates the directory, takes an exclusive `flock` on its `LOCK`
file (one writer per directory), and scans every segment under the rules in `segments`: a torn
tail of the last segment is truncated (and the dropped bytes logged), anything else wrong raises
`JournalCorrupt` before a byte is changed. Appends continue in the last segment.

**Append.** `append()` runs in the caller's task. It waits while too many records are pending
(queued or being written: backpressure, never a drop), then, without yielding, assigns the next
sequence numbers, encodes and frames the records, and hands them to the group committer
(`committer`), which adds them to the batch being gathered. It then waits until the writer
reports the batch durable or failed, and cancellation is deferred until then: records once
queued are written, so no caller walks away not knowing whether its records exist (and replay
never finds records the live state never saw).

**Group commit, rotation, failure** are the committer's: one writer thread, started by the
writer task the context manager runs in its nursery, writes each batch with one `write` and one
`fdatasync` while the next batch gathers (with `fsync="never"`, appends write inline instead).
A failed write fails its batch, everything queued, and every later append (`JournalWriteError`)
until the journal is reopened; the committer tries to take the failed batch's bytes back.

**Close.** Leaving the context refuses new appends (`JournalClosed`), lets the writer write what
is queued (also when the context is cancelled: waiters learn their outcome), then closes files.

**Reads** (`read`) are bounded by `last_seq` at the time of the call, so they never see records
that are not yet acknowledged, and they run while the writer appends. **Snapshots** are saved in
a worker thread; after each, retention keeps the newest `keep_snapshots` and, once it has that
many, removes the segments whose records are all covered by the oldest one kept: never the
segment being written, never anything else.

**Snapshots built in a child.** Turning a large state into a snapshot is CPU work that must see
the state as of one sequence number, so it cannot simply move to a thread while the event loop
keeps changing the state. `save_snapshot_built(build)` forks (where the platform can): the
child is a copy-on-write image of the process at that instant, calls `build()` there, writes the
file as `save_snapshot` does and exits; the parent's event loop goes on at once and applies
retention when the child reports success. This is Redis' BGSAVE. The cost moves to the other
core, and the memory pages the child touches (reference counts) are copied meanwhile: up to
the state's size again, for as long as the child runs. The child of a multi-threaded process
has only the forking thread: it takes no lock another thread might hold (no logging, no trio),
and leaves with `os._exit`.
"""

from __future__ import annotations

import fcntl
import gc
import itertools
import logging
import os
import signal
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from contextlib import suppress as _suppressed
from pathlib import Path
from typing import Final

import trio

from tocsin.journal.committer import Batch, GroupCommitter
from tocsin.journal.errors import (
    InvalidRecord,
    JournalClosed,
    JournalCorrupt,
    JournalError,
    JournalLocked,
    JournalWriteError,
)
from tocsin.journal.framing import encode_drafts, new_packer
from tocsin.journal.records import (
    FsyncPolicy,
    JournalStatistics,
    RecordDraft,
    Snapshot,
    StoredRecord,
)
from tocsin.journal.segments import JournalScan, iter_records, list_segments, scan_journal
from tocsin.journal.segments import segment_name as _segment_name
from tocsin.journal.snapshots import SnapshotStore, fsync_directory

__all__ = [
    "DEFAULT_MAX_PENDING_RECORDS",
    "DEFAULT_SEGMENT_BYTES",
    "SegmentJournal",
    "open_segment_journal",
]

logger = logging.getLogger("tocsin.journal")

DEFAULT_SEGMENT_BYTES: Final = 64 * 2**20
DEFAULT_MAX_PENDING_RECORDS: Final = 8192
_LOCK_FILE: Final = "LOCK"
_POLICIES: Final = ("batch", "always", "never")


_REPORT_MAX: Final = 4096  # bytes of a snapshot child's report: below PIPE_BUF, one write


_PR_SET_PDEATHSIG: Final = 1
_FD_LIMIT: Final = max(os.sysconf("SC_OPEN_MAX"), 1024)
_prctl_fn: Callable[..., int] | bool | None = False  # False: not looked up yet


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, where there is one (looked up once, in the parent)."""
    global _prctl_fn
    if _prctl_fn is False:
        try:
            import ctypes

            _prctl_fn = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _prctl_fn = None
    return _prctl_fn  # type: ignore[return-value]


def _child_hygiene(report: int, parent: int) -> None:  # pragma: no cover - in the child
    """Make a snapshot child harmless to its parent: first in line for the OOM killer (it
    shares the parent's pages, so the kernel would otherwise as soon pick the daemon), killed
    if the parent dies (an orphan would hold the port and the journal's lock), holding no
    descriptor of the parent's but the report pipe (the journal's lock, the listening and
    client sockets), with no signal handler of the parent's (trio's), nor its wake-up fd."""
    with _suppressed(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    prctl = _prctl_fn if callable(_prctl_fn) else None
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    os.closerange(3, report)
    os.closerange(report + 1, _FD_LIMIT)
    with _suppressed(ValueError):  # only the main thread may; then it was never set
        signal.set_wakeup_fd(-1)
    for sig in signal.valid_signals():
        with _suppressed(OSError, ValueError):
            if callable(signal.getsignal(sig)):
                signal.signal(sig, signal.SIG_DFL)


def _child_report(read_end: int, pid: int) -> str:
    """What a snapshot child wrote before it exited (blocking: call from a thread), or why it
    said nothing. Closes `read_end` and reaps the child."""
    chunks = []
    try:
        while chunk := os.read(read_end, _REPORT_MAX):
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    report = b"".join(chunks).decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0 and report.startswith("ok"):
        return f"error the child exited with status {os.waitstatus_to_exitcode(status)}"
    return report or f"error the child exited with status {os.waitstatus_to_exitcode(status)}"


def _refuse_abort(_: object) -> trio.lowlevel.Abort:
    # Queued records will be written: the appender learns the outcome before any cancellation
    # is delivered (at its next checkpoint). Cheaper than a shielded cancel scope per append.
    return trio.lowlevel.Abort.FAILED


class SegmentJournal:
    """A journal in segment files. Obtain one from `open_segment_journal`."""

    def __init__(
        self,
        directory: Path,
        scan: JournalScan,
        lock_fd: int,
        *,
        fsync: FsyncPolicy,
        segment_bytes: int,
        max_pending_records: int,
        keep_snapshots: int,
    ) -> None:
        self._directory = directory
        self._lock_fd = lock_fd
        self._max_pending = max_pending_records
        self._keep_snapshots = keep_snapshots
        self._snapshots = SnapshotStore(directory)
        self._packer = new_packer()
        # With nothing to wait for, a write to the page cache costs less than a thread hop.
        self._write_inline = fsync == "never"
        last = scan.segments[-1]
        self._committer = GroupCommitter(
            directory,
            last.name,
            last.valid_bytes,
            fsync=fsync,
            segment_bytes=segment_bytes,
            on_written=self._batch_written,
            on_failed=self._batches_failed,
        )
        self._last_seq = scan.last_seq
        self._next_seq = scan.last_seq + 1
        self._pending_records = 0
        self._space_lot = trio.lowlevel.ParkingLot()
        self._space_waiters = 0
        self._closed = False
        self._snapshot_lock = trio.Lock()
        #: `save_snapshot_built` builds in a forked child (False: inline, on the caller's loop).
        self.fork_snapshots = hasattr(os, "fork")
        self._records_appended = 0
        self._bytes_appended = 0
        self._batches = 0
        self._largest_batch = 0

    # -- the Journal interface ----------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The sequence number of the last durable record (0 if there is none)."""
        return self._last_seq

    async def append(self, drafts: Sequence[RecordDraft]) -> list[int]:
        """Append `drafts` as consecutive records; return their sequence numbers once durable.

        All or nothing per call. Waits while too many records are pending. Once the records are
        queued, cancellation is deferred until they are written (or failed). Raises
        `InvalidRecord` (nothing appended), `JournalWriteError` (this or an earlier write
        failed), `JournalClosed`.
        """
        count = len(drafts)
        pending = self._pending_records
        if self._space_waiters == 0 and (pending == 0 or pending + count <= self._max_pending):
            await trio.lowlevel.checkpoint_if_cancelled()
        else:
            await self._wait_for_space(count)
        if count == 0:
            self._committer.check_open()
            return []
        first = self._next_seq
        chunks, nbytes = encode_drafts(self._packer, drafts, first)
        if self._write_inline:
            self._committer.write_inline(first, chunks)
            self._next_seq = first + count
            self._count_written(first, count, nbytes)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return list(range(first, first + count))
        batch = self._committer.submit(first, chunks, count, nbytes)
        self._next_seq = first + count
        self._pending_records += count
        batch.waiters.append(trio.lowlevel.current_task())
        await trio.lowlevel.wait_task_rescheduled(_refuse_abort)
        if batch.cause is not None:
            if isinstance(batch.cause, JournalClosed):
                raise JournalClosed("the journal closed before these records were written")
            raise JournalWriteError(
                f"writing records {first}..{first + count - 1} failed: {batch.cause}"
            ) from batch.cause
        return [first] if count == 1 else list(range(first, first + count))

    def read(self, after: int = 0) -> Iterator[StoredRecord]:
        """Iterate the records with seq > `after`, up to `last_seq` as of this call.

        Blocking file I/O: replay large ranges from a thread. Raises `JournalClosed`,
        `ValueError` for a negative `after`; iterating raises `RecordsCompacted` if `after` is
        older than what retention kept, `JournalCorrupt`, and `JournalError` for I/O errors.
        """
        if self._closed:
            raise JournalClosed("the journal is closed")
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        until = self._last_seq
        if after >= until:
            return iter(())
        try:
            listed = list_segments(self._directory)
        except OSError as exc:
            raise JournalError(f"cannot list {self._directory}: {exc}") from exc
        return iter_records(listed, after, until)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store `snapshot` durably, then apply retention.

        The payload must not change until this returns. Raises `InvalidRecord` if its seq is
        beyond `last_seq` or it cannot be encoded, `JournalClosed`, and `JournalError` if the
        file system refuses (the journal stays usable).
        """
        if self._closed:
            raise JournalClosed("the journal is closed")
        self._check_snapshot_seq(snapshot)
        async with self._snapshot_lock:
            await self._store_snapshot(snapshot)

    async def _store_snapshot(self, snapshot: Snapshot) -> None:
        """Write `snapshot` and apply retention, in a thread (the caller holds the lock)."""
        try:
            await trio.to_thread.run_sync(self._save_snapshot_sync, snapshot)
        except OSError as exc:
            raise JournalError(f"cannot store the snapshot of seq {snapshot.seq}: {exc}") from exc

    async def save_snapshot_built(self, build: Callable[[], Snapshot]) -> int:
        """Store the snapshot `build()` returns, as `save_snapshot` does; returns its seq.

        Where the platform forks (and `fork_snapshots` is on), `build` runs in a forked child
        that sees the process as it is at the call, so the event loop is not held while the
        state is encoded (see the module docstring). `build` must only read memory. Raises
        what `save_snapshot` raises; a failure inside the child comes back as `JournalError`
        (or `InvalidRecord`) with the child's message.
        """
        if self._closed:
            raise JournalClosed("the journal is closed")
        if not self.fork_snapshots:
            snapshot = build()
            await self.save_snapshot(snapshot)
            return snapshot.seq
        async with self._snapshot_lock:
            try:
                read_end, write_end = os.pipe()
            except OSError as exc:  # out of descriptors
                raise JournalError(f"cannot build the snapshot: {exc}") from exc
            parent = os.getpid()
            _prctl()  # loaded here: the child must not load a library (locks held at fork)
            try:
                with warnings.catch_warnings():
                    # Python 3.12+ warns on fork() in a multi-threaded process; the child here
                    # keeps to what is safe there (module docstring).
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
            except OSError as exc:  # no memory or no process slot for a child: do it here
                os.close(read_end)
                os.close(write_end)
                logger.warning(
                    "journal %s: cannot fork to build the snapshot (%s); building it inline",
                    self._directory,
                    exc,
                )
                snapshot = build()
                self._check_snapshot_seq(snapshot)
                await self._store_snapshot(snapshot)
                return snapshot.seq
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                self._build_in_child(build, write_end, parent)
            os.close(write_end)
            try:
                # The thread owns `read_end` (closes it) and reaps the child, also when this
                # task is cancelled and stops waiting for it.
                report = await trio.to_thread.run_sync(
                    _child_report, read_end, pid, abandon_on_cancel=True
                )
            except trio.Cancelled:
                # Stopping: the snapshot is not worth waiting for (the previous one stays).
                with _suppressed(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                raise
            status, _, detail = report.partition(" ")
            if status != "ok":
                # A child killed mid-write leaves its temporary file (the state's size).
                with _suppressed(OSError):
                    await trio.to_thread.run_sync(self._snapshots.remove_temporaries)
                if status == "invalid":
                    raise InvalidRecord(detail)
                raise JournalError(f"the snapshot child failed: {detail or report}")
            seq = int(detail)
            try:
                await trio.to_thread.run_sync(self._retain_after_snapshot, seq)
            except OSError as exc:
                raise JournalError(f"retention after the snapshot of seq {seq}: {exc}") from exc
            return seq

    def _check_snapshot_seq(self, snapshot: Snapshot) -> None:
        if snapshot.seq > self._last_seq:
            raise InvalidRecord(
                f"snapshot of seq {snapshot.seq} is beyond the last record {self._last_seq}"
            )

    def _build_in_child(self, build: Callable[[], Snapshot], report: int, parent: int) -> None:
        """The forked child: build, write, report `ok SEQ` (or why not) on `report`, exit."""
        code = 1
        try:
            gc.disable()  # the collector would touch (and so copy) every page of the state
            _child_hygiene(report, parent)
            snapshot = build()
            self._check_snapshot_seq(snapshot)
            self._snapshots.write(snapshot)
            message, code = f"ok {snapshot.seq}", 0
        except InvalidRecord as exc:
            message = f"invalid {exc}"
        except BaseException as exc:  # everything goes back to the parent as text
            message = f"error {type(exc).__name__}: {exc}"
        try:
            os.write(report, message.encode("utf-8", "replace")[:_REPORT_MAX])
        finally:
            os._exit(code)

    def load_snapshot(self) -> Snapshot | None:
        """The newest valid snapshot, or None; a bad newer one is logged and skipped.

        Blocking file I/O (call it at start-up, or from a thread). Never raises for bad files.
        """
        return self._snapshots.load_newest(max_seq=self._last_seq)

    def statistics(self) -> JournalStatistics:
        """A frozen snapshot of the counters since open."""
        return JournalStatistics(
            last_seq=self._last_seq,
            records_appended=self._records_appended,
            bytes_appended=self._bytes_appended,
            batches=self._batches,
            largest_batch=self._largest_batch,
            fsyncs=self._committer.fsyncs,
            current_segment=self._committer.segment,
            pending_records=self._pending_records,
            tasks_waiting_for_space=self._space_waiters,
        )

    # -- appending ------------------------------------------------------------------------------

    def _has_space(self, count: int) -> bool:
        # With nothing pending any call is admitted, however large, or it could never be.
        # (Inlined in `append`, the hot path.)
        pending = self._pending_records
        return pending == 0 or pending + count <= self._max_pending

    async def _wait_for_space(self, count: int) -> None:
        # Latecomers queue behind tasks already waiting, so a large call is not starved.
        self._committer.check_open()
        self._space_waiters += 1
        admitted = False
        try:
            while True:
                await self._space_lot.park()
                self._committer.check_open()
                if self._has_space(count):
                    admitted = True
                    return
        finally:
            self._space_waiters -= 1
            if not admitted:
                # Leaving without queuing (cancelled, closed): whoever is parked behind us must
                # look again, or it could wait for a batch that never comes.
                self._space_lot.unpark_all()

    def _batch_written(self, batch: Batch) -> None:
        """Called on the event loop, in order, as the writer thread finishes each batch."""
        self._pending_records -= batch.records
        self._count_written(batch.first_seq, batch.records, batch.nbytes)
        self._release(batch)

    def _count_written(self, first: int, records: int, nbytes: int) -> None:
        self._last_seq = first + records - 1
        self._records_appended += records
        self._bytes_appended += nbytes
        self._batches += 1
        if records > self._largest_batch:
            self._largest_batch = records

    def _batches_failed(self, batches: list[Batch], cause: BaseException) -> None:
        """Called on the event loop when the writer thread failed (or stopped) with batches."""
        if batches:
            logger.error(
                "journal %s: writing records from %d on failed (%s); refusing appends until "
                "reopened",
                self._directory,
                batches[0].first_seq,
                cause,
            )
        for batch in batches:
            batch.cause = cause
            self._pending_records -= batch.records
            self._release(batch)

    def _release(self, batch: Batch) -> None:
        reschedule = trio.lowlevel.reschedule
        for task in batch.waiters:
            reschedule(task)
        batch.waiters = []
        if self._space_waiters:
            self._space_lot.unpark_all()

    async def _run_writer(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        try:
            # A limiter of its own: the writer must not wait for a busy default thread pool.
            await trio.to_thread.run_sync(
                self._committer.run,
                trio.lowlevel.current_trio_token(),
                thread_name=f"tocsin journal writer {self._directory}",
                limiter=trio.CapacityLimiter(1),
            )
        finally:
            # Non-empty only if the thread never started (cancelled first): fail, don't strand.
            stranded = self._committer.abandon()
            if stranded:
                self._batches_failed(stranded, JournalClosed("journal closed"))

    # -- snapshots and retention --------------------------------------------------------------

    def _save_snapshot_sync(self, snapshot: Snapshot) -> None:
        path = self._snapshots.write(snapshot)
        logger.info("journal %s: saved snapshot %s", self._directory, path.name)
        self._prune_and_remove()

    def _retain_after_snapshot(self, seq: int) -> None:
        logger.info("journal %s: saved snapshot %020d.snap (in a child)", self._directory, seq)
        self._prune_and_remove()

    def _prune_and_remove(self) -> None:
        oldest_kept = self._snapshots.prune(self._keep_snapshots)
        if oldest_kept is not None:
            self._remove_covered_segments(oldest_kept)

    def _remove_covered_segments(self, covered: int) -> None:
        """Remove segments whose records all have seq <= `covered`, oldest first."""
        listed = list_segments(self._directory)
        removed = []
        # A segment's last record is just before the next one's first. The last segment, being
        # written (or about to be replaced as such by a rotation), is never a candidate.
        for (_, path), (next_first, _) in itertools.pairwise(listed):
            if next_first - 1 > covered or path.name == self._committer.segment:
                break
            path.unlink()
            removed.append(path.name)
        if removed:
            fsync_directory(self._directory)
            logger.info(
                "journal %s: retention removed %d segment(s) covered by snapshot %d: %s",
                self._directory,
                len(removed),
                covered,
                ", ".join(removed),
            )

    # -- close ----------------------------------------------------------------------------------

    def _close_files(self) -> None:
        self._closed = True
        self._committer.close_file()
        os.close(self._lock_fd)  # releases the flock


def _open_sync(
    directory: Path,
    fsync: FsyncPolicy,
    segment_bytes: int,
    max_pending_records: int,
    keep_snapshots: int,
) -> SegmentJournal:
    directory.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalLocked(f"{directory} is open for writing elsewhere") from None
        scan = scan_journal(directory)
        snapshots = SnapshotStore(directory)
        if not scan.segments:
            if snapshots.files():
                raise JournalCorrupt(str(directory), 0, "snapshots exist but no segment files")
            first = directory / _segment_name(1)
            os.close(os.open(first, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))
            fsync_directory(directory)
            scan = scan_journal(directory)
        elif scan.torn_tail is not None:
            torn = scan.torn_tail
            last = scan.segments[-1]
            fd = os.open(last.path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.ftruncate(fd, torn.offset)
                os.fsync(fd)
            finally:
                os.close(fd)
            logger.warning(
                "journal %s: dropped %d bytes of torn tail from segment %s at offset %d (%s)",
                directory,
                torn.length,
                torn.segment,
                torn.offset,
                torn.reason,
            )
        snapshots.remove_temporaries()
        return SegmentJournal(
            directory,
            scan,
            lock_fd,
            fsync=fsync,
            segment_bytes=segment_bytes,
            max_pending_records=max_pending_records,
            keep_snapshots=keep_snapshots,
        )
    except BaseException:
        os.close(lock_fd)
        raise


@asynccontextmanager
async def open_segment_journal(
    directory: str | os.PathLike[str],
    *,
    fsync: FsyncPolicy = "batch",
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    max_pending_records: int = DEFAULT_MAX_PENDING_RECORDS,
    keep_snapshots: int = 2,
) -> AsyncIterator[SegmentJournal]:
    """Open (creating if needed) the journal in `directory` for writing, with its writer task.

    `segment_bytes` is the size at which segments rotate, `max_pending_records` bounds the
    records queued for the writer (appenders wait beyond it), `keep_snapshots` is how many
    snapshots retention keeps. Raises `ValueError` for bad arguments, `JournalCorrupt` (nothing
    changed on disk), `JournalLocked`, and `JournalError` if the directory cannot be used.
    """
    if fsync not in _POLICIES:
        raise ValueError(f"fsync must be one of {_POLICIES}, got {fsync!r}")
    if segment_bytes < 1 or max_pending_records < 1 or keep_snapshots < 1:
        raise ValueError("segment_bytes, max_pending_records and keep_snapshots must be >= 1")
    path = Path(directory)
    try:
        journal = await trio.to_thread.run_sync(
            _open_sync, path, fsync, segment_bytes, max_pending_records, keep_snapshots
        )
    except OSError as exc:
        raise JournalError(f"cannot open the journal in {path}: {exc}") from exc
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(journal._run_writer)
            try:
                yield journal
            except BaseException as exc:
                # Re-raised below, outside the nursery, so the caller gets its own exception
                # rather than an ExceptionGroup wrapping it.
                body_error = exc
            finally:
                journal._committer.close_soon()
    finally:
        journal._close_files()
    if body_error is not None:
        raise body_error
