"""A channel actor's mailbox: bounded, ordered per group, coalescing when full.

Theory of operation
-------------------
Notifications wait in arrival order. A worker takes the oldest one whose group has nothing in
flight (`take`), and gives the group back when done (`done`), so two notifications of one group
never overlap and a group's notifications go out in the order they were requested — a resolve
never overtakes its trigger, even while the trigger is being retried.

`put_nowait` never blocks (the runtime's notifier must not). Below `capacity` it appends. At
capacity, a notification for a group that already has one waiting *replaces* it in place (the
newer one says everything the older one did: same group, later state) and the replaced one is
returned so the actor records it as coalesced. A group with nothing waiting still gets its one
slot beyond capacity: dropping it would lose a notification, and one slot per group is bounded
by the groups the runtime holds.

`close` (the actor is retired by a config reload): nothing new is offered, what waits is still
taken, and `take` returns None once nothing is left.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

import trio

__all__ = ["Mailbox"]


class _Item(Protocol):
    @property
    def group_id(self) -> str: ...


T = TypeVar("T", bound=_Item)


class Mailbox(Generic[T]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._waiting: OrderedDict[int, T] = OrderedDict()
        self._last_of_group: dict[str, int] = {}  # group -> key of its newest waiting item
        self._busy: set[str] = set()
        self._seq = 0
        self._changed = trio.Event()
        self.closed = False
        self.coalesced = 0
        self.over_capacity = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def put_nowait(self, item: T) -> T | None:
        """Queue `item`. Returns the waiting item it replaced (coalesced), if any."""
        gid = item.group_id
        if len(self._waiting) >= self.capacity:
            key = self._last_of_group.get(gid)
            if key is not None:
                old = self._waiting[key]
                self._waiting[key] = item
                self.coalesced += 1
                return old
            self.over_capacity += 1
        self._seq += 1
        self._waiting[self._seq] = item
        self._last_of_group[gid] = self._seq
        self._wake()
        return None

    async def take(self) -> T | None:
        """The oldest waiting item whose group is not in flight; its group is then in flight.
        None when the mailbox is closed and empty."""
        while True:
            if self.closed and not self._waiting:
                return None
            for key, item in self._waiting.items():
                gid = item.group_id
                if gid not in self._busy:
                    del self._waiting[key]
                    if self._last_of_group.get(gid) == key:
                        del self._last_of_group[gid]
                    self._busy.add(gid)
                    return item
            await self._changed.wait()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def done(self, item: T) -> None:
        self._busy.discard(item.group_id)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def waiting(self) -> list[T]:
        return list(self._waiting.values())
