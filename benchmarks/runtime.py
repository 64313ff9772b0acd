"""Runtime figures, in process (no HTTP): ingest rate, memory, restart time, journal growth.

    python benchmarks/runtime.py [--alerts 100000] [--batch 100]

Runs the real runtime (routing tree, dispatcher, group actors, event log) on a segment journal
with `fsync: batch` in a temporary directory, on the real clock, with group_wait 0 (every new
group notifies at once, which the throughput includes). Eight tasks ingest batches of --batch
alerts concurrently, as eight HTTP connections would. Prints:

- alerts/s through dispatcher -> group actors -> journal, for 50 groups and one group per alert;
- memory per active alert and per alert+own group (tracemalloc, at --alerts alerts);
- restart time to ready with --alerts active alerts (snapshot + tail replay);
- what a snapshot of that state costs the event loop: the longest gap a 1 ms ticker sees
  while it is taken, built in a forked child (the default) and inline on the loop;
- journal bytes written by re-sends: every alert re-sent with endsAt moved a minute later, as
  Prometheus does every minute; bytes per round x 60 = bytes per hour;
- the reference for the ingest rate (`--scenario 50-groups` or `both`): the work each new
  alert needs in this event model, step by step, timed alone in a tight loop over the same
  alerts: no actors, no trio, no disk. Its sum is the most one core could ingest if all the
  rest (the dispatcher's rounds, group actors, the journal's I/O) cost nothing.

Targets (issue 3): >= 50,000 alerts/s for 50 groups; <= 2 KB per alert and <= 8 KB per
alert+group; restart <= 2 s. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgpack
import trio
import trio.testing

from tocsin.actors.config_ports import ConfigRouter
from tocsin.actors.ports import RouteTarget
from tocsin.actors.runtime import Rules, RuntimeSettings, open_runtime
from tocsin.config import load_text
from tocsin.core.codec import CODEC, to_micros
from tocsin.core.events import AlertData, GroupEvent, NotificationRequested
from tocsin.core.group_state import GroupState, group_id_for
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import ReceiveAlerts, decide
from tocsin.core.replay import tune_gc
from tocsin.core.world import World
from tocsin.journal import open_segment_journal
from tocsin.journal.framing import HEADER

CONFIG = """\
route:
  receiver: team
  group_by: [{group_by}]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: team
"""


def rules(groups: int | None) -> Rules:
    """The real routing path (`ConfigRouter`, `ConfigMutes`): one route grouping by alertname
    (50 groups), or by alertname and instance (one group per alert)."""
    group_by = "alertname" if groups else "alertname, instance"
    config = load_text(CONFIG.format(group_by=group_by), env={})
    return Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))


class NullNotifier:
    def __init__(self) -> None:
        self.requested = 0

    def request(self, event: NotificationRequested, state: GroupState) -> None:
        self.requested += 1


def make_alerts(n: int, groups: int | None, clock_now: datetime) -> list[AlertData]:
    out = []
    for i in range(n):
        g = i % groups if groups else i
        out.append(
            AlertData(
                Labels.of(
                    {
                        "alertname": f"Alert{g}",
                        "instance": f"host-{i}:9100",
                        "job": "node",
                        "severity": "warning",
                        "env": "prod",
                        "service": "api",
                    }
                ),
                Labels.of({"summary": f"something is off on host-{i}"}),
                clock_now,
                clock_now + timedelta(minutes=4),
                "http://prometheus:9090/graph",
            )
        )
    return out


async def ingest_all(
    rt: object, alerts: list[AlertData], batch: int, concurrency: int = 8
) -> float:
    chunks = [alerts[i : i + batch] for i in range(0, len(alerts), batch)]
    start = time.perf_counter()

    async def worker(mine: list[list[AlertData]]) -> None:
        for chunk in mine:
            await rt.ingest(chunk)  # type: ignore[attr-defined]

    async with trio.open_nursery() as nursery:
        for i in range(concurrency):
            nursery.start_soon(worker, chunks[i::concurrency])
    return time.perf_counter() - start


async def snapshot_cost(rt: object) -> tuple[float, float]:
    """(seconds a snapshot takes, longest gap in ms of a 1 ms ticker meanwhile)."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await trio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.01)
        start = time.perf_counter()
        await rt.snapshot()  # type: ignore[attr-defined]
        took = time.perf_counter() - start
        done = True
    return took, longest * 1e3


