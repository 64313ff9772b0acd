"""Helpers for the journal tests: drafts, frame offsets read independently of the code under
test, and a gate that controls the writer thread's fdatasync calls."""

from __future__ import annotations

import errno
import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from tocsin.journal import RecordDraft

BASE_TS = 1_700_000_000_000_000
_FRAME_HEADER = struct.Struct("<II")


def draft(i: int, *, pad: int = 0, type_: str = "TestRecorded") -> RecordDraft:
    """A recognisable draft: payload carries `i`; `pad` adds bytes."""
    return RecordDraft(BASE_TS + i, type_, 1, {"i": i, "pad": "x" * pad})


def frame_spans(path: Path) -> list[tuple[int, int]]:
    """(offset, total frame length) of each complete frame, parsed with struct alone."""
    data = path.read_bytes()
    spans = []
    offset = 0
    while offset + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        end = offset + 8 + length
        if end > len(data):
            break
        spans.append((offset, 8 + length))
        offset = end
    return spans


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


class FsyncGate:
    """Stands in for `os.fdatasync` (which only the journal's writer uses).

    Call number `block_call` blocks until `release()`; call numbers in `fail_calls` raise EIO.
    Every other call is the real fdatasync.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.block_call: int | None = None
        self.fail_calls: set[int] = set()
        self._real = os.fdatasync
        self._entered = threading.Event()
        self._released = threading.Event()
        monkeypatch.setattr(os, "fdatasync", self._fake)

    def _fake(self, fd: int) -> None:
        self.calls += 1
        number = self.calls
        if number == self.block_call:
            self._entered.set()
            if not self._released.wait(10):
                raise AssertionError("FsyncGate was never released")
        if number in self.fail_calls:
            raise OSError(errno.EIO, "injected fdatasync failure")
        self._real(fd)

    async def wait_blocked(self) -> None:
        """Wait until the writer thread sits in the blocking call."""
        entered = await trio.to_thread.run_sync(self._entered.wait, 10)
        assert entered, "the writer never reached the gated fdatasync"

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def fsync_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[FsyncGate]:
    gate = FsyncGate(monkeypatch)
    yield gate
    gate.release()
