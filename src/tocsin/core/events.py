"""The event catalogue: every fact Tocsin records in its journal.

An event is a frozen attrs class named in the past tense. Each class carries a short, stable
type tag (`TYPE`, what the journal stores) and a schema version (`VERSION`). A class's fields
may change only by bumping `VERSION` and registering an upcaster in `tocsin.core.codec` that
turns the previous version's payload into the new one: history is never edited.

Events name receivers, never their credentials: no URL, key or password enters the journal.

Times are timezone-aware UTC datetimes; durations are timedeltas. The codec stores both as
integer microseconds.

Families
--------
group lifecycle   GroupOpened, AlertReceived, AlertRefreshed, AlertResolved, GroupFlushed,
                  GroupChecked, Escalated,
                  Acknowledged, Unacknowledged, GroupResolved
delivery          NotificationRequested, NotificationDelivered, NotificationFailed,
                  CircuitOpened, CircuitClosed, NotificationCoalesced, NotificationSkipped,
                  NotificationRerouted, SlackMessagePosted
silences          SilenceCreated, SilenceExpired
daemon            ConfigLoaded, ActorRestarted, HeartbeatRegistered, HeartbeatRemoved
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import attrs

from tocsin.core.labels import EMPTY_LABELS, Labels

__all__ = [
    "EVENT_TYPES",
    "Acknowledged",
    "ActorRestarted",
    "AlertChange",
    "AlertData",
    "AlertReceived",
    "AlertRefreshed",
    "AlertResolved",
    "CircuitClosed",
    "CircuitOpened",
    "ConfigLoaded",
    "Escalated",
    "EscalationLevel",
    "EscalationPolicy",
    "Event",
    "FlushOutcome",
    "GroupChecked",
    "GroupEvent",
    "GroupFlushed",
    "GroupOpened",
    "GroupPolicy",
    "GroupResolved",
    "HeartbeatRegistered",
    "HeartbeatRemoved",
    "Mute",
    "MuteKind",
    "NotificationCoalesced",
    "NotificationDelivered",
    "NotificationFailed",
    "NotificationRequested",
    "NotificationRerouted",
    "NotificationSkipped",
    "NotifyReason",
    "ResolveReason",
    "SilenceCreated",
    "SilenceData",
    "SilenceExpired",
    "SlackMessagePosted",
    "Unacknowledged",
]


# ------------------------------------------------------------------------------------- reasons
class NotifyReason(enum.StrEnum):
    """Why a notification was requested. The first five are Alertmanager's own words."""

    FIRST_NOTIFICATION = "first notification"
    NEW_ALERTS = "new alerts added"
    SOME_RESOLVED = "some alerts resolved"
    ALL_RESOLVED = "all alerts resolved"
    REPEAT = "repeat interval elapsed"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    MANUALLY_RESOLVED = "manually resolved"


class AlertChange(enum.StrEnum):
    """Why an `AlertReceived` was recorded (a plain re-send that changes nothing is not)."""

    NEW = "new alert"
    UPDATED = "annotations or times changed"
    REFIRED = "firing again after it resolved"


class ResolveReason(enum.StrEnum):
    """Why an alert stopped firing."""

    SOURCE_RESOLVED = "the source sent it resolved"
    EXPIRED = "endsAt passed without a refresh"
    MANUAL = "resolved by hand"


class FlushOutcome(enum.StrEnum):
    """What a flush of a group came to."""

    NOTIFIED = "notified"
    ALL_MUTED = "every alert muted"
    NOTHING_NEW = "nothing new to notify"
    SUPPRESSED = "identical to a notification sent within suppress_duration"


class MuteKind(enum.StrEnum):
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    TIME_INTERVAL = "time interval"
    SUPPRESSED = "suppressed"


