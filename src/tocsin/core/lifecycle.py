"""The alert-group lifecycle as a decider: `decide(state, command, now) -> events`.

Theory of operation
-------------------
A group lives through episodes. An episode opens with its first firing alert (`pending`),
sends its first notification after group_wait (`firing`), may be acknowledged
(`acknowledged`) and ends when every alert has resolved and that was notified, or when a person
resolves it by hand (`resolved`). The next firing alert opens the next episode.

`decide` is pure: it reads the state, the command and `now`, and returns the events that
happened, each carrying its reason. It never changes the state; `group_state.evolve` does.
A command that is not allowed in the group's phase raises `IllegalCommand` (a refused
acknowledgement raises its subclass `AckForbidden`) and changes nothing.

Which command is allowed in which phase is one table, `TRANSITIONS`.

Time. Nothing here reads a clock. Every deadline is derived from the state (`next_deadline`,
`due_commands`), so after a restart the runtime rebuilds the state from the journal and knows
when to act next without stored timers:

* group_wait: the first flush is `opened_at + group_wait`, or at once when an alert arrives
  whose startsAt is already more than group_wait old (Alertmanager's rule).
* group_interval: later flushes fall on the grid `first flush + k * group_interval`. A change
  (new, re-firing or resolved alert) is flushed at the first grid point after it.
* repeat_interval: with nothing new, the receivers are reminded at the first grid point at or
  after `last notification + repeat_interval` (Alertmanager waits for the point strictly after,
  which makes its reminders up to one group_interval late). No reminders while acknowledged.
* escalation: level N is due `levels[N].after` after the episode's first notification, while
  the group is firing, unacknowledged and not entirely muted.
* expiry: an alert whose endsAt passes without a refresh resolves (`ExpiryDue`).

What to notify follows Alertmanager's dedup rules (notify/notify.go, DedupStage.needsUpdate):
new firing alerts → notify; every alert resolved → notify if the last notification had firing
alerts; some resolved → notify; otherwise only when repeat_interval has elapsed.
Silences, inhibition, time intervals and suppression are decided by the caller at flush time
and passed in as `Mute`s; muted alerts are left out and recorded on `GroupFlushed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from tocsin.core.events import (
    Acknowledged,
    AlertChange,
    AlertData,
    AlertReceived,
    AlertRefreshed,
    AlertResolved,
    Escalated,
    FlushOutcome,
    GroupChecked,
    GroupEvent,
    GroupFlushed,
    GroupOpened,
    GroupPolicy,
    GroupResolved,
    Mute,
    MuteKind,
    NotificationRequested,
    NotifyReason,
    ResolveReason,
    Unacknowledged,
)
from tocsin.core.group_state import GroupState, Phase

__all__ = [
    "DURABLE_EXTENSION",
    "TRANSITIONS",
    "AckForbidden",
    "Acknowledge",
    "Command",
    "EscalationDue",
    "ExpiryDue",
    "FlushDue",
    "IllegalCommand",
    "ManualResolve",
    "ReceiveAlert",
    "ReceiveAlerts",
    "Unacknowledge",
    "decide",
    "due_commands",
    "next_deadline",
]


class IllegalCommand(Exception):
    """The command is not allowed in the group's current phase (or not due yet)."""

    def __init__(self, phase: Phase, command: Command, why: str) -> None:
        super().__init__(f"{type(command).__name__} refused in phase {phase.value}: {why}")
        self.phase = phase
        self.command = command
        self.why = why


class AckForbidden(IllegalCommand):
    """The group's route says `acknowledge: forbidden` (security incidents, for example)."""


# ---------------------------------------------------------------------------------- commands
@attrs.frozen
class Command:
    """Something asked of a group. Commands are not journaled; the events they cause are."""


@attrs.frozen
class ReceiveAlert(Command):
    """An alert arrived (new, re-sent, updated or resolved). `policy` opens a new episode."""

    alert: AlertData
    group_key: str
    group_labels: Any  # Labels; Any keeps attrs from validating on the hot path
    policy: GroupPolicy


@attrs.frozen
class ReceiveAlerts(Command):
    """Several alerts of one group at once (an ingest batch): one decision, one journal write."""

    alerts: tuple[AlertData, ...]
    group_key: str
    group_labels: Any
    policy: GroupPolicy


@attrs.frozen
class FlushDue(Command):
    """The group's flush time has come. `mutes` are the alerts the caller found muted now."""

    mutes: tuple[Mute, ...] = ()


