"""Fakes for the runtime's seams, and a runtime on a memory journal under trio's mock clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import attrs
import pytest

from tocsin.actors.clock import TrioClock
from tocsin.actors.ports import RouteTarget
from tocsin.actors.runtime import Runtime, RuntimeSettings, open_runtime
from tocsin.core.events import (
    AlertData,
    GroupPolicy,
    NotificationDelivered,
    NotificationRequested,
)
from tocsin.core.group_state import GroupState
from tocsin.core.labels import Labels
from tocsin.journal import MemoryStore, open_memory_journal

from ..core.lifecycle_harness import ESCALATING, POLICY, T0


class GroupByRouter:
    """One route: groups by the given labels; `policies` picks a policy by severity."""

    def __init__(
        self,
        group_by: tuple[str, ...] = ("alertname",),
        policies: dict[str, GroupPolicy] | None = None,
    ) -> None:
        self.group_by = group_by
        self.policies = policies or {}
        self.calls = 0

    def route(self, labels: Labels) -> list[RouteTarget]:
        self.calls += 1
        group_labels = labels.subset(self.group_by)
        policy = self.policies.get(labels.get_or_empty("severity"), POLICY)
        return [RouteTarget(f"{{}}:{group_labels!r}", group_labels, policy, "root")]


@attrs.define
class Recorder:
    """A notifier that records what it was asked, and when, and delivers at once."""

    clock: TrioClock
    sent: list[tuple[datetime, NotificationRequested]] = attrs.Factory(list)
    deliver: bool = True
    rt: Runtime | None = None
    alerts: dict[str, dict[str, Labels]] = attrs.Factory(dict)  # group -> its alerts, as last told

    def request(self, event: NotificationRequested, state: GroupState) -> None:
        self.sent.append((self.clock.now(), event))
        self.alerts.setdefault(event.group_id, {}).update(
            (fp, a.alert.labels) for fp, a in state.alerts.items()
        )
        if self.deliver and self.rt is not None:
            self.rt.nursery.start_soon(self._deliver, event)

    async def _deliver(self, ev: NotificationRequested) -> None:
        assert self.rt is not None
        await self.rt.log.append(
            [
                NotificationDelivered(
                    ev.group_id,
                    ev.notification_id,
                    ev.receiver,
                    "test",
                    1,
                    200,
                    timedelta(0),
                    self.clock.now(),
                )
            ]
        )

    def log(self) -> list[tuple[timedelta, str, str, int]]:
        return [(t - T0, e.receiver, str(e.reason), e.level) for t, e in self.sent]


LATER = T0 + timedelta(days=30)  # an endsAt that outlives every test: Prometheus keeps re-sending


def firing(name: str = "Boom", ends: datetime | None = LATER, **labels: str) -> AlertData:
    return AlertData(
        Labels.of({"alertname": name, **labels}),
        Labels.of({"summary": f"{name} is happening"}),
        None,
        ends,
    )


@pytest.fixture
def clock() -> TrioClock:
    return TrioClock(T0)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


RuntimeFactory = Callable[..., "asynccontextmanager[Runtime]"]


@pytest.fixture
def runtime(clock: TrioClock, store: MemoryStore):
    """`async with runtime(router=..., ...) as (rt, recorder):` — reopenable on the same store."""

    @asynccontextmanager
    async def make(
        router: object | None = None, settings: RuntimeSettings | None = None, **kw: object
    ) -> AsyncIterator[tuple[Runtime, Recorder]]:
        recorder = Recorder(clock)
        async with (
            open_memory_journal(store) as journal,
            open_runtime(
                journal,
                router=router
                if "rules" in kw
                else (router or GroupByRouter(policies={"critical": ESCALATING})),
                clock=clock,
                notifier=recorder,
                settings=settings or RuntimeSettings(),
                **kw,  # type: ignore[arg-type]
            ) as rt,
        ):
            recorder.rt = rt
            yield rt, recorder

    return make
