"""The dispatcher: routes each ingested alert to its groups and hands it to their actors.

Ingest batches wait in a bounded queue. `submit_nowait` refuses a batch when the queue is full
(`DispatcherFull`: the HTTP layer answers 503 with Retry-After), so nothing accepted is ever
dropped. `submit` waits for the batch's fate: it returns once every event the batch caused is
durable in the journal (an HTTP 200 means "on disk"), or raises if any group failed to record it.

Prometheus re-sends every firing alert about once a minute, so most alerts are known ones. The
dispatcher remembers the routing of each label set (a bounded cache), so a re-send costs one
dictionary lookup before it reaches its group, which decides in memory that nothing changed
(or that only `endsAt` moved, which is not journaled).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import trio

from tocsin.actors.groups import Envelope, Reply
from tocsin.actors.ports import Router, RouteTarget
from tocsin.core.events import AlertData, GroupEvent
from tocsin.core.group_state import group_id_for
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import ReceiveAlerts

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["Dispatcher", "DispatcherFull", "DispatcherStatistics"]

log = logging.getLogger("tocsin.dispatcher")


class DispatcherFull(Exception):
    """The ingest queue is full; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"ingest queue full, retry after {retry_after:g}s")
        self.retry_after = retry_after


@attrs.frozen
class DispatcherStatistics:
    """A snapshot: batches waiting and the queue's size, and what was routed so far."""

    queued: int
    capacity: int
    batches: int
    alerts: int
    cached_routes: int


@attrs.frozen
class _Batch:
    alerts: tuple[AlertData, ...]
    reply: Reply


class Dispatcher:
    def __init__(
        self, rt: Runtime, router: Router, capacity: int = 256, route_cache: int = 200_000
    ) -> None:
        self._rt = rt
        self.router = router
        self._send, self._receive = trio.open_memory_channel[_Batch](capacity)
        self.capacity = capacity
        self._routes: dict[Labels, list[tuple[str, RouteTarget]]] = {}
        self._route_cache = route_cache
        self.batches = 0
        self.alerts = 0

    def statistics(self) -> DispatcherStatistics:
        s = self._send.statistics()
        return DispatcherStatistics(
            queued=s.current_buffer_used,
            capacity=int(s.max_buffer_size),
            batches=self.batches,
            alerts=self.alerts,
            cached_routes=len(self._routes),
        )

    @property
    def full(self) -> bool:
        """True when the next `submit_nowait` would be refused."""
        s = self._send.statistics()
        return s.current_buffer_used >= s.max_buffer_size

    def submit_nowait(self, alerts: Sequence[AlertData]) -> Reply:
        """Queue a batch; never waits. Raises `DispatcherFull`."""
        reply = Reply(parts=1)  # the dispatcher's own part, finished once routed
        try:
            self._send.send_nowait(_Batch(tuple(alerts), reply))
        except trio.WouldBlock:
            raise DispatcherFull(retry_after=1.0) from None
        return reply

    async def submit(self, alerts: Sequence[AlertData]) -> list[GroupEvent]:
        """Queue a batch and wait until it is durable. Raises `DispatcherFull`, or the error
        that kept a group from recording it."""
        return await self.submit_nowait(alerts).wait()

    def set_router(self, router: Router) -> None:
        """Route new alerts with `router` from now on (a config reload)."""
        self.router = router
        self._routes.clear()

    def targets(self, labels: Labels) -> list[tuple[str, RouteTarget]]:
        found = self._routes.get(labels)
        if found is None:
            found = [(group_id_for(t.group_key), t) for t in self.router.route(labels)]
            if len(self._routes) >= self._route_cache:
                self._routes.clear()
            self._routes[labels] = found
        return found

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        registry = self._rt.registry
        async for batch in self._receive:
            per_group: dict[str, tuple[RouteTarget, list[AlertData]]] = {}
            try:
                for alert in batch.alerts:
                    for gid, target in self.targets(alert.labels):
                        entry = per_group.get(gid)
                        if entry is None:
                            per_group[gid] = (target, [alert])
                        else:
                            entry[1].append(alert)
            except Exception as exc:  # a routing bug must not lose the batch silently
                log.exception("routing failed")
                batch.reply.finish(error=exc)
                continue
            self.batches += 1
            self.alerts += len(batch.alerts)
            reply = batch.reply
            reply.add_parts(len(per_group))
            for gid, (target, alerts) in per_group.items():
                command = ReceiveAlerts(
                    tuple(alerts), target.group_key, target.group_labels, target.policy
                )
                await registry.send(gid, Envelope(command, reply))
            reply.finish()
