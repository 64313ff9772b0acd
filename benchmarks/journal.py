"""Journal figures: append rate per fsync policy, bytes per event, replay rate.

    python benchmarks/journal.py [--events N] [--dir DIR]

Prints:
- append events/s for each fsync policy with 1 and 64 concurrent appenders (each append call
  carries one event, as a group actor's decision usually does), plus batches of 100 per call;
- bytes per event for a typical AlertReceived (framed, on disk);
- replay events/s: read + CRC + msgpack decode + structure (cattrs) + evolve (the World fold);
- beside it the raw msgpack decode rate of the same record bodies: the ceiling; and the rate
  of decode + structure alone (no read, no CRC, no evolve): what the structured part of the
  replay costs by itself, a second bound on the replay figure.

Targets (issue 2): replay >= 300,000 events/s; batch append >= 100,000 events/s with 64
appenders. Nothing here asserts; it prints what it measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgpack
import trio

from tocsin.core.codec import CODEC, to_micros
from tocsin.core.events import (
    AlertChange,
    AlertData,
    AlertReceived,
    Event,
    GroupOpened,
    GroupPolicy,
)
from tocsin.core.labels import Labels
from tocsin.core.replay import fold, gc_paused
from tocsin.core.world import World
from tocsin.journal import RecordDraft, open_journal_reader, open_segment_journal

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def typical_events(n: int, groups: int = 50) -> list[Event]:
    """`groups` GroupOpened, then AlertReceived spread over them: what ingest journals."""
    out: list[Event] = []
    policy = GroupPolicy(receiver="slack-critical")
    for g in range(groups):
        labels = Labels.of({"alertname": f"Alert{g}", "service": "api"})
        out.append(GroupOpened(f"group{g:011d}", f"{{}}:{labels!r}", labels, policy, 1, T0))
    for i in range(n - groups):
        g = i % groups
        labels = Labels.of(
            {
                "alertname": f"Alert{g}",
                "severity": "critical",
                "service": "api",
                "env": "prod",
                "instance": f"host-{i}:9100",
                "job": "node",
            }
        )
        annotations = Labels.of(
            {
                "summary": f"Error rate above 5% on host-{i}",
                "runbook_url": "https://runbooks.example.com/api/high-error-rate",
            }
        )
        alert = AlertData(
            labels,
            annotations,
            T0,
            T0 + timedelta(minutes=4),
            "http://prometheus:9090/graph?g0.expr=x",
        )
        out.append(AlertReceived(f"group{g:011d}", alert, AlertChange.NEW, T0))
    return out


def drafts_of(events: list[Event]) -> list[RecordDraft]:
    ts = to_micros(T0)
    return [RecordDraft(ts, *CODEC.encode(ev)) for ev in events]


async def append_rate(
    directory: Path, drafts: list[RecordDraft], fsync: str, appenders: int, per_call: int
) -> float:
    shutil.rmtree(directory, ignore_errors=True)
    async with open_segment_journal(directory, fsync=fsync) as journal:  # type: ignore[arg-type]
        chunks = [drafts[i : i + per_call] for i in range(0, len(drafts), per_call)]
        share = [chunks[i::appenders] for i in range(appenders)]

        async def worker(mine: list[list[RecordDraft]]) -> None:
            for chunk in mine:
                await journal.append(chunk)

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for mine in share:
                nursery.start_soon(worker, mine)
        elapsed = time.perf_counter() - start
    return len(drafts) / elapsed


def replay_rate(directory: Path) -> tuple[float, float, float, int]:
    with open_journal_reader(directory) as reader:
        # The daemon's own loop (core.replay.fold, collector paused), as restart runs it.
        start = time.perf_counter()
        with gc_paused(freeze=True):
            world = fold(World(), reader.read())
        replay = world.applied_seq / (time.perf_counter() - start)
        n = world.applied_seq
    # The ceiling: msgpack-decoding the same bodies, nothing else.
    bodies = []
    for seg in sorted(directory.glob("*.seg")):
        data = seg.read_bytes()
        off = 0
        while off + 8 <= len(data):
            length = int.from_bytes(data[off : off + 4], "little")
            bodies.append(data[off + 8 : off + 8 + length])
            off += 8 + length
    unpackb = msgpack.unpackb
    start = time.perf_counter()
    for b in bodies:
        unpackb(b, raw=False, strict_map_key=False)
    raw = len(bodies) / (time.perf_counter() - start)
    # The bound from structure: decode each body and build its event, nothing else.
    decode = CODEC.decode
    with gc_paused():
        start = time.perf_counter()
        for b in bodies:
            _, _, tag, version, payload = unpackb(b, raw=False, strict_map_key=False)
            decode(tag, version, payload)
        structured = len(bodies) / (time.perf_counter() - start)
    return replay, raw, structured, n


def fsync_bound(
    directory: Path, record_bytes: int, appenders: int = 64, rounds: int = 200
) -> float:
    """With `appenders` one-record appenders, a group commit holds at most `appenders` records:
    the rate cannot pass appenders / (write + fdatasync time). Measured on the same disk."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fsync-probe"
    block = b"x" * (record_bytes * appenders)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            os.write(fd, block)
            os.fdatasync(fd)
        per_round = (time.perf_counter() - start) / rounds
    finally:
        os.close(fd)
        path.unlink()
    return appenders / per_round


