"""The world fold: groups come and go, silences fold, snapshots round-trip exactly."""

from __future__ import annotations

import msgpack

from tocsin.core.events import SilenceCreated, SilenceData, SilenceExpired
from tocsin.core.lifecycle import ManualResolve
from tocsin.core.world import World

from .lifecycle_harness import ESCALATING, HOUR, MIN, T0, Driver, alert


def _fold(events) -> World:
    w = World()
    for seq, ev in enumerate(events, 1):
        w.apply(seq, ev)
    return w


def test_snapshot_round_trips_through_msgpack():
    d = Driver(ESCALATING)
    d.receive(alert("a"))
    d.run_until(T0 + 20 * MIN)
    sil = SilenceData("s1", (("alertname", "=", "Boom"),), T0, T0 + HOUR, "ops", "x")
    events = [*d.events, SilenceCreated(sil, T0)]
    w = _fold(events)
    packed = msgpack.packb(w.to_snapshot(), use_bin_type=True)
    back = World.from_snapshot(msgpack.unpackb(packed, raw=False, strict_map_key=False))
    assert back == w
    assert back.groups["g1"] == d.state
    assert back.applied_seq == len(events)
    # Equal states make byte-identical snapshots.
    assert msgpack.packb(back.to_snapshot(), use_bin_type=True) == packed


def test_an_ended_group_leaves_memory_but_keeps_its_episode_count():
    d = Driver()
    d.receive(alert("a"))
    d.run_until(T0 + MIN)
    d.do(ManualResolve(by="x"), at=T0 + 2 * MIN)
    w = _fold(d.events)
    assert "g1" in w.groups  # deliveries still pending
    from datetime import timedelta

    from tocsin.core.events import NotificationDelivered

    for i, nid in enumerate(list(w.groups["g1"].pending)):
        w.apply(100 + i, NotificationDelivered("g1", nid, "team", "log", 1, None, timedelta(0), T0))
    assert "g1" not in w.groups and w.finished == {"g1": 1}
    assert w.group("g1").episode == 1  # the next episode will be 2


def test_silence_events_fold():
    sil = SilenceData("s1", (("a", "=", "b"),), T0, T0 + HOUR, "ops", "x")
    w = _fold([SilenceCreated(sil, T0), SilenceExpired("s1", "ops", T0 + MIN)])
    assert w.silences["s1"].ends_at == T0 + MIN