# ---------------------------------------------------------------------------------- base
@attrs.frozen
class Event:
    """Base of every event. Subclasses set `TYPE` and `VERSION` through `@event`."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1


@attrs.frozen
class GroupEvent(Event):
    """An event in the life of one alert group (its stream is keyed by `group_id`)."""

    group_id: str


EVENT_TYPES: dict[str, type[Event]] = {}
_E = TypeVar("_E", bound=type[Event])


def event(tag: str, version: int = 1) -> Callable[[_E], _E]:
    """Class decorator: give an event class its stable journal tag and schema version."""

    def register(cls: _E) -> _E:
        if tag in EVENT_TYPES:
            raise ValueError(f"event type tag {tag!r} used twice")
        cls.TYPE = tag
        cls.VERSION = version
        EVENT_TYPES[tag] = cls
        return cls

    return register


# ------------------------------------------------------------------------------ value objects
@attrs.frozen
class AlertData:
    """An alert as received: what a notification is made of."""

    labels: Labels
    annotations: Labels = EMPTY_LABELS
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def fingerprint(self) -> str:
        return self.labels.fingerprint_hex


@attrs.frozen
class EscalationLevel:
    """One step of an escalation policy: `after` the group's first notification, notify these."""

    after: timedelta
    receivers: tuple[str, ...]


@attrs.frozen
class EscalationPolicy:
    """Ordered levels. `start_level` > 0 starts at that level at once (ack-forbidden routes)."""

    name: str
    levels: tuple[EscalationLevel, ...]
    start_level: int = 0
    # After the last level, remind everyone reached every repeat_interval (False: stay quiet).
    repeat: bool = True


@attrs.frozen
class GroupPolicy:
    """The route settings a group lives by, copied into the journal when the group opens.

    Keeping them in the journal makes replay independent of today's configuration: the group
    behaves as it was configured when it ran.
    """

    receiver: str
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    escalation: EscalationPolicy | None = None
    acknowledge: bool = True
    route_id: str = ""  # which route of the config: mute/active time intervals are per route
    # A notification identical (same firing and resolved alerts) to one sent within this
    # window is suppressed and recorded as such: flapping alerts page once.
    suppress_duration: timedelta | None = None


@attrs.frozen
class Mute:
    """Why one alert was left out of a notification: which silence, rule or interval."""

    fingerprint: str
    kind: MuteKind
    by: str
    detail: str = ""