def design_floor(alerts: list[AlertData], routing: Rules, batch: int) -> list[tuple[str, float]]:
    """(step, µs of CPU per alert) for each step a new alert takes in this event model, timed
    alone over `alerts` (fresh ones: nothing cached), as the runtime does them: its
    fingerprint, its routes, the pure core's decision (a `ReceiveAlerts` per group and batch
    of `batch` alerts, as a dispatcher round makes), the events' journal payloads, the records
    (msgpack, CRC, header, joined for one write) and the state they fold into."""
    router = ConfigRouter(routing.routing)
    now = alerts[0].starts_at or datetime.now(UTC)
    steps: list[tuple[str, float]] = []
    n = len(alerts)

    def timed(label: str, step: Any) -> Any:
        gc.collect()
        start = time.process_time()
        out = step()
        steps.append((label, (time.process_time() - start) / n * 1e6))
        return out

    timed("fingerprint", lambda: [a.labels.fingerprint_hex for a in alerts])
    routes = timed("routes", lambda: [router.route(a.labels) for a in alerts])
    # Decide and fold alternate (each decision reads the state the last one left): timed
    # separately, a clock read per group and batch.
    world, clock = World(), time.process_time
    events: list[GroupEvent] = []
    deciding = folding = 0.0
    gc.collect()
    for first in range(0, n, batch):
        groups: dict[str, tuple[RouteTarget, list[AlertData]]] = {}
        for alert, targets in zip(
            alerts[first : first + batch], routes[first : first + batch], strict=True
        ):
            target = targets[0]
            groups.setdefault(group_id_for(target.group_key), (target, []))[1].append(alert)
        for gid, (target, members) in groups.items():
            t0 = clock()
            command = ReceiveAlerts(
                tuple(members), target.group_key, target.group_labels, target.policy
            )
            decided = decide(world.group(gid), command, now)
            t1 = clock()
            for ev in decided:
                world.apply(len(events) + 1, ev)
                events.append(ev)
            folding += clock() - t1
            deciding += t1 - t0
    steps += [("decide", deciding / n * 1e6), ("apply to the world", folding / n * 1e6)]
    encoded = timed("journal payloads", lambda: [CODEC.encode(e) for e in events])
    pack, header, crc, ts = msgpack.Packer().pack, HEADER.pack, zlib.crc32, to_micros(now)

    def records() -> bytes:
        out: list[bytes] = []
        for seq, (tag, version, payload) in enumerate(encoded):
            body = pack([seq, ts, tag, version, payload])
            out += (header(len(body), crc(body)), body)
        return b"".join(out)

    timed("records (msgpack, CRC, header)", records)
    return steps


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.glob("*.seg"))


