"""The seams between the actors and what they drive: routing, muting, notifying.

Each is a small Protocol. The daemon plugs in the real ones (the config's routing tree, silences
plus inhibition plus time intervals, the channel actors); tests plug in tiny fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from tocsin.core.events import GroupPolicy, Mute, NotificationRequested
from tocsin.core.group_state import GroupState
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import Command, FlushDue, due_commands

__all__ = ["MuteSource", "Notifier", "RouteTarget", "Router", "muted_flush", "next_timer_command"]


@attrs.frozen
class RouteTarget:
    """Where one alert goes: which group (key and labels) and the policy the group runs."""

    group_key: str
    group_labels: Labels
    policy: GroupPolicy
    route_id: str = ""


class Router(Protocol):
    def route(self, labels: Labels) -> Sequence[RouteTarget]:
        """Every group the alert belongs to, in routing-tree order (continue: several)."""
        ...


class MuteSource(Protocol):
    def mutes(self, state: GroupState, route_id: str, now: datetime) -> tuple[Mute, ...]:
        """Which of the group's alerts are muted at `now`, and why (silence, inhibition, ...)."""
        ...


def muted_flush(mutes: MuteSource, state: GroupState, now: datetime) -> FlushDue:
    """The flush command for `state` at `now`, carrying what its route's mutes say."""
    route_id = state.policy.route_id if state.policy is not None else ""
    return FlushDue(mutes.mutes(state, route_id, now))


def next_timer_command(mutes: MuteSource, state: GroupState, now: datetime) -> Command | None:
    """The first timer command due at `now` (`due_commands`), a flush with its mutes."""
    due = due_commands(state, now)
    if not due:
        return None
    return muted_flush(mutes, state, now) if isinstance(due[0], FlushDue) else due[0]


class Notifier(Protocol):
    def request(self, event: NotificationRequested, state: GroupState) -> None:
        """Take a durable notification request for delivery. Never blocks: delivery runs in
        the channel actors, which journal its outcome."""
        ...
