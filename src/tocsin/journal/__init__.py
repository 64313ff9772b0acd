"""The append-only msgpack event journal: framing, segments, group commit, snapshots, replay.

The journal stores *records* (`seq`, `ts`, `type`, `version`, `payload`), not domain events;
the codec in `core` maps between the two. Everything else sees the `Journal` Protocol: append a
batch of drafts and get sequence numbers once they are durable, read from a sequence number,
save and load snapshots. Files, offsets and fsync stay inside this package.

Backends:

* `open_segment_journal(directory)`: CRC-framed msgpack records in size-rotated segment files,
  one writer task with group commit, snapshots with retention. Formats: `framing` (records),
  `segments` (files and recovery rules), `snapshots`; the commit protocol: `segment_journal`.
* `open_memory_journal()`: the same contract in memory, for tests of other layers.

Read-only tools: `open_journal_reader(directory)` (replay a journal, even a live one) and
`verify(directory)` (a full health report). Recovery after a restart is
`load_snapshot()`, then fold `read(after=snapshot.seq)`.

Exceptions:

    JournalError                  anything the journal raises on purpose
    ├── JournalCorrupt            stored bytes fail a check a crash cannot explain (file, offset)
    ├── JournalWriteError         a write or fsync failed; appends refused until reopened
    ├── JournalClosed             used after close ("you closed it")
    ├── JournalLocked             the directory is open for writing elsewhere
    ├── RecordsCompacted          asked for records retention removed
    └── InvalidRecord (also ValueError)   a draft or snapshot that cannot be stored

`OSError`s are translated into these at the package boundary.
"""

from tocsin.journal.errors import (
    InvalidRecord,
    JournalClosed,
    JournalCorrupt,
    JournalError,
    JournalLocked,
    JournalWriteError,
    RecordsCompacted,
)
from tocsin.journal.framing import MAX_RECORD_BYTES
from tocsin.journal.interface import Journal
from tocsin.journal.memory import MemoryJournal, MemoryStore, open_memory_journal
from tocsin.journal.reader import JournalReader, open_journal_reader
from tocsin.journal.records import (
    FsyncPolicy,
    JournalStatistics,
    RecordDraft,
    Snapshot,
    StoredRecord,
)
from tocsin.journal.segment_journal import (
    DEFAULT_MAX_PENDING_RECORDS,
    DEFAULT_SEGMENT_BYTES,
    SegmentJournal,
    open_segment_journal,
)
from tocsin.journal.segments import SequenceGap, TornTail
from tocsin.journal.snapshots import SnapshotInfo
from tocsin.journal.verification import Corruption, SegmentInfo, VerifyReport, verify

__all__ = [
    "DEFAULT_MAX_PENDING_RECORDS",
    "DEFAULT_SEGMENT_BYTES",
    "MAX_RECORD_BYTES",
    "Corruption",
    "FsyncPolicy",
    "InvalidRecord",
    "Journal",
    "JournalClosed",
    "JournalCorrupt",
    "JournalError",
    "JournalLocked",
    "JournalReader",
    "JournalStatistics",
    "JournalWriteError",
    "MemoryJournal",
    "MemoryStore",
    "RecordDraft",
    "RecordsCompacted",
    "SegmentInfo",
    "SegmentJournal",
    "SequenceGap",
    "Snapshot",
    "SnapshotInfo",
    "StoredRecord",
    "TornTail",
    "VerifyReport",
    "open_journal_reader",
    "open_memory_journal",
    "open_segment_journal",
    "verify",
]
