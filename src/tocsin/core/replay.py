"""Folding journal records into a `World`: the one replay loop that restart and audit share.

The daemon's restart (`actors.runtime.recover_world`), `tocsin journal state` and the
benchmarks all rebuild state the same way, so "the state at 03:12" is exactly what the
daemon held at 03:12. Records are anything with `seq`, `ts`, `type`, `version` and `payload`
(the journal's `StoredRecord`); this module does no I/O and never reads the clock.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Protocol

from tocsin.core.codec import CODEC, Codec, CodecError
from tocsin.core.world import World

__all__ = ["GC_THRESHOLDS", "RecordLike", "fold", "gc_paused", "rebuild", "tune_gc"]


class RecordLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def payload(self) -> Any: ...


class SnapshotLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> int: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class Source(Protocol):
    """Where the records come from: the journal, or its read-only reader."""

    def read(self, after: int = 0) -> Iterable[RecordLike]: ...


#: Tocsin's collector thresholds (`gc.set_threshold`), for the daemon and every command.
#: Measured: with a large live heap (100k alerts), the defaults (700, 10, 10) run collections
#: often enough to cost up to 2x ingest throughput (a group per alert: 239-348 -> 178-223 µs
#: of CPU per alert, in process) and to triple the read of a journal in `tocsin simulate`
#: (2.7 -> 1.0 s for a week of 10,000 alerts); the state is mostly acyclic, so collecting far
#: less often loses nothing. The in-process benchmarks apply the same.
GC_THRESHOLDS: Final = (50_000, 20, 100)


def tune_gc() -> None:
    """Apply `GC_THRESHOLDS` to this process."""
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic collector around a replay.

    A replay allocates millions of long-lived objects in one go and the collector would rescan
    them over and over: with it running, replay took 1.8× as long (benchmarks/journal.py).
    With `freeze`, what survived is then moved out of the collector's way for good
    (`gc.freeze`): right for the daemon, whose state lives for the process's life.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Freeze before enabling: the first allocation after `enable` would otherwise start a
        # collection that walks everything the replay built (measured: ~4% of a replay).
        if freeze:
            gc.freeze()
        if was:
            gc.enable()


def fold(
    world: World,
    records: Iterable[RecordLike],
    *,
    until_us: int | None = None,
    skip_undecodable: bool = False,
    codec: Codec = CODEC,
) -> World:
    """Apply `records`, in order, to `world` and return it.

    Stops before the first record stamped after `until_us` (microseconds since the epoch).
    A record this Tocsin cannot decode raises `CodecError`, unless `skip_undecodable` (audit
    tools reading a journal written by a newer version) — then it is passed over.
    """
    decode = codec.decode
    apply = world.apply
    if until_us is None and not skip_undecodable:
        for rec in records:
            apply(rec.seq, decode(rec.type, rec.version, rec.payload))
        return world
    for rec in records:
        if until_us is not None and rec.ts > until_us:
            break
        try:
            ev = decode(rec.type, rec.version, rec.payload)
        except CodecError:
            if not skip_undecodable:
                raise
            continue
        apply(rec.seq, ev)
    return world


def rebuild(
    source: Source,
    snapshot: SnapshotLike | None,
    *,
    until_us: int | None = None,
    skip_undecodable: bool = False,
) -> World:
    """The world from `snapshot` (the caller picks it: the newest, or the newest taken by a
    moment; None, or one stamped after `until_us`: from nothing), then every later record of
    `source` up to `until_us` (`fold`). Raises what reading raises, e.g. the journal's
    `RecordsCompacted` when the records after the snapshot are no longer all stored."""
    if snapshot is None or (until_us is not None and snapshot.ts > until_us):
        world = World()
    else:
        world = World.from_snapshot(snapshot.payload)
        world.applied_seq = snapshot.seq
    return fold(
        world,
        source.read(after=world.applied_seq),
        until_us=until_us,
        skip_undecodable=skip_undecodable,
    )
