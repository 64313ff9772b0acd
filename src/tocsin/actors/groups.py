"""Group actors: one supervised trio task per live alert group.

Theory of operation
-------------------
A group's state lives in the world; two kinds of task decide for it, one at a time:

* the dispatcher decides the alerts it receives, for every group an ingest round touches at
  once, and journals them in one append (`actors/dispatcher.py`);
* the group's actor decides everything else: its timers (flush, escalation, expiry; a flush
  carries the mutes the `MuteSource` finds at that moment) and the commands sent to its
  mailbox (ack, unack, manual resolve).

Whoever decides holds the group (`GroupRegistry.hold`) from reading its state until the events
are durable and applied, so no decision is ever made on a state that an in-flight decision is
about to change. Decided events go to the event log, which makes them durable and applies them
to the world; only then are notification requests handed to the notifier (write-ahead).

An actor loops: it computes the group's next deadline from its state (`next_deadline`) and
waits for a message until then. When the dispatcher changed the state, it calls `wake`, which
starts the group's actor if it has none, or brings the waiting actor's deadline forward when
the new state needs it sooner (group_wait 0: now). The actor holds no state of its own: after a
crash the supervisor restarts it and it reads the group's state from the world again.

When its episode is over (resolved, or never opened), nobody holds the group and its mailbox is
empty, the actor closes its mailbox, leaves the registry and ends. A message sent in that
instant meets a closed mailbox; the registry then starts a fresh actor for it.

Mailboxes are bounded: a busy group makes its senders wait (backpressure), never drops. They
are a list and a parked task (`Mailbox`), not a trio memory channel: with a group per alert,
a channel pair was 2 KB of every group's memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import attrs
import trio

from tocsin.actors.eventlog import TRANSIENT
from tocsin.actors.ports import next_timer_command
from tocsin.core.events import GroupEvent, NotificationRequested
from tocsin.core.group_state import GroupState, Phase
from tocsin.core.lifecycle import (
    Command,
    IllegalCommand,
    decide,
    next_deadline,
)

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["Envelope", "GroupRegistry", "Mailbox", "Reply", "request_notifications"]

log = logging.getLogger("tocsin.groups")

_IDLE = frozenset({Phase.EMPTY, Phase.RESOLVED})


class Reply:
    """Completion of one request that may span several groups (an ingest batch)."""

    def __init__(self, parts: int = 1) -> None:
        self.remaining = parts
        self.done = trio.Event()
        self.events: list[GroupEvent] = []
        self.errors: list[BaseException] = []
        if parts == 0:
            self.done.set()

    def add_parts(self, n: int) -> None:
        self.remaining += n

    def finish(self, events: Sequence[GroupEvent] = (), error: BaseException | None = None) -> None:
        self.events.extend(events)
        if error is not None:
            self.errors.append(error)
        self.remaining -= 1
        if self.remaining <= 0:
            self.done.set()

    async def wait(self) -> list[GroupEvent]:
        """The events decided, once every part finished. Raises the first error."""
        await self.done.wait()
        if self.errors:
            raise self.errors[0]
        return self.events


@attrs.frozen
class Envelope:
    command: Command
    reply: Reply | None = None


def request_notifications(rt: Runtime, events: Sequence[GroupEvent]) -> None:
    """Hand the durable `NotificationRequested` among `events` to the notifier."""
    world, notifier = rt.world, rt.notifier
    for ev in events:
        if isinstance(ev, NotificationRequested):
            state = world.groups.get(ev.group_id) or GroupState.initial(ev.group_id)
            notifier.request(ev, state)


class Mailbox:
    """A group actor's bounded mailbox: a list and at most one waiting receiver.

    A trio memory channel pair costs about 2 KB; with a group per alert that was a fifth of
    each group's memory (benchmarks/runtime.py), for a mailbox that only ever carries the odd
    ack or resolve. Same semantics where the actors rely on them: `send` waits while full
    (backpressure), and raises `trio.ClosedResourceError` once closed; `receive` and `send`
    are checkpoints; a message handed over is never lost to a cancellation.
    """

    __slots__ = ("_closed", "_items", "_receiver", "_size", "_space")

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: list[Envelope] | None = None  # made on first use: most never get one
        self._receiver: trio.lowlevel.Task | None = None
        self._space: trio.Event | None = None  # set when a full mailbox gets room
        self._closed = False

    def __len__(self) -> int:
        return len(self._items) if self._items else 0

    async def send(self, item: Envelope) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._closed:
                raise trio.ClosedResourceError("the actor's mailbox is closed")
            if len(self) < self._size:
                break
            if self._space is None:
                self._space = trio.Event()
            await self._space.wait()
        if self._items is None:
            self._items = []
        self._items.append(item)
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            trio.lowlevel.reschedule(receiver)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def receive_nowait(self) -> Envelope:
        """The oldest message; `trio.WouldBlock` when there is none."""
        if not self._items:
            raise trio.WouldBlock
        return self._pop()

    def _pop(self) -> Envelope:
        item = self._items.pop(0)  # type: ignore[union-attr]
        self._wake_senders()
        return item

    async def receive(self) -> Envelope:
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._items:
            item = self._pop()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return item
        if self._closed:
            raise trio.EndOfChannel
        # No exception is raised and kept while waiting: an idle actor waits here for good,
        # and a live WouldBlock with its traceback cost ~0.6 KB per group.
        self._receiver = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)
        return self._pop()  # woken by a send: its message is there

    def _abort(self, _: object) -> trio.lowlevel.Abort:
        self._receiver = None
        return trio.lowlevel.Abort.SUCCEEDED

    def _wake_senders(self) -> None:
        """Let senders waiting for room look again (room was made, or the mailbox closed)."""
        space = self._space
        if space is not None:
            self._space = None
            space.set()

    def close(self) -> None:
        """Refuse further sends. Only the actor closes it, and only when it is empty."""
        self._closed = True
        self._wake_senders()


class GroupRegistry:
    """Finds or starts the actor of a group, delivers messages to it, and says who holds it."""

    def __init__(self, rt: Runtime, nursery: trio.Nursery, mailbox_size: int = 64) -> None:
        self._rt = rt
        self._nursery = nursery
        self._mailbox_size = mailbox_size
        self._actors: dict[str, GroupActor] = {}
        self._held: dict[str, trio.Event] = {}  # group id -> set when its holder lets go
        self.started = 0

    def __len__(self) -> int:
        return len(self._actors)

    def __contains__(self, group_id: object) -> bool:
        return group_id in self._actors

    # -- who decides ------------------------------------------------------------------------
    def held(self, group_id: str) -> bool:
        """True while a decision for the group is in flight (decided, not yet applied)."""
        return group_id in self._held

    async def hold(self, group_ids: Collection[str]) -> trio.Event:
        """Wait until nobody holds any of `group_ids`, then hold them all. Give the returned
        token to `release`."""
        held = self._held
        while True:
            for gid in group_ids:
                busy = held.get(gid)
                if busy is not None:
                    break
            else:
                break
            await busy.wait()
        token = trio.Event()
        for gid in group_ids:
            held[gid] = token
        return token

    def release(self, group_ids: Collection[str], token: trio.Event) -> None:
        held = self._held
        for gid in group_ids:
            if held.get(gid) is token:
                del held[gid]
        token.set()

    def wake(self, group_id: str) -> None:
        """Someone other than the actor changed the group's state: start its actor if the
        group is live and has none, or bring the waiting actor's deadline forward."""
        world = self._rt.world
        state = world.groups.get(group_id)
        actor = self._actors.get(group_id)
        if actor is None:
            if state is None:
                return
            if state.phase in _IDLE:
                world.forget_if_idle(group_id)
            else:
                self.start(group_id)
            return
        scope = actor.waiting
        if scope is None:
            return  # not waiting: it reads the state again before it next waits
        if state is None or state.phase in _IDLE:
            scope.cancel()  # let it look again, and end if nothing is left
            return
        due = next_deadline(state)
        if due is not None:
            at = self._rt.clock.deadline(due)
            if at < scope.deadline:
                scope.deadline = at

    # -- messages -----------------------------------------------------------------------
    async def send(self, group_id: str, envelope: Envelope) -> None:
        """Deliver `envelope` to the group's actor, starting it if needed; waits while its
        mailbox is full."""
        while True:
            actor = self._actors.get(group_id)
            mailbox = actor.mailbox if actor is not None else self.start(group_id)
            try:
                await mailbox.send(envelope)
                return
            except trio.ClosedResourceError:
                # The actor ended between lookup and send: start a new one.
                found = self._actors.get(group_id)
                if found is not None and found.mailbox is mailbox:
                    del self._actors[group_id]

    def start(self, group_id: str) -> Mailbox:
        mailbox = Mailbox(self._mailbox_size)
        actor = self._actors[group_id] = GroupActor(self._rt, group_id, mailbox)
        self.started += 1
        name = f"group {group_id}"
        self._nursery.start_soon(self._rt.supervise, name, actor.run, name=name)
        return mailbox

    def _retire(self, group_id: str, actor: GroupActor) -> bool:
        """End the actor if nobody holds the group and its mailbox is empty. Runs without
        yielding, so no message or decision slips in between the check and the close."""
        if group_id in self._held or len(actor.mailbox):
            return False
        actor.mailbox.close()
        if self._actors.get(group_id) is actor:
            del self._actors[group_id]
        self._rt.world.forget_if_idle(group_id)
        return True


