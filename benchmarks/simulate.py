"""`tocsin simulate` on a week of a 10,000-alert setup: how long does the what-if take?

    python benchmarks/simulate.py [--alerts 10000] [--days 7] [--episodes 3]

Writes a synthetic journal (every alert fires and resolves `--episodes` times over `--days`,
spread over 200 alertnames and 4 services), then runs the simulation through a config that
groups differently, and prints the time it took and the figures it compared. Prints only.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio

from tocsin.actors.runtime import Rules
from tocsin.actors.simulate import Simulator, inputs_from_events
from tocsin.cli.audit import events_until
from tocsin.config import load_text
from tocsin.core.codec import CODEC, from_micros, to_micros
from tocsin.core.events import (
    AlertChange,
    AlertData,
    AlertReceived,
    AlertResolved,
    Event,
    GroupOpened,
    GroupPolicy,
    ResolveReason,
)
from tocsin.core.labels import Labels
from tocsin.core.replay import tune_gc
from tocsin.journal import RecordDraft, open_journal_reader, open_segment_journal

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = """
route:
  receiver: slack
  group_by: [alertname, service]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [alertname, service, instance]
receivers:
  - name: slack
    webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
  - name: pager
    pagerduty_configs: [{routing_key: 'not-a-real-key'}]
"""


def synthetic(alerts: int, days: int, episodes: int) -> list[tuple[datetime, Event]]:
    rng = random.Random(7)
    out: list[tuple[datetime, Event]] = []
    span = timedelta(days=days)
    policy = GroupPolicy(receiver="slack")
    for i in range(alerts):
        labels = Labels.of(
            {
                "alertname": f"Alert{i % 200}",
                "service": f"svc{i % 4}",
                "instance": f"host-{i}",
                "severity": "critical" if i % 10 == 0 else "warning",
            }
        )
        gid = f"g{i % 800:015d}"
        for _ in range(episodes):
            start = T0 + span * rng.random()
            end = start + timedelta(minutes=rng.randint(5, 240))
            alert = AlertData(labels, Labels.of({"summary": "x"}), start, end)
            out.append((start, AlertReceived(gid, alert, AlertChange.NEW, start)))
            out.append(
                (
                    end,
                    AlertResolved(gid, labels.fingerprint_hex, ResolveReason.SOURCE_RESOLVED, end),
                )
            )
    out.sort(key=lambda item: item[0])
    first = GroupOpened("g", "{}:{}", Labels.of({}), policy, 1, T0)
    return [(T0, first), *out]


async def write(directory: Path, events: list[tuple[datetime, Event]]) -> None:
    async with open_segment_journal(directory, fsync="never") as journal:
        batch: list[RecordDraft] = []
        for at, ev in events:
            batch.append(RecordDraft(to_micros(at), *CODEC.encode(ev)))
            if len(batch) == 1000:
                await journal.append(batch)
                batch = []
        if batch:
            await journal.append(batch)


def main() -> None:
    tune_gc()  # what `tocsin simulate` does
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--episodes", type=int, default=3)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tocsin-sim-bench-"))
    try:
        events = synthetic(args.alerts, args.days, args.episodes)
        trio.run(write, base / "j", events)
        config = load_text(CONFIG, filename="bench.yml")
        rules = Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))
        start = time.perf_counter()
        with open_journal_reader(base / "j") as reader:
            recorded = [(from_micros(rec.ts), ev) for rec, ev in events_until(reader.read(), None)]
        read = time.perf_counter() - start
        result = Simulator(rules).run(inputs_from_events(recorded), recorded[-1][0])
        total = time.perf_counter() - start
        print(
            f"simulate: {args.alerts} alerts x {args.episodes} episodes over {args.days} days "
            f"({len(recorded)} journal events): {total:.1f} s "
            f"(reading {read:.1f} s, simulating {total - read:.1f} s); "
            f"{result.inputs} inputs, {result.decisions} decisions, "
            f"{sum(result.notifications.values())} notifications "
            f"({result.notifications['pager']} pages)"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
