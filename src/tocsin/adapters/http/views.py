"""What the API shows: alerts, groups and silences as JSON, from the runtime's world.

Alertmanager's shapes (`gettableAlert`, `alertGroup`, `gettableSilence`) for API v2, and
Tocsin's own for `/alerts/active` and `/api/v1/groups/...`. Everything here reads; nothing
changes state.

An alert's status is worked out when asked, as Alertmanager 0.25's API does: `silencedBy`
lists every active silence that matches it, `inhibitedBy` the source alert that inhibits it,
and `state` is `suppressed` when either is non-empty, else `active`. (Tocsin never reports
`unprocessed`: an alert is routed before its POST is answered.) An alert that fires in several
groups (routes with `continue`) is listed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tocsin.actors.config_ports import ConfigMutes
from tocsin.core.events import SilenceData
from tocsin.core.group_state import AlertState, GroupState, Phase
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matcher, MatchOp
from tocsin.core.silences import SilenceState, active_silences_for, silence_state

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime
    from tocsin.config import Config

__all__ = [
    "LIVE",
    "AlertStatus",
    "StatusOracle",
    "fmt_time",
    "gettable_alert",
    "gettable_silence",
    "group_view",
    "live_alerts",
    "silence_matches_filter",
    "sort_silences",
]

LIVE = frozenset({Phase.PENDING, Phase.FIRING, Phase.ACKNOWLEDGED})
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def fmt_time(t: datetime | None) -> str:
    """RFC 3339 in UTC, to the microsecond (Go's zero time for None).

    Alertmanager writes milliseconds; Tocsin keeps every digit it stores, so a time read from
    the API and sent back (amtool's `silence update` re-posts `startsAt`) is the same instant.
    """
    t = (t or _EPOCH).astimezone(UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}Z"


class AlertStatus:
    __slots__ = ("inhibited_by", "silenced_by", "state")

    def __init__(self, state: str, silenced_by: list[str], inhibited_by: list[str]) -> None:
        self.state = state
        self.silenced_by = silenced_by
        self.inhibited_by = inhibited_by

    def json(self) -> dict[str, Any]:
        return {
            "inhibitedBy": self.inhibited_by,
            "silencedBy": self.silenced_by,
            "state": self.state,
        }


class StatusOracle:
    """Works out alerts' statuses at one moment (active silences are gathered once)."""

    def __init__(self, rt: Runtime, now: datetime) -> None:
        self.now = now
        self.silences = [s for s in rt.world.silences.values() if s.starts_at <= now < s.ends_at]
        mutes = rt.mutes
        self.inhibition = mutes.inhibition if isinstance(mutes, ConfigMutes) else None

    def status(self, labels: Labels) -> AlertStatus:
        silenced = (
            [s.id for s in active_silences_for(self.silences, labels, self.now)]
            if self.silences
            else []
        )
        inhibited: list[str] = []
        if self.inhibition is not None:
            verdict = self.inhibition.index.check(labels)
            if verdict.muted and verdict.source:
                inhibited.append(verdict.source)
        state = "suppressed" if silenced or inhibited else "active"
        return AlertStatus(state, silenced, inhibited)


def live_alerts(rt: Runtime, now: datetime) -> Iterator[tuple[str, AlertState, GroupState]]:
    """Every firing, unexpired alert once (its first group), as Alertmanager lists them."""
    seen: set[str] = set()
    for state in rt.world.groups.values():
        if state.phase not in LIVE:
            continue
        for fp, alert in state.alerts.items():
            if alert.resolved_at is not None or fp in seen:
                continue
            if alert.ends_at is not None and alert.ends_at < now:
                continue
            seen.add(fp)
            yield fp, alert, state


def gettable_alert(
    fp: str, alert: AlertState, status: AlertStatus, receivers: list[str]
) -> dict[str, Any]:
    data = alert.alert
    return {
        "annotations": data.annotations.to_dict(),
        "endsAt": fmt_time(alert.ends_at),
        "fingerprint": fp,
        "receivers": [{"name": r} for r in receivers],
        "startsAt": fmt_time(data.starts_at or alert.received_at),
        "status": status.json(),
        "updatedAt": fmt_time(alert.received_at),
        "generatorURL": data.generator_url,
        "labels": data.labels.to_dict(),
    }


def receivers_of(config: Config) -> Callable[[Labels], list[str]]:
    """Receivers an alert reaches under the current config, cached per label set."""
    cache: dict[Labels, list[str]] = {}

    def receivers(labels: Labels) -> list[str]:
        found = cache.get(labels)
        if found is None:
            found = cache[labels] = config.routing.receivers(labels)
        return found

    return receivers


# ---------------------------------------------------------------------------------- silences
def _matcher_json(name: str, op: str, value: str) -> dict[str, Any]:
    return {
        "isEqual": op in (MatchOp.EQUAL, MatchOp.REGEX),
        "isRegex": op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
        "name": name,
        "value": value,
    }


def gettable_silence(s: SilenceData, now: datetime) -> dict[str, Any]:
    state = silence_state(s, now)
    # The world keeps no update time: a silence changes when created (its start, or now if
    # it starts later) and when it expires (its end).
    updated = s.ends_at if state is SilenceState.EXPIRED else min(s.starts_at, now)
    return {
        "id": s.id,
        "status": {"state": state.value},
        "updatedAt": fmt_time(updated),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": fmt_time(s.ends_at),
        "matchers": [_matcher_json(*m) for m in s.matchers],
        "startsAt": fmt_time(s.starts_at),
    }


def silence_matches_filter(s: SilenceData, filters: list[Matcher]) -> bool:
    """Alertmanager's `CheckSilenceMatchesFilterLabels`: the silence has, for each filter
    matcher, a matcher that is the same one — name, operator and value (or pattern) all equal.
    The filter is not evaluated: `alertname=~"Disk.*"` finds a silence on exactly that regex,
    not one on `alertname="DiskFull"` (what Alertmanager 0.25 answers, checked against it)."""
    have = set(s.matchers)
    return all((m.name, str(m.op), m.value) in have for m in filters)


def sort_silences(silences: list[SilenceData], now: datetime) -> list[SilenceData]:
    """Alertmanager's order: active (ending soonest first), pending (starting soonest first),
    expired (most recently ended first)."""

    def key(s: SilenceData) -> tuple[int, float]:
        state = silence_state(s, now)
        if state is SilenceState.ACTIVE:
            return 0, s.ends_at.timestamp()
        if state is SilenceState.PENDING:
            return 1, s.starts_at.timestamp()
        return 2, -s.ends_at.timestamp()

    return sorted(silences, key=key)


# ------------------------------------------------------------------------------ Tocsin's own
def _iso(t: datetime | None) -> str | None:
    return None if t is None else fmt_time(t)


def alert_view(fp: str, alert: AlertState, status: AlertStatus | None) -> dict[str, Any]:
    data = alert.alert
    out: dict[str, Any] = {
        "fingerprint": fp,
        "labels": data.labels.to_dict(),
        "annotations": data.annotations.to_dict(),
        "starts_at": _iso(data.starts_at),
        "ends_at": _iso(alert.ends_at),
        "received_at": _iso(alert.received_at),
        "generator_url": data.generator_url,
        "firing": alert.resolved_at is None,
        "resolved_at": _iso(alert.resolved_at),
        "resolve_reason": None if alert.resolve_reason is None else str(alert.resolve_reason),
    }
    if status is not None:
        out["state"] = status.state
        out["silenced_by"] = status.silenced_by
        out["inhibited_by"] = status.inhibited_by
    return out


def group_view(state: GroupState, oracle: StatusOracle | None) -> dict[str, Any]:
    policy = state.policy
    ack = state.ack
    return {
        "id": state.group_id,
        "group_key": state.group_key,
        "labels": state.group_labels.to_dict(),
        "receiver": policy.receiver if policy is not None else None,
        "receivers": list(state.reached_receivers()),
        "route": policy.route_id if policy is not None else None,
        "acknowledge": "allowed" if policy is None or policy.acknowledge else "forbidden",
        "escalation": policy.escalation.name
        if policy is not None and policy.escalation is not None
        else None,
        "phase": state.phase.value,
        "episode": state.episode,
        "level": state.level,
        "ack": None if ack is None else {"by": ack.by, "comment": ack.comment, "at": _iso(ack.at)},
        "opened_at": _iso(state.opened_at),
        "first_notified_at": _iso(state.first_notified_at),
        "last_notified_at": _iso(state.notified_at),
        "pending_notifications": len(state.pending),
        "mutes": [
            {"fingerprint": m.fingerprint, "kind": str(m.kind), "by": m.by, "detail": m.detail}
            for m in state.last_mutes
        ],
        "alerts": [
            alert_view(fp, a, oracle.status(a.alert.labels) if oracle is not None else None)
            for fp, a in sorted(state.alerts.items())
        ],
    }
