"""The runtime end to end in a nursery, on trio's mock clock: hours pass in milliseconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import trio
import trio.testing

from tocsin.actors.dispatcher import DispatcherFull
from tocsin.actors.runtime import Rules, RuntimeSettings, recover_world
from tocsin.config import load_text
from tocsin.core.codec import CODEC
from tocsin.core.events import (
    ActorRestarted,
    AlertReceived,
    FlushOutcome,
    GroupFlushed,
    NotificationRequested,
    SilenceData,
)
from tocsin.core.group_state import Phase, group_id_for
from tocsin.core.lifecycle import AckForbidden, IllegalCommand

from ..core.lifecycle_harness import MIN, SEC, T0
from .conftest import GroupByRouter, firing

HOUR = timedelta(hours=1)


async def sleep_until(clock, when) -> None:
    await trio.sleep_until(clock.deadline(when))
    await trio.testing.wait_all_tasks_blocked()


def journal_events(store):
    import msgpack

    out = []
    for body in store.bodies:
        _seq, _ts, tag, version, payload = msgpack.unpackb(body, raw=False, strict_map_key=False)
        out.append(CODEC.decode(tag, version, payload))
    return out


def gid(name: str = "Boom") -> str:
    return group_id_for(f'{{}}:{{alertname="{name}"}}')


async def test_ingest_returns_once_durable_and_group_wait_batches(
    runtime, clock, store, autojump_clock
):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a")])
        assert [type(e) for e in journal_events(store)][-1] is AlertReceived
        await sleep_until(clock, T0 + 10 * SEC)
        await rt.ingest([firing(instance="b"), firing(instance="c")])
        await sleep_until(clock, T0 + 29 * SEC)
        assert rec.sent == []
        await sleep_until(clock, T0 + 30 * SEC)
        assert rec.log() == [(30 * SEC, "team", "first notification", -1)]
        assert len(rec.sent[0][1].firing) == 3
        # Re-sends change nothing and write nothing.
        before = len(store.bodies)
        await rt.ingest([firing(instance="a"), firing(instance="b")])
        assert len(store.bodies) == before


async def test_late_alert_waits_for_group_interval_and_resolution_is_sent(
    runtime, clock, autojump_clock
):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a")])
        await sleep_until(clock, T0 + 1 * MIN)
        await rt.ingest([firing(instance="b")])
        await sleep_until(clock, T0 + 6 * MIN)
        assert [r[:3] for r in rec.log()] == [
            (30 * SEC, "team", "first notification"),
            (5 * MIN + 30 * SEC, "team", "new alerts added"),
        ]
        now = clock.now()
        await rt.ingest([firing(instance="a", ends=now), firing(instance="b", ends=now)])
        await sleep_until(clock, T0 + 11 * MIN)
        assert rec.log()[-1][:3] == (10 * MIN + 30 * SEC, "team", "all alerts resolved")
        await trio.testing.wait_all_tasks_blocked()
        assert gid() not in rt.world.groups  # episode over, deliveries done: forgotten
        assert gid() not in rt.registry  # and its actor ended


async def test_escalation_ack_and_unack(runtime, clock, autojump_clock):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(severity="critical")])
        await sleep_until(clock, T0 + 16 * MIN)
        assert [(t, lvl) for t, _, why, lvl in rec.log() if why == "escalated"] == [
            (5 * MIN, 1),
            (5 * MIN, 1),
            (15 * MIN, 2),
            (15 * MIN, 2),
        ]
        await rt.acknowledge(gid(), "alice", "on it")
        assert rt.world.groups[gid()].phase is Phase.ACKNOWLEDGED
        with pytest.raises(IllegalCommand, match="already acknowledged"):
            await rt.acknowledge(gid(), "bob")
        count = len(rec.sent)
        await sleep_until(clock, T0 + 5 * HOUR)
        assert len(rec.sent) == count  # no level 3, no reminders while acknowledged
        await rt.unacknowledge(gid(), "alice")
        await sleep_until(clock, T0 + 5 * HOUR + 45 * MIN)
        assert [(t, lvl) for t, _, why, lvl in rec.log() if why == "escalated"][-1] == (
            5 * HOUR + 45 * MIN,
            3,
        )


async def test_a_route_that_forbids_ack_refuses_it(runtime, clock, autojump_clock):
    import attrs

    from ..core.lifecycle_harness import ESCALATING

    forbidding = attrs.evolve(ESCALATING, acknowledge=False)
    async with runtime(router=GroupByRouter(policies={"security": forbidding})) as (rt, _):
        await rt.ingest([firing("Intrusion", severity="security")])
        await sleep_until(clock, T0 + 1 * MIN)
        with pytest.raises(AckForbidden, match="forbids acknowledgement"):
            await rt.acknowledge(gid("Intrusion"), "mallory")


async def test_restart_mid_escalation_continues_on_time(runtime, clock, store, autojump_clock):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(severity="critical")])
        await sleep_until(clock, T0 + 7 * MIN)  # levels 0 and 1 done
        first = rec.log()
    # The daemon is down from 7 to 9 minutes.
    await sleep_until(clock, T0 + 9 * MIN)
    async with runtime() as (rt, rec):
        await rt.ready.wait()
        assert rt.world.groups[gid()].level == 1
        await sleep_until(clock, T0 + 61 * MIN)
        after = rec.log()
    assert [lvl for _, _, why, lvl in first if why == "escalated"] == [1, 1]
    # No step repeated, none skipped, each on its minute.
    assert [(t, lvl) for t, _, why, lvl in after if why == "escalated"] == [
        (15 * MIN, 2),
        (15 * MIN, 2),
        (60 * MIN, 3),
    ]


async def test_restart_resends_requested_but_undelivered_notifications(
    runtime, clock, store, autojump_clock
):
    async with runtime() as (rt, rec):
        rec.deliver = False  # the receiver is down
        await rt.ingest([firing(instance="a")])
        await sleep_until(clock, T0 + 31 * SEC)
        assert len(rec.sent) == 1
        pending = dict(rt.world.groups[gid()].pending)
    async with runtime() as (rt, rec):
        await rt.ready.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert [e.notification_id for _, e in rec.sent] == list(pending)
        assert rec.sent[0][1].dedup_key == f"tocsin-{gid()}"


async def test_restart_from_snapshot_plus_tail(runtime, clock, store, autojump_clock):
    async with runtime() as (rt, _):
        await rt.ingest([firing(instance="a")])
        await sleep_until(clock, T0 + 1 * MIN)
        seq = await rt.snapshot()
        await rt.ingest([firing(instance="b")])
        world = rt.world.to_snapshot()
    assert store.snapshots and max(store.snapshots) == seq
    async with runtime() as (rt, _):
        assert rt.world.applied_seq == len(store.bodies)
        assert rt.world.to_snapshot() == world


async def test_a_silence_mutes_alerts_at_flush_and_is_recorded(
    runtime, clock, store, autojump_clock
):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a")])
        await sleep_until(clock, T0 + 1 * MIN)
        sid = await rt.set_silence(
            SilenceData(
                "", (("instance", "=", "b"),), clock.now(), clock.now() + HOUR, "ops", "noisy"
            )
        )
        await rt.ingest([firing(instance="b")])
        await sleep_until(clock, T0 + 6 * MIN)
        assert len(rec.sent) == 1  # b was muted: nothing new to tell
        flushed = [e for e in journal_events(store) if isinstance(e, GroupFlushed)][-1]
        assert flushed.outcome is FlushOutcome.NOTHING_NEW
        assert [(m.kind.value, m.by) for m in flushed.mutes] == [("silenced", sid)]
        await rt.expire_silence(sid, "ops")
        await sleep_until(clock, T0 + 11 * MIN)
        assert rec.log()[-1][2] == "new alerts added"


async def test_a_crash_in_one_group_actor_is_restarted_and_others_carry_on(
    runtime, clock, store, autojump_clock
):
    from tocsin.actors.runtime import SilenceMutes

    class Flaky(SilenceMutes):
        crashed = 0

        def mutes(self, state, route_id, now):
            if state.group_labels.get_or_empty("alertname") == "Fragile" and not Flaky.crashed:
                Flaky.crashed += 1
                raise KeyError("injected")
            return super().mutes(state, route_id, now)

    async with runtime() as (rt, rec):
        rt.mutes = Flaky(rt.world)
        await rt.ingest([firing("Fragile"), firing("Sturdy")])
        await sleep_until(clock, T0 + 30 * SEC)
        assert [e.group_id for _, e in rec.sent] == [gid("Sturdy")]
        restarted = [e for e in journal_events(store) if isinstance(e, ActorRestarted)]
        assert [(e.actor, e.attempt) for e in restarted] == [(f"group {gid('Fragile')}", 1)]
        assert "injected" in restarted[0].error
        await sleep_until(clock, T0 + 32 * SEC)  # after the 1 s backoff
        assert sorted(e.group_id for _, e in rec.sent) == sorted([gid("Sturdy"), gid("Fragile")])


async def test_a_crash_loop_raises_an_internal_alert(runtime, clock, store, autojump_clock):
    from tocsin.actors.runtime import SilenceMutes

    class Broken(SilenceMutes):
        def mutes(self, state, route_id, now):
            if state.group_labels.get_or_empty("alertname") == "Cursed":
                raise RuntimeError("always")
            return super().mutes(state, route_id, now)

    async with runtime() as (rt, rec):
        rt.mutes = Broken(rt.world)
        await rt.ingest([firing("Cursed")])
        await sleep_until(clock, T0 + 2 * MIN)
        assert rt.internal_alerts == 1
        await sleep_until(clock, T0 + 3 * MIN)
        crash_alert = [e for _, e in rec.sent if e.group_id == gid("TocsinActorCrashLoop")]
        assert crash_alert, rec.log()


async def test_a_full_ingest_queue_refuses_instead_of_dropping(runtime, autojump_clock):
    async with runtime(settings=RuntimeSettings(ingest_queue=2)) as (rt, _):
        accepted = []
        with pytest.raises(DispatcherFull) as info:
            for i in range(10):  # no checkpoint in between: the dispatcher cannot drain
                accepted.append(rt.dispatcher.submit_nowait([firing(instance=str(i))]))
        assert info.value.retry_after > 0
        assert len(accepted) == 3  # one in the dispatcher's hands, two queued
        assert rt.dispatcher.full
        for reply in accepted:  # every accepted batch is recorded, none dropped
            assert [type(e).__name__ for e in await reply.wait()][-1] == "AlertReceived"
        assert not rt.dispatcher.full
        assert len(rt.world.groups[gid()].alerts) == 3


async def test_ten_thousand_groups_at_once(runtime, clock, store, autojump_clock):
    router = GroupByRouter(group_by=("alertname", "instance"))
    async with runtime(router=router, settings=RuntimeSettings(ingest_queue=64)) as (rt, rec):
        for start in range(0, 10_000, 500):
            await rt.ingest([firing(instance=f"host-{i}") for i in range(start, start + 500)])
        assert len(rt.registry) == 10_000
        await sleep_until(clock, T0 + 31 * SEC)
        notified = [e for _, e in rec.sent if isinstance(e, NotificationRequested)]
        assert len(notified) == 10_000
        assert len({e.group_id for e in notified}) == 10_000


async def test_an_alert_without_ends_at_expires_after_resolve_timeout(
    runtime, clock, autojump_clock
):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a", ends=None)])  # no endsAt
        await sleep_until(clock, T0 + 4 * MIN)
        await rt.ingest([firing(instance="a", ends=None)])  # re-sent: the clock starts again
        await sleep_until(clock, T0 + 8 * MIN + 59 * SEC)
        assert [r[2] for r in rec.log()] == ["first notification"]
        await sleep_until(clock, T0 + 10 * MIN + 30 * SEC)
        assert [r[2] for r in rec.log()] == ["first notification", "all alerts resolved"]


async def test_snapshots_are_taken_as_records_accumulate(runtime, clock, store, autojump_clock):
    settings = RuntimeSettings(snapshot_every_records=5, snapshot_interval=timedelta(minutes=1))
    async with runtime(settings=settings) as (rt, _):
        for i in range(6):
            await rt.ingest([firing(instance=str(i))])
        assert not store.snapshots
        await sleep_until(clock, T0 + 2 * MIN)
        assert store.snapshots and max(store.snapshots) >= 6


async def test_plain_resends_are_settled_without_the_actors_or_the_journal(
    runtime, clock, store, autojump_clock
):
    async with runtime() as (rt, _rec):
        await rt.ingest([firing(instance="a", ends=T0 + 4 * MIN)])
        await sleep_until(clock, T0 + 1 * MIN)
        routed, written = rt.dispatcher.alerts, len(store.bodies)
        await rt.ingest([firing(instance="a", ends=T0 + 5 * MIN)])  # Prometheus, a minute later
        assert rt.dispatcher.alerts == routed and len(store.bodies) == written
        fp = next(iter(rt.world.groups[gid()].alerts))
        assert rt.world.groups[gid()].alerts[fp].ends_at == T0 + 5 * MIN
        # So it does not expire at the old endsAt.
        await sleep_until(clock, T0 + 4 * MIN + 30 * SEC)
        assert rt.world.groups[gid()].alerts[fp].firing
        # A change still goes through its group's actor and the journal.
        changed = firing(instance="a", ends=T0 + 6 * MIN)
        changed = changed.__class__(
            changed.labels,
            changed.annotations.__class__.of({"summary": "worse"}),
            None,
            changed.ends_at,
        )
        await rt.ingest([changed])
        assert rt.dispatcher.alerts == routed + 1 and len(store.bodies) == written + 1


async def test_an_ends_at_moved_hours_ahead_is_journaled_and_outlives_a_restart(
    runtime, clock, store, autojump_clock
):
    """ "Firing until noon", re-sent with only a later endsAt: a restart must still know it."""
    async with runtime() as (rt, _rec):
        await rt.ingest([firing(instance="a", ends=T0 + 4 * MIN)])
        await sleep_until(clock, T0 + 1 * MIN)
        written = len(store.bodies)
        await rt.ingest([firing(instance="a", ends=T0 + 3 * HOUR)])
        assert len(store.bodies) == written + 1  # recorded, unlike a minutely re-send
        await rt.ingest([firing(instance="a", ends=T0 + 3 * HOUR + 30 * MIN)])
        assert len(store.bodies) == written + 1  # within an hour of the recorded one: a refresh
    await sleep_until(clock, T0 + 10 * MIN)
    async with runtime() as (rt, rec):
        [state] = rt.world.groups[gid()].alerts.values()
        assert state.ends_at == T0 + 3 * HOUR  # the recorded one (the refresh was not)
        await sleep_until(clock, T0 + 2 * HOUR)
        assert state.firing and [r[2] for r in rec.log()] == []


async def test_alerts_that_expired_while_down_get_a_grace_period_after_restart(
    runtime, clock, autojump_clock
):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a", ends=T0 + 4 * MIN)])
        await sleep_until(clock, T0 + 1 * MIN)
    await sleep_until(clock, T0 + 10 * MIN)  # down while its endsAt passed
    async with runtime() as (rt, rec):
        await sleep_until(clock, T0 + 14 * MIN)
        state = rt.world.groups[gid()]
        assert all(a.firing for a in state.alerts.values())  # not resolved on restart
        await rt.ingest([firing(instance="a", ends=T0 + 30 * MIN)])  # Prometheus re-sends
        await sleep_until(clock, T0 + 20 * MIN)
        assert all(a.firing for a in rt.world.groups[gid()].alerts.values())
        assert [r[2] for r in rec.log()] == []  # nothing resolved, nothing re-notified


async def test_without_a_resend_the_grace_ends_in_a_resolution(runtime, clock, autojump_clock):
    async with runtime() as (rt, rec):
        await rt.ingest([firing(instance="a", ends=T0 + 4 * MIN)])
        await sleep_until(clock, T0 + 1 * MIN)
    await sleep_until(clock, T0 + 10 * MIN)
    async with runtime() as (rt, rec):
        await sleep_until(clock, T0 + 20 * MIN)
        assert [r[2] for r in rec.log()] == ["all alerts resolved"]
        assert rec.sent[0][0] >= T0 + 15 * MIN  # not before the 5-minute grace


async def test_an_ingest_round_records_every_group_it_touches_in_one_append(
    runtime, store, autojump_clock
):
    async with runtime() as (rt, _):
        before = rt.journal.statistics()
        # No checkpoint in between: the dispatcher finds all five batches queued, one round.
        replies = [
            rt.dispatcher.submit_nowait([firing(f"Alert{i}", instance=str(j)) for j in range(3)])
            for i in range(5)
        ]
        for reply in replies:
            assert len(await reply.wait()) == 4  # its group opened, its three alerts
        after = rt.journal.statistics()
        assert after.batches == before.batches + 1
        assert after.records_appended == before.records_appended + 20
        assert len(rt.world.groups) == 5 and len(rt.registry) == 5


async def test_a_group_wait_0_flush_goes_to_disk_with_its_alerts_and_notifies_at_once(
    runtime, store, autojump_clock
):
    async with runtime() as (rt, rec):
        rec.deliver = False  # no delivery records: the journal holds only the round
        before = rt.journal.statistics().batches
        await rt.ingest([firing(severity="critical")])  # ESCALATING: group_wait 0
        # One append for the alert and its flush, and the notification requested already:
        # no second fsync, no timer.
        assert rt.journal.statistics().batches == before + 1
        types = [type(e).__name__ for e in journal_events(store)]
        assert types[:3] == ["GroupOpened", "AlertReceived", "GroupFlushed"]
        assert "NotificationRequested" in types
        assert [why for _, _, why, _ in rec.log()] == ["first notification"] * len(rec.sent)
        assert rec.sent


async def test_a_flush_in_the_round_sees_the_inhibiting_alert_of_the_same_round(
    runtime, store, autojump_clock
):
    config = load_text(
        """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: default
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
""",
        env={},
    )
    rules = Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))
    async with runtime(rules=rules, router=None) as (rt, rec):
        critical = firing("Disk", severity="critical")
        warning = firing("Disk", severity="warning")
        await rt.ingest([critical, warning])
        [flushed] = [e for e in journal_events(store) if isinstance(e, GroupFlushed)]
        assert [(m.fingerprint, m.kind.value) for m in flushed.mutes] == [
            (warning.fingerprint, "inhibited")
        ]
        assert [e.firing for _, e in rec.sent] == [(critical.fingerprint,)]
        # ...and the preview left nothing behind: the index holds the critical alert only.
        assert rt.inhibition is not None
        assert rt.inhibition.index.check(warning.labels).muted
        assert not rt.inhibition.index.check(firing("Other", severity="warning").labels).muted


async def test_the_world_rebuilt_from_the_journal_equals_the_live_one_after_rounds(
    runtime, clock, store, autojump_clock
):
    async with runtime() as (rt, _):
        # New groups flushed in their round (critical: group_wait 0), a group waiting for
        # group_wait, several groups per round, a resolution dated in the past.
        await rt.ingest([firing(severity="critical"), firing("Slow", instance="a")])
        await rt.ingest([firing("Slow", instance="b"), firing("Other", severity="critical")])
        await sleep_until(clock, T0 + 1 * MIN)
        await rt.ingest([firing("Other", severity="critical", ends=T0 + 30 * SEC)])
        await sleep_until(clock, T0 + 7 * MIN)
        assert {gid("Boom"), gid("Slow")} <= set(rt.world.groups)
        assert recover_world(rt.journal)[0].to_snapshot() == rt.world.to_snapshot()
