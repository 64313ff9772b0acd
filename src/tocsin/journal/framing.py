"""Record framing: how one record becomes bytes, and how bytes are walked back into records.

A frame is `u32 length | u32 crc32 | body`, both integers **little-endian**, where `body` is
`msgpack([seq, ts, type, version, payload])` packed with `use_bin_type=True`, `length` is the
body's length in bytes and `crc32` is `zlib.crc32(body)`. Bodies are unpacked with
`raw=False, strict_map_key=False`. Since the body is a five-element array it always starts with
the byte 0x95 (msgpack fixarray of 5), which lets a scan for "is there a valid frame after
this bad spot?" jump between candidates instead of trying every offset.

`MAX_RECORD_BYTES` (16 MiB) bounds a body; it is part of the format: a length of 0 or above the
limit is corruption, not a request to allocate four gigabytes.

`FrameWalker` reads a segment in large chunks and yields `(offset, body)` for each complete
frame whose CRC matches, stopping at the first frame that is incomplete or fails a check; it
then says where and why (`stop_offset`, `problem`). Deciding whether that is a torn tail (a
crash mid-write: truncate) or corruption (refuse) is the caller's business, with
`find_next_frame` as the evidence.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO, Final, Literal

import msgpack

from tocsin.journal.errors import InvalidRecord
from tocsin.journal.records import RecordDraft

__all__ = [
    "HEADER",
    "HEADER_SIZE",
    "MAX_RECORD_BYTES",
    "READ_CHUNK",
    "FrameWalker",
    "TailKind",
    "classify_stop",
    "decode_body",
    "describe_frame_problem",
    "encode_drafts",
    "find_next_frame",
    "is_valid_frame",
    "new_packer",
]

HEADER: Final = struct.Struct("<II")
HEADER_SIZE: Final = HEADER.size
MAX_RECORD_BYTES: Final = 16 * 2**20
_BODY_MARKER: Final = b"\x95"
READ_CHUNK: Final = 1 << 20

DecodedBody = tuple[int, int, str, int, dict[str, Any]]


def new_packer() -> msgpack.Packer:
    """A reusable packer with the journal's options."""
    return msgpack.Packer(use_bin_type=True, autoreset=True)


def encode_drafts(
    packer: msgpack.Packer, drafts: Sequence[RecordDraft], first_seq: int
) -> tuple[list[bytes], int]:
    """Frame `drafts` as records `first_seq, first_seq + 1, …`.

    Returns the frames as a list of byte strings (header, body, header, body, …) to be joined
    for a single write, and their total length. Raises `InvalidRecord` (and encodes nothing
    usable) if a draft has fields of the wrong type, a payload msgpack cannot encode, or a body
    above `MAX_RECORD_BYTES`.
    """
    chunks: list[bytes] = []
    total = 0
    seq = first_seq
    pack = packer.pack
    header = HEADER.pack
    crc32 = zlib.crc32
    for draft in drafts:
        ts, type_, version, payload = draft.ts, draft.type, draft.version, draft.payload
        if (
            type(ts) is not int
            or type(type_) is not str
            or type(version) is not int
            or not isinstance(payload, dict)
        ):
            raise InvalidRecord(
                f"draft {seq - first_seq} of the call: ts and version must be int, type str and "
                f"payload dict, got {draft!r:.200}"
            )
        try:
            body = pack([seq, ts, type_, version, payload])
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidRecord(
                f"draft {seq - first_seq} of the call ({type_!r}): payload cannot be encoded: {exc}"
            ) from exc
        size = len(body)
        if size > MAX_RECORD_BYTES:
            raise InvalidRecord(
                f"draft {seq - first_seq} of the call ({type_!r}) encodes to {size} bytes, "
                f"above the limit of {MAX_RECORD_BYTES}"
            )
        chunks.append(header(size, crc32(body)))
        chunks.append(body)
        total += HEADER_SIZE + size
        seq += 1
    return chunks, total


def decode_body(body: bytes | memoryview) -> DecodedBody:
    """Decode and check the shape of one record body. Raises `ValueError` saying what is wrong."""
    try:
        obj = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ValueError(f"undecodable record body: {exc}") from exc
    if not isinstance(obj, list) or len(obj) != 5:
        raise ValueError("record body is not a [seq, ts, type, version, payload] array")
    seq, ts, type_, version, payload = obj
    if not (
        type(seq) is int
        and type(ts) is int
        and type(type_) is str
        and type(version) is int
        and isinstance(payload, dict)
    ):
        raise ValueError("record body has fields of the wrong types")
    return seq, ts, type_, version, payload


