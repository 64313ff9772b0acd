"""Crash safety: a writer SIGKILLed at random moments loses no acknowledged record.

`crash_writer.py` appends in a loop in a subprocess and prints every acknowledged sequence
number; the test kills it (SIGKILL) after a random number of acknowledgements, recovers the
journal, checks it, and starts the next writer on the recovered journal, many times over. The
seed is fixed (override with TOCSIN_CRASH_SEED) and printed, so a failure can be replayed.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio

from tocsin.journal import (
    StoredRecord,
    open_journal_reader,
    open_segment_journal,
    verify,
)

from .conftest import draft, frame_spans, segment_files
from .crash_writer import checksum

SEED = int(os.environ.get("TOCSIN_CRASH_SEED", "20240607"))
RUNS = 24
WRITER = Path(__file__).with_name("crash_writer.py")


async def run_writer_until_killed(
    directory: Path, run: int, acks_wanted: int
) -> list[tuple[int, str]]:
    """Start a writer, SIGKILL it after `acks_wanted` acknowledgements; return every ack it
    printed (including those already in the pipe when it died)."""
    command = [sys.executable, str(WRITER), str(directory), str(run), str(SEED)]
    acks: list[tuple[int, str]] = []
    other: list[bytes] = []
    pending = b""
    killed = False
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            partial(
                trio.run_process,
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
        )
        assert process.stdout is not None
        with trio.fail_after(30):
            while chunk := await process.stdout.receive_some(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    seq, _, token = line.partition(b" ")
                    if seq.isdigit() and token:
                        acks.append((int(seq), token.decode()))
                    else:
                        other.append(line)
                if not killed and len(acks) >= acks_wanted:
                    process.kill()
                    killed = True
    assert killed, f"writer exited after {len(acks)} acks: {b''.join(other)!r:.2000}"
    assert process.returncode == -9
    return acks


def check_records(records: list[StoredRecord], acked: dict[int, str]) -> None:
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    for record in records:
        payload = record.payload
        assert payload["sum"] == checksum(payload["token"], payload["data"]), record.seq
    for seq, token in acked.items():
        assert seq <= len(records), f"acknowledged record {seq} is missing"
        assert records[seq - 1].payload["token"] == token, seq


@pytest.mark.slow
async def test_acknowledged_records_survive_sigkill_at_random_moments(tmp_path: Path) -> None:
    print(f"crash test seed: {SEED} (set TOCSIN_CRASH_SEED to replay)")
    rng = random.Random(SEED)
    directory = tmp_path / "journal"
    acked: dict[int, str] = {}
    torn_runs = 0
    for run in range(RUNS):
        for seq, token in await run_writer_until_killed(directory, run, rng.randint(1, 400)):
            # A sequence number, once acknowledged, names the same record forever.
            assert acked.setdefault(seq, token) == token, (SEED, run, seq)

        report = verify(directory)
        assert report.corruption is None and not report.gaps, (SEED, run, report)
        if report.torn_tail is not None:
            torn_runs += 1
        async with open_segment_journal(directory) as journal:
            records = list(journal.read())
        check_records(records, acked)

        recovered = verify(directory)
        assert recovered.ok and recovered.torn_tail is None, (SEED, run, recovered)
        assert recovered.total_records == len(records)
        if report.torn_tail is not None:  # truncated exactly where the valid records end
            torn = directory / report.torn_tail.segment
            assert torn.stat().st_size == report.torn_tail.offset
    print(f"{RUNS} runs, {len(acked)} acknowledged records, {torn_runs} torn tails recovered")

    # And once mid-record on the last crash's journal (see the test below for the details).
    last = next(path for path in reversed(segment_files(directory)) if frame_spans(path))
    check_cut_inside_a_record(last, tmp_path / "cut", rng)


def check_cut_inside_a_record(segment: Path, copy_to: Path, rng: random.Random) -> None:
    """Copy `segment` alone, cut the copy inside a random record, and check what survives."""
    spans = frame_spans(segment)
    index = rng.randrange(len(spans))
    offset, length = spans[index]
    cut = rng.randint(offset + 1, offset + length - 1)
    copy_to.mkdir()
    copy = copy_to / segment.name
    shutil.copyfile(segment, copy)
    with open(copy, "r+b") as file:
        file.truncate(cut)
    first = int(segment.stem)
    with open_journal_reader(segment.parent) as reader:
        originals = list(reader.read(after=first - 1))[:index]
    with open_journal_reader(copy_to) as reader:
        assert reader.torn_tail is not None
        assert (reader.torn_tail.offset, reader.torn_tail.length) == (offset, cut - offset)
        assert list(reader.read(after=first - 1)) == originals
        assert reader.last_seq == first + index - 1
    assert copy.stat().st_size == cut  # the reader changed nothing
    report = verify(copy_to)
    assert report.torn_tail is not None and report.torn_tail.length == cut - offset
    assert report.ok


async def test_a_segment_cut_inside_a_record_keeps_the_prefix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    source = tmp_path / "source"
    async with open_segment_journal(source) as journal:
        for i in range(40):
            await journal.append([draft(i, pad=rng.randint(0, 300))])
    (segment,) = segment_files(source)
    for attempt in range(10):
        copy_to = tmp_path / f"cut{attempt}"
        check_cut_inside_a_record(segment, copy_to, rng)
        copy = copy_to / segment.name
        size = copy.stat().st_size
        valid = max(o + n for o, n in frame_spans(copy)) if frame_spans(copy) else 0
        caplog.clear()
        async with open_segment_journal(copy_to) as journal:
            assert journal.last_seq == len(frame_spans(copy))
        assert f"dropped {size - valid} bytes of torn tail from segment {segment.name}" in (
            caplog.text
        )
        assert copy.stat().st_size == valid
