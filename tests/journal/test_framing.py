"""Record framing: the bytes of one record, and walking them back."""

from __future__ import annotations

import io
import struct
import zlib

import msgpack
import pytest

from tocsin.journal import MAX_RECORD_BYTES, InvalidRecord, RecordDraft
from tocsin.journal.framing import (
    FrameWalker,
    classify_stop,
    decode_body,
    describe_frame_problem,
    encode_drafts,
    find_next_frame,
    new_packer,
)

from .conftest import draft


def test_frame_is_little_endian_length_crc_then_msgpack_array() -> None:
    chunks, total = encode_drafts(new_packer(), [RecordDraft(7, "Fired", 2, {"a": b"\x00"})], 41)
    data = b"".join(chunks)
    assert total == len(data)
    length, crc = struct.unpack_from("<II", data)
    body = data[8:]
    assert length == len(body)
    assert crc == zlib.crc32(body)
    assert msgpack.unpackb(body, raw=False) == [41, 7, "Fired", 2, {"a": b"\x00"}]
    assert body[0] == 0x95


def test_round_trip_through_the_walker() -> None:
    payloads = [
        {},
        {"nested": {"list": [1, 2.5, None, True], "bytes": b"\xff\x00"}},
        {"unicode": "sirène 🚨", "big": 2**63 - 1, "neg": -(2**63)},
        {1: "integer keys survive"},
    ]
    drafts = [RecordDraft(100 + i, f"T{i}", i, p) for i, p in enumerate(payloads)]
    chunks, _ = encode_drafts(new_packer(), drafts, 1)
    walker = FrameWalker(io.BytesIO(b"".join(chunks)), chunk_size=7)
    decoded = [decode_body(body) for _, body in walker.frames()]
    assert decoded == [(i + 1, d.ts, d.type, d.version, d.payload) for i, d in enumerate(drafts)]
    assert walker.problem is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (RecordDraft(1, "T", 1, {"s": {1, 2}}), "cannot be encoded"),
        (RecordDraft(1, "T", 1, {"n": 2**64}), "cannot be encoded"),
        (RecordDraft(1.5, "T", 1, {}), "must be int"),
        (RecordDraft(1, b"T", 1, {}), "must be int"),
        (RecordDraft(1, "T", 1, [1]), "must be int"),
    ],
)
def test_drafts_that_cannot_be_stored_raise_invalid_record(bad: RecordDraft, message: str) -> None:
    packer = new_packer()
    with pytest.raises(InvalidRecord, match=message):
        encode_drafts(packer, [draft(1), bad], 1)
    # The packer is still usable afterwards.
    chunks, _ = encode_drafts(packer, [draft(2)], 5)
    assert decode_body(chunks[1])[0] == 5


def test_record_size_limit() -> None:
    just_fits = RecordDraft(1, "T", 1, {"b": b"x" * (MAX_RECORD_BYTES - 64)})
    chunks, _ = encode_drafts(new_packer(), [just_fits], 1)
    assert len(chunks[1]) <= MAX_RECORD_BYTES
    too_big = RecordDraft(1, "T", 1, {"b": b"x" * MAX_RECORD_BYTES})
    with pytest.raises(InvalidRecord, match="above the limit"):
        encode_drafts(new_packer(), [too_big], 1)


def _frames(count: int) -> bytes:
    chunks, _ = encode_drafts(new_packer(), [draft(i) for i in range(count)], 1)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d, end: d[: end + 3], "incomplete record header (3 of 8 bytes)"),
        (lambda d, end: d[: end + 10], "incomplete record body (2 of"),
        (lambda d, end: d[:end] + b"\x00" * 12, "invalid record length 0"),
        (lambda d, end: d[:end] + b"\xff" * 12, "invalid record length 4294967295"),
        (lambda d, end: d[: end + 9] + bytes([d[end + 9] ^ 1]) + d[end + 10 :], "CRC mismatch"),
    ],
)
def test_walker_stops_at_the_first_bad_frame_and_says_why(mutate, problem):
    data = _frames(3)
    end_of_second = sum(8 + length for length in _lengths(data)[:2])
    walker = FrameWalker(io.BytesIO(mutate(data, end_of_second)))
    assert len(list(walker.frames())) == 2
    assert walker.stop_offset == end_of_second
    assert walker.problem is not None and walker.problem.startswith(problem)


def _lengths(data: bytes) -> list[int]:
    lengths, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        lengths.append(length)
        offset += 8 + length
    return lengths


def test_find_next_frame_tells_torn_tails_from_corruption() -> None:
    data = _frames(4)
    first = 8 + _lengths(data)[0]
    corrupted = bytearray(data)
    corrupted[10] ^= 0xFF  # inside the first body: its CRC fails, the rest is intact
    assert find_next_frame(bytes(corrupted), 1) == first
    assert find_next_frame(data[: first - 1], 1) is None
    assert find_next_frame(b"\x00" * 1000, 1) is None
    assert find_next_frame(b"\x95" * 1000, 1) is None


def test_classify_stop() -> None:
    data = _frames(3)
    first = 8 + _lengths(data)[0]
    assert classify_stop(data) == "grew"  # a complete, valid frame: a writer finished it
    assert classify_stop(data[: first - 2]) == "torn"
    assert classify_stop(b"") == "torn"
    broken = bytearray(data)
    broken[9] ^= 0xFF
    assert classify_stop(bytes(broken)) == "corrupt"
    assert describe_frame_problem(bytes(broken)) == "CRC mismatch"
    assert describe_frame_problem(data[:5]) == "incomplete record header (5 of 8 bytes)"
