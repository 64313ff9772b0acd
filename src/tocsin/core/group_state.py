"""The state of one alert group, and `evolve`, the only way it changes.

`evolve(state, event) -> state` applies one event. Replay is a fold of `evolve` over a group's
events from `GroupState.initial(...)`; the daemon runs the very same function on the events its
decider emits, so a rebuilt state is the state the daemon had.

Ownership: `evolve` updates the state object it is given in place and returns it (copying a
group of thousands of alerts per event would make replay of a busy journal quadratic). Whoever
needs the state as it was keeps `state.copy()`. `decide` never mutates.

Events are facts: `evolve` trusts them and does not re-check the rules `decide` applied.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from tocsin.core.events import (
    Acknowledged,
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
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    ResolveReason,
    Unacknowledged,
)
from tocsin.core.labels import EMPTY_LABELS, Labels

__all__ = [
    "AckInfo",
    "AlertState",
    "Derived",
    "GroupState",
    "Phase",
    "arrived_late",
    "evolve",
    "group_id_for",
]


class Phase(enum.StrEnum):
    """Where a group is in its episode.

    empty        never had an alert
    pending      alerts arrived, first notification not yet sent (group_wait running)
    firing       notified at least once, not acknowledged
    acknowledged someone took it: no escalation, no repeats
    resolved     the episode is over; a new alert opens the next episode
    """

    EMPTY = "empty"
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def group_id_for(group_key: str) -> str:
    """A short, stable id for a group key: the same key gives the same id on every run."""
    return hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:16]


@attrs.define(slots=True)
class AlertState:
    """One alert inside a group: the data last received plus its resolution, if any."""

    alert: AlertData
    received_at: datetime
    ends_at: datetime | None
    resolved_at: datetime | None = None
    resolve_reason: ResolveReason | None = None

    @property
    def firing(self) -> bool:
        return self.resolved_at is None


def arrived_late(alert: AlertData, group_wait: timedelta, received_at: datetime) -> bool:
    """The alert had started more than group_wait before it arrived: Alertmanager then
    flushes a group that has not flushed yet at once instead of waiting group_wait."""
    return alert.starts_at is not None and alert.starts_at + group_wait < received_at


class Derived:
    """Caches derived from a group's alerts, kept in step by `evolve` so a busy group's deadlines
    cost O(log n), not O(n). Never compared, never snapshotted: `None` means "recompute".

    `firing` counts the firing alerts; `expiry` is a heap of (ends_at, fingerprint) whose
    stale entries (refreshed, resolved or dropped alerts) are discarded when they surface;
    `early` is `GroupState.early_arrival()` (`UNKNOWN`: recompute), which a group that has not
    flushed yet asks for on every deadline.
    """

    __slots__ = ("early", "expiry", "firing")

    def __init__(self) -> None:
        self.firing: int | None = None
        self.expiry: list[tuple[datetime, str]] | None = None
        self.early: datetime | object | None = UNKNOWN


UNKNOWN: Final = object()


@attrs.frozen
class AckInfo:
    by: str
    comment: str
    at: datetime


@attrs.define(slots=True, eq=True)
class GroupState:
    """Everything a group's decisions depend on. Build with `GroupState.initial`."""

    group_id: str
    group_key: str = ""
    group_labels: Labels = EMPTY_LABELS
    policy: GroupPolicy | None = None
    phase: Phase = Phase.EMPTY
    episode: int = 0
    opened_at: datetime | None = None
    alerts: dict[str, AlertState] = attrs.Factory(dict)
    # Flush timing. `flushed_at` is the episode's first flush: later flushes fall on the grid
    # flushed_at + k * group_interval, as Alertmanager's aggregation group ticks.
    flushed_at: datetime | None = None
    last_eval_at: datetime | None = None
    dirty_since: datetime | None = None
    quiet: bool = False  # the last flush found every firing alert muted
    last_mutes: tuple[Mute, ...] = ()  # what the last recorded flush found muted, and why
    # What the last notification said, for Alertmanager's "what changed" rules.
    notified_at: datetime | None = None
    notified_firing: frozenset[str] = frozenset()
    notified_resolved: frozenset[str] = frozenset()
    repeat_base: datetime | None = None
    notified_receivers: tuple[str, ...] = ()
    # (time, firing, resolved) of the notifications within the route's suppress_duration.
    recent: tuple[tuple[datetime, tuple[str, ...], tuple[str, ...]], ...] = ()
    # Escalation.
    first_notified_at: datetime | None = None
    level: int = -1
    escalation_anchor: datetime | None = None
    ack: AckInfo | None = None
    # Requested but not yet delivered (or permanently failed); survives the episode.
    pending: dict[str, NotificationRequested] = attrs.Factory(dict)
    notification_seq: int = 0
    derived: Derived = attrs.field(factory=Derived, eq=False, repr=False)

    @classmethod
    def initial(cls, group_id: str) -> GroupState:
        return cls(group_id=group_id)

    def copy(self) -> GroupState:
        """An independent copy (alert entries included) that later `evolve` calls won't touch."""
        dup = attrs.evolve(self)
        dup.alerts = {fp: attrs.evolve(a) for fp, a in self.alerts.items()}
        dup.pending = dict(self.pending)
        dup.derived = Derived()
        return dup

    # -- derived views -------------------------------------------------------------------
    def firing_count(self) -> int:
        d = self.derived
        if d.firing is None:
            d.firing = sum(1 for a in self.alerts.values() if a.resolved_at is None)
        return d.firing

    def next_expiry(self) -> datetime | None:
        """The earliest endsAt among the firing alerts (None when none has one)."""
        d = self.derived
        heap = d.expiry
        if heap is None:
            heap = d.expiry = [
                (a.ends_at, fp)
                for fp, a in self.alerts.items()
                if a.resolved_at is None and a.ends_at is not None
            ]
            heapq.heapify(heap)
        alerts = self.alerts
        while heap:
            ends, fp = heap[0]
            a = alerts.get(fp)
            if a is not None and a.resolved_at is None and a.ends_at == ends:
                return ends
            heapq.heappop(heap)  # stale: the alert moved on; dropping it changes no answer
        return None

    def early_arrival(self) -> datetime | None:
        """The earliest arrival of an alert that had started more than group_wait before it
        arrived (Alertmanager then flushes at once), or None."""
        d = self.derived
        early = d.early
        if early is UNKNOWN:
            gw = self.policy.group_wait if self.policy is not None else None
            early = d.early = (
                None
                if gw is None
                else min(
                    (
                        a.received_at
                        for a in self.alerts.values()
                        if arrived_late(a.alert, gw, a.received_at)
                    ),
                    default=None,
                )
            )
        return early  # type: ignore[return-value]

    def firing_fingerprints(self) -> list[str]:
        return sorted(fp for fp, a in self.alerts.items() if a.resolved_at is None)

    def resolved_fingerprints(self) -> list[str]:
        return sorted(fp for fp, a in self.alerts.items() if a.resolved_at is not None)

    def reached_receivers(self, level: int | None = None) -> tuple[str, ...]:
        """The route's receiver plus those of every escalation level up to `level`, in order."""
        policy = self.policy
        if policy is None:
            return ()
        out = [policy.receiver]
        lvl = self.level if level is None else level
        if policy.escalation is not None:
            for step in policy.escalation.levels[: lvl + 1]:
                out.extend(step.receivers)
        return tuple(dict.fromkeys(r for r in out if r))


