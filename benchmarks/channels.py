"""Channel-actor figures: throughput to a local sink, latency the actor adds, and behaviour
under a sink that answers 429 half the time.

    python benchmarks/channels.py [--notifications 2000] [--workers 4]

A webhook channel actor (ChannelNotifier → ChannelActor → HTTPChannel → httpx) delivers to
the local fake HTTP server of the tests (a separate process on 127.0.0.1, Python's threading
HTTP server), on the real clock, journaling into a memory journal. Notifications are offered
straight to the notifier (no grouping), with pacing off and the breaker out of the way.

Prints: notifications/s; per-notification latency from request() to the journaled delivery
(p50/p99) and the part of it the actor adds (that latency minus the HTTP exchange itself);
with the sink answering 429 (Retry-After: 0) to every other request: notifications/s,
attempts per notification, and how many were lost (must be 0). Nothing here asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio
import trio.lowlevel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import FakeProcess

from tocsin.actors.channels import BreakerSettings, ChannelNotifier, ChannelSettings
from tocsin.actors.ports import RouteTarget
from tocsin.actors.runtime import open_runtime
from tocsin.adapters.channels.base import HTTPChannel
from tocsin.adapters.channels.factory import ClientPool
from tocsin.adapters.channels.webhook import WebhookAdapter
from tocsin.config.model import HTTPConfig
from tocsin.core.events import (
    AlertData,
    GroupPolicy,
    NotificationDelivered,
    NotificationRequested,
    NotifyReason,
)
from tocsin.core.group_state import AlertState, GroupState
from tocsin.core.labels import Labels
from tocsin.journal import MemoryStore, open_memory_journal


class NoRoutes:
    def route(self, labels: Labels) -> list[RouteTarget]:
        return [RouteTarget("k", labels, GroupPolicy("bench"), "root")]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def run(sink: FakeProcess, n: int, workers: int, flaky: bool) -> None:
    settings = ChannelSettings(
        workers=workers,
        mailbox_size=n + 10,
        rate_limits={},
        retry_base=timedelta(milliseconds=5),
        retry_max=timedelta(milliseconds=50),
        breaker=BreakerSettings(consecutive_failures=10**9, ratio_min_calls=10**9),
    )
    notifier = ChannelNotifier(settings=settings)
    pool = ClientPool()
    channel = HTTPChannel(
        kind="webhook",
        name="webhook[0]",
        adapter=WebhookAdapter(notifier.kit, url=f"{sink.url}/sink"),
        client=pool.client(HTTPConfig()),
        destination="sink",
        send_resolved=True,
    )
    notifier.add_channel("bench", channel)
    await sink.control("/reset")
    if flaky:
        await sink.script(
            *[
                {"status": 429, "headers": {"Retry-After": "0"}} if i % 2 == 0 else {"status": 200}
                for i in range(2 * n)
            ]
        )
    requested: dict[str, float] = {}
    delivered: dict[str, tuple[float, float]] = {}
    all_done = trio.Event()

    def observe(ev: object, world: object) -> None:
        if isinstance(ev, NotificationDelivered):
            delivered[ev.notification_id] = (time.perf_counter(), ev.latency.total_seconds())
            if len(delivered) >= n:
                all_done.set()

    now = datetime.now(UTC)
    alert = AlertData(Labels.of({"alertname": "Bench", "severity": "warning"}))
    async with (
        open_memory_journal(MemoryStore()) as journal,
        open_runtime(journal, router=NoRoutes(), notifier=notifier) as rt,
    ):
        rt.log.listeners.append(observe)
        await rt.nursery.start(notifier.run, rt)
        start = time.perf_counter()
        for i in range(n):
            gid = f"g{i % 200}"
            state = GroupState.initial(gid)
            state.alerts[alert.fingerprint] = AlertState(alert, now, None)
            ev = NotificationRequested(
                gid,
                f"{gid}-1-{i}",
                "bench",
                NotifyReason.FIRST_NOTIFICATION,
                0,
                1,
                (alert.fingerprint,),
                (),
                f"tocsin-{gid}",
                now,
            )
            requested[ev.notification_id] = time.perf_counter()
            notifier.request(ev, state)
            if i % 50 == 0:
                await trio.lowlevel.checkpoint()
        with trio.move_on_after(120):
            await all_done.wait()
        elapsed = time.perf_counter() - start
        attempts = notifier.statistics().actors["bench/webhook[0]"]["attempts"]
        rt.nursery.cancel_scope.cancel()
    await pool.aclose()
    total = [delivered[k][0] - requested[k] for k in delivered]
    added = [delivered[k][0] - requested[k] - delivered[k][1] for k in delivered]
    label = "429 half the time" if flaky else "healthy sink"
    print(f"{label}, {workers} worker(s), {n} notifications:")
    print(
        f"  delivered {len(delivered)}/{n} (lost {n - len(delivered)}) in {elapsed:.2f}s: {len(delivered) / elapsed:,.0f} notifications/s"
    )
    print(f"  attempts per notification: {attempts / max(1, len(delivered)):.2f}")
    if not flaky:
        print(
            f"  request -> journaled delivery: p50 {pct(total, 50) * 1e3:.1f} ms, p99 {pct(total, 99) * 1e3:.1f} ms (includes queueing behind the burst)"
        )
        http = [delivered[k][1] for k in delivered]
        print(
            f"  HTTP exchange itself: p50 {pct(http, 50) * 1e3:.2f} ms, p99 {pct(http, 99) * 1e3:.2f} ms"
        )
        print(
            f"  added by the actor (total - HTTP): p50 {pct(added, 50) * 1e3:.1f} ms, p99 {pct(added, 99) * 1e3:.1f} ms"
        )


async def single_latency(sink: FakeProcess, rounds: int) -> None:
    """One notification at a time: what the actor adds to an idle channel."""
    settings = ChannelSettings(workers=1, rate_limits={})
    notifier = ChannelNotifier(settings=settings)
    pool = ClientPool()
    channel = HTTPChannel(
        kind="webhook",
        name="webhook[0]",
        adapter=WebhookAdapter(notifier.kit, url=f"{sink.url}/sink"),
        client=pool.client(HTTPConfig()),
        destination="sink",
        send_resolved=True,
    )
    notifier.add_channel("bench", channel)
    await sink.control("/reset")
    done: dict[str, tuple[float, float]] = {}
    arrived = trio.Event()

    def observe(ev: object, world: object) -> None:
        nonlocal arrived
        if isinstance(ev, NotificationDelivered):
            done[ev.notification_id] = (time.perf_counter(), ev.latency.total_seconds())
            arrived.set()

    now = datetime.now(UTC)
    alert = AlertData(Labels.of({"alertname": "Bench"}))
    added: list[float] = []
    async with (
        open_memory_journal(MemoryStore()) as journal,
        open_runtime(journal, router=NoRoutes(), notifier=notifier) as rt,
    ):
        rt.log.listeners.append(observe)
        await rt.nursery.start(notifier.run, rt)
        for i in range(rounds):
            state = GroupState.initial("g")
            state.alerts[alert.fingerprint] = AlertState(alert, now, None)
            ev = NotificationRequested(
                "g",
                f"g-1-{i}",
                "bench",
                NotifyReason.FIRST_NOTIFICATION,
                0,
                1,
                (alert.fingerprint,),
                (),
                "tocsin-g",
                now,
            )
            arrived = trio.Event()
            t0 = time.perf_counter()
            notifier.request(ev, state)
            await arrived.wait()
            t1, http = done[ev.notification_id]
            added.append(t1 - t0 - http)
        rt.nursery.cancel_scope.cancel()
    await pool.aclose()
    print(
        f"idle channel, {rounds} notifications one at a time: actor adds p50 {pct(added, 50) * 1e3:.2f} ms, p99 {pct(added, 99) * 1e3:.2f} ms (render, journal append, bookkeeping)"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--notifications", type=int, default=2000)
    p.add_argument("--workers", type=int, default=4)
    args = p.parse_args()
    sink = FakeProcess("tests.fakes.slack_server")
    try:
        trio.run(single_latency, sink, 300)
        trio.run(run, sink, args.notifications, 1, False)
        trio.run(run, sink, args.notifications, args.workers, False)
        trio.run(run, sink, args.notifications, args.workers, True)
    finally:
        sink.close()


if __name__ == "__main__":
    main()
