"""What-if: replay recorded alert inputs through another configuration, on a simulated clock.

Theory of operation
-------------------
The inputs are what the sources said, as the journal recorded it: an alert started firing
(`alert.received`: new, re-firing or changed), an alert stopped (`alert.resolved` by its source
or by expiry), and the silences people created and expired. Human acknowledgements and manual
resolves are not replayed (their groups may not exist under the new routing), and an alert
fires in the simulation from its first recorded start to its recorded resolution.

The simulation runs the same pure decider as the daemon, without actors or I/O: a priority queue
of group deadlines stands in for the group actors, the same `World` fold holds the state, the
same routing, inhibition, time-interval and silence rules decide mutes, and channels are stubs
that count what they would have sent (and deliver at once). A week of a 10,000-alert setup is a
few hundred thousand decisions.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from tocsin.actors.config_ports import ConfigMutes, ConfigRouter, InhibitionTracker
from tocsin.actors.ports import next_timer_command
from tocsin.actors.runtime import Rules
from tocsin.core.events import (
    AlertChange,
    AlertData,
    AlertReceived,
    AlertResolved,
    Event,
    NotificationDelivered,
    NotificationRequested,
    ResolveReason,
    SilenceCreated,
    SilenceExpired,
)
from tocsin.core.group_state import group_id_for
from tocsin.core.lifecycle import ReceiveAlerts, decide, next_deadline
from tocsin.core.world import World

__all__ = ["Input", "SimulationResult", "Simulator", "inputs_from_events"]


@attrs.frozen
class Input:
    """One thing a source (or a person, for silences) did at `at`."""

    at: datetime
    alert: AlertData | None = None  # firing (ends_at None) or resolved (ends_at set)
    silence_event: SilenceCreated | SilenceExpired | None = None


def inputs_from_events(events: Iterable[tuple[datetime, Event]]) -> Iterator[Input]:
    """The source-side inputs in a recorded event stream (deduplicated across groups)."""
    firing: dict[str, AlertData] = {}
    for at, ev in events:
        if isinstance(ev, AlertReceived):
            alert = ev.alert
            known = firing.get(alert.fingerprint)
            if known is not None and (
                ev.change is not AlertChange.UPDATED or known.annotations == alert.annotations
            ):
                continue  # the same alert seen by another group, or nothing new
            alert = attrs.evolve(alert, ends_at=None)
            firing[alert.fingerprint] = alert
            yield Input(at, alert=alert)
        elif isinstance(ev, AlertResolved) and ev.reason is not ResolveReason.MANUAL:
            known = firing.pop(ev.fingerprint, None)
            if known is not None:
                yield Input(at, alert=attrs.evolve(known, ends_at=ev.at))
        elif isinstance(ev, SilenceCreated | SilenceExpired):
            yield Input(at, silence_event=ev)


@attrs.define
class SimulationResult:
    notifications: Counter[str] = attrs.Factory(Counter)  # receiver -> notifications
    by_reason: Counter[str] = attrs.Factory(Counter)
    groups_of: dict[str, set[str]] = attrs.Factory(lambda: defaultdict(set))  # fp -> group ids
    group_keys: dict[str, str] = attrs.Factory(dict)  # group id -> key
    decisions: int = 0
    inputs: int = 0


class Simulator:
    def __init__(self, rules: Rules, count_from: datetime | None = None) -> None:
        self.count_from = count_from  # notifications before this are simulated, not counted
        self.world = World()
        self.router = ConfigRouter(rules.routing)
        self.tracker = InhibitionTracker(rules.inhibit_rules, self.world)
        self.mutes = ConfigMutes(
            self.world, rules.routing, dict(rules.time_intervals), self.tracker
        )
        self.result = SimulationResult()
        self._heap: list[tuple[datetime, str]] = []

    def _apply(self, events: Sequence[Event]) -> None:
        world = self.world
        for ev in events:
            world.apply(0, ev)
            self.tracker.observe(ev, world)
            if isinstance(ev, NotificationRequested):
                if self.count_from is None or ev.at >= self.count_from:
                    self.result.notifications[ev.receiver] += 1
                    self.result.by_reason[str(ev.reason)] += 1
                world.apply(
                    0,
                    NotificationDelivered(
                        ev.group_id,
                        ev.notification_id,
                        ev.receiver,
                        "simulated",
                        1,
                        None,
                        timedelta(0),
                        ev.at,
                    ),
                )

    def _schedule(self, group_id: str) -> None:
        state = self.world.groups.get(group_id)
        if state is not None:
            deadline = next_deadline(state)
            if deadline is not None:
                heapq.heappush(self._heap, (deadline, group_id))

    def run_timers(self, until: datetime) -> None:
        """Fire every group deadline up to `until`, in time order."""
        heap = self._heap
        while heap and heap[0][0] <= until:
            at, gid = heapq.heappop(heap)
            state = self.world.groups.get(gid)
            if state is None or next_deadline(state) != at:
                continue  # stale entry: the group moved on (or ended)
            for _ in range(100):
                command = next_timer_command(self.mutes, state, at)
                if command is None:
                    break
                self._apply(decide(state, command, at))
                self.result.decisions += 1
                state = self.world.groups.get(gid)
                if state is None:
                    break
            self._schedule(gid)

    def feed(self, item: Input) -> None:
        self.run_timers(item.at)
        self.result.inputs += 1
        if item.silence_event is not None:
            self._apply([item.silence_event])
            return
        alert = item.alert
        assert alert is not None
        for target in self.router.route(alert.labels):
            gid = group_id_for(target.group_key)
            self.result.groups_of[alert.fingerprint].add(gid)
            self.result.group_keys[gid] = target.group_key
            command = ReceiveAlerts((alert,), target.group_key, target.group_labels, target.policy)
            self._apply(decide(self.world.group(gid), command, item.at))
            self.result.decisions += 1
            self.world.forget_if_idle(gid)
            self._schedule(gid)

    def run(self, inputs: Iterable[Input], until: datetime) -> SimulationResult:
        for item in inputs:
            if item.at > until:
                break
            self.feed(item)
        self.run_timers(until)
        return self.result
