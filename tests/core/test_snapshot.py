"""Snapshot format 2: alerts as rows into one string table; format 1 still read."""

from __future__ import annotations

from typing import Any

import attrs
import msgpack
import pytest

from tocsin.core.codec import CODEC
from tocsin.core.events import Mute, MuteKind, ResolveReason, SilenceCreated, SilenceData
from tocsin.core.lifecycle import Acknowledge, ManualResolve
from tocsin.core.snapshot import SNAPSHOT_FORMAT, _datetime_of, _Memo
from tocsin.core.world import World

from .lifecycle_harness import ESCALATING, HOUR, MIN, POLICY, SEC, T0, Driver, alert


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


def _shell_world() -> World:
    """Groups whose shells hold every kind of field: an acknowledged escalating group, a group
    whose last flush found an alert silenced, one that remembers recent notifications, and
    requested notifications never delivered."""
    w = World()
    d1 = Driver(ESCALATING, group_id="acked")
    d1.receive(alert("a"))
    d1.run_until(T0 + 6 * MIN)
    d1.do(Acknowledge(by="ops", comment="on it"), at=T0 + 7 * MIN)
    d2 = Driver(group_id="muted")
    muted = alert("m")
    d2.mutes = (Mute(muted.labels.fingerprint_hex, MuteKind.SILENCED, "s1", "maintenance"),)
    d2.receive(alert("n"))
    d2.receive(muted)
    d2.run_until(T0 + MIN)
    d3 = Driver(attrs.evolve(POLICY, suppress_duration=HOUR), group_id="recent")
    d3.receive(alert("r"))
    d3.run_until(T0 + MIN)
    d4 = Driver(attrs.evolve(POLICY, suppress_duration=HOUR), group_id="recent-too")
    d4.receive(alert("q"))
    for seq, ev in enumerate(d1.events + d2.events + d3.events + d4.events, 1):
        w.apply(seq, ev)
    return w


def test_group_shells_are_read_by_hand_exactly_as_the_generic_codec_reads_them():
    w = _shell_world()
    groups = w.groups.values()
    # Every optional part of a shell is there somewhere, or this compares little.
    assert any(g.ack is not None for g in groups)
    assert any(g.last_mutes for g in groups)
    assert any(g.recent for g in groups)
    assert any(g.policy is not None and g.policy.escalation is not None for g in groups)
    assert any(g.pending for g in groups)
    payload = _unpack(_pack(w.to_snapshot()))
    _, new_reader = CODEC.group_shell_hooks()
    by_hand, generic = new_reader(_Memo(_datetime_of).__getitem__), CODEC.generic_shell_reader()
    for gid, shell in payload["groups"].items():
        assert by_hand(shell) == generic(shell), gid
        assert by_hand(shell) == attrs.evolve(w.groups[gid], alerts={}), gid


@pytest.mark.parametrize(
    "missing",
    ["group_key", "group_labels", "policy", "ack", "last_mutes", "recent", "pending", "phase"],
)
def test_a_shell_field_missing_from_an_older_snapshot_gets_its_default(missing):
    shell = _unpack(_pack(_shell_world().to_snapshot()))["groups"]["acked"]
    del shell[missing]
    by_hand = CODEC.group_shell_hooks()[1](_Memo(_datetime_of).__getitem__)
    assert by_hand(shell) == CODEC.generic_shell_reader()(shell)


def test_groups_on_one_route_share_one_policy_after_loading():
    back = World.from_snapshot(_unpack(_pack(_shell_world().to_snapshot())))
    assert back.groups["recent"].policy == back.groups["recent-too"].policy
    assert back.groups["recent"].policy is back.groups["recent-too"].policy
    assert back.groups["muted"].policy is not back.groups["recent"].policy
