"""Property: replaying the journal rebuilds exactly the state the decider saw.

For random sequences of commands (alerts arriving, resending, resolving, time passing with
every timer firing, acks, unacks, manual resolves), the events the decider emitted — encoded
as journal records, packed with msgpack and decoded again — fold from the empty state into the
very state the live group holds.
"""

from __future__ import annotations

import attrs
import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.codec import CODEC
from tocsin.core.events import (
    Acknowledged,
    Escalated,
    GroupResolved,
    NotificationRequested,
    NotifyReason,
    Unacknowledged,
)
from tocsin.core.group_state import GroupState, Phase, evolve
from tocsin.core.lifecycle import (
    Acknowledge,
    IllegalCommand,
    ManualResolve,
    ReceiveAlerts,
    Unacknowledge,
    next_deadline,
)

from .lifecycle_harness import (
    ESCALATING,
    GROUP_KEY,
    GROUP_LABELS,
    MIN,
    POLICY,
    SEC,
    Driver,
    alert,
)

FORBIDDING = attrs.evolve(
    ESCALATING, acknowledge=False, escalation=attrs.evolve(ESCALATING.escalation, start_level=1)
)

SUPPRESSING = attrs.evolve(ESCALATING, suppress_duration=10 * MIN)

steps = st.one_of(
    st.tuples(
        st.just("alert"),
        st.integers(0, 3),
        st.sampled_from(["firing", "resolved", "longer", "reworded", "old"]),
    ),
    st.tuples(st.just("wait"), st.integers(0, 6 * 60 * 60), st.just("")),
    st.tuples(st.just("batch"), st.integers(0, 3), st.just("")),
    st.tuples(st.sampled_from(["ack", "unack", "resolve"]), st.just(0), st.just("")),
)


def _apply(d: Driver, step: tuple[str, int, str], sent: dict) -> None:
    kind, n, variant = step
    if kind == "wait":
        d.run_until(d.now + n * SEC)
        return
    if kind == "batch":  # several alerts of the group in one ingest batch
        batch = tuple(alert(f"i{i}", starts=d.now, ends=d.now + 4 * MIN) for i in range(n + 1))
        d.do(ReceiveAlerts(batch, GROUP_KEY, GROUP_LABELS, d.policy))
        sent.update((a.fingerprint, a) for a in batch)
        return
    if kind == "alert":
        name = f"i{n}"
        a = {
            "firing": alert(name, starts=d.now, ends=d.now + 4 * MIN),
            "resolved": alert(name, starts=d.now - MIN, ends=d.now),
            "longer": alert(name, starts=d.now, ends=d.now + 9 * MIN),
            "reworded": alert(name, starts=d.now, ends=d.now + 4 * MIN, summary="worse"),
            "old": alert(name, starts=d.now - 60 * MIN, ends=None),
        }[variant]
        d.receive(a)
        sent[a.fingerprint] = a
        return
    command = {
        "ack": Acknowledge(by="alice", comment="mine"),
        "unack": Unacknowledge(by="alice"),
        "resolve": ManualResolve(by="bob"),
    }[kind]
    before = d.state.copy()
    try:
        d.do(command)
    except IllegalCommand:
        assert d.state == before, "a refused command changed the state"


@settings(max_examples=300, deadline=None)
@given(
    policy=st.sampled_from([POLICY, ESCALATING, FORBIDDING, SUPPRESSING]),
    script=st.lists(steps, max_size=40),
)
def test_replaying_the_encoded_events_rebuilds_the_live_state(policy, script):
    d = Driver(policy)
    sent: dict = {}
    for step in script:
        _apply(d, step, sent)
        # The incremental caches answer what a fresh computation would.
        fresh = d.state.copy()
        assert next_deadline(d.state) == next_deadline(fresh)
        assert d.state.firing_count() == sum(1 for a in fresh.alerts.values() if a.firing)
        # The group holds what the source said last about each alert it still has firing.
        for fp, held in d.state.alerts.items():
            if held.firing:
                assert held.ends_at == sent[fp].ends_at
                assert held.alert.annotations == sent[fp].annotations

    replayed = GroupState.initial(d.state.group_id)
    for ev in d.events:
        tag, version, payload = CODEC.encode(ev)
        body = msgpack.unpackb(msgpack.packb(payload, use_bin_type=True), raw=False)
        back = CODEC.decode(tag, version, body)
        assert back == ev
        evolve(replayed, back)
    assert replayed == d.state

    # No reminder and no escalation ever goes out while the group is acknowledged.
    acked = False
    for ev in d.events:
        if isinstance(ev, Acknowledged):
            acked = True
        elif isinstance(ev, (Unacknowledged, GroupResolved)):
            acked = False
        elif acked and isinstance(ev, NotificationRequested):
            assert ev.reason not in (NotifyReason.REPEAT, NotifyReason.ESCALATED)
        elif acked:
            assert not isinstance(ev, Escalated)

    ids = [e.notification_id for e in d.events if isinstance(e, NotificationRequested)]
    assert len(ids) == len(set(ids))
    if d.events:
        assert d.state.phase is not Phase.EMPTY


def test_the_early_flush_cache_follows_an_alert_that_arrives_again():
    # An alert that started long before it arrived makes the first flush due on arrival; if it
    # arrives again, changed, before that flush, the cached arrival time must move with it.
    d = Driver(POLICY)
    d.receive(alert("x", starts=d.now - 60 * MIN))
    assert next_deadline(d.state) == d.now
    d.receive(alert("x", starts=d.now - 60 * MIN, summary="worse"), at=d.now + SEC)
    assert next_deadline(d.state) == next_deadline(d.state.copy()) == d.now