# ------------------------------------------------------------------------------------ evolve
# A suppressed notification leaves the receivers where an identical earlier one left them.
_TOLD = frozenset({FlushOutcome.NOTIFIED, FlushOutcome.SUPPRESSED})


def _opened(s: GroupState, e: GroupOpened) -> None:
    # Deliveries still owed and recent notifications (suppress_duration) outlive the episode.
    fresh = GroupState(
        group_id=s.group_id, pending=s.pending, notification_seq=s.notification_seq, recent=s.recent
    )
    for f in attrs.fields(GroupState):
        setattr(s, f.name, getattr(fresh, f.name))
    s.group_key = e.group_key
    s.group_labels = e.group_labels
    s.policy = e.policy
    s.phase = Phase.PENDING
    s.episode = e.episode
    s.opened_at = e.at


def _received(s: GroupState, e: AlertReceived) -> None:
    a = e.alert
    fp = a.labels.fingerprint_hex
    before = s.alerts.get(fp)
    s.alerts[fp] = AlertState(alert=a, received_at=e.at, ends_at=a.ends_at)
    d = s.derived
    if d.firing is not None and (before is None or before.resolved_at is not None):
        d.firing += 1
    if d.expiry is not None and a.ends_at is not None:
        heapq.heappush(d.expiry, (a.ends_at, fp))
    early = d.early
    if early is not UNKNOWN:
        if before is not None or s.policy is None:
            d.early = UNKNOWN  # an arrival time changed: recompute when next asked
        elif arrived_late(a, s.policy.group_wait, e.at):
            d.early = e.at if early is None or e.at < early else early  # type: ignore[operator]
    if e.change is not e.change.UPDATED and s.dirty_since is None:
        s.dirty_since = e.at


def _refreshed(s: GroupState, e: AlertRefreshed) -> None:
    st = s.alerts.get(e.fingerprint)
    if st is not None:
        st.ends_at = e.ends_at
        d = s.derived
        if d.expiry is not None and e.ends_at is not None and st.resolved_at is None:
            heapq.heappush(d.expiry, (e.ends_at, e.fingerprint))


