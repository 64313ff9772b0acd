"""The public surface of `tocsin.journal`, pinned (as httpx pins its own)."""

from __future__ import annotations

import tocsin.journal


def test_exported_members() -> None:
    assert sorted(tocsin.journal.__all__) == sorted(
        [
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
    )
    for name in tocsin.journal.__all__:
        assert hasattr(tocsin.journal, name), name
    public = {name for name in dir(tocsin.journal) if not name.startswith("_")}
    submodules = {
        "committer",
        "errors",
        "framing",
        "interface",
        "memory",
        "reader",
        "records",
        "segment_journal",
        "segments",
        "snapshots",
        "verification",
    }
    assert public - submodules - set(tocsin.journal.__all__) == set()