@attrs.frozen
class EscalationDue(Command):
    pass


@attrs.frozen
class ExpiryDue(Command):
    pass


@attrs.frozen
class Acknowledge(Command):
    by: str
    comment: str = ""


@attrs.frozen
class Unacknowledge(Command):
    by: str
    comment: str = ""


@attrs.frozen
class ManualResolve(Command):
    by: str
    comment: str = ""


_LIVE = frozenset({Phase.PENDING, Phase.FIRING, Phase.ACKNOWLEDGED})

#: A re-send that only moves `endsAt` is a transient refresh (not journaled: Prometheus sends
#: one a minute per alert) unless it moves `endsAt` more than this beyond both now and the
#: `endsAt` last journaled: then it is recorded (`AlertReceived`, "updated"), so that a restart
#: knows it. Prometheus' `endsAt` is four evaluation intervals ahead, well within this; a
#: client that says "firing until tomorrow" is recorded, at most once per this much extension.
DURABLE_EXTENSION = timedelta(hours=1)

#: Which command each phase accepts. Anything else raises `IllegalCommand`.
TRANSITIONS: dict[type[Command], frozenset[Phase]] = {
    ReceiveAlert: frozenset(Phase),
    ReceiveAlerts: frozenset(Phase),
    FlushDue: _LIVE,
    ExpiryDue: _LIVE,
    EscalationDue: frozenset({Phase.FIRING}),
    Acknowledge: frozenset({Phase.PENDING, Phase.FIRING}),
    Unacknowledge: frozenset({Phase.ACKNOWLEDGED}),
    ManualResolve: _LIVE,
}


def decide(state: GroupState, command: Command, now: datetime) -> list[GroupEvent]:
    """The events that `command` causes at `now`. Raises `IllegalCommand`; never mutates."""
    allowed = TRANSITIONS.get(type(command))
    if allowed is None:
        raise TypeError(f"not a group command: {command!r}")
    if state.phase not in allowed:
        raise IllegalCommand(state.phase, command, _PHASE_WHY.get(state.phase, "not allowed"))
    handler: Callable[[GroupState, Any, datetime], list[GroupEvent]] = _HANDLERS[type(command)]
    return handler(state, command, now)


_PHASE_WHY = {
    Phase.EMPTY: "the group has no alerts",
    Phase.RESOLVED: "the group's episode is resolved",
    Phase.ACKNOWLEDGED: "the group is already acknowledged",
    Phase.PENDING: "the group has not notified anyone yet",
    Phase.FIRING: "the group is not acknowledged",
}


# ---------------------------------------------------------------------------------- handlers
def _receive(s: GroupState, c: ReceiveAlert, now: datetime) -> list[GroupEvent]:
    return _receive_batch(s, (c.alert,), c, now)


def _receive_many(s: GroupState, c: ReceiveAlerts, now: datetime) -> list[GroupEvent]:
    return _receive_batch(s, c.alerts, c, now)


def _receive_batch(
    s: GroupState,
    alerts: Sequence[AlertData],
    c: ReceiveAlert | ReceiveAlerts,
    now: datetime,
) -> list[GroupEvent]:
    gid = s.group_id
    # One decision per fingerprint: within a batch the last word about an alert wins.
    latest: dict[str, AlertData] = {}
    for alert in alerts:
        if alert.starts_at is None:
            alert = attrs.evolve(alert, starts_at=now)
        latest[alert.fingerprint] = alert
    out: list[GroupEvent] = []
    live = s.phase in _LIVE
    for fp, alert in latest.items():
        resolved_now = alert.ends_at is not None and alert.ends_at <= now
        known = s.alerts.get(fp) if live else None
        if known is None:
            if resolved_now:
                continue  # a resolved alert we never saw firing: nobody needs to hear of it
            if not live:
                out.append(
                    GroupOpened(gid, c.group_key, c.group_labels, c.policy, s.episode + 1, now)
                )
                live = True
            out.append(AlertReceived(gid, alert, AlertChange.NEW, now))
        elif known.resolved_at is not None:
            if not resolved_now:
                out.append(AlertReceived(gid, alert, AlertChange.REFIRED, now))
        elif resolved_now:
            assert alert.ends_at is not None
            out.append(AlertResolved(gid, fp, ResolveReason.SOURCE_RESOLVED, alert.ends_at))
        else:
            old = known.alert
            # Alertmanager's merge: a firing alert keeps the earliest startsAt it was given
            # (clients that omit startsAt get "now" on every re-send).
            if (
                old.starts_at is not None
                and alert.starts_at is not None
                and old.starts_at < alert.starts_at
            ):
                alert = attrs.evolve(alert, starts_at=old.starts_at)
            if (
                alert.annotations != old.annotations
                or alert.generator_url != old.generator_url
                or alert.starts_at != old.starts_at
            ):
                out.append(AlertReceived(gid, alert, AlertChange.UPDATED, now))
            elif alert.ends_at != known.ends_at:
                if _extends_durably(alert.ends_at, old.ends_at, now):
                    out.append(AlertReceived(gid, alert, AlertChange.UPDATED, now))
                else:
                    out.append(AlertRefreshed(gid, fp, alert.ends_at, now))
    return out


