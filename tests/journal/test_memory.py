"""What the memory journal adds for tests of other layers (the rest is in test_backends)."""

from __future__ import annotations

import pytest

from tocsin.journal import JournalLocked, JournalWriteError, MemoryStore, open_memory_journal

from .conftest import draft


async def test_injected_write_errors_fail_appends_until_reopened() -> None:
    store = MemoryStore()
    async with open_memory_journal(store) as journal:
        await journal.append([draft(1)])
        journal.inject_write_error(OSError(28, "No space left on device"))
        with pytest.raises(JournalWriteError) as caught:
            await journal.append([draft(2)])
        assert isinstance(caught.value.__cause__, OSError)
        assert journal.last_seq == 1
    async with open_memory_journal(store) as journal:
        assert await journal.append([draft(3)]) == [2]


async def test_a_store_is_open_once_at_a_time() -> None:
    store = MemoryStore()
    async with open_memory_journal(store):
        with pytest.raises(JournalLocked):
            async with open_memory_journal(store):
                pass  # pragma: no cover - must not open
    async with open_memory_journal(store):
        pass
