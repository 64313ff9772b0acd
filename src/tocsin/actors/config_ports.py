"""The runtime's seams, filled from a loaded configuration.

* `ConfigRouter` routes with the config's routing tree: each matched route gives the group key
  (Alertmanager's `{route key}:{group labels}`), the group labels and the group's policy, which
  carries the route's path as `route_id`.
* `ConfigMutes` answers "which of this group's alerts are muted now, and why" at flush time:
  an active silence, an inhibit rule with a firing source alert (silenced and inhibited sources
  inhibit too, as in Alertmanager), or the route's `mute_time_intervals` /
  `active_time_intervals` (which Alertmanager applies to the route itself, not its children).
* `InhibitionTracker` keeps the inhibition index current from the event log, so a flush checks
  its alerts against every firing alert without scanning them all. `preview` shows it as it
  will be after events not yet durable, for a flush decided in the same append as its alerts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from tocsin.actors.ports import RouteTarget
from tocsin.core.events import (
    AlertReceived,
    AlertResolved,
    Event,
    GroupPolicy,
    Mute,
    MuteKind,
)
from tocsin.core.group_state import GroupState
from tocsin.core.inhibit import InhibitionIndex, InhibitRule
from tocsin.core.labels import Labels
from tocsin.core.routing import Route, RoutingTree
from tocsin.core.silences import active_silences_for
from tocsin.core.timeintervals import TimeInterval
from tocsin.core.world import World

__all__ = ["ConfigMutes", "ConfigRouter", "InhibitionTracker"]


class ConfigRouter:
    """Routes by the tree, remembering its answers (each memo is bounded: cleared when full).

    Which routes an alert takes depends only on the values of the labels some matcher of the
    tree names (a missing label is the empty value, as the matchers see it), so the routes are
    memoised by those values: alerts that differ only in other labels (`instance`, say)
    share one walk of the tree. A group's target (its key, labels and policy) is memoised by
    route and the values of its group_by labels, so it is built once per group, not once per
    alert.
    """

    MEMO = 100_000

    def __init__(self, tree: RoutingTree) -> None:
        self.tree = tree
        self._policies: dict[str, GroupPolicy] = {}
        self._names = tuple(sorted({m.name for r in tree.routes for m in r.matchers}))
        self._routes: dict[tuple[str, ...], tuple[Route, ...]] = {}
        self._targets: dict[tuple[str, object], RouteTarget] = {}

    def policy(self, route: Route) -> GroupPolicy:
        found = self._policies.get(route.path)
        if found is None:
            found = self._policies[route.path] = route.policy()
        return found

    def route(self, labels: Labels) -> list[RouteTarget]:
        key = tuple(map(labels.get_or_empty, self._names))
        routes = self._routes.get(key)
        if routes is None:
            routes = self.tree.match(labels)
            if len(self._routes) >= self.MEMO:
                self._routes.clear()
            self._routes[key] = routes
        targets = self._targets
        get = labels.get
        out = []
        for r in routes:
            # The values of the route's group_by labels name the group (None: absent).
            values = labels if r.group_by_all else tuple(map(get, r.group_by))
            found = targets.get((r.path, values))
            if found is None:
                group_labels = r.group_labels(labels)
                # group_key of the group labels is the group key of the alert's labels.
                found = RouteTarget(r.group_key(group_labels), group_labels, self.policy(r), r.path)
                if len(targets) >= self.MEMO:
                    targets.clear()
                targets[(r.path, values)] = found
            out.append(found)
        return out


class InhibitionTracker:
    """Every firing alert the world knows, indexed for the inhibit rules. Feed it events.

    An alert may fire in several groups (routes with `continue`); it can inhibit while it
    fires in any of them.
    """

    def __init__(self, rules: tuple[InhibitRule, ...], world: World) -> None:
        self.index = InhibitionIndex(rules)
        self._sources = tuple(rule.source_matchers for rule in rules)
        self._firing_in: dict[str, set[str]] = {}  # source alert -> groups it fires in
        if not rules:  # nothing can inhibit: spare a pass over every alert (restart time)
            return
        for gid, state in world.groups.items():
            for fp, alert in state.alerts.items():
                if alert.firing:
                    self._add(gid, fp, alert.alert.labels)

    def _add(self, group_id: str, fp: str, labels: Labels) -> None:
        # Only a possible source of inhibition needs tracking: most alerts match no rule's
        # source side (and with no rules, none does).
        if not any(sources.matches(labels) for sources in self._sources):
            return
        groups = self._firing_in.setdefault(fp, set())
        if not groups:
            self.index.add(labels)
        groups.add(group_id)

    def _discard(self, group_id: str, fp: str, labels: Labels) -> None:
        groups = self._firing_in.get(fp)
        if groups is None:
            return
        groups.discard(group_id)
        if not groups:
            del self._firing_in[fp]
            self.index.discard(labels)

    @contextmanager
    def preview(self, events: Sequence[Event], world: World) -> Iterator[None]:
        """The index as it will be once `events` are applied to `world`, until the block ends;
        then as it was. For a flush decided together with the alerts it flushes, before they
        are durable: nothing stays ahead of the journal."""
        added: list[tuple[str, str, Labels]] = []
        removed: list[tuple[str, str, Labels]] = []
        firing_in = self._firing_in
        for ev in events:
            if isinstance(ev, AlertReceived):
                fp = ev.alert.fingerprint
                if ev.group_id not in firing_in.get(fp, ()):
                    self._add(ev.group_id, fp, ev.alert.labels)
                    added.append((ev.group_id, fp, ev.alert.labels))
            elif isinstance(ev, AlertResolved) and ev.group_id in firing_in.get(ev.fingerprint, ()):
                state = world.groups.get(ev.group_id)
                alert = state.alerts.get(ev.fingerprint) if state is not None else None
                if alert is not None:
                    self._discard(ev.group_id, ev.fingerprint, alert.alert.labels)
                    removed.append((ev.group_id, ev.fingerprint, alert.alert.labels))
        try:
            yield
        finally:
            for entry in added:
                self._discard(*entry)
            for entry in removed:
                self._add(*entry)

    def observe(self, event: Event, world: World) -> None:
        """Call after `event` was applied to `world`. (Alerts stop firing only through
        `AlertResolved`; a group's episode ends only after all its alerts resolved.)"""
        if isinstance(event, AlertReceived):
            if self._sources:
                self._add(event.group_id, event.alert.fingerprint, event.alert.labels)
        elif isinstance(event, AlertResolved):
            state = world.groups.get(event.group_id)
            alert = state.alerts.get(event.fingerprint) if state is not None else None
            if alert is not None:
                self._discard(event.group_id, event.fingerprint, alert.alert.labels)


class ConfigMutes:
    def __init__(
        self,
        world: World,
        tree: RoutingTree | None,
        time_intervals: dict[str, TimeInterval] | None = None,
        inhibition: InhibitionTracker | None = None,
    ) -> None:
        self.world = world
        self.tree = tree
        self.time_intervals = time_intervals or {}
        self.inhibition = inhibition

    def _interval_mute(self, route_id: str, now: datetime) -> tuple[str, str] | None:
        route = self.tree.by_path.get(route_id) if self.tree is not None else None
        if route is None:
            return None
        for name in route.mute_time_intervals:
            interval = self.time_intervals.get(name)
            if interval is not None and interval.contains(now):
                return name, "inside mute time interval"
        if route.active_time_intervals and not any(
            (iv := self.time_intervals.get(name)) is not None and iv.contains(now)
            for name in route.active_time_intervals
        ):
            return ",".join(route.active_time_intervals), "outside active time intervals"
        return None

    def mutes(self, state: GroupState, route_id: str, now: datetime) -> tuple[Mute, ...]:
        out: list[Mute] = []
        interval = self._interval_mute(route_id, now)
        silences = [s for s in self.world.silences.values() if s.starts_at <= now < s.ends_at]
        for fp, alert in state.alerts.items():
            labels = alert.alert.labels
            if silences:
                found = active_silences_for(silences, labels, now)
                if found:
                    out.append(Mute(fp, MuteKind.SILENCED, found[0].id))
                    continue
            if self.inhibition is not None:
                verdict = self.inhibition.index.check(labels)
                mute = verdict.mute(fp)
                if mute is not None:
                    out.append(mute)
                    continue
            if interval is not None:
                out.append(Mute(fp, MuteKind.TIME_INTERVAL, interval[0], interval[1]))
        return tuple(out)