def _resolved(s: GroupState, e: AlertResolved) -> None:
    st = s.alerts.get(e.fingerprint)
    if st is None:
        return
    if st.resolved_at is None and s.derived.firing is not None:
        s.derived.firing -= 1
    st.resolved_at = e.at
    st.resolve_reason = e.reason
    if st.ends_at is None or st.ends_at > e.at:
        st.ends_at = e.at
    if s.dirty_since is None:
        s.dirty_since = e.at


def _flushed(s: GroupState, e: GroupFlushed) -> None:
    s.last_eval_at = e.at
    if s.flushed_at is None:
        s.flushed_at = e.at
    s.dirty_since = None
    for fp in e.resolved:
        s.alerts.pop(fp, None)
    if e.resolved:
        s.derived.early = UNKNOWN
    s.quiet = e.outcome is FlushOutcome.ALL_MUTED
    s.last_mutes = e.mutes
    if e.outcome is FlushOutcome.NOTIFIED:
        window = s.policy.suppress_duration if s.policy is not None else None
        if window:
            kept = tuple(r for r in s.recent if r[0] > e.at - window)
            s.recent = (*kept, (e.at, e.firing, e.resolved))
    if e.outcome in _TOLD:
        s.notified_at = e.at
        s.notified_firing = frozenset(e.firing)
        s.notified_resolved = frozenset(e.resolved)
        s.repeat_base = e.at
        if s.first_notified_at is None:
            s.first_notified_at = e.at
        if s.phase is Phase.PENDING:
            s.phase = Phase.FIRING
    elif e.outcome is FlushOutcome.ALL_MUTED and s.repeat_base is not None:
        s.repeat_base = e.at


def _checked(s: GroupState, e: GroupChecked) -> None:
    s.last_eval_at = e.at


def _escalated(s: GroupState, e: Escalated) -> None:
    s.level = e.level
    if s.escalation_anchor is None:
        s.escalation_anchor = e.at


def _requested(s: GroupState, e: NotificationRequested) -> None:
    s.pending[e.notification_id] = e
    s.notification_seq += 1
    if e.receiver not in s.notified_receivers:
        s.notified_receivers = (*s.notified_receivers, e.receiver)


def _delivered(s: GroupState, e: NotificationDelivered) -> None:
    s.pending.pop(e.notification_id, None)


def _failed(s: GroupState, e: NotificationFailed) -> None:
    if e.permanent:
        s.pending.pop(e.notification_id, None)


def _acknowledged(s: GroupState, e: Acknowledged) -> None:
    s.phase = Phase.ACKNOWLEDGED
    s.ack = AckInfo(by=e.by, comment=e.comment, at=e.at)


def _unacknowledged(s: GroupState, e: Unacknowledged) -> None:
    s.phase = Phase.FIRING if s.first_notified_at is not None else Phase.PENDING
    s.ack = None
    # Escalation resumes from the level reached: the next level is due after the same gap
    # it would have had, counted from now.
    policy = s.policy
    if policy is not None and policy.escalation is not None:
        if s.level >= 0:
            s.escalation_anchor = e.at - policy.escalation.levels[s.level].after
        elif s.first_notified_at is not None:
            # Acknowledged before the first notification: escalation starts now.
            s.escalation_anchor = e.at
    if s.repeat_base is not None:
        s.repeat_base = e.at


def _group_resolved(s: GroupState, e: GroupResolved) -> None:
    s.phase = Phase.RESOLVED
    s.alerts = {}
    s.derived = Derived()
    s.ack = None
    s.dirty_since = None
    s.quiet = False


_EVOLVERS: dict[type[GroupEvent], Callable[[GroupState, Any], None]] = {
    GroupOpened: _opened,
    AlertReceived: _received,
    AlertRefreshed: _refreshed,
    AlertResolved: _resolved,
    GroupFlushed: _flushed,
    GroupChecked: _checked,
    Escalated: _escalated,
    NotificationRequested: _requested,
    NotificationDelivered: _delivered,
    NotificationFailed: _failed,
    Acknowledged: _acknowledged,
    Unacknowledged: _unacknowledged,
    GroupResolved: _group_resolved,
}


def evolve(state: GroupState, event: GroupEvent) -> GroupState:
    """Apply one event to `state` (in place) and return it.

    Raises `TypeError` for an event that is not part of a group's life, and `ValueError` for
    an event of another group.
    """
    fn = _EVOLVERS.get(type(event))
    if fn is None:
        raise TypeError(f"{type(event).__name__} does not change a group")
    if event.group_id != state.group_id:
        raise ValueError(f"event for group {event.group_id} applied to group {state.group_id}")
    fn(state, event)
    return state
