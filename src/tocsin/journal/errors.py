"""The journal's exceptions: one tree, drawn in the package docstring.

"You closed it" (`JournalClosed`) is kept apart from "it broke" (`JournalWriteError`,
`JournalCorrupt`), as trio keeps `ClosedResourceError` apart from `BrokenResourceError`.
"""

from __future__ import annotations

__all__ = [
    "InvalidRecord",
    "JournalClosed",
    "JournalCorrupt",
    "JournalError",
    "JournalLocked",
    "JournalWriteError",
    "RecordsCompacted",
]


class JournalError(Exception):
    """Base class of every error the journal raises on purpose."""


class JournalCorrupt(JournalError):
    """Stored bytes fail a check that a crash cannot explain.

    `segment` is the file name, `path` the full path, `offset` the byte offset of the first bad
    record (0 for problems with the file as a whole), `reason` what is wrong. Nothing on disk
    has been changed by the operation that raised this.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path}: corrupt at byte offset {offset}: {reason}")
        self.path = path
        self.segment = path.rsplit("/", 1)[-1]
        self.offset = offset
        self.reason = reason


class JournalClosed(JournalError):
    """The journal was used after it was closed (or while it was closing)."""


class JournalLocked(JournalError):
    """Another journal, in this process or another, has the directory open for writing."""


class JournalWriteError(JournalError):
    """The operating system refused a write or an fsync.

    Raised to every appender of the failed batch and, until the journal is reopened, to every
    later appender: after a failed write or fsync the state of the file is not known, so nothing
    may follow. The journal tries to truncate the failed batch away; should that fail too, a
    reopen may still find its records: the outcome of a failed append is unknown. The
    underlying `OSError` is the `__cause__`.
    """


class InvalidRecord(JournalError, ValueError):
    """A draft or snapshot the journal cannot store; nothing was stored.

    For example a payload msgpack cannot encode, a record larger than the size limit, or a
    snapshot of a sequence number the journal has not reached.
    """


class RecordsCompacted(JournalError):
    """Records asked for were removed by retention (they are covered by a snapshot).

    `after` is what the reader asked to read after; `first_available` is the oldest sequence
    number still stored.
    """

    def __init__(self, after: int, first_available: int) -> None:
        super().__init__(
            f"records after {after} are no longer stored: the oldest stored record is "
            f"{first_available} (load a snapshot and read after its sequence number)"
        )
        self.after = after
        self.first_available = first_available