def _extends_durably(ends: datetime | None, journaled: datetime | None, now: datetime) -> bool:
    """Whether a new `endsAt` lies more than `DURABLE_EXTENSION` beyond both now and the one
    last journaled (None: the alert gave none, so `resolve_timeout` applies)."""
    if ends is None or ends <= now + DURABLE_EXTENSION:
        return False
    return journaled is None or ends > journaled + DURABLE_EXTENSION


def _expire(s: GroupState, c: ExpiryDue, now: datetime) -> list[GroupEvent]:
    out: list[GroupEvent] = []
    for fp in s.firing_fingerprints():
        ends = s.alerts[fp].ends_at
        if ends is not None and ends <= now:
            out.append(AlertResolved(s.group_id, fp, ResolveReason.EXPIRED, ends))
    if not out:
        raise IllegalCommand(s.phase, c, "no alert has expired")
    return out


def _flush(s: GroupState, c: FlushDue, now: datetime) -> list[GroupEvent]:
    due = _flush_deadline(s)
    if due is None or due > now:
        raise IllegalCommand(s.phase, c, f"the next flush is due at {due}")
    muted = {m.fingerprint for m in c.mutes}
    all_firing = s.firing_fingerprints()
    firing = [fp for fp in all_firing if fp not in muted]
    resolved = [fp for fp in s.resolved_fingerprints() if fp not in muted]
    mutes = tuple(m for m in c.mutes if m.fingerprint in s.alerts)
    gid = s.group_id
    reason = _notify_reason(s, firing, resolved, bool(all_firing), now)
    out: list[GroupEvent] = []
    if reason is None:
        outcome = FlushOutcome.ALL_MUTED if all_firing and not firing else FlushOutcome.NOTHING_NEW
        if (
            all_firing
            and not resolved
            and s.dirty_since is None
            and mutes == s.last_mutes
            and (outcome is FlushOutcome.ALL_MUTED) == s.quiet
        ):
            return [GroupChecked(gid, now)]  # nothing a user could notice: not journaled
        out.append(GroupFlushed(gid, outcome, tuple(firing), tuple(resolved), mutes, now))
    else:
        suppressed = _suppressed(s, reason, firing, resolved, now)
        if suppressed:
            window = s.policy.suppress_duration if s.policy is not None else None
            mutes += tuple(
                Mute(fp, MuteKind.SUPPRESSED, f"suppress_duration {window}") for fp in firing
            )
        outcome = FlushOutcome.SUPPRESSED if suppressed else FlushOutcome.NOTIFIED
        out.append(GroupFlushed(gid, outcome, tuple(firing), tuple(resolved), mutes, now, reason))
        level = s.level
        if (
            s.first_notified_at is None
            and s.phase is not Phase.ACKNOWLEDGED  # taken before anyone was told: no escalation
            and s.policy is not None
            and s.policy.escalation
        ):
            # Escalation starts even when a flap's first notification is suppressed: if the
            # alert keeps firing, the next levels still page.
            level = s.policy.escalation.start_level
            out.append(Escalated(gid, level, s.reached_receivers(level), now))
        if not suppressed:
            if reason is NotifyReason.ALL_RESOLVED:
                receivers = s.notified_receivers or s.reached_receivers(level)
            else:
                receivers = s.reached_receivers(level)
            out.extend(_requests(s, receivers, reason, level, firing, resolved, now))
    if not all_firing:
        cause = ResolveReason.EXPIRED
        if any(a.resolve_reason is ResolveReason.SOURCE_RESOLVED for a in s.alerts.values()):
            cause = ResolveReason.SOURCE_RESOLVED
        out.append(GroupResolved(gid, cause, now))
    return out


