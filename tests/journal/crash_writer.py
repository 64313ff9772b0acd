"""Appends records forever and prints each acknowledged one; `test_crash.py` SIGKILLs it.

Usage: crash_writer.py DIRECTORY RUN SEED

Every record's payload carries a unique token and a checksum of its contents. Each line on
stdout, `SEQ TOKEN`, is printed (and flushed) only after `append` returned that sequence number,
so every printed record is one the journal acknowledged as durable.
"""

from __future__ import annotations

import hashlib
import random
import sys

import trio

from tocsin.journal import RecordDraft, SegmentJournal, open_segment_journal

SEGMENT_BYTES = 8 * 1024


def checksum(token: str, data: str) -> str:
    return hashlib.sha256(f"{token}:{data}".encode()).hexdigest()


def make_draft(token: str, rng: random.Random) -> RecordDraft:
    data = rng.randbytes(rng.randint(0, 400)).hex()
    payload = {"token": token, "data": data, "sum": checksum(token, data)}
    return RecordDraft(1_700_000_000_000_000 + len(data), "CrashTested", 1, payload)


async def append_and_ack(journal: SegmentJournal, drafts: list[RecordDraft]) -> None:
    seqs = await journal.append(drafts)
    lines = "".join(f"{seq} {d.payload['token']}\n" for seq, d in zip(seqs, drafts, strict=True))
    sys.stdout.write(lines)
    sys.stdout.flush()


async def main(directory: str, run: int, seed: int) -> None:
    rng = random.Random(f"{seed}/{run}")
    counter = 0

    def drafts(count: int) -> list[RecordDraft]:
        nonlocal counter
        made = []
        for _ in range(count):
            counter += 1
            made.append(make_draft(f"r{run}n{counter}", rng))
        return made

    async with open_segment_journal(
        directory, fsync="batch", segment_bytes=SEGMENT_BYTES
    ) as journal:
        while True:
            if rng.random() < 0.5:
                await append_and_ack(journal, drafts(rng.randint(1, 3)))
            else:
                async with trio.open_nursery() as nursery:
                    for _ in range(rng.randint(2, 8)):
                        nursery.start_soon(append_and_ack, journal, drafts(rng.randint(1, 3)))


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
