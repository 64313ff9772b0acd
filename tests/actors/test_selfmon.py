"""Tocsin's alerts about itself, and heartbeats, forced with fake probes and the mock clock."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
import trio

from tocsin.actors.runtime import RuntimeSettings
from tocsin.actors.selfmon import SelfMonitorSettings
from tocsin.core.events import (
    CircuitOpened,
    HeartbeatRegistered,
    NotificationDelivered,
    NotificationFailed,
)
from tocsin.journal import JournalError

from ..core.lifecycle_harness import MIN, SEC, T0
from .conftest import GroupByRouter, firing
from .test_runtime import journal_events, sleep_until


@attrs.define
class FakeProbes:
    used: int = 100
    limit: int | None = 1000
    free: int = 900
    total: int = 1000

    def memory(self):
        return self.used, self.limit

    def disk(self, path):
        return self.free, self.total


SETTINGS = RuntimeSettings(selfmon=SelfMonitorSettings(watchdog_alertname="Watchdog"))


@pytest.fixture
def probes():
    return FakeProbes()


def runtime_with(runtime, probes):
    return runtime(router=GroupByRouter(), settings=SETTINGS, probes=probes, data_dir="/data")


def labels_of(rec, alertname):
    """(reason, alert labels) of each notification about the internal alert `alertname`."""
    out = []
    for _, e in rec.sent:
        for labels in rec.alerts[e.group_id].values():
            if labels.get_or_empty("alertname") == alertname:
                out.append((str(e.reason), dict(labels)))
    return out


async def test_memory_high_raises_and_resolves_by_itself(runtime, clock, probes, autojump_clock):
    async with runtime_with(runtime, probes) as (_rt, rec):
        await sleep_until(clock, T0 + 5 * MIN)
        assert rec.sent == []
        probes.used = 900  # 90% of the limit
        await sleep_until(clock, T0 + 6 * MIN + 1 * SEC)
        [(reason, labels)] = labels_of(rec, "TocsinMemoryHigh")
        assert reason == "first notification"
        assert labels["source"] == "tocsin" and labels["severity"] == "critical"
        probes.used = 100
        await sleep_until(clock, T0 + 12 * MIN)
        reasons = [e.reason for _, e in rec.sent]
        assert str(reasons[-1]) == "all alerts resolved"


async def test_low_disk_and_a_long_open_circuit(runtime, clock, probes, store, autojump_clock):
    async with runtime_with(runtime, probes) as (rt, rec):
        probes.free = 50
        await rt.log.append(
            [CircuitOpened("pagerduty", "pagerduty[0]", 5, "HTTP 503", clock.now())]
        )
        await sleep_until(clock, T0 + 5 * MIN)
        assert labels_of(rec, "TocsinJournalDiskLow")
        assert not labels_of(rec, "TocsinCircuitOpen")  # not open long enough yet
        await sleep_until(clock, T0 + 12 * MIN)
        circuit = labels_of(rec, "TocsinCircuitOpen")
        assert circuit and circuit[0][1]["integration"] == "pagerduty[0]"


async def test_a_failing_integration_raises_an_alert(runtime, clock, probes, autojump_clock):
    async with runtime_with(runtime, probes) as (rt, rec):
        common = dict(group_id="x", notification_id="n", receiver="slack", latency=timedelta(0))
        events = [
            NotificationFailed(
                attempt=1,
                status_code=500,
                error="boom",
                permanent=False,
                integration="slack[0]",
                at=clock.now(),
                **common,
            )
            for _ in range(2)
        ] + [
            NotificationDelivered(
                attempt=1, status_code=200, integration="slack[0]", at=clock.now(), **common
            )
            for _ in range(18)
        ]
        # Another receiver's slack[0], a different destination, all delivered: not mixed in
        # (120 attempts together would be 1.7% failed, under the threshold).
        events += [
            NotificationDelivered(
                attempt=1,
                status_code=200,
                integration="slack[0]",
                at=clock.now(),
                **{**common, "receiver": "other-team"},
            )
            for _ in range(100)
        ]
        await rt.log.append(events)  # 2 of 20 attempts failed: 10% > 5%
        await sleep_until(clock, T0 + 2 * MIN)
        [(_reason, labels)] = labels_of(rec, "TocsinNotificationFailures")
        assert (labels["receiver"], labels["integration"]) == ("slack", "slack[0]")


async def test_slow_ingest_raises_an_alert(runtime, clock, probes, autojump_clock):
    async with runtime_with(runtime, probes) as (rt, rec):
        for _ in range(20):
            rt.selfmon.record_ingest(2.5)
        await sleep_until(clock, T0 + 2 * MIN)
        assert labels_of(rec, "TocsinIngestSlow")


async def test_a_missing_heartbeat_alerts_and_a_beat_resolves_it(
    runtime, clock, probes, store, autojump_clock
):
    async with runtime_with(runtime, probes) as (rt, rec):
        await rt.selfmon.beat("nightly-backup", timedelta(minutes=10))
        with pytest.raises(ValueError, match="give its expected interval"):
            await rt.selfmon.beat("unknown")
        await sleep_until(clock, T0 + 9 * MIN)
        assert rec.sent == []
        await sleep_until(clock, T0 + 12 * MIN)
        [(_reason, labels)] = labels_of(rec, "HeartbeatMissing")
        assert labels["heartbeat"] == "nightly-backup"
        assert [h["missing"] for h in rt.selfmon.heartbeats()] == [True]
        await rt.selfmon.beat("nightly-backup")
        await sleep_until(clock, T0 + 20 * MIN)
        assert [r for r, _ in labels_of(rec, "HeartbeatMissing")] == [
            "first notification",
            "all alerts resolved",
        ]
    registered = [e for e in journal_events(store) if isinstance(e, HeartbeatRegistered)]
    assert [(e.name, e.interval) for e in registered] == [("nightly-backup", timedelta(minutes=10))]
    # After a restart the heartbeat is still known, and gets one interval to beat again.
    async with runtime_with(runtime, probes) as (rt, rec):
        assert [h["name"] for h in rt.selfmon.heartbeats()] == ["nightly-backup"]


async def test_prometheus_watchdog_counts_as_a_heartbeat(runtime, clock, probes, autojump_clock):
    async with runtime_with(runtime, probes) as (rt, _rec):
        await rt.ingest([firing("Watchdog", severity="none")])
        await trio.testing.wait_all_tasks_blocked()
        assert [h["name"] for h in rt.selfmon.heartbeats()] == ["Watchdog"]
        assert not rt.selfmon.heartbeats()[0]["missing"]


async def test_a_failing_snapshot_is_an_alert_and_the_daemon_goes_on(
    runtime, clock, probes, store, autojump_clock
):
    settings = attrs.evolve(SETTINGS, snapshot_interval=timedelta(minutes=1))
    async with runtime(
        router=GroupByRouter(), settings=settings, probes=probes, data_dir="/data"
    ) as (rt, rec):
        real, failing = rt.journal.save_snapshot, [True]

        async def save(snapshot):
            if failing[0]:
                raise JournalError("no space left on device")
            await real(snapshot)

        rt.journal.save_snapshot = save
        await rt.ingest([firing("Boom")])
        await sleep_until(clock, T0 + 5 * MIN)
        [(reason, labels)] = labels_of(rec, "TocsinSnapshotFailing")
        assert reason == "first notification" and labels["source"] == "tocsin"
        [summary] = [
            a.alert.annotations["summary"]
            for g in rt.world.groups.values()
            for a in g.alerts.values()
            if a.alert.labels.get("alertname") == "TocsinSnapshotFailing"
        ]
        assert "no space left on device" in summary
        assert not store.snapshots
        await rt.ingest([firing("Again")])  # the daemon still takes alerts
        failing[0] = False
        await sleep_until(clock, T0 + 12 * MIN)
        assert store.snapshots
        assert [r for r, _ in labels_of(rec, "TocsinSnapshotFailing")] == [
            "first notification",
            "all alerts resolved",
        ]