@attrs.frozen
class SilenceData:
    """A silence as Alertmanager defines it. Matchers are `(name, op, value)` triples."""

    id: str
    matchers: tuple[tuple[str, str, str], ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""


# ------------------------------------------------------------------------------ group events
@event("group.opened")
@attrs.frozen
class GroupOpened(GroupEvent):
    """A group started an episode: its first alert arrived (again, after it resolved)."""

    group_key: str
    group_labels: Labels
    policy: GroupPolicy
    episode: int
    at: datetime


@event("alert.received")
@attrs.frozen
class AlertReceived(GroupEvent):
    """An alert that a user could notice changed: new, updated, or firing again."""

    alert: AlertData
    change: AlertChange
    at: datetime


@event("alert.refreshed")
@attrs.frozen
class AlertRefreshed(GroupEvent):
    """A firing alert was re-sent with a later `endsAt` and nothing else changed.

    Prometheus re-sends every firing alert about once a minute; the runtime decides how many of
    these reach the journal (it need only renew the expiry horizon, not record every re-send).
    """

    fingerprint: str
    ends_at: datetime | None
    at: datetime


@event("alert.resolved")
@attrs.frozen
class AlertResolved(GroupEvent):
    fingerprint: str
    reason: ResolveReason
    at: datetime


@event("group.flushed")
@attrs.frozen
class GroupFlushed(GroupEvent):
    """The group was evaluated for a notification; `mutes` say which alerts were left out."""

    outcome: FlushOutcome
    firing: tuple[str, ...]
    resolved: tuple[str, ...]
    mutes: tuple[Mute, ...]
    at: datetime
    reason: NotifyReason | None = None


@event("group.checked")
@attrs.frozen
class GroupChecked(GroupEvent):
    """A flush found nothing new (same alerts, same mutes). Applied in memory, not journaled:
    it only moves the group's next look along its group_interval grid."""

    at: datetime


@event("notification.requested")
@attrs.frozen
class NotificationRequested(GroupEvent):
    """A decision to notify `receiver`. Written before anything is sent (write-ahead).

    `dedup_key` is stable for the group across restarts and episodes: receivers such as
    PagerDuty deduplicate on it, which makes at-least-once redelivery safe.
    """

    notification_id: str
    receiver: str
    reason: NotifyReason
    level: int
    episode: int
    firing: tuple[str, ...]
    resolved: tuple[str, ...]
    dedup_key: str
    at: datetime


@event("notification.delivered")
@attrs.frozen
class NotificationDelivered(GroupEvent):
    notification_id: str
    receiver: str
    integration: str
    attempt: int
    status_code: int | None
    latency: timedelta
    at: datetime


@event("notification.failed")
@attrs.frozen
class NotificationFailed(GroupEvent):
    """One failed attempt. `permanent` means no more attempts will be made."""

    notification_id: str
    receiver: str
    integration: str
    attempt: int
    status_code: int | None
    error: str
    permanent: bool
    latency: timedelta
    at: datetime


@event("group.escalated")
@attrs.frozen
class Escalated(GroupEvent):
    level: int
    receivers: tuple[str, ...]
    at: datetime


@event("group.acknowledged")
@attrs.frozen
class Acknowledged(GroupEvent):
    by: str
    comment: str
    at: datetime


@event("group.unacknowledged")
@attrs.frozen
class Unacknowledged(GroupEvent):
    by: str
    comment: str
    at: datetime


@event("group.resolved")
@attrs.frozen
class GroupResolved(GroupEvent):
    """The episode is over: every alert resolved and that was notified, or resolved by hand."""

    reason: ResolveReason
    at: datetime
    by: str = ""


# ----------------------------------------------------------------------- delivery / daemon
@event("circuit.opened")
@attrs.frozen
class CircuitOpened(Event):
    receiver: str
    integration: str
    failures: int
    error: str
    at: datetime


@event("circuit.closed")
@attrs.frozen
class CircuitClosed(Event):
    receiver: str
    integration: str
    at: datetime


# The channel actors' own records. They are not `GroupEvent`s: they say how one integration
# handled a notification and change no group's state (what closes a pending notification is
# still its `NotificationDelivered` / permanent `NotificationFailed`). They carry `group_id`
# so a group's history can show them.
@event("notification.coalesced")
@attrs.frozen
class NotificationCoalesced(Event):
    """An integration's mailbox was full: a newer notification for the same group replaced
    this one before it was sent (`superseded_by` is that newer notification's id)."""

    group_id: str
    notification_id: str
    receiver: str
    integration: str
    superseded_by: str
    at: datetime


@event("notification.skipped")
@attrs.frozen
class NotificationSkipped(Event):
    """An integration chose not to send a notification, and why (e.g. `send_resolved` is
    false and the notification only resolves alerts)."""

    group_id: str
    notification_id: str
    receiver: str
    integration: str
    reason: str
    at: datetime


@event("notification.rerouted")
@attrs.frozen
class NotificationRerouted(Event):
    """An integration's circuit stayed open for `waited`: the notification went to the
    route's `fallback` receiver instead."""

    group_id: str
    notification_id: str
    receiver: str
    integration: str
    fallback: str
    waited: timedelta
    at: datetime


@event("slack.posted")
@attrs.frozen
class SlackMessagePosted(Event):
    """A Slack bot message for a group's episode: where it is (`channel`, `ts`), so that an
    acknowledgement or resolution later updates it in place (`chat.update`)."""

    group_id: str
    receiver: str
    integration: str
    episode: int
    channel: str
    ts: str
    at: datetime


@event("silence.created")
@attrs.frozen
class SilenceCreated(Event):
    silence: SilenceData
    at: datetime


@event("silence.expired")
@attrs.frozen
class SilenceExpired(Event):
    silence_id: str
    by: str
    at: datetime


@event("config.loaded")
@attrs.frozen
class ConfigLoaded(Event):
    """A configuration took effect. `sha256` identifies it; `source` says where it came from."""

    sha256: str
    source: str
    at: datetime


@event("actor.restarted")
@attrs.frozen
class ActorRestarted(Event):
    actor: str
    error: str
    attempt: int
    backoff: timedelta
    at: datetime


@event("heartbeat.registered")
@attrs.frozen
class HeartbeatRegistered(Event):
    """A dead man's switch: `name` is expected to beat at least every `interval`.
    Beats themselves are not journaled; a missing beat raises `HeartbeatMissing`."""

    name: str
    interval: timedelta
    at: datetime


@event("heartbeat.removed")
@attrs.frozen
class HeartbeatRemoved(Event):
    name: str
    by: str
    at: datetime


def describe(ev: Event) -> dict[str, Any]:
    """A shallow field dict of an event, for logs and the CLI."""
    return {f.name: getattr(ev, f.name) for f in attrs.fields(type(ev))}