async def park_wake_floor(n: int, appenders: int = 64) -> float:
    """What a one-record append can cost at the least on this machine's trio: each of
    `appenders` tasks parks and is woken in batches by a committer task, with no encoding,
    no thread and no I/O. The reference beside "64 appenders, 1 event per call"."""
    waiting: list[trio.lowlevel.Task] = []
    done = 0

    async def worker(k: int) -> None:
        nonlocal done
        for _ in range(k):
            waiting.append(trio.lowlevel.current_task())
            await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.FAILED)
            done += 1

    async def committer() -> None:
        while done < n:
            await trio.lowlevel.checkpoint()
            batch = waiting[:]
            waiting.clear()
            for task in batch:
                trio.lowlevel.reschedule(task)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(appenders):
            nursery.start_soon(worker, n // appenders + (1 if i < n % appenders else 0))
        nursery.start_soon(committer)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary directory)")
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="tocsin-bench-"))
    events = typical_events(args.events)
    drafts = drafts_of(events)
    print(f"journal benchmark: {len(drafts)} events, {os.cpu_count()} cores, in {base}")

    for fsync in ("batch", "always", "never"):
        for appenders, per_call in ((1, 1), (64, 1), (64, 100)):
            n = (
                len(drafts)
                if not (fsync == "always" and per_call == 1)
                else min(len(drafts), 5_000)
            )
            if fsync == "batch" and appenders == 1 and per_call == 1:
                n = min(len(drafts), 5_000)  # one fsync per event: slow by nature
            rate = trio.run(append_rate, base / "append", drafts[:n], fsync, appenders, per_call)
            print(
                f"append fsync={fsync:<6} appenders={appenders:<3} events/call={per_call:<4} "
                f"{rate:>10,.0f} events/s  ({n} events)"
            )

    bound = fsync_bound(
        base, len(msgpack.packb([1, 0, "alert.received", 1, drafts[-1].payload])) + 8
    )
    print(
        f"reference: 64 records per write+fdatasync on this disk  {bound:>10,.0f} events/s "
        "(the most batch with 64 one-record appenders can reach)"
    )
    floor = trio.run(park_wake_floor, len(drafts))
    print(
        f"reference: trio park/wake floor, 64 tasks, no I/O  {floor:>10,.0f} appends/s "
        "(the most one-record appends can reach here)"
    )
    shutil.rmtree(base / "append", ignore_errors=True)
    trio.run(append_rate, base / "replay", drafts, "never", 64, 100)
    size = sum(p.stat().st_size for p in (base / "replay").glob("*.seg"))
    alert_received = [d for d in drafts if d.type == "alert.received"]
    one = (
        len(msgpack.packb([1, d.ts, d.type, d.version, d.payload], use_bin_type=True)) + 8
        if (d := alert_received[0])
        else 0
    )
    print(
        f"bytes per event: {size / len(drafts):.0f} on average; a typical alert.received: {one} bytes framed"
    )

    replay, raw, structured, n = replay_rate(base / "replay")
    print(
        f"replay (read + CRC + decode + structure + evolve): {replay:>10,.0f} events/s ({n} events)"
    )
    print(f"raw msgpack decode of the same bodies (ceiling):  {raw:>10,.0f} events/s")
    print(f"decode + structure alone (no read, CRC, evolve):  {structured:>10,.0f} events/s")
    if not args.dir:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
