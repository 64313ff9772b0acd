"""The runtime on a real alertmanager.yml: routing, inhibition and time intervals at flush."""

from __future__ import annotations

from datetime import timedelta

import trio
import trio.testing

from tocsin.actors.runtime import Rules
from tocsin.config import load_text
from tocsin.core.events import FlushOutcome, GroupFlushed

from ..core.lifecycle_harness import MIN, SEC, T0
from .conftest import firing
from .test_runtime import journal_events, sleep_until

# T0 is Sunday 2026-03-01 12:00 UTC.
CONFIG = """
route:
  receiver: default
  group_by: [alertname, service]
  group_wait: 30s
  group_interval: 1m
  routes:
    - matchers: ['team="night-owls"']
      receiver: owls
      mute_time_intervals: [weekends]
    - matchers: ['team="office"']
      receiver: office
      active_time_intervals: [office-hours]
receivers:
  - name: default
  - name: owls
  - name: office
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, service]
time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: ['saturday', 'sunday']
  - name: office-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
"""


def rules() -> Rules:
    config = load_text(CONFIG, filename="alertmanager.yml")
    return Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))


async def test_a_critical_alert_inhibits_the_matching_warning(
    runtime, clock, store, autojump_clock
):
    async with runtime(rules=rules(), router=None) as (rt, rec):
        await rt.ingest(
            [
                firing("HighLatency", severity="critical", service="api"),
                firing("HighLatency", severity="warning", service="api"),
                firing("HighLatency", severity="warning", service="db"),  # other service
            ]
        )
        await sleep_until(clock, T0 + 31 * SEC)
        by_group = {len(e.firing) for _, e in rec.sent}
        flushed = [e for e in journal_events(store) if isinstance(e, GroupFlushed)]
        mutes = [m for f in flushed for m in f.mutes]
        assert len(mutes) == 1 and mutes[0].kind.value == "inhibited"
        assert "source alert" in mutes[0].detail
        assert by_group == {1}  # api group: the critical only; db group: its warning
        # The critical resolves: at the next tick the warning is told.
        now = clock.now()
        await rt.ingest([firing("HighLatency", severity="critical", service="api", ends=now)])
        await sleep_until(clock, T0 + 2 * MIN + 31 * SEC)
        reasons = [str(e.reason) for _, e in rec.sent]
        assert "new alerts added" in reasons


async def test_mute_and_active_time_intervals(runtime, clock, store, autojump_clock):
    async with runtime(rules=rules(), router=None) as (rt, rec):
        await rt.ingest([firing("Owl", team="night-owls"), firing("Desk", team="office")])
        await sleep_until(clock, T0 + 1 * MIN)
        assert rec.sent == []  # Sunday: inside the weekend mute, outside office hours
        flushed = [e for e in journal_events(store) if isinstance(e, GroupFlushed)]
        assert {f.outcome for f in flushed} == {FlushOutcome.ALL_MUTED}
        assert {(m.kind.value, m.by) for f in flushed for m in f.mutes} == {
            ("time interval", "weekends"),
            ("time interval", "office-hours"),
        }
        # Monday 00:00: the owls' mute ends; 09:00: the office opens.
        monday = T0 + timedelta(hours=12)
        await sleep_until(clock, monday + 1 * MIN)
        assert [e.receiver for _, e in rec.sent] == ["owls"]
        await sleep_until(clock, monday + timedelta(hours=9, minutes=1))
        first = [(t - monday, e.receiver) for t, e in rec.sent if e.reason == "first notification"]
        # On the group_interval grid that began with the first flush at 12:00:30 on Sunday.
        assert first == [(30 * SEC, "owls"), (timedelta(hours=9, seconds=30), "office")]
        await trio.testing.wait_all_tasks_blocked()
