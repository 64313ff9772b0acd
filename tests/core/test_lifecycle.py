"""The group decider, transition by transition, driven through commands and whole states."""

from __future__ import annotations

import pytest

from tocsin.core.events import (
    Acknowledged,
    AlertChange,
    AlertReceived,
    AlertRefreshed,
    AlertResolved,
    Escalated,
    FlushOutcome,
    GroupFlushed,
    GroupOpened,
    GroupResolved,
    Mute,
    MuteKind,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotifyReason,
    ResolveReason,
    Unacknowledged,
)
from tocsin.core.group_state import GroupState, Phase, evolve
from tocsin.core.lifecycle import (
    TRANSITIONS,
    AckForbidden,
    Acknowledge,
    EscalationDue,
    ExpiryDue,
    FlushDue,
    IllegalCommand,
    ManualResolve,
    ReceiveAlert,
    ReceiveAlerts,
    Unacknowledge,
    deadline_for,
    decide,
    next_deadline,
)

from .lifecycle_harness import (
    ESCALATING,
    GROUP_KEY,
    GROUP_LABELS,
    HOUR,
    MIN,
    POLICY,
    SEC,
    T0,
    Driver,
    alert,
    of_type,
)


def requested(events) -> list[tuple[str, NotifyReason]]:
    return [(e.receiver, e.reason) for e in of_type(events, NotificationRequested)]


# ------------------------------------------------------------------------ opening, group_wait
def test_first_alert_opens_a_pending_episode_and_waits_group_wait():
    d = Driver()
    out = d.receive(alert("a"))
    assert [type(e) for e in out] == [GroupOpened, AlertReceived]
    assert out[0].episode == 1 and out[0].policy == POLICY and out[0].group_key == GROUP_KEY
    assert out[1].change is AlertChange.NEW
    assert d.state.phase is Phase.PENDING
    assert next_deadline(d.state) == T0 + 30 * SEC


def test_group_wait_batches_alerts_into_one_first_notification():
    d = Driver()
    d.receive(alert("a"))
    d.receive(alert("b"), at=T0 + 10 * SEC)
    d.receive(alert("c"), at=T0 + 29 * SEC)
    out = d.run_until(T0 + 30 * SEC)
    flushed = of_type(out, GroupFlushed)
    assert len(flushed) == 1 and flushed[0].at == T0 + 30 * SEC
    assert flushed[0].outcome is FlushOutcome.NOTIFIED
    assert flushed[0].reason is NotifyReason.FIRST_NOTIFICATION
    assert len(flushed[0].firing) == 3
    assert requested(out) == [("team", NotifyReason.FIRST_NOTIFICATION)]
    assert d.state.phase is Phase.FIRING


def test_a_batch_opens_the_group_once_and_the_last_word_on_an_alert_wins():
    d = Driver()
    batch = (
        alert("a"),
        alert("gone", ends=T0 - SEC),  # resolved and never seen: nothing to say
        alert("b", summary="first"),
        alert("b", summary="second"),
    )
    out = d.do(ReceiveAlerts(batch, GROUP_KEY, GROUP_LABELS, POLICY))
    assert [type(e) for e in out] == [GroupOpened, AlertReceived, AlertReceived]
    assert out[2].alert.annotations["summary"] == "second"
    # A later batch with one re-send, one update and one resolution: one event each, no reopen.
    out = d.do(
        ReceiveAlerts(
            (alert("a"), alert("b", summary="third"), alert("c"), alert("a", ends=T0)),
            GROUP_KEY,
            GROUP_LABELS,
            POLICY,
        ),
        at=T0 + 10 * SEC,
    )
    assert [(type(e).__name__, getattr(e, "change", None)) for e in out] == [
        ("AlertResolved", None),
        ("AlertReceived", AlertChange.UPDATED),
        ("AlertReceived", AlertChange.NEW),
    ]


def test_an_alert_already_older_than_group_wait_flushes_at_once():
    d = Driver()
    d.receive(alert("a", starts=T0 - 10 * MIN), at=T0)
    assert next_deadline(d.state) == T0
    out = d.run_until(T0)
    assert requested(out) == [("team", NotifyReason.FIRST_NOTIFICATION)]


