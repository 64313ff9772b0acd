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
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import trio

from tocsin.actors.bus import BusMessage
from tocsin.core.codec import CODEC, CodecError
from tocsin.journal import StoredRecord

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["stream_events"]

_CHUNK = 2_000


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