def _suppressed(
    s: GroupState, reason: NotifyReason, firing: list[str], resolved: list[str], now: datetime
) -> bool:
    """An identical notification (same firing and resolved alerts) went out within the route's
    suppress_duration. Reminders are never suppressed: being identical is their point."""
    window = s.policy.suppress_duration if s.policy is not None else None
    if not window or reason is NotifyReason.REPEAT:
        return False
    f, r = tuple(firing), tuple(resolved)
    return any(at > now - window and rf == f and rr == r for at, rf, rr in s.recent)


def _notify_reason(
    s: GroupState, firing: list[str], resolved: list[str], any_firing: bool, now: datetime
) -> NotifyReason | None:
    """Alertmanager's DedupStage.needsUpdate, on the unmuted alerts.

    One difference: while muted alerts still fire, the group is not "all resolved".
    """
    if s.notified_at is None:
        return NotifyReason.FIRST_NOTIFICATION if firing else None
    if not s.notified_firing.issuperset(firing):
        return NotifyReason.NEW_ALERTS
    if not any_firing:
        return NotifyReason.ALL_RESOLVED if s.notified_firing else None
    if not s.notified_resolved.issuperset(resolved):
        return NotifyReason.SOME_RESOLVED
    if not firing:
        return None  # everything still firing is muted: no reminders either
    point = _repeat_point(s)
    if point is not None and point <= now:
        return NotifyReason.REPEAT
    return None


def _requests(
    s: GroupState,
    receivers: Sequence[str],
    reason: NotifyReason,
    level: int,
    firing: Sequence[str],
    resolved: Sequence[str],
    now: datetime,
) -> list[GroupEvent]:
    out: list[GroupEvent] = []
    seq = s.notification_seq
    for receiver in receivers:
        seq += 1
        out.append(
            NotificationRequested(
                group_id=s.group_id,
                notification_id=f"{s.group_id}-{s.episode}-{seq}",
                receiver=receiver,
                reason=reason,
                level=level,
                episode=s.episode,
                firing=tuple(firing),
                resolved=tuple(resolved),
                dedup_key=f"tocsin-{s.group_id}",
                at=now,
            )
        )
    return out


def _escalate(s: GroupState, c: EscalationDue, now: datetime) -> list[GroupEvent]:
    due = _escalation_deadline(s)
    if due is None or due > now:
        raise IllegalCommand(s.phase, c, f"no escalation due (next: {due})")
    assert s.policy is not None and s.policy.escalation is not None
    level = s.level + 1
    new = s.policy.escalation.levels[level].receivers
    firing = [fp for fp in s.firing_fingerprints() if fp in s.notified_firing]
    return [
        Escalated(s.group_id, level, tuple(new), now),
        *_requests(s, new, NotifyReason.ESCALATED, level, firing, (), now),
    ]


def _acknowledge(s: GroupState, c: Acknowledge, now: datetime) -> list[GroupEvent]:
    if s.policy is not None and not s.policy.acknowledge:
        raise AckForbidden(s.phase, c, "this group's route forbids acknowledgement")
    return [
        Acknowledged(s.group_id, c.by, c.comment, now),
        *_requests(
            s,
            s.notified_receivers,
            NotifyReason.ACKNOWLEDGED,
            s.level,
            s.firing_fingerprints(),
            (),
            now,
        ),
    ]


def _unacknowledge(s: GroupState, c: Unacknowledge, now: datetime) -> list[GroupEvent]:
    out: list[GroupEvent] = [Unacknowledged(s.group_id, c.by, c.comment, now)]
    firing = s.firing_fingerprints()
    if s.first_notified_at is not None and firing:
        receivers = s.reached_receivers()
        out += _requests(s, receivers, NotifyReason.UNACKNOWLEDGED, s.level, firing, (), now)
    return out


def _manual_resolve(s: GroupState, c: ManualResolve, now: datetime) -> list[GroupEvent]:
    firing = s.firing_fingerprints()
    out: list[GroupEvent] = [
        AlertResolved(s.group_id, fp, ResolveReason.MANUAL, now) for fp in firing
    ]
    out += _requests(
        s, s.notified_receivers, NotifyReason.MANUALLY_RESOLVED, s.level, (), firing, now
    )
    out.append(GroupResolved(s.group_id, ResolveReason.MANUAL, now, by=c.by))
    return out