class GroupActor:
    """A group's actor: its mailbox, its wait while it has one, and the loop the supervisor
    runs (and runs again after a crash). One small object per live group, slotted: with a
    group per alert every object an actor keeps is 100k objects for the collector to walk
    (restart spent ~3 s collecting while the actors started)."""

    __slots__ = ("group_id", "mailbox", "rt", "waiting")

    def __init__(self, rt: Runtime, group_id: str, mailbox: Mailbox) -> None:
        self.rt = rt
        self.group_id = group_id
        self.mailbox = mailbox
        self.waiting: trio.CancelScope | None = None

    def retire(self) -> bool:
        return self.rt.registry._retire(self.group_id, self)

    async def run(self) -> None:
        rt, gid = self.rt, self.group_id
        while True:
            state = rt.world.group(gid)
            deadline = next_deadline(state)
            if deadline is None and state.phase in _IDLE and self.retire():
                return
            envelope = self._receive_nowait()
            if envelope is None:
                at = math.inf if deadline is None else rt.clock.deadline(deadline)
                with trio.CancelScope(deadline=at) as scope:
                    self.waiting = scope
                    try:
                        envelope = await self.mailbox.receive()
                    finally:
                        self.waiting = None
            if envelope is None:
                await self._fire_due()
            else:
                await self._handle(envelope)

    def _receive_nowait(self) -> Envelope | None:
        # A busy group's next message is usually waiting already: take it without paying
        # for a cancel scope. Asked, not tried: most actors find nothing, and raising
        # WouldBlock for each was a cost of every actor's start.
        mailbox = self.mailbox
        return mailbox.receive_nowait() if len(mailbox) else None

    async def _handle(self, envelope: Envelope) -> None:
        registry = self.rt.registry
        reply = envelope.reply
        token = await registry.hold((self.group_id,))
        try:
            state = self.rt.world.group(self.group_id)
            try:
                events = decide(state, envelope.command, self.rt.clock.now())
            except IllegalCommand as exc:
                if reply is not None:
                    reply.finish(error=exc)
                return
            try:
                await self._commit(events)
            except BaseException as exc:
                if reply is not None:
                    reply.finish(error=exc)
                raise
        finally:
            registry.release((self.group_id,), token)
        request_notifications(self.rt, events)
        if reply is not None:
            reply.finish(events)

    async def _fire_due(self) -> None:
        rt, gid, registry = self.rt, self.group_id, self.rt.registry
        token = await registry.hold((gid,))
        try:
            now = rt.clock.now()
            for _ in range(100):
                state = rt.world.groups.get(gid)
                if state is None:
                    return
                command = next_timer_command(rt.mutes, state, now)
                if command is None:
                    return
                events = decide(state, command, now)
                await self._commit(events)
                request_notifications(rt, events)
        finally:
            registry.release((gid,), token)
        raise RuntimeError(f"group {gid}: timers did not settle at {now}")

    async def _commit(self, events: Sequence[GroupEvent]) -> None:
        rt = self.rt
        transient = [e for e in events if type(e) in TRANSIENT]
        durable = [e for e in events if type(e) not in TRANSIENT]
        if transient:
            rt.log.apply_transient(transient)
        if durable:
            await rt.log.append(durable)
