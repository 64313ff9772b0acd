"""The event log: append events durably, then apply and publish them in sequence order.

Theory of operation
-------------------
Actors decide, then call `append(events)`. The events are encoded and handed to the journal,
which groups concurrent appends into one write and one fsync (group commit) and returns their
sequence numbers once they are durable. Only then are they applied to the `World` and published
on the bus — write-ahead: nothing in memory, on the stream or on the wire is ahead of the disk.

Appenders wake up in any order after a group commit, but the world must see events in sequence
order (a snapshot at seq N must hold exactly the events up to N). So each appender waits for its
turn: it applies its events when every lower sequence number has been applied. That wait is
shielded from cancellation: records that are on disk are always applied, or the memory would
disagree with the journal.

Events that are not journaled (`AlertRefreshed`: a re-send only moved `endsAt`;
`GroupChecked`: a flush found nothing new) are applied at once with `apply_transient`;
snapshots carry their effect to disk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from tocsin.actors.bus import EventBus
from tocsin.actors.clock import Clock
from tocsin.core.codec import CODEC, to_micros
from tocsin.core.events import AlertRefreshed, Event, GroupChecked
from tocsin.core.world import World
from tocsin.journal import Journal, RecordDraft

__all__ = ["TRANSIENT", "EventLog"]

#: Event types applied in memory but not journaled (see the module docstring).
TRANSIENT: frozenset[type[Event]] = frozenset({AlertRefreshed, GroupChecked})


class EventLog:
    def __init__(self, journal: Journal, world: World, bus: EventBus, clock: Clock) -> None:
        self.journal = journal
        self.world = world
        self.bus = bus
        self.clock = clock
        self.listeners: list[Callable[[Event, World], None]] = []  # after each durable apply
        self._turns: dict[int, trio.Event] = {}  # first seq of a waiting appender -> its turn
        self.appended = 0

    async def append(self, events: Sequence[Event]) -> list[int]:
        """Make `events` durable, then apply and publish them. Returns their sequence numbers.

        Raises the journal's errors (`JournalWriteError`, `JournalClosed`); on error nothing
        was applied.
        """
        if not events:
            return []
        ts = to_micros(self.clock.now())
        drafts = [RecordDraft(ts, *CODEC.encode(ev)) for ev in events]
        seqs = await self.journal.append(drafts)
        world, bus = self.world, self.bus
        with trio.CancelScope(shield=True):
            if world.applied_seq != seqs[0] - 1:
                turn = self._turns[seqs[0]] = trio.Event()
                await turn.wait()
            listeners = self.listeners
            for seq, ev in zip(seqs, events, strict=True):
                world.apply(seq, ev)
                for listener in listeners:
                    listener(ev, world)
                bus.publish(seq, ts, ev)
            self.appended += len(events)
            successor = self._turns.pop(world.applied_seq + 1, None)
            if successor is not None:
                successor.set()
        return seqs

    def apply_transient(self, events: Sequence[Event]) -> None:
        for ev in events:
            self.world.apply(0, ev)
