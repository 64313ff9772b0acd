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

__all__ = ["MuteSource", "Notifier", "RouteTarget", "Router"]


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


class Notifier(Protocol):
    def request(self, event: NotificationRequested, state: GroupState) -> None:
        """Take a durable notification request for delivery. Never blocks: delivery runs in
        the channel actors, which journal its outcome."""
        ...
