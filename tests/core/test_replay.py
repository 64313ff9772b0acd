"""core.replay.fold: the one loop restart and audit rebuild state with."""

from __future__ import annotations

import gc
from typing import Any

import attrs
import pytest

from tocsin.core.codec import CODEC, UnknownEventType, to_micros
from tocsin.core.replay import fold, gc_paused, rebuild
from tocsin.core.world import World

from .lifecycle_harness import MIN, T0, Driver, alert


@attrs.frozen
class Rec:
    seq: int
    ts: int
    type: str
    version: int
    payload: Any


def _records() -> list[Rec]:
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + MIN)
    d.receive(alert("b"), at=T0 + 2 * MIN)
    d.run_until(T0 + 5 * MIN)
    out = []
    for seq, ev in enumerate(d.events, 1):
        tag, version, payload = CODEC.encode(ev)
        out.append(Rec(seq, to_micros(getattr(ev, "at", T0)), tag, version, payload))
    return out


def test_fold_equals_applying_each_event():
    recs = _records()
    expected = World()
    for r in recs:
        expected.apply(r.seq, CODEC.decode(r.type, r.version, r.payload))
    assert fold(World(), recs) == expected
    assert expected.applied_seq == len(recs)


def test_fold_stops_after_the_time_bound():
    recs = _records()
    bound = to_micros(T0 + MIN)
    w = fold(World(), recs, until_us=bound)
    assert w.applied_seq == max(r.seq for r in recs if r.ts <= bound) < len(recs)
    assert set(w.groups["g1"].alerts) == {alert("a").labels.fingerprint_hex}


def test_an_undecodable_record_raises_unless_skipped():
    recs = _records()
    recs.insert(1, Rec(99, recs[0].ts, "from.the.future", 1, {}))
    with pytest.raises(UnknownEventType):
        fold(World(), recs)
    w = fold(World(), recs, skip_undecodable=True)
    assert w == fold(World(), [r for r in recs if r.seq != 99])


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()


@attrs.frozen
class Snap:
    seq: int
    ts: int
    payload: Any


class Source:
    def __init__(self, recs: list[Rec]) -> None:
        self.recs = recs

    def read(self, after: int = 0) -> list[Rec]:
        return [r for r in self.recs if r.seq > after]


def test_rebuild_starts_from_the_snapshot_unless_it_is_after_the_moment():
    recs = _records()
    whole = fold(World(), recs)
    half = len(recs) // 2
    snap = Snap(half, recs[half - 1].ts, fold(World(), recs[:half]).to_snapshot())
    assert rebuild(Source(recs), snap) == whole
    # The snapshot is what counts up to its seq: records before it are not read again.
    assert rebuild(Source(recs[half:]), snap) == whole
    bound = recs[0].ts
    early = Snap(snap.seq, bound + 1, snap.payload)  # stamped after the moment: not used
    assert rebuild(Source(recs), early, until_us=bound) == fold(World(), recs, until_us=bound)
