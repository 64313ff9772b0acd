"""The dispatcher: routes each ingested alert to its groups, decides and journals them.

Theory of operation
-------------------
Ingest batches wait in a bounded queue. `submit_nowait` refuses a batch when the queue is full
(`DispatcherFull`: the HTTP layer answers 503 with Retry-After), so nothing accepted is ever
dropped. `submit` waits for the batch's fate: it returns once every event the batch caused is
durable in the journal (an HTTP 200 means "on disk"), or raises if it could not be recorded.

The dispatcher works in rounds. A round takes every batch that is queued (up to
`round_alerts` alerts), routes each alert, holds every group the round touches (waiting for
any group whose actor is in the middle of a decision), asks each group's pure decider about
all of its alerts at once, and makes all the events of the round durable with one journal
append: one group commit, one fsync, however many requests and groups the round spans. While
that fsync runs the next requests queue up, so the round grows with the load. A flush that the
round's alerts make due at once (group_wait 0) is decided in the round too and shares its
append, so its notification leaves after one fsync, not two (`_flush_at_once`). Then the round
lets the groups go, wakes their actors (a new group starts its actor; a group whose flush is
now due sooner has its actor's deadline brought forward), hands the notifications to the
notifier and answers every batch.

Prometheus re-sends every firing alert about once a minute, so most alerts are known ones. The
dispatcher remembers the routing of each label set (a bounded cache), so a re-send costs one
dictionary lookup before its group's decider sees that nothing changed (or that only `endsAt`
moved, which is not journaled; `Runtime.ingest` settles most of those before they get here).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING

import attrs
import trio

from tocsin.actors.eventlog import TRANSIENT
from tocsin.actors.groups import Reply, request_notifications
from tocsin.actors.ports import Router, RouteTarget, muted_flush
from tocsin.core.events import AlertData, AlertReceived, AlertResolved, GroupEvent, GroupOpened
from tocsin.core.group_state import GroupState, arrived_late, evolve, group_id_for
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import FlushDue, ReceiveAlerts, decide, due_commands

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["Dispatcher", "DispatcherFull", "DispatcherStatistics"]

log = logging.getLogger("tocsin.dispatcher")

Routes = list[tuple[str, RouteTarget]]  # the groups an alert goes to: (group id, target)

# Groups up to this size are copied to decide a flush within the ingest round (~1 ms).
_LARGEST_COPIED = 1000


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
    rounds: int = 0


@attrs.frozen
class _Batch:
    alerts: tuple[AlertData, ...]
    reply: Reply
    routes: Sequence[Routes] | None = None  # each alert's targets, when the caller has them
    router: Router | None = None  # the router that found them (a reload since: route again)


class Dispatcher:
    def __init__(
        self,
        rt: Runtime,
        router: Router,
        capacity: int = 256,
        route_cache: int = 200_000,
        round_alerts: int = 8192,
    ) -> None:
        self._rt = rt
        self.router = router
        self._send, self._receive = trio.open_memory_channel[_Batch](capacity)
        self.capacity = capacity
        self.round_alerts = round_alerts
        self._routes: dict[Labels, Routes] = {}
        self._group_ids: dict[str, str] = {}  # group key -> group id
        self._route_cache = route_cache
        self.batches = 0
        self.alerts = 0
        self.rounds = 0

    def statistics(self) -> DispatcherStatistics:
        s = self._send.statistics()
        return DispatcherStatistics(
            queued=s.current_buffer_used,
            capacity=int(s.max_buffer_size),
            batches=self.batches,
            alerts=self.alerts,
            cached_routes=len(self._routes),
            rounds=self.rounds,
        )

    @property
    def full(self) -> bool:
        """True when the next `submit_nowait` would be refused."""
        s = self._send.statistics()
        return s.current_buffer_used >= s.max_buffer_size

    def submit_nowait(
        self, alerts: Sequence[AlertData], routes: Sequence[Routes] | None = None
    ) -> Reply:
        """Queue a batch; never waits. `routes`, if given, holds `targets(alert.labels)` for
        each alert (the caller looked them up already). Raises `DispatcherFull`."""
        reply = Reply(parts=1)  # finished by the round that records the batch
        try:
            self._send.send_nowait(_Batch(tuple(alerts), reply, routes, self.router))
        except trio.WouldBlock:
            raise DispatcherFull(retry_after=1.0) from None
        return reply

    async def submit(
        self, alerts: Sequence[AlertData], routes: Sequence[Routes] | None = None
    ) -> list[GroupEvent]:
        """Queue a batch and wait until it is durable. Raises `DispatcherFull`, or the error
        that kept it from being recorded."""
        return await self.submit_nowait(alerts, routes).wait()

    def set_router(self, router: Router) -> None:
        """Route new alerts with `router` from now on (a config reload)."""
        self.router = router
        self._routes.clear()

    def targets(self, labels: Labels) -> Routes:
        """Each group `labels` goes to: its id and its target."""
        found = self._routes.get(labels)
        if found is None:
            ids = self._group_ids
            found = []
            for t in self.router.route(labels):
                gid = ids.get(t.group_key)
                if gid is None:
                    if len(ids) >= self._route_cache:
                        ids.clear()
                    gid = ids[t.group_key] = group_id_for(t.group_key)
                found.append((gid, t))
            if len(self._routes) >= self._route_cache:
                self._routes.clear()
            self._routes[labels] = found
        return found

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        receive, most = self._receive, self.round_alerts
        async for batch in receive:
            batches = [batch]
            size = len(batch.alerts)
            while size < most:
                try:
                    batch = receive.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                batches.append(batch)
                size += len(batch.alerts)
            await self._round(batches)

    async def _round(self, batches: list[_Batch]) -> None:
        """Route, decide and record `batches` together (see the module docstring)."""
        groups: dict[str, tuple[RouteTarget, list[AlertData]]] = {}
        members: list[tuple[_Batch, list[str]]] = []
        for batch in batches:
            mine: dict[str, tuple[RouteTarget, list[AlertData]]] = {}
            routes = batch.routes
            try:
                if routes is None or batch.router is not self.router:
                    routes = [self.targets(alert.labels) for alert in batch.alerts]
                for alert, targets in zip(batch.alerts, routes, strict=True):
                    for gid, target in targets:
                        entry = mine.get(gid)
                        if entry is None:
                            mine[gid] = (target, [alert])
                        else:
                            entry[1].append(alert)
            except Exception as exc:  # a routing bug must not lose the batch silently
                log.exception("routing failed")
                batch.reply.finish(error=exc)
                continue
            self.batches += 1
            self.alerts += len(batch.alerts)
            for gid, (target, alerts) in mine.items():
                entry = groups.get(gid)
                if entry is None:
                    groups[gid] = (target, alerts)
                else:
                    entry[1].extend(alerts)
            members.append((batch, list(mine)))
        if not groups:
            for batch, _ in members:
                batch.reply.finish()
            return
        self.rounds += 1
        rt = self._rt
        registry = rt.registry
        decided: dict[str, list[GroupEvent]] = {}
        failed: dict[str, BaseException] = {}
        flushes: list[GroupEvent] = []
        token = await registry.hold(groups.keys())
        try:
            world, now = rt.world, rt.clock.now()
            durable: list[GroupEvent] = []
            transient: list[GroupEvent] = []
            for gid, (target, alerts) in groups.items():
                command = ReceiveAlerts(
                    tuple(alerts), target.group_key, target.group_labels, target.policy
                )
                try:
                    events = decide(world.group(gid), command, now)
                except Exception as exc:  # a decider bug fails its group's batches only
                    log.exception("group %s could not decide %d alerts", gid, len(alerts))
                    failed[gid] = exc
                    continue
                decided[gid] = events
                for ev in events:
                    (transient if type(ev) in TRANSIENT else durable).append(ev)
            if transient:
                rt.log.apply_transient(transient)
            flushes = self._flush_at_once(decided, durable, now)
            durable += flushes
            if durable:
                try:
                    await rt.log.append(durable)
                except BaseException as exc:
                    for batch, _ in members:
                        batch.reply.finish(error=exc)
                    raise
        finally:
            registry.release(groups.keys(), token)
        for gid in groups:
            registry.wake(gid)
        if flushes:
            request_notifications(rt, flushes)
        for batch, gids in members:
            error = next((failed[g] for g in gids if g in failed), None)
            batch.reply.finish([e for g in gids for e in decided.get(g, ())], error)

    def _flush_at_once(
        self, decided: dict[str, list[GroupEvent]], received: list[GroupEvent], now: datetime
    ) -> list[GroupEvent]:
        """The flushes that the round's alerts make due at once (group_wait 0, or an alert that
        started more than group_wait ago), decided now so that they go to disk in the round's
        append and notify without waiting for another fsync or a timer.

        Each is decided on a copy of its group with the round's events applied, muted by what
        will hold once they are durable (`InhibitionTracker.preview`). Anything else a group
        needs (an expiry first, a mute source that fails) is left to its actor."""
        rt = self._rt
        world = rt.world
        candidates: list[tuple[str, GroupState]] = []
        for gid, events in decided.items():
            state = world.groups.get(gid)
            if state is None or not _may_flush_at_once(state, events, now):
                continue
            preview = state.copy()
            for ev in events:
                if type(ev) not in TRANSIENT:
                    evolve(preview, ev)
            due = due_commands(preview, now)
            if len(due) == 1 and isinstance(due[0], FlushDue):
                candidates.append((gid, preview))
        if not candidates:
            return []
        out: list[GroupEvent] = []
        tracker = rt.inhibition
        with tracker.preview(received, world) if tracker is not None else nullcontext():
            for gid, preview in candidates:
                try:
                    out += decide(preview, muted_flush(rt.mutes, preview, now), now)
                except Exception:  # its actor tries again, under supervision
                    log.debug("group %s: flush left to its actor", gid, exc_info=True)
        return out


def _may_flush_at_once(state: GroupState, events: Sequence[GroupEvent], now: datetime) -> bool:
    """A cheap test before copying a group: could `events` make its flush due at once?

    A new episode can (group_wait 0); so can an alert that started more than group_wait ago
    in a group never flushed, and a resolution dated in the past (the flush grid counts from
    it). New alerts in a flushed group wait for the next point of the grid. A large group is
    left to its actor: copying it would cost more than the fsync it saves."""
    if len(state.alerts) > _LARGEST_COPIED:
        return False
    wait = state.policy.group_wait if state.policy is not None else None
    never_flushed = state.flushed_at is None
    for ev in events:
        if isinstance(ev, GroupOpened):
            return True
        if isinstance(ev, AlertResolved):
            if ev.at < now:
                return True
        elif (
            never_flushed
            and wait is not None
            and isinstance(ev, AlertReceived)
            and arrived_late(ev.alert, wait, now)
        ):
            return True
    return False
