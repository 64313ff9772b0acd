"""Silences with Alertmanager's semantics: matching, states, creation, update and expiry.

A silence mutes every alert its matchers all match while it is active (`starts_at <= now <
ends_at`). Its state is derived from `now`, never stored: pending, active, expired.

Updating follows Alertmanager (silence/silence.go, `canUpdate`): a silence can be changed in
place only if its matchers stay the same and the change does not rewrite the past — a pending
silence may move its start (not into the past) and its end; an active one may only move its end
(not into the past); an expired one never changes. Any other update expires the old silence (if
it is still active) and creates a new one with a new id.

Decisions return events (`SilenceCreated`, `SilenceExpired`); `apply_silence_event` folds them.
Errors are `InvalidSilence` with a message naming the field.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import attrs

from tocsin.core.events import Event, SilenceCreated, SilenceData, SilenceExpired
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matcher, Matchers, MatchOp

__all__ = [
    "InvalidSilence",
    "SilenceState",
    "active_silences_for",
    "apply_silence_event",
    "decide_expire",
    "decide_set",
    "matchers_of",
    "silence_state",
]


class InvalidSilence(ValueError):
    """A silence that cannot be created or changed; the message names the field and why."""


class SilenceState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


def silence_state(s: SilenceData, now: datetime) -> SilenceState:
    if now < s.starts_at:
        return SilenceState.PENDING
    if now < s.ends_at:
        return SilenceState.ACTIVE
    return SilenceState.EXPIRED


_MATCHER_CACHE: dict[tuple[tuple[str, str, str], ...], Matchers] = {}


def matchers_of(s: SilenceData) -> Matchers:
    """The silence's compiled matchers (compiled once per distinct matcher set)."""
    found = _MATCHER_CACHE.get(s.matchers)
    if found is None:
        found = Matchers(Matcher(name, MatchOp(op), value) for name, op, value in s.matchers)
        if len(_MATCHER_CACHE) > 10_000:  # bounded: silences come and go
            _MATCHER_CACHE.clear()
        _MATCHER_CACHE[s.matchers] = found
    return found


def _validate(s: SilenceData) -> None:
    if not s.matchers:
        raise InvalidSilence("matchers: at least one matcher is required")
    try:
        ms = matchers_of(s)
    except ValueError as exc:
        raise InvalidSilence(f"matchers: {exc}") from exc
    if all(m.matches_value("") for m in ms):
        raise InvalidSilence("matchers: at least one matcher must not match the empty string")
    if s.ends_at < s.starts_at:
        raise InvalidSilence("endsAt: the end time must not be before the start time")
    if not s.created_by:
        raise InvalidSilence("createdBy: required")
    if not s.comment:
        raise InvalidSilence("comment: required")


def _can_update(old: SilenceData, new: SilenceData, now: datetime) -> bool:
    if old.matchers != new.matchers:
        return False
    state = silence_state(old, now)
    if state is SilenceState.PENDING:
        return not new.starts_at < now and not new.ends_at < now
    if state is SilenceState.ACTIVE:
        # The same second, as Alertmanager compares (`StartsAt.Unix()`): clients send back
        # what they read, and amtool reads and writes milliseconds.
        same_start = new.starts_at.replace(microsecond=0) == old.starts_at.replace(microsecond=0)
        return same_start and not new.ends_at < now
    return False


def decide_set(
    silences: Mapping[str, SilenceData],
    new: SilenceData,
    now: datetime,
    new_id: Callable[[], str],
) -> list[Event]:
    """Create `new` (empty id) or update the silence with its id, as Alertmanager does.

    `new_id` makes the id of a created silence (the caller owns randomness). The start of a
    newly created silence is moved to `now` if it lies in the past. Raises `InvalidSilence`.
    """
    if new.ends_at < now:
        raise InvalidSilence("endsAt: the end time must not be in the past")
    _validate(new)
    out: list[Event] = []
    old = silences.get(new.id) if new.id else None
    if new.id and old is None:
        raise InvalidSilence(f"id: no silence with id {new.id!r}")
    if old is not None:
        if _can_update(old, new, now):
            return [SilenceCreated(new, now)]
        if silence_state(old, now) is not SilenceState.EXPIRED:
            out.append(SilenceExpired(old.id, new.created_by, now))
    start = max(new.starts_at, now)  # a new silence does not start in the past
    out.append(SilenceCreated(attrs.evolve(new, id=new_id(), starts_at=start), now))
    return out


def decide_expire(
    silences: Mapping[str, SilenceData], silence_id: str, by: str, now: datetime
) -> list[Event]:
    """Expire a silence: nothing to do (no event) if it already expired, as in Alertmanager,
    where expiring is idempotent. Raises `InvalidSilence` if it is unknown."""
    old = silences.get(silence_id)
    if old is None:
        raise InvalidSilence(f"id: no silence with id {silence_id!r}")
    if silence_state(old, now) is SilenceState.EXPIRED:
        return []
    return [SilenceExpired(silence_id, by, now)]


def apply_silence_event(silences: dict[str, SilenceData], ev: Event) -> None:
    """Fold one silence event into `silences` (in place)."""
    if isinstance(ev, SilenceCreated):
        silences[ev.silence.id] = ev.silence
    elif isinstance(ev, SilenceExpired):
        old = silences.get(ev.silence_id)
        if old is not None:
            start = old.starts_at if old.starts_at <= ev.at else ev.at
            silences[ev.silence_id] = attrs.evolve(old, starts_at=start, ends_at=ev.at)


def active_silences_for(
    silences: Iterable[SilenceData], labels: Labels, now: datetime
) -> list[SilenceData]:
    """The silences active at `now` that mute an alert with `labels`, ordered by id."""
    return sorted(
        (s for s in silences if s.starts_at <= now < s.ends_at and matchers_of(s).matches(labels)),
        key=lambda s: s.id,
    )