def test_an_old_alert_joining_a_pending_group_brings_the_flush_forward():
    d = Driver()
    d.receive(alert("a"))
    d.receive(alert("b", starts=T0 - 5 * MIN), at=T0 + 5 * SEC)
    assert next_deadline(d.state) == T0 + 5 * SEC


def test_flush_before_it_is_due_is_refused_and_changes_nothing():
    d = Driver()
    d.receive(alert("a"))
    before = d.state.copy()
    with pytest.raises(IllegalCommand, match="next flush is due"):
        decide(d.state, FlushDue(), T0 + 29 * SEC)
    assert d.state == before


# ------------------------------------------------------------------------- group_interval
def test_late_alerts_wait_for_the_next_group_interval_tick():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)  # first notification; grid = T0+30s + k*5m
    d.receive(alert("b"), at=T0 + 1 * MIN)
    assert next_deadline(d.state) == T0 + 30 * SEC + 5 * MIN
    out = d.run_until(T0 + 30 * SEC + 5 * MIN)
    assert requested(out) == [("team", NotifyReason.NEW_ALERTS)]
    assert of_type(out, GroupFlushed)[0].at == T0 + 30 * SEC + 5 * MIN


def test_changes_long_after_the_last_flush_stay_on_the_grid():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)
    d.receive(alert("b"), at=T0 + 31 * MIN)  # grid points: 30s, 5m30s, ..., 30m30s, 35m30s
    assert next_deadline(d.state) == T0 + 35 * MIN + 30 * SEC


def test_a_plain_resend_records_nothing_and_a_later_ends_at_is_a_refresh():
    d = Driver()
    a = alert("a", ends=T0 + 4 * MIN)
    d.receive(a)
    assert d.receive(a, at=T0 + 1 * MIN) == []
    out = d.receive(alert("a", ends=T0 + 5 * MIN), at=T0 + 1 * MIN)
    assert [type(e) for e in out] == [AlertRefreshed]
    assert d.state.alerts[a.fingerprint].ends_at == T0 + 5 * MIN


def test_an_ends_at_moved_hours_ahead_is_recorded_once_per_hour_of_extension():
    d = Driver()
    d.receive(alert("a", ends=T0 + 4 * MIN))
    # Prometheus: endsAt four minutes ahead, re-sent every minute for two hours: refreshes.
    for m in range(1, 121):
        out = d.receive(alert("a", ends=T0 + (m + 4) * MIN), at=T0 + m * MIN)
        assert [type(e) for e in out] == [AlertRefreshed], m
    # A client saying "until tomorrow": recorded (no notification), then only once its
    # endsAt moves more than DURABLE_EXTENSION past the recorded one.
    at = T0 + 2 * HOUR
    out = d.receive(alert("a", ends=at + 24 * HOUR), at=at)
    assert [(type(e), e.change) for e in out] == [(AlertReceived, AlertChange.UPDATED)]
    assert d.receive(alert("a", ends=at + 24 * HOUR + 59 * MIN), at=at + MIN)[0].TYPE == (
        "alert.refreshed"
    )
    out = d.receive(alert("a", ends=at + 25 * HOUR + MIN), at=at + 2 * MIN)
    assert [type(e) for e in out] == [AlertReceived]
    assert d.state.alerts[alert("a").fingerprint].ends_at == at + 25 * HOUR + MIN


def test_changed_annotations_are_recorded_but_do_not_notify_by_themselves():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)
    out = d.receive(alert("a", summary="worse now"), at=T0 + 2 * MIN)
    assert [e.change for e in of_type(out, AlertReceived)] == [AlertChange.UPDATED]
    # Only the repeat reminder is scheduled (Alertmanager notifies no annotation change).
    assert next_deadline(d.state) == T0 + 30 * SEC + 4 * HOUR


