"""Snapshot format 2: alerts as rows into one string table; format 1 still read."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from tocsin.core.codec import CODEC
from tocsin.core.events import ResolveReason, SilenceCreated, SilenceData
from tocsin.core.lifecycle import ManualResolve
from tocsin.core.snapshot import SNAPSHOT_FORMAT
from tocsin.core.world import World

from .lifecycle_harness import ESCALATING, HOUR, MIN, SEC, T0, Driver, alert


def _world() -> World:
    """Three groups in different phases; alerts with and without endsAt, resolved by expiry
    and by hand, unicode and empty values, empty annotations."""
    w = World()
    seq = 0

    def feed(events: list[Any]) -> None:
        nonlocal seq
        for ev in events:
            seq += 1
            w.apply(seq, ev)

    d1 = Driver(ESCALATING, group_id="g1")
    d1.receive(alert("a", ends=T0 + 4 * MIN, service="api", env="prod"))
    d1.receive(alert("b", summary="ça casse — 💥", service="api", env="prod"))
    d1.run_until(T0 + 20 * MIN)  # escalation moved on
    later = T0 + 20 * MIN + 10 * SEC
    d1.receive(alert("e", ends=later + 20 * SEC, service="api", env="prod"), at=later)
    d1.receive(alert("g", service="api", env="prod"), at=later)
    d1.receive(alert("g", ends=later, service="api", env="prod"), at=later)  # sent resolved
    d1.run_until(later + 21 * SEC)  # "e" expired; neither resolution notified yet
    feed(d1.events)
    d2 = Driver(group_id="g2")
    a = alert("c", env="prod")
    d2.receive(type(a)(a.labels, type(a.annotations)(), a.starts_at, None, ""))
    d2.run_until(T0 + MIN)
    d2.do(ManualResolve(by="ops"), at=T0 + 2 * MIN)
    feed(d2.events)
    d3 = Driver(group_id="g3")
    d3.receive(alert("d", env="", team="x"))  # still pending: no flush yet
    feed(d3.events)
    sil = SilenceData("s1", (("alertname", "=", "Boom"),), T0, T0 + HOUR, "ops", "x")
    feed([SilenceCreated(sil, T0)])
    return w


def _pack(payload: dict[str, Any]) -> bytes:
    return msgpack.packb(payload, use_bin_type=True)


def _unpack(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = msgpack.unpackb(data, raw=False, strict_map_key=False)
    return out


def test_a_world_round_trips_exactly_and_byte_identically():
    w = _world()
    payload = w.to_snapshot()
    assert payload["format"] == SNAPSHOT_FORMAT == 2
    packed = _pack(payload)
    back = World.from_snapshot(_unpack(packed))
    assert back == w
    for gid, g in w.groups.items():
        for fp, st in g.alerts.items():
            got = back.groups[gid].alerts[fp]
            assert got == st
            assert got.alert.labels.fingerprint_hex == fp
            assert got.alert.labels.fingerprint == st.alert.labels.fingerprint
            assert list(got.alert.labels) == sorted(got.alert.labels)
    reasons = {st.resolve_reason for g in w.groups.values() for st in g.alerts.values()}
    assert reasons == {
        None,
        ResolveReason.EXPIRED,
        ResolveReason.SOURCE_RESOLVED,
    }  # every kind of row
    assert _pack(back.to_snapshot()) == packed


def test_loading_a_snapshot_twice_gives_the_same_world():
    payload = _unpack(_pack(_world().to_snapshot()))
    assert World.from_snapshot(payload) == World.from_snapshot(payload)


def test_shared_label_values_are_one_string_after_loading():
    back = World.from_snapshot(_unpack(_pack(_world().to_snapshot())))
    envs = [
        st.alert.labels["env"]
        for st in back.groups["g1"].alerts.values()
        if st.alert.labels.get_or_empty("env")
    ]
    assert len(envs) == 3 and envs[0] is envs[1] is envs[2]


def test_format_1_snapshots_still_load():
    w = _world()
    old: dict[str, Any] = CODEC.unstructure(w)
    old["format"] = 1
    assert World.from_snapshot(_unpack(_pack(old))) == w


def test_format_2_is_smaller_than_format_1_for_many_alerts():
    d = Driver(group_id="g1")
    for i in range(500):
        d.receive(alert(f"host-{i}", service="api", env="prod", severity="critical"))
    w = World()
    for seq, ev in enumerate(d.events, 1):
        w.apply(seq, ev)
    old: dict[str, Any] = CODEC.unstructure(w)
    old["format"] = 1
    assert len(_pack(w.to_snapshot())) < len(_pack(old)) / 2


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (lambda p: p.update(format=99), "format 99"),
        (lambda p: p["strings"].clear(), "does not fit"),
        (lambda p: p.pop("strings"), "does not fit"),
        (lambda p: p["groups"]["g1"]["alerts"][0].pop(), "does not fit"),
    ],
)
def test_a_broken_payload_is_a_value_error_saying_why(breakage, says):
    payload = _unpack(_pack(_world().to_snapshot()))
    breakage(payload)
    with pytest.raises(ValueError, match=says):
        World.from_snapshot(payload)
