"""Group actors: one supervised trio task per live alert group.

Theory of operation
-------------------
A group actor owns its group's lifecycle. It loops: it computes the group's next deadline from
its state (`next_deadline`), waits for a message until then, and either decides the message's
command or, at the deadline, the timer commands that are due (`due_commands`; a flush carries
the mutes the `MuteSource` finds at that moment). Decided events go to the event log, which
makes them durable and applies them to the world; only then are notification requests handed
to the notifier (write-ahead). The actor holds no state of its own: after a crash the
supervisor restarts it and it reads the group's state from the world again.

When its episode is over (resolved, or never opened) and its mailbox is empty, the actor closes
its mailbox, leaves the registry and ends. A message sent in that instant meets a closed
mailbox; the registry then starts a fresh actor for it.

Mailboxes are bounded: a busy group makes its senders wait (backpressure), never drops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs
import trio

from tocsin.actors.eventlog import TRANSIENT
from tocsin.core.events import GroupEvent, NotificationRequested
from tocsin.core.group_state import GroupState, Phase
from tocsin.core.lifecycle import (
    Command,
    FlushDue,
    IllegalCommand,
    ReceiveAlerts,
    decide,
    due_commands,
    next_deadline,
)

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["Envelope", "GroupRegistry", "Reply"]

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


class GroupRegistry:
    """Finds or starts the actor of a group, and delivers messages to it."""

    def __init__(self, rt: Runtime, nursery: trio.Nursery, mailbox_size: int = 64) -> None:
        self._rt = rt
        self._nursery = nursery
        self._mailbox_size = mailbox_size
        self._actors: dict[str, trio.MemorySendChannel[Envelope]] = {}
        self.started = 0

    def __len__(self) -> int:
        return len(self._actors)

    def __contains__(self, group_id: object) -> bool:
        return group_id in self._actors

    async def send(self, group_id: str, envelope: Envelope) -> None:
        """Deliver `envelope` to the group's actor, starting it if needed; waits while its
        mailbox is full."""
        while True:
            chan = self._actors.get(group_id)
            if chan is None:
                chan = self.start(group_id)
            try:
                await chan.send(envelope)
                return
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                # The actor ended between lookup and send: start a new one.
                if self._actors.get(group_id) is chan:
                    del self._actors[group_id]

    def start(self, group_id: str) -> trio.MemorySendChannel[Envelope]:
        send, receive = trio.open_memory_channel[Envelope](self._mailbox_size)
        self._actors[group_id] = send
        self.started += 1
        self._nursery.start_soon(self._run, group_id, send, receive, name=f"group {group_id}")
        return send

    async def _run(
        self,
        group_id: str,
        send: trio.MemorySendChannel[Envelope],
        receive: trio.MemoryReceiveChannel[Envelope],
    ) -> None:
        rt = self._rt
        actor = GroupActor(rt, group_id, receive, lambda: self._retire(group_id, send, receive))
        await rt.supervise(f"group {group_id}", actor.run)

    def _retire(
        self,
        group_id: str,
        send: trio.MemorySendChannel[Envelope],
        receive: trio.MemoryReceiveChannel[Envelope],
    ) -> bool:
        """End the actor if its mailbox is empty. Runs without yielding, so no message slips
        in between the check and the close."""
        if receive.statistics().current_buffer_used:
            return False
        receive.close()
        if self._actors.get(group_id) is send:
            del self._actors[group_id]
        self._rt.world.forget_if_idle(group_id)
        return True


class GroupActor:
    def __init__(
        self,
        rt: Runtime,
        group_id: str,
        mailbox: trio.MemoryReceiveChannel[Envelope],
        retire: Callable[[], bool],
    ) -> None:
        self.rt = rt
        self.group_id = group_id
        self.mailbox = mailbox
        self.retire = retire

    async def run(self) -> None:
        rt, gid = self.rt, self.group_id
        while True:
            state = rt.world.group(gid)
            deadline = next_deadline(state)
            if deadline is None and state.phase in _IDLE and self._held is None and self.retire():
                return
            envelope = self._held or self._receive_nowait()
            self._held = None
            if envelope is not None:
                pass
            elif deadline is None:
                envelope = await self.mailbox.receive()
            else:
                with trio.move_on_at(rt.clock.deadline(deadline)):
                    envelope = await self.mailbox.receive()
            if envelope is None:
                await self._fire_due()
            elif isinstance(envelope.command, ReceiveAlerts):
                await self._handle(self._coalesce(envelope))
            else:
                await self._handle([envelope])

    def _receive_nowait(self) -> Envelope | None:
        # A busy group's next message is usually waiting already: take it without paying
        # for a cancel scope.
        try:
            return self.mailbox.receive_nowait()
        except trio.WouldBlock:
            return None

    def _coalesce(self, first: Envelope) -> list[Envelope]:
        """`first` and every alert batch queued right behind it: decided, journaled and
        answered together. Under load this turns many small appends into one."""
        batch = [first]
        while True:
            try:
                nxt = self.mailbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if not isinstance(nxt.command, ReceiveAlerts):
                self._held = nxt
                break
            batch.append(nxt)
        return batch

    _held: Envelope | None = None

    async def _handle(self, envelopes: list[Envelope]) -> None:
        state = self.rt.world.group(self.group_id)
        command = envelopes[0].command
        if len(envelopes) > 1:
            assert isinstance(command, ReceiveAlerts)
            alerts = tuple(a for e in envelopes for a in e.command.alerts)  # type: ignore[attr-defined]
            command = attrs.evolve(command, alerts=alerts)
        replies = [e.reply for e in envelopes if e.reply is not None]
        try:
            events = decide(state, command, self.rt.clock.now())
        except IllegalCommand as exc:
            for reply in replies:
                reply.finish(error=exc)
            return
        try:
            await self._commit(events)
        except BaseException as exc:
            for reply in replies:
                reply.finish(error=exc)
            raise
        for reply in replies:  # each learns every event of the combined decision
            reply.finish(events)

    async def _fire_due(self) -> None:
        rt, gid = self.rt, self.group_id
        now = rt.clock.now()
        for _ in range(100):
            state = rt.world.groups.get(gid)
            if state is None:
                return
            due = due_commands(state, now)
            if not due:
                return
            command = due[0]
            if isinstance(command, FlushDue):
                route_id = state.policy.route_id if state.policy else ""
                command = FlushDue(rt.mutes.mutes(state, route_id, now))
            await self._commit(decide(state, command, now))
        raise RuntimeError(f"group {gid}: timers did not settle at {now}")

    async def _commit(self, events: Sequence[GroupEvent]) -> None:
        rt = self.rt
        transient = [e for e in events if type(e) in TRANSIENT]
        durable = [e for e in events if type(e) not in TRANSIENT]
        if transient:
            rt.log.apply_transient(transient)
        if not durable:
            return
        await rt.log.append(durable)
        state: GroupState | None = None
        for ev in durable:
            if isinstance(ev, NotificationRequested):
                if state is None:
                    state = rt.world.groups.get(self.group_id) or GroupState.initial(ev.group_id)
                rt.notifier.request(ev, state)