# ----------------------------------------------------------------------------------- repeat
def test_repeat_interval_reminds_when_nothing_changed():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)
    out = d.run_until(T0 + 30 * SEC + 4 * HOUR)
    assert requested(out) == [("team", NotifyReason.REPEAT)]
    out = d.run_until(T0 + 30 * SEC + 8 * HOUR)
    assert requested(out) == [("team", NotifyReason.REPEAT)]


def test_repeat_falls_on_the_first_tick_at_or_after_the_interval():
    policy = POLICY.__class__(
        receiver="team", group_wait=0 * SEC, group_interval=7 * MIN, repeat_interval=1 * HOUR
    )
    d = Driver(policy)
    d.receive(alert("a"))
    d.run_until(T0)
    # 60 min is not a multiple of 7 min: the reminder waits for the 63 min tick.
    assert next_deadline(d.state) == T0 + 63 * MIN


# -------------------------------------------------------------------------------- resolving
def test_some_resolved_notifies_and_drops_the_resolved_alert():
    d = Driver()
    a, b = alert("a"), alert("b")
    d.receive(a)
    d.receive(b)
    d.run_until(T0 + 30 * SEC)
    out = d.receive(alert("b", ends=T0 + 1 * MIN), at=T0 + 2 * MIN)
    assert [(e.fingerprint, e.reason) for e in out] == [
        (b.fingerprint, ResolveReason.SOURCE_RESOLVED)
    ]
    out = d.run_until(T0 + 30 * SEC + 5 * MIN)
    assert requested(out) == [("team", NotifyReason.SOME_RESOLVED)]
    note = of_type(out, NotificationRequested)[0]
    assert note.firing == (a.fingerprint,) and note.resolved == (b.fingerprint,)
    assert set(d.state.alerts) == {a.fingerprint}


def test_all_resolved_notifies_and_closes_the_episode_then_a_new_alert_reopens():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)
    d.receive(alert("a", ends=T0 + 1 * MIN), at=T0 + 1 * MIN)
    out = d.run_until(T0 + 10 * MIN)
    assert requested(out) == [("team", NotifyReason.ALL_RESOLVED)]
    assert of_type(out, GroupResolved)[0].reason is ResolveReason.SOURCE_RESOLVED
    assert d.state.phase is Phase.RESOLVED and d.state.alerts == {}
    assert next_deadline(d.state) is None
    out = d.receive(alert("a"), at=T0 + 20 * MIN)
    assert of_type(out, GroupOpened)[0].episode == 2
    assert d.state.phase is Phase.PENDING


def test_alerts_resolved_before_the_first_notification_notify_nobody():
    d = Driver()
    d.receive(alert("a"))
    d.receive(alert("a", ends=T0 + 5 * SEC), at=T0 + 10 * SEC)
    out = d.run_until(T0 + 1 * MIN)
    assert requested(out) == []
    assert [type(e) for e in out] == [GroupFlushed, GroupResolved]
    assert of_type(out, GroupFlushed)[0].outcome is FlushOutcome.NOTHING_NEW


def test_a_resolved_alert_for_an_idle_group_is_ignored():
    d = Driver()
    assert d.receive(alert("a", ends=T0 - 1 * SEC)) == []
    assert d.state.phase is Phase.EMPTY


def test_an_alert_that_is_not_refreshed_expires_at_its_ends_at():
    d = Driver()
    d.receive(alert("a", ends=T0 + 4 * MIN))
    d.run_until(T0 + 30 * SEC)
    assert next_deadline(d.state) == T0 + 4 * MIN
    out = d.run_until(T0 + 4 * MIN)
    assert [(type(e), e.reason) for e in out] == [(AlertResolved, ResolveReason.EXPIRED)]
    out = d.run_until(T0 + 6 * MIN)
    assert requested(out) == [("team", NotifyReason.ALL_RESOLVED)]
    assert of_type(out, GroupResolved)[0].reason is ResolveReason.EXPIRED


