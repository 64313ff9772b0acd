"""A tiny driver for the group decider: what a group actor does, minus trio and the journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.core.events import (
    AlertData,
    EscalationLevel,
    EscalationPolicy,
    GroupEvent,
    GroupPolicy,
    Mute,
)
from tocsin.core.group_state import GroupState, evolve
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import (
    Command,
    FlushDue,
    ReceiveAlert,
    decide,
    due_commands,
    next_deadline,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)

POLICY = GroupPolicy(
    receiver="team",
    group_wait=30 * SEC,
    group_interval=5 * MIN,
    repeat_interval=4 * HOUR,
)

# The default escalation of the issue: level 0 now, 1 at 5m, 2 at 15m, 3 at 1h.
ESCALATION = EscalationPolicy(
    name="default",
    levels=(
        EscalationLevel(0 * MIN, ("slack-warnings",)),
        EscalationLevel(5 * MIN, ("email-oncall", "slack-critical")),
        EscalationLevel(15 * MIN, ("pagerduty", "email-manager")),
        EscalationLevel(60 * MIN, ("pagerduty-exec",)),
    ),
)
ESCALATING = GroupPolicy(
    receiver="team",
    group_wait=0 * SEC,
    group_interval=1 * MIN,
    repeat_interval=2 * HOUR,
    escalation=ESCALATION,
)

GROUP_KEY = '{}:{alertname="Boom"}'
GROUP_LABELS = Labels.of({"alertname": "Boom"})


def alert(
    name: str = "a",
    *,
    starts: datetime = T0,
    ends: datetime | None = None,
    summary: str = "it broke",
    **extra: str,
) -> AlertData:
    return AlertData(
        labels=Labels.of({"alertname": "Boom", "instance": name, **extra}),
        annotations=Labels.of({"summary": summary}),
        starts_at=starts,
        ends_at=ends,
        generator_url="http://prometheus.example/graph",
    )


class Driver:
    """Feeds commands to one group, applies the events, and plays its timers like an actor."""

    def __init__(self, policy: GroupPolicy = POLICY, group_id: str = "g1") -> None:
        self.policy = policy
        self.state = GroupState.initial(group_id)
        self.events: list[GroupEvent] = []
        self.now = T0
        self.mutes: tuple[Mute, ...] = ()

    def do(self, command: Command, at: datetime | None = None) -> list[GroupEvent]:
        if at is not None:
            assert at >= self.now, "time runs forward"
            self.now = at
        before = self.state.copy()
        out = decide(self.state, command, self.now)
        assert self.state == before, "decide mutated the state"
        for ev in out:
            evolve(self.state, ev)
        self.events.extend(out)
        return out

    def receive(self, a: AlertData, at: datetime | None = None) -> list[GroupEvent]:
        return self.do(ReceiveAlert(a, GROUP_KEY, GROUP_LABELS, self.policy), at)

    def run_until(self, until: datetime) -> list[GroupEvent]:
        """Fire every timer due up to `until`, in time order, as the group actor would."""
        out: list[GroupEvent] = []
        for _ in range(100_000):  # a decider that never settles is a bug, not a hang
            due = due_commands(self.state, self.now)
            if due:
                cmd = FlushDue(self.mutes) if isinstance(due[0], FlushDue) else due[0]
                out += self.do(cmd)
                continue
            t = next_deadline(self.state)
            if t is None or t > until:
                self.now = max(self.now, until)
                return out
            self.now = max(self.now, t)
        raise AssertionError("timers did not settle")


def of_type(events: list[GroupEvent], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]
