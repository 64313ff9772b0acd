"""Segment files: rotation, recovery of torn tails, refusal of corruption, reads across files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.journal import (
    JournalCorrupt,
    RecordDraft,
    RecordsCompacted,
    open_journal_reader,
    open_segment_journal,
)

from .conftest import BASE_TS, draft, flip_byte, frame_spans, segment_files


async def write_records(directory: Path, count: int, **options: int) -> None:
    async with open_segment_journal(directory, **options) as journal:
        for i in range(1, count + 1):
            await journal.append([draft(i, pad=i % 7)])


async def test_segments_rotate_by_size_and_are_named_by_first_seq(tmp_path: Path) -> None:
    await write_records(tmp_path, 40, segment_bytes=200)
    files = segment_files(tmp_path)
    assert len(files) > 5
    firsts = [int(path.stem) for path in files]
    assert firsts[0] == 1
    counts = [len(frame_spans(path)) for path in files]
    assert firsts == [1 + sum(counts[:k]) for k in range(len(files))]
    assert all(path.name == f"{int(path.stem):020d}.seg" for path in files)
    # One record per batch here, so no segment goes past the limit.
    assert all(path.stat().st_size <= 200 for path in files)
    async with open_segment_journal(tmp_path, segment_bytes=200) as journal:
        assert [r.seq for r in journal.read()] == list(range(1, 41))
        assert [r.payload["i"] for r in journal.read(after=17)] == list(range(18, 41))


async def test_a_batch_is_never_split_across_segments(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path, segment_bytes=100) as journal:
        await journal.append([draft(1)])
        await journal.append([draft(i) for i in range(2, 12)])
    spans = [len(frame_spans(path)) for path in segment_files(tmp_path)]
    assert spans == [1, 10]


async def test_reopen_continues_the_sequence_in_the_last_segment(tmp_path: Path) -> None:
    await write_records(tmp_path, 10, segment_bytes=150)
    before = segment_files(tmp_path)
    async with open_segment_journal(tmp_path, segment_bytes=150) as journal:
        assert journal.last_seq == 10
        assert await journal.append([draft(11), draft(12)]) == [11, 12]
    async with open_segment_journal(tmp_path, segment_bytes=150) as journal:
        records = list(journal.read())
    assert [r.seq for r in records] == list(range(1, 13))
    assert [r.ts for r in records] == [BASE_TS + i for i in range(1, 13)]
    assert segment_files(tmp_path)[: len(before)] == before


async def test_read_after_skips_earlier_segments_without_reading_them(tmp_path: Path) -> None:
    async with open_segment_journal(tmp_path, segment_bytes=120) as journal:
        for i in range(1, 31):
            await journal.append([draft(i)])
        files = segment_files(tmp_path)
        first = files[0]
        first.write_bytes(b"\x00" * first.stat().st_size)  # ruin a segment nobody needs
        second_first = int(files[1].stem)
        tail = list(journal.read(after=second_first - 1))
        assert [r.seq for r in tail] == list(range(second_first, 31))
        with pytest.raises(JournalCorrupt):
            list(journal.read())


TornTail = Callable[[bytes, list[tuple[int, int]]], tuple[bytes, int]]
"""Mutates segment bytes given its frame spans; returns new bytes and the valid length."""


def _cut_in_header(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    offset, _ = spans[-1]
    return data[: offset + 5], offset


def _cut_in_body(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    offset, length = spans[-1]
    return data[: offset + length - 1], offset


def _bad_crc_last(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    offset, length = spans[-1]
    corrupt = bytearray(data)
    corrupt[offset + length - 1] ^= 0x01
    return bytes(corrupt), offset


def _bad_crc_last_two(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    corrupt = bytearray(data)
    for offset, length in spans[-2:]:
        corrupt[offset + length - 1] ^= 0x01
    return bytes(corrupt), spans[-2][0]


def _zeros_after(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    return data + b"\x00" * 4096, len(data)


def _garbage_after(data: bytes, spans: list[tuple[int, int]]) -> tuple[bytes, int]:
    return data + bytes(range(256)) * 3, len(data)


@pytest.mark.parametrize(
    "tear",
    [
        _cut_in_header,
        _cut_in_body,
        _bad_crc_last,
        _bad_crc_last_two,
        _zeros_after,
        _garbage_after,
    ],
)
async def test_a_torn_tail_is_truncated_and_the_dropped_bytes_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tear: TornTail
) -> None:
    await write_records(tmp_path, 12, segment_bytes=300)
    last = segment_files(tmp_path)[-1]
    spans = frame_spans(last)
    torn, valid = tear(last.read_bytes(), spans)
    last.write_bytes(torn)
    survivors = int(last.stem) - 1 + sum(1 for offset, _ in spans if offset < valid)

    with open_journal_reader(tmp_path) as reader:
        assert reader.last_seq == survivors
        assert reader.torn_tail is not None
        assert (reader.torn_tail.segment, reader.torn_tail.offset) == (last.name, valid)
        assert reader.torn_tail.length == len(torn) - valid
        assert [r.seq for r in reader.read()] == list(range(1, survivors + 1))
    assert last.read_bytes() == torn  # the reader changed nothing

    with caplog.at_level(logging.WARNING, logger="tocsin.journal"):
        async with open_segment_journal(tmp_path, segment_bytes=300) as journal:
            assert journal.last_seq == survivors
            assert await journal.append([draft(99)]) == [survivors + 1]
    messages = [r.getMessage() for r in caplog.records if r.name == "tocsin.journal"]
    assert any(
        f"dropped {len(torn) - valid} bytes of torn tail from segment {last.name} at offset {valid}"
        in message
        for message in messages
    ), messages
    async with open_segment_journal(tmp_path, segment_bytes=300) as journal:
        records = list(journal.read())
    assert [r.seq for r in records] == list(range(1, survivors + 2))
    assert records[-1].payload["i"] == 99


async def test_corruption_mid_segment_raises_naming_file_and_offset(tmp_path: Path) -> None:
    await write_records(tmp_path, 10)
    (segment,) = segment_files(tmp_path)
    offset, length = frame_spans(segment)[3]
    flip_byte(segment, offset + length - 2)
    before = segment.read_bytes()

    with pytest.raises(JournalCorrupt) as caught:
        async with open_segment_journal(tmp_path):
            pass  # pragma: no cover - must not open
    assert caught.value.segment == segment.name
    assert caught.value.offset == offset
    assert "CRC mismatch" in caught.value.reason
    assert f"{segment.name}: corrupt at byte offset {offset}" in str(caught.value)
    assert segment.read_bytes() == before
    with pytest.raises(JournalCorrupt):
        open_journal_reader(tmp_path)


async def test_a_bad_length_mid_segment_is_corruption_not_a_torn_tail(tmp_path: Path) -> None:
    await write_records(tmp_path, 10)
    (segment,) = segment_files(tmp_path)
    offset, _ = frame_spans(segment)[5]
    data = bytearray(segment.read_bytes())
    data[offset : offset + 4] = (2**31).to_bytes(4, "little")
    segment.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt) as caught:
        async with open_segment_journal(tmp_path):
            pass  # pragma: no cover - must not open
    assert caught.value.offset == offset
    assert segment.read_bytes() == bytes(data)


async def test_a_torn_segment_that_is_not_the_last_is_corruption(tmp_path: Path) -> None:
    await write_records(tmp_path, 30, segment_bytes=150)
    files = segment_files(tmp_path)
    middle = files[1]
    data = middle.read_bytes()
    middle.write_bytes(data[:-3])
    with pytest.raises(JournalCorrupt) as caught:
        async with open_segment_journal(tmp_path, segment_bytes=150):
            pass  # pragma: no cover - must not open
    assert caught.value.segment == middle.name
    assert "not the last" in caught.value.reason
    assert middle.read_bytes() == data[:-3]


async def test_a_missing_segment_is_corruption(tmp_path: Path) -> None:
    await write_records(tmp_path, 30, segment_bytes=150)
    files = segment_files(tmp_path)
    files[2].unlink()
    with pytest.raises(JournalCorrupt) as caught:
        async with open_segment_journal(tmp_path, segment_bytes=150):
            pass  # pragma: no cover - must not open
    assert caught.value.segment == files[3].name
    assert "previous one ends at" in caught.value.reason


async def test_a_segment_named_after_the_wrong_seq_is_corruption(tmp_path: Path) -> None:
    await write_records(tmp_path, 5)
    (segment,) = segment_files(tmp_path)
    segment.rename(tmp_path / f"{3:020d}.seg")
    with pytest.raises(JournalCorrupt, match="file name says 3"):
        async with open_segment_journal(tmp_path):
            pass  # pragma: no cover - must not open


async def test_records_removed_by_retention_are_reported_not_skipped(tmp_path: Path) -> None:
    await write_records(tmp_path, 30, segment_bytes=150)
    files = segment_files(tmp_path)
    files[0].unlink()
    with open_journal_reader(tmp_path) as reader:
        with pytest.raises(RecordsCompacted) as caught:
            list(reader.read())
        assert caught.value.first_available == int(files[1].stem)
        assert next(iter(reader.read(after=int(files[1].stem) - 1))).seq == int(files[1].stem)


async def test_records_larger_than_a_read_chunk(tmp_path: Path) -> None:
    big = "y" * (3 * 2**20)
    async with open_segment_journal(tmp_path) as journal:
        await journal.append([draft(1)])
        await journal.append([RecordDraft(BASE_TS, "Big", 1, {"big": big})])
        await journal.append([draft(3)])
    with open_journal_reader(tmp_path) as reader:
        records = list(reader.read())
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[1].payload == {"big": big}