def test_a_resolved_alert_firing_again_is_notified_as_new():
    d = Driver()
    d.receive(alert("a"))
    d.receive(alert("b"))
    d.run_until(T0 + 30 * SEC)
    d.receive(alert("b", ends=T0 + 1 * MIN), at=T0 + 1 * MIN)
    d.run_until(T0 + 6 * MIN)  # "some alerts resolved"; b dropped from the group
    out = d.receive(alert("b"), at=T0 + 7 * MIN)
    assert [e.change for e in of_type(out, AlertReceived)] == [AlertChange.NEW]
    out = d.run_until(T0 + 11 * MIN)
    assert requested(out) == [("team", NotifyReason.NEW_ALERTS)]


# ------------------------------------------------------------------------------- escalation
def test_escalation_walks_the_levels_at_0_5_15_and_60_minutes():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    out = d.run_until(T0 + 2 * HOUR - SEC)
    steps = [(e.level, e.at - T0) for e in of_type(out, Escalated)]
    assert steps == [(0, 0 * MIN), (1, 5 * MIN), (2, 15 * MIN), (3, 60 * MIN)]
    by_level = {}
    for e in of_type(out, NotificationRequested):
        by_level.setdefault(e.level, []).append(e.receiver)
    assert by_level == {
        0: ["team", "slack-warnings"],
        1: ["email-oncall", "slack-critical"],
        2: ["pagerduty", "email-manager"],
        3: ["pagerduty-exec"],
    }


def test_after_the_last_level_everyone_reached_is_reminded_every_repeat_interval():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    d.run_until(T0 + 2 * HOUR - SEC)
    out = d.run_until(T0 + 2 * HOUR)
    assert [r for r, why in requested(out) if why is NotifyReason.REPEAT] == [
        "team",
        "slack-warnings",
        "email-oncall",
        "slack-critical",
        "pagerduty",
        "email-manager",
        "pagerduty-exec",
    ]


def test_acknowledge_stops_escalation_and_repeats_and_unacknowledge_resumes():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    d.run_until(T0 + 6 * MIN)  # levels 0 and 1 reached
    out = d.do(Acknowledge(by="alice", comment="on it"), at=T0 + 7 * MIN)
    assert of_type(out, Acknowledged)[0].by == "alice"
    # The people already told hear that it is taken.
    assert {r for r, why in requested(out)} == {
        "team",
        "slack-warnings",
        "email-oncall",
        "slack-critical",
    }
    assert d.state.phase is Phase.ACKNOWLEDGED
    assert next_deadline(d.state) is None  # no escalation, no reminder
    assert d.run_until(T0 + 5 * HOUR) == []
    out = d.do(Unacknowledge(by="alice"), at=T0 + 5 * HOUR)
    assert of_type(out, Unacknowledged)
    assert d.state.phase is Phase.FIRING
    # Level 2 comes after the gap it had left (15m - 5m), counted from the unack.
    assert deadline_for(d.state, EscalationDue) == T0 + 5 * HOUR + 10 * MIN
    out = d.run_until(T0 + 5 * HOUR + 10 * MIN)
    assert [e.level for e in of_type(out, Escalated)] == [2]


def test_new_alerts_in_an_acknowledged_group_are_still_told():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    d.run_until(T0)
    d.do(Acknowledge(by="bob"), at=T0 + 1 * MIN)
    d.receive(alert("b"), at=T0 + 2 * MIN)
    out = d.run_until(T0 + 3 * MIN)
    assert ("team", NotifyReason.NEW_ALERTS) in requested(out)
    assert of_type(out, Escalated) == []


def test_a_route_that_forbids_ack_refuses_it_and_starts_at_its_level():
    import attrs

    policy = attrs.evolve(
        ESCALATING,
        acknowledge=False,
        escalation=attrs.evolve(ESCALATING.escalation, start_level=2),
    )
    d = Driver(policy)
    d.receive(alert("a"))
    out = d.run_until(T0)
    assert [e.level for e in of_type(out, Escalated)] == [2]
    assert [r for r, _ in requested(out)] == [
        "team",
        "slack-warnings",
        "email-oncall",
        "slack-critical",
        "pagerduty",
        "email-manager",
    ]
    before = d.state.copy()
    with pytest.raises(AckForbidden, match="forbids acknowledgement"):
        decide(d.state, Acknowledge(by="mallory"), T0 + 1 * MIN)
    assert d.state == before


