"""Journal figures: append rate per fsync policy, bytes per event, replay rate.

    python benchmarks/journal.py [--events N] [--dir DIR]

Prints:
- append events/s for each fsync policy with 1 and 64 concurrent appenders (each append call
  carries one event, as a group actor's decision usually does), plus batches of 100 per call;
- bytes per event for a typical AlertReceived (framed, on disk);
- replay events/s: read + CRC + msgpack decode + structure (cattrs) + evolve (the World fold);
- beside it the raw msgpack decode rate of the same record bodies: the ceiling.

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


def replay_rate(directory: Path) -> tuple[float, float, int]:
    with open_journal_reader(directory) as reader:
        # The daemon's own loop (core.replay.fold, collector paused), as restart runs it.
        start = time.perf_counter()
        with gc_paused():
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
    return replay, raw, n


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

    replay, raw, n = replay_rate(base / "replay")
    print(
        f"replay (read + CRC + decode + structure + evolve): {replay:>10,.0f} events/s ({n} events)"
    )
    print(f"raw msgpack decode of the same bodies (ceiling):  {raw:>10,.0f} events/s")
    if not args.dir:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
