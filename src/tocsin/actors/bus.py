"""The event bus: every durable event, in sequence order, to whoever listens.

Subscribers get a bounded buffer each. Publishing never waits: a subscriber whose buffer is
full has fallen behind and is cut off with a clear reason (`SubscriberFellBehind`), so a slow
dashboard can never slow ingest. It resumes by reading the journal from the last sequence
number it saw and subscribing again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import trio

from tocsin.core.events import Event

__all__ = ["BusMessage", "EventBus", "SubscriberFellBehind", "Subscription"]

log = logging.getLogger("tocsin.bus")


@attrs.frozen
class BusMessage:
    seq: int
    ts: int
    event: Event


class SubscriberFellBehind(Exception):
    """The subscriber's buffer filled up; it was cut off at `last_seq` and must resume."""

    def __init__(self, name: str, last_seq: int, size: int) -> None:
        super().__init__(
            f"subscriber {name} fell behind (buffer of {size} full after seq {last_seq}); "
            f"resume from seq {last_seq}"
        )
        self.last_seq = last_seq


class Subscription:
    def __init__(self, bus: EventBus, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._send, self._receive = trio.open_memory_channel[BusMessage](size)
        self._bus = bus
        self.last_seq = 0
        self.fell_behind: SubscriberFellBehind | None = None

    def _offer(self, msg: BusMessage) -> bool:
        try:
            self._send.send_nowait(msg)
        except trio.WouldBlock:
            self.fell_behind = SubscriberFellBehind(self.name, self.last_seq, self.size)
            self._send.close()
            return False
        except trio.ClosedResourceError:
            return False
        self.last_seq = msg.seq
        return True

    async def receive(self) -> BusMessage:
        """The next message. Raises `SubscriberFellBehind` once cut off (after the buffer
        drains), `trio.EndOfChannel` when the bus closed the subscription."""
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            if self.fell_behind is not None:
                raise self.fell_behind from None
            raise

    def drain(self) -> list[BusMessage]:
        """Every message already waiting, without a checkpoint per message (a consumer that
        takes bursts: one `receive` to wait, then `drain`). Never raises: the end of the
        subscription shows at the next `receive`."""
        out: list[BusMessage] = []
        receive_nowait = self._receive.receive_nowait
        while True:
            try:
                out.append(receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return out

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BusMessage:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self.published = 0

    @contextmanager
    def subscribe(self, name: str, size: int = 10_000) -> Iterator[Subscription]:
        sub = Subscription(self, name, size)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            sub._send.close()

    def publish(self, seq: int, ts: int, event: Event) -> None:
        """Offer a durable event to every subscriber; never blocks."""
        self.published += 1
        if not self._subs:
            return
        msg = BusMessage(seq, ts, event)
        for sub in list(self._subs):
            if not sub._offer(msg):
                self._subs.discard(sub)
                if sub.fell_behind is not None:
                    log.warning("%s", sub.fell_behind)

    def statistics(self) -> dict[str, Any]:
        return {"subscribers": len(self._subs), "published": self.published}