def test_a_fully_muted_group_does_not_escalate():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    d.run_until(T0)
    fp = alert("a").fingerprint
    d.mutes = (Mute(fp, MuteKind.SILENCED, "silence-1"),)
    d.receive(alert("b"), at=T0 + 30 * SEC)
    d.mutes = (
        Mute(fp, MuteKind.SILENCED, "silence-1"),
        Mute(alert("b").fingerprint, MuteKind.INHIBITED, "rule-0", "src"),
    )
    out = d.run_until(T0 + 1 * MIN)
    flushed = of_type(out, GroupFlushed)[0]
    assert flushed.outcome is FlushOutcome.ALL_MUTED
    assert {m.by for m in flushed.mutes} == {"silence-1", "rule-0"}
    assert requested(out) == []
    assert deadline_for(d.state, EscalationDue) is None


# --------------------------------------------------------------------------- manual resolve
def test_manual_resolve_closes_the_episode_and_a_still_firing_source_reopens_it():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + 30 * SEC)
    out = d.do(ManualResolve(by="carol", comment="fixed"), at=T0 + 2 * MIN)
    assert [type(e) for e in out] == [AlertResolved, NotificationRequested, GroupResolved]
    assert out[0].reason is ResolveReason.MANUAL
    assert requested(out) == [("team", NotifyReason.MANUALLY_RESOLVED)]
    assert d.state.phase is Phase.RESOLVED
    out = d.receive(alert("a"), at=T0 + 3 * MIN)  # Prometheus still says it fires
    assert of_type(out, GroupOpened)[0].episode == 2
    out = d.run_until(T0 + 4 * MIN)
    assert requested(out) == [("team", NotifyReason.FIRST_NOTIFICATION)]


# ------------------------------------------------------------------------------- deliveries
def test_delivery_outcomes_clear_pending_notifications_only_when_final():
    d = Driver()
    d.receive(alert("a"))
    out = d.run_until(T0 + 30 * SEC)
    req = of_type(out, NotificationRequested)[0]
    assert set(d.state.pending) == {req.notification_id}
    common = dict(
        group_id="g1",
        notification_id=req.notification_id,
        receiver="team",
        integration="webhook[0]",
        latency=0.1 * SEC,
        at=T0 + 31 * SEC,
    )
    evolve(
        d.state,
        NotificationFailed(attempt=1, status_code=503, error="busy", permanent=False, **common),
    )
    assert set(d.state.pending) == {req.notification_id}
    evolve(d.state, NotificationDelivered(attempt=2, status_code=200, **common))
    assert d.state.pending == {}


def test_notification_ids_are_unique_and_dedup_key_is_stable_across_episodes():
    d = Driver(ESCALATING)
    for episode in range(3):
        start = T0 + episode * HOUR
        d.receive(alert("a"), at=start)
        d.run_until(start + 20 * MIN)
        d.do(ManualResolve(by="x"), at=start + 21 * MIN)
    reqs = of_type(d.events, NotificationRequested)
    ids = [r.notification_id for r in reqs]
    assert len(ids) == len(set(ids))
    assert {r.dedup_key for r in reqs} == {"tocsin-g1"}


def test_evolve_refuses_an_event_of_another_group():
    d = Driver()
    out = d.receive(alert("a"))
    other = GroupState.initial("g2")
    with pytest.raises(ValueError, match="applied to group g2"):
        evolve(other, out[0])


# ---------------------------------------------------------------------- the transition table
def _state_in(phase: Phase) -> GroupState:
    d = Driver(ESCALATING)
    if phase is Phase.EMPTY:
        return d.state
    d.receive(alert("a"))
    if phase is Phase.PENDING:
        d.state.policy = POLICY  # keep it pending: group_wait 30s
        return d.state
    d.run_until(T0)
    if phase is Phase.ACKNOWLEDGED:
        d.do(Acknowledge(by="x"))
    elif phase is Phase.RESOLVED:
        d.do(ManualResolve(by="x"))
    assert d.state.phase is phase
    return d.state