def is_valid_frame(data: bytes, offset: int) -> bool:
    """Whether a complete frame with a matching CRC and a record body starts at `offset`."""
    if offset < 0 or len(data) - offset < HEADER_SIZE:
        return False
    length, crc = HEADER.unpack_from(data, offset)
    start = offset + HEADER_SIZE
    end = start + length
    if not 0 < length <= MAX_RECORD_BYTES or end > len(data):
        return False
    body = data[start:end]
    if zlib.crc32(body) != crc:
        return False
    try:
        decode_body(body)
    except ValueError:
        return False
    return True


def find_next_frame(data: bytes, start: int) -> int | None:
    """The offset of the first valid frame (`is_valid_frame`) at or after `start`, or None.

    Used only on the slow path, to tell a torn tail (nothing valid follows) from corruption.
    """
    pos = start
    while True:
        marker = data.find(_BODY_MARKER, pos + HEADER_SIZE)
        if marker < 0:
            return None
        offset = marker - HEADER_SIZE
        if is_valid_frame(data, offset):
            return offset
        pos = offset + 1


TailKind = Literal["grew", "torn", "corrupt"]


def classify_stop(rest: bytes) -> TailKind:
    """What stopped a walk, given the file's bytes from the stopping point to its end.

    `grew`: a valid frame is there now (a live writer finished it meanwhile: no problem);
    `torn`: nothing valid follows (a crash mid-write); `corrupt`: valid data follows.
    """
    if is_valid_frame(rest, 0):
        return "grew"
    return "torn" if find_next_frame(rest, 1) is None else "corrupt"


def describe_frame_problem(rest: bytes) -> str:
    """Why the bytes at the start of `rest` are not a valid frame (for messages)."""
    if len(rest) < HEADER_SIZE:
        return f"incomplete record header ({len(rest)} of 8 bytes)"
    length, crc = HEADER.unpack_from(rest)
    if not 0 < length <= MAX_RECORD_BYTES:
        return f"invalid record length {length}"
    if len(rest) < HEADER_SIZE + length:
        return f"incomplete record body ({len(rest) - HEADER_SIZE} of {length} bytes)"
    if zlib.crc32(rest[HEADER_SIZE : HEADER_SIZE + length]) != crc:
        return "CRC mismatch"
    return "valid frame"


class FrameWalker:
    """Walks the frames of one open file from its start, reading in large chunks.

    Iterate `frames()`; once it is exhausted, `stop_offset` is the end of the last good frame
    and `problem` is None for a clean end of file, else a description of the frame at
    `stop_offset` (incomplete header, invalid length, incomplete body, CRC mismatch). Reads only
    what the file holds at the time; never writes.
    """

    def __init__(self, file: BinaryIO, *, chunk_size: int = READ_CHUNK) -> None:
        self._file = file
        self._chunk_size = chunk_size
        self.stop_offset = 0
        self.problem: str | None = None

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """Yield `(offset, body)` for each complete frame with a matching CRC, in file order."""
        read = self._file.read
        chunk_size = self._chunk_size
        unpack_header = HEADER.unpack_from
        crc32 = zlib.crc32
        buf = b""
        pos = 0  # position in buf of the next frame
        base = 0  # file offset of buf[0]
        eof = False
        while True:
            size = len(buf)
            if size - pos >= HEADER_SIZE:
                length, crc = unpack_header(buf, pos)
                if length == 0 or length > MAX_RECORD_BYTES:
                    self._stop(base + pos, f"invalid record length {length}")
                    return
                end = pos + HEADER_SIZE + length
                if end <= size:
                    # A bytes slice is a copy, yet msgpack and crc32 read it faster than a
                    # memoryview, and the record needs it only briefly.
                    body = buf[pos + HEADER_SIZE : end]
                    if crc32(body) != crc:
                        self._stop(base + pos, "CRC mismatch")
                        return
                    yield base + pos, body
                    pos = end
                    continue
                need = end - size
            else:
                need = HEADER_SIZE - (size - pos)
            if eof:
                have = size - pos
                if have == 0:
                    self._stop(base + pos, None)
                elif have < HEADER_SIZE:
                    self._stop(base + pos, f"incomplete record header ({have} of 8 bytes)")
                else:
                    self._stop(
                        base + pos,
                        f"incomplete record body ({have - HEADER_SIZE} of {length} bytes)",
                    )
                return
            more = read(max(chunk_size, need))
            if not more:
                eof = True
                continue
            buf = buf[pos:] + more
            base += pos
            pos = 0

    def _stop(self, offset: int, problem: str | None) -> None:
        self.stop_offset = offset
        self.problem = problem
