"""The resumable event stream: the journal from a sequence number, then live, with no gap and
no duplicate.

Theory of operation
-------------------
A consumer asks for every event after `since`. The stream first subscribes to the bus (so
nothing published from now on is missed), then notes `upto`, the last sequence number already
applied (every event up to it is durable), and reads the journal from `since` to `upto` in a
worker thread, in chunks. Then it yields the live events from its subscription, skipping any it
already yielded from the journal (events applied between subscribing and noting `upto` are in
both). Every event is yielded once, in sequence order.

The subscription's buffer is bounded. A consumer that falls behind is cut off with
`SubscriberFellBehind` (carrying the last sequence number it was sent) and resumes by asking
again from there: a slow dashboard never slows ingest.

`stream_events` costs one bus subscription, one buffer and one wake-up per event per
consumer. For many consumers of the same events (a hundred websocket clients) there is
`SharedStream`: while anyone is attached, one subscription feeds one `Feed`, a task that
takes each burst from the bus at once and encodes each event once; the feed keeps the last
`capacity` events (at least) with their encodings. A consumer reads the journal until it
reaches what the feed holds, then follows it with a `Cursor` and takes everything new in one
slice when it pleases. The bounded buffer per consumer stays what it was: each append checks
every cursor, and one more than `capacity` behind gets the `capacity` events after its place
(what its buffer would have held) and then must stop and resume from the journal.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, NamedTuple

import trio

from tocsin.actors.bus import BusMessage, SubscriberFellBehind, Subscription
from tocsin.core.codec import CODEC, CodecError
from tocsin.journal import StoredRecord

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = [
    "Batch",
    "Cursor",
    "Encoder",
    "Feed",
    "SharedStream",
    "SharedStreamStatistics",
    "stream_events",
]

_CHUNK = 2_000
_FEED_BUS_BUFFER = 65_536

#: Turns an event into what consumers send (for the websocket: a ready-made frame).
Encoder = Callable[[BusMessage], bytes]


class Batch(NamedTuple):
    """Consecutive events as a feed holds them: parallel lists of their seq, type tag, group
    id (None for events of no group) and encoding. No event objects: a feed keeps thousands
    of these alive, and plain ints, strings and bytes cost the garbage collector nothing."""

    seqs: list[int]
    types: list[str]
    groups: list[str | None]
    data: list[bytes]

    def part(self, start: int, stop: int | None = None) -> Batch:
        """The events from index `start` to `stop`."""
        key = slice(start, stop)
        return Batch(self.seqs[key], self.types[key], self.groups[key], self.data[key])

    @classmethod
    def empty(cls) -> Batch:
        return cls([], [], [], [])

    @classmethod
    def of(cls, msgs: list[BusMessage], data: list[bytes]) -> Batch:
        return cls(
            [m.seq for m in msgs],
            [m.event.TYPE for m in msgs],
            [getattr(m.event, "group_id", None) for m in msgs],
            data,
        )


async def stream_events(
    rt: Runtime, since: int = 0, *, name: str = "stream", buffer: int = 10_000
) -> AsyncIterator[BusMessage]:
    """Every durable event with seq > `since`: first from the journal, then live.

    Raises `SubscriberFellBehind` when the consumer falls `buffer` events behind, and the
    journal's `RecordsCompacted` when `since` lies before what retention kept.
    """
    with rt.bus.subscribe(name, size=buffer) as sub:
        upto = rt.world.applied_seq
        last = since
        if since < upto:
            records: Iterator[StoredRecord] = rt.journal.read(after=since)
            while last < upto:
                chunk = await trio.to_thread.run_sync(_take, records)
                if not chunk:
                    break
                for rec in chunk:
                    if rec.seq > upto:
                        break  # the rest comes live
                    try:
                        event = CODEC.decode(rec.type, rec.version, rec.payload)
                    except CodecError:
                        continue  # a record this Tocsin cannot read: skipped, not fatal
                    yield BusMessage(rec.seq, rec.ts, event)
                    last = rec.seq
                if chunk[-1].seq >= upto:
                    break
        last = max(last, upto)
        async for msg in sub:
            if msg.seq > last:
                last = msg.seq
                yield msg


def _take(records: Iterator[StoredRecord]) -> list[StoredRecord]:
    return list(itertools.islice(records, _CHUNK))


class Cursor:
    """A live consumer's place in a `Feed`: the last seq it took. Once it falls more than
    `capacity` events behind, `cut` holds what its buffer would have held: the next
    `capacity` events. It takes those, then must stop and resume from the journal."""

    __slots__ = ("cut", "seq")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.cut: Batch | None = None


class Feed:
    """One bus subscription shared by many consumers, its events kept encoded.

    Holds the encoded events with seq in (`low`, `head`], at least the last `capacity` of
    them. A consumer below `low` reads the journal until it reaches `low`, then `follow`s the
    feed with a `Cursor`, takes what is new with `take` and waits with `wait_beyond`. Each
    batch appended checks every cursor, as the bus checks each subscriber's buffer: one more
    than `capacity` behind is cut off (see `Cursor`). When the feed itself falls behind the
    bus (its task starved while its bus buffer filled), `broken` is set and every consumer
    must stop.
    """

    def __init__(
        self,
        rt: Runtime,
        sub: Subscription,
        encode: Encoder,
        capacity: int,
        *,
        close: Callable[[], None],
    ) -> None:
        self.rt = rt
        self.close = close
        # Subscribed before reading applied_seq: every event after it reaches the feed.
        self.low = self.head = rt.world.applied_seq
        self.capacity = capacity
        self.users = 0
        self.broken: SubscriberFellBehind | None = None
        self._sub = sub
        self._encode = encode
        self._held = Batch.empty()
        self._cursors: set[Cursor] = set()
        self._changed = trio.Event()
        self._joined: tuple[tuple[int, int], bytes] = ((0, 0), b"")

    def after(self, seq: int) -> Batch:
        """The held events with seq > `seq`. Empty when `seq` is below `low` (those events
        are no longer held: read the journal) or at `head`."""
        if seq < self.low or seq >= self.head:
            return Batch.empty()
        return self._held.part(bisect.bisect_right(self._held.seqs, seq))

    @contextmanager
    def follow(self, seq: int) -> Iterator[Cursor]:
        """A cursor at `seq` (>= `low`), checked at every append while the block runs."""
        if seq < self.low:
            raise ValueError(f"seq {seq} is below what the feed holds (after {self.low})")
        cursor = Cursor(seq)
        self._cursors.add(cursor)
        try:
            yield cursor
        finally:
            self._cursors.discard(cursor)

    def take(self, cursor: Cursor) -> tuple[Batch, bool]:
        """What is new for `cursor`, and whether it fell behind (then this is its last take)."""
        if cursor.cut is not None:
            return cursor.cut, True
        new = self.after(cursor.seq)
        if new.seqs:
            cursor.seq = new.seqs[-1]
        return new, False

    def joined(self, batch: Batch) -> bytes:
        """`batch.data` in one piece. Consumers that wake together take the same range, so
        the last one is kept: they share one copy instead of making one each."""
        key = (batch.seqs[0], batch.seqs[-1])
        if self._joined[0] != key:
            self._joined = (key, b"".join(batch.data))
        return self._joined[1]

    async def wait_beyond(self, seq: int) -> None:
        """Wait until the feed holds an event after `seq`, or is broken."""
        while self.head <= seq and self.broken is None:
            await self._changed.wait()

    async def run(self) -> None:
        """Move events from the bus into the feed, encoded, until the subscription ends."""
        sub = self._sub
        try:
            while True:
                batch = [await sub.receive()]
                batch += sub.drain()
                self._append(batch)
        except SubscriberFellBehind as exc:
            self.broken = exc
        except trio.EndOfChannel:
            pass
        finally:
            self._notify()

    def _append(self, msgs: list[BusMessage]) -> None:
        held, new = self._held, Batch.of(msgs, list(map(self._encode, msgs)))
        held.seqs.extend(new.seqs)
        held.types.extend(new.types)
        held.groups.extend(new.groups)
        held.data.extend(new.data)
        self.head = head = msgs[-1].seq
        capacity = self.capacity
        for cursor in self._cursors:
            if cursor.cut is None and head - cursor.seq > capacity:
                cursor.cut = self.after(cursor.seq).part(0, capacity)
        # Every uncut cursor is within the last `capacity` events; trim in large steps, so
        # amortised O(1) per event.
        excess = len(held.seqs) - capacity
        if excess >= capacity:
            self.low = held.seqs[excess - 1]
            for column in held:
                del column[:excess]
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class SharedStreamStatistics(NamedTuple):
    """A snapshot: consumers attached now; since the start, consumers cut off for falling
    behind, and connections aborted because a write to them stayed blocked (the peer had
    stopped reading; these are not in `cut_off`)."""

    users: int
    cut_off: int
    aborted: int


class SharedStream:
    """Live events for many consumers at the cost of one: while anyone is attached, one bus
    subscription feeds a `Feed` that encodes each event once for all of them."""

    def __init__(self, encode: Encoder, *, capacity: int = 10_000) -> None:
        self.encode = encode
        self.capacity = capacity
        self._feed: Feed | None = None
        self._cut_off = 0
        self._aborted = 0

    def note_cut_off(self) -> None:
        """A consumer fell behind and was cut off (its buffer was full)."""
        self._cut_off += 1

    def note_aborted(self) -> None:
        """A consumer had stopped reading: its connection was aborted."""
        self._aborted += 1

    def statistics(self) -> SharedStreamStatistics:
        feed = self._feed
        users = 0 if feed is None else feed.users
        return SharedStreamStatistics(users, self._cut_off, self._aborted)

    @contextmanager
    def attach(self, rt: Runtime) -> Iterator[Feed]:
        """The feed of `rt`'s live events, started if need be: every event published from
        now on is in it (until trimmed)."""
        feed = self._feed
        if feed is None or feed.broken is not None or feed.rt is not rt:
            feed = self._feed = self._start(rt)
        feed.users += 1
        try:
            yield feed
        finally:
            feed.users -= 1
            if feed.users == 0:
                feed.close()  # ends the subscription: the feed's task returns
                if self._feed is feed:
                    self._feed = None

    def _start(self, rt: Runtime) -> Feed:
        stack = ExitStack()
        # A roomy bus buffer (memory is taken only as it fills): the feed's task drains it a
        # burst at a time, so only a loop that starves that task for this many events breaks
        # the feed.
        size = max(4 * self.capacity, _FEED_BUS_BUFFER)
        sub = stack.enter_context(rt.bus.subscribe("stream-feed", size=size))
        feed = Feed(rt, sub, self.encode, self.capacity, close=stack.close)
        rt.nursery.start_soon(feed.run)
        return feed