async def scenario(args: argparse.Namespace, groups: int | None, base: Path) -> dict[str, float]:
    data = base / f"run-{groups}"
    shutil.rmtree(data, ignore_errors=True)
    results: dict[str, float] = {}
    settings = RuntimeSettings(snapshot_interval=timedelta(hours=24))
    routing = rules(groups)
    async with (
        open_segment_journal(data, fsync="batch") as journal,
        open_runtime(journal, rules=routing, notifier=NullNotifier(), settings=settings) as rt,
    ):
        now = rt.clock.now()
        alerts = make_alerts(args.alerts, groups, now)
        elapsed = await ingest_all(rt, alerts, args.batch)
        results["alerts_per_s"] = args.alerts / elapsed
        await trio.testing.wait_all_tasks_blocked()
        # Re-sends: endsAt a minute later each round, as Prometheus' minutely re-send.
        seg_before = directory_bytes(data)
        rounds = args.resend_rounds
        start = time.perf_counter()
        for r in range(1, rounds + 1):
            ends = now + timedelta(minutes=4 + r)
            resent = [
                AlertData(a.labels, a.annotations, a.starts_at, ends, a.generator_url)
                for a in alerts
            ]
            await ingest_all(rt, resent, args.batch)
        results["resend_alerts_per_s"] = args.alerts * rounds / (time.perf_counter() - start)
        results["journal_bytes_per_hour"] = (directory_bytes(data) - seg_before) * 60 / rounds
        results["snap_fork_s"], results["snap_fork_gap_ms"] = await snapshot_cost(rt)
        journal.fork_snapshots = False
        results["snap_inline_s"], results["snap_inline_gap_ms"] = await snapshot_cost(rt)
    # Restart: a new runtime on the same journal, time until ready.
    start = time.perf_counter()
    async with (
        open_segment_journal(data, fsync="batch") as journal,
        open_runtime(journal, rules=routing, notifier=NullNotifier(), settings=settings) as rt,
    ):
        await rt.ready.wait()
        results["restart_s"] = time.perf_counter() - start
        results["live_groups"] = len(rt.registry)
        results["live_alerts"] = sum(len(g.alerts) for g in rt.world.groups.values())
    # Memory, on its own pass (tracemalloc slows everything down).
    shutil.rmtree(data, ignore_errors=True)
    async with (
        open_segment_journal(data, fsync="never") as journal,
        open_runtime(journal, rules=routing, notifier=NullNotifier(), settings=settings) as rt,
    ):
        alerts = make_alerts(args.alerts, groups, rt.clock.now())
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await ingest_all(rt, alerts, args.batch)
        await trio.testing.wait_all_tasks_blocked()
        del alerts
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        results["bytes_per_alert"] = (after - before) / args.alerts
    return results


def main() -> None:
    tune_gc()  # what `tocsin` does
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--resend-rounds", type=int, default=3)
    ap.add_argument("--scenario", choices=["50-groups", "group-per-alert", "both"], default="both")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tocsin-runtime-bench-"))
    print(f"runtime benchmark: {args.alerts} alerts, batches of {args.batch}, fsync=batch")
    try:
        chosen = {"50-groups": (50,), "group-per-alert": (None,), "both": (50, None)}
        for groups in chosen[args.scenario]:
            label = "50 groups" if groups else "one group per alert"
            r = trio.run(scenario, args, groups, base)
            per = "per alert" if groups else "per alert+group"
            print(
                f"{label:>20}: {r['alerts_per_s']:>9,.0f} alerts/s ingest; "
                f"{r['bytes_per_alert'] / 1024:.2f} KiB {per}; "
                f"restart to ready {r['restart_s']:.2f} s ({int(r['live_alerts'])} alerts in "
                f"{int(r['live_groups'])} live groups); "
                f"re-sends {r['resend_alerts_per_s']:,.0f} alerts/s adding "
                f"{r['journal_bytes_per_hour'] / 1e6:.3f} MB/hour to the journal"
            )
            print(
                f"{'':>20}  snapshot in a child {r['snap_fork_s']:.2f} s, loop's longest gap "
                f"{r['snap_fork_gap_ms']:.0f} ms; inline {r['snap_inline_s']:.2f} s, "
                f"longest gap {r['snap_inline_gap_ms']:.0f} ms"
            )
            if groups:
                steps = design_floor(
                    make_alerts(args.alerts, groups, datetime.now(UTC)), rules(groups), args.batch
                )
                total = sum(us for _, us in steps)
                print(
                    f"{'':>20}  reference, each new alert's own steps alone: {total:.1f} µs "
                    f"= {1e6 / total:,.0f} alerts/s on one core with nothing else ("
                    + ", ".join(f"{label} {us:.1f}" for label, us in steps)
                    + ")"
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