_ANY = {
    ReceiveAlert: ReceiveAlert(alert("z"), GROUP_KEY, GROUP_LABELS, POLICY),
    ReceiveAlerts: ReceiveAlerts((alert("z"),), GROUP_KEY, GROUP_LABELS, POLICY),
    FlushDue: FlushDue(),
    ExpiryDue: ExpiryDue(),
    EscalationDue: EscalationDue(),
    Acknowledge: Acknowledge(by="x"),
    Unacknowledge: Unacknowledge(by="x"),
    ManualResolve: ManualResolve(by="x"),
}


@pytest.mark.parametrize(
    ("phase", "command"),
    [(p, c) for c, ok in TRANSITIONS.items() for p in Phase if p not in ok],
    ids=lambda v: getattr(v, "value", getattr(v, "__name__", str(v))),
)
def test_every_command_outside_the_table_is_refused_and_changes_nothing(phase, command):
    state = _state_in(phase)
    before = state.copy()
    with pytest.raises(IllegalCommand) as info:
        decide(state, _ANY[command], T0 + 10 * HOUR)
    assert info.value.phase is phase
    assert state == before


def test_the_table_covers_every_command():
    assert set(TRANSITIONS) == set(_ANY)


# ------------------------------------------------------------------------------ suppression
def test_suppress_duration_pages_a_flapping_alert_once_and_records_it():
    import attrs

    policy = attrs.evolve(
        POLICY, group_wait=0 * SEC, group_interval=1 * MIN, suppress_duration=30 * MIN
    )
    d = Driver(policy)
    for cycle in range(3):  # fires, resolves, fires again ... every 4 minutes
        start = T0 + cycle * 4 * MIN
        d.receive(alert("a"), at=start)
        d.run_until(start + 1 * MIN)
        d.receive(alert("a", ends=start + 2 * MIN), at=start + 2 * MIN)
        d.run_until(start + 4 * MIN - SEC)
    told = [(e.reason, e.episode) for e in of_type(d.events, NotificationRequested)]
    assert told == [
        (NotifyReason.FIRST_NOTIFICATION, 1),
        (NotifyReason.ALL_RESOLVED, 1),
    ]
    suppressed = [
        e for e in of_type(d.events, GroupFlushed) if e.outcome is FlushOutcome.SUPPRESSED
    ]
    assert len(suppressed) == 4  # two firing, two resolved notifications held back
    assert {m.kind for e in suppressed for m in e.mutes} <= {MuteKind.SUPPRESSED}
    # After the window, the same content is told again.
    later = T0 + 2 * HOUR
    d.receive(alert("a"), at=later)
    out = d.run_until(later + 1 * MIN)
    assert [e.reason for e in of_type(out, NotificationRequested)] == [
        NotifyReason.FIRST_NOTIFICATION
    ]


def test_a_suppressed_first_notification_still_starts_escalation():
    import attrs

    policy = attrs.evolve(ESCALATING, suppress_duration=30 * MIN)
    d = Driver(policy)
    d.receive(alert("a"))
    d.run_until(T0 + 1 * MIN)
    d.receive(alert("a", ends=T0 + 2 * MIN), at=T0 + 2 * MIN)
    d.run_until(T0 + 3 * MIN)
    d.receive(alert("a"), at=T0 + 4 * MIN)  # back, and this time it stays
    out = d.run_until(T0 + 10 * MIN)
    assert next(e.outcome for e in of_type(out, GroupFlushed)) is FlushOutcome.SUPPRESSED
    assert [e.level for e in of_type(out, Escalated)] == [0, 1]  # level 1 pages at +5 min


def test_an_escalation_policy_without_repeat_stays_quiet_after_its_last_level():
    import attrs

    quiet = attrs.evolve(ESCALATING, escalation=attrs.evolve(ESCALATING.escalation, repeat=False))
    d = Driver(quiet)
    d.receive(alert("a"))
    out = d.run_until(T0 + 10 * HOUR)
    assert [e.level for e in of_type(out, Escalated)] == [0, 1, 2, 3]
    assert [e for e in of_type(out, NotificationRequested) if e.reason is NotifyReason.REPEAT] == []