_HANDLERS: dict[type[Command], Callable[[GroupState, Any, datetime], list[GroupEvent]]] = {
    ReceiveAlert: _receive,
    ReceiveAlerts: _receive_many,
    FlushDue: _flush,
    ExpiryDue: _expire,
    EscalationDue: _escalate,
    Acknowledge: _acknowledge,
    Unacknowledge: _unacknowledge,
    ManualResolve: _manual_resolve,
}


# --------------------------------------------------------------------------------- deadlines
def _tick_after(s: GroupState, t: datetime) -> datetime:
    """The first point of the flush grid strictly after `t`."""
    assert s.flushed_at is not None and s.policy is not None
    gi = s.policy.group_interval
    return s.flushed_at + ((t - s.flushed_at) // gi + 1) * gi


def _tick_at_or_after(s: GroupState, t: datetime) -> datetime:
    assert s.flushed_at is not None and s.policy is not None
    gi = s.policy.group_interval
    return s.flushed_at - ((s.flushed_at - t) // gi) * gi


def _repeat_point(s: GroupState) -> datetime | None:
    if s.repeat_base is None or s.policy is None or s.phase is not Phase.FIRING:
        return None
    if not s.firing_count():
        return None
    escalation = s.policy.escalation
    if escalation is not None and not escalation.repeat and s.level >= len(escalation.levels) - 1:
        return None  # the policy says: after the last level, no reminders
    return s.repeat_base + s.policy.repeat_interval


def _flush_deadline(s: GroupState) -> datetime | None:
    if s.phase not in _LIVE or s.policy is None or s.opened_at is None:
        return None
    gw = s.policy.group_wait
    if s.flushed_at is None:
        due = s.opened_at + gw
        early = s.early_arrival()  # kept incrementally: this runs on every wake of the group
        return early if early is not None and early < due else due
    candidates: list[datetime] = []
    if s.dirty_since is not None:
        candidates.append(_tick_after(s, s.dirty_since))
    if s.last_mutes and s.firing_count():
        # Something is muted: look again every group_interval, as Alertmanager's groups do,
        # so an expired silence, a resolved inhibiting alert or the end of a mute time
        # interval is noticed at the next tick.
        candidates.append(_tick_after(s, s.last_eval_at or s.flushed_at))
    point = _repeat_point(s)
    if point is not None:
        due = _tick_at_or_after(s, point)
        if s.last_eval_at is not None and due <= s.last_eval_at:
            due = _tick_after(s, s.last_eval_at)
        candidates.append(due)
    return min(candidates) if candidates else None


def _escalation_deadline(s: GroupState) -> datetime | None:
    policy = s.policy
    if (
        s.phase is not Phase.FIRING
        or policy is None
        or policy.escalation is None
        or s.escalation_anchor is None
        or s.quiet
    ):
        return None
    levels = policy.escalation.levels
    if s.level + 1 >= len(levels):
        return None
    if not s.firing_count():
        return None
    return s.escalation_anchor + levels[s.level + 1].after


def _expiry_deadline(s: GroupState) -> datetime | None:
    if s.phase not in _LIVE:
        return None
    return s.next_expiry()


_DEADLINES: tuple[tuple[Callable[[GroupState], datetime | None], Callable[[], Command]], ...] = (
    (_expiry_deadline, ExpiryDue),
    (_flush_deadline, FlushDue),
    (_escalation_deadline, EscalationDue),
)


def next_deadline(state: GroupState) -> datetime | None:
    """When the group next needs a command, or None when it waits only for input."""
    times = [t for fn, _ in _DEADLINES if (t := fn(state)) is not None]
    return min(times) if times else None


def due_commands(state: GroupState, now: datetime) -> list[Command]:
    """The timer commands due at `now`, in the order to run them (expiry before flush).

    A flush command returned here carries no mutes; the runtime replaces it with one that
    carries the mutes it computes (`FlushDue(mutes=...)`). Each command must be decided and
    its events applied before the next is decided, since each changes the state.
    """
    return [make() for fn, make in _DEADLINES if (t := fn(state)) is not None and t <= now]


def deadline_for(state: GroupState, command: type[Command]) -> datetime | None:
    """The deadline of one kind of timer command (for the runtime and for tests)."""
    for fn, make in _DEADLINES:
        if make is command:
            return fn(state)
    raise TypeError(f"{command.__name__} has no deadline")
