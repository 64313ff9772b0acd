"""Channel actors in a runtime on trio's mock clock: retries, circuit, coalescing, order,
restart, fallback, send_resolved — with an in-memory channel (our own seam)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import attrs
import trio
import trio.testing

from tocsin.actors.channels import BreakerSettings, ChannelNotifier, ChannelSettings
from tocsin.actors.runtime import Runtime, open_runtime
from tocsin.core.events import (
    CircuitClosed,
    CircuitOpened,
    NotificationCoalesced,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotificationRerouted,
    NotificationSkipped,
    NotifyReason,
)
from tocsin.core.group_state import GroupState
from tocsin.journal import open_memory_journal

from ..core.lifecycle_harness import T0
from .channel_helpers import ScriptedChannel, of_type, permanent, retryable
from .conftest import GroupByRouter, firing

FAST = ChannelSettings(
    retry_base=timedelta(seconds=1),
    retry_max=timedelta(seconds=30),
    breaker=BreakerSettings(consecutive_failures=100, ratio_min_calls=1000),
)


@asynccontextmanager
async def running(store, clock, notifier: ChannelNotifier, router=None) -> AsyncIterator[Runtime]:
    async with (
        open_memory_journal(store) as journal,
        open_runtime(
            journal, router=router or GroupByRouter(), clock=clock, notifier=notifier
        ) as rt,
    ):
        await rt.nursery.start(notifier.run, rt)
        yield rt


def notifier_with(*channels: ScriptedChannel, settings: ChannelSettings = FAST, receiver="team"):
    n = ChannelNotifier(settings=settings)
    for ch in channels:
        n.add_channel(receiver, ch)
    return n


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_each_integration_delivers_and_the_outcomes_close_the_notification(
    store, clock, autojump_clock
):
    a, b = (
        ScriptedChannel("slack[0]", destination="a"),
        ScriptedChannel("pagerduty[0]", destination="b"),
    )
    notifier = notifier_with(a, b)
    async with running(store, clock, notifier) as rt:
        await rt.ingest([firing()])
        await trio.sleep(31)
        await settle()
        assert len(a.sent) == len(b.sent) == 1
        delivered = of_type(store, NotificationDelivered)
        assert sorted(d.integration for d in delivered) == ["pagerduty[0]", "slack[0]"]
        assert {d.notification_id for d in delivered} == {a.sent[0][1].id}
        assert all(not s.pending for s in rt.world.groups.values())


async def test_a_delivered_integration_does_not_close_the_notification_while_another_retries(
    store, clock, autojump_clock
):
    ok, failing = (
        ScriptedChannel("slack[0]", destination="a"),
        ScriptedChannel("pagerduty[0]", destination="b"),
    )
    failing.script = [retryable(503)] * 1000
    notifier = notifier_with(ok, failing)
    async with running(store, clock, notifier) as rt:
        await rt.ingest([firing()])
        await trio.sleep(120)
        assert len(ok.sent) == 1 and len(failing.sent) > 3
        assert of_type(store, NotificationDelivered) == []  # held until PagerDuty is done
        (state,) = rt.world.groups.values()
        assert len(state.pending) == 1  # a crash now resends to both: at-least-once
        assert all(not f.permanent for f in of_type(store, NotificationFailed))


async def test_retry_honours_retry_after(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.script = [retryable(429, retry_after=7), None]
    async with running(store, clock, notifier_with(ch)) as rt:
        await rt.ingest([firing()])
        await trio.sleep(60)
        (t1, _), (t2, _) = ch.sent
        assert t2 - t1 >= 7
        (failed,) = of_type(store, NotificationFailed)
        assert (failed.attempt, failed.status_code, failed.permanent) == (1, 429, False)
        (delivered,) = of_type(store, NotificationDelivered)
        assert delivered.attempt == 2
        assert delivered.at - failed.at >= timedelta(seconds=7)


async def test_backoff_is_full_jitter_within_exponential_ceilings(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.script = [retryable(503)] * 5 + [None]
    async with running(store, clock, notifier_with(ch)) as rt:
        await rt.ingest([firing()])
        await trio.sleep(600)
        times = [t for t, _ in ch.sent]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 5
        for k, gap in enumerate(gaps, start=1):
            assert 0 <= gap <= 2 ** (k - 1) + 1e-6, (k, gap)


async def test_permanent_failure_is_not_retried(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.script = [permanent(400)]
    async with running(store, clock, notifier_with(ch)) as rt:
        await rt.ingest([firing()])
        await trio.sleep(600)
        assert len(ch.sent) == 1
        (failed,) = of_type(store, NotificationFailed)
        assert failed.permanent and failed.status_code == 400
        assert all(not s.pending for s in rt.world.groups.values())


async def test_retries_stop_after_the_retry_window(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.script = [retryable(503)] * 10_000
    settings = attrs.evolve(FAST, retry_window=timedelta(minutes=2))
    async with running(store, clock, notifier_with(ch, settings=settings)) as rt:
        await rt.ingest([firing()])
        await trio.sleep(600)
        failures = of_type(store, NotificationFailed)
        assert failures[-1].permanent and "gave up" in failures[-1].error
        assert failures[-1].at - failures[0].at <= timedelta(minutes=2)
        sent = len(ch.sent)
        await trio.sleep(600)
        assert len(ch.sent) == sent


async def test_circuit_opens_waits_half_opens_and_closes_then_everything_goes_out_in_order(
    store, clock, autojump_clock
):
    settings = attrs.evolve(
        FAST,
        workers=1,
        breaker=BreakerSettings(consecutive_failures=3, open_for=timedelta(seconds=30)),
    )
    ch = ScriptedChannel()
    ch.script = [retryable(503)] * 3 + [retryable(503)] + [None] * 100  # 3 trip it, 1 failed probe
    notifier = notifier_with(ch, settings=settings)
    async with running(store, clock, notifier) as rt:
        await rt.ingest([firing("A")])
        await trio.sleep(31)
        await rt.ingest([firing("B")])
        await trio.sleep(31)
        (opened,) = of_type(store, CircuitOpened)
        assert opened.failures == 3 and opened.integration == "test[0]"
        await trio.sleep(600)
        (closed,) = of_type(store, CircuitClosed)
        # Open 30 s, a failed probe doubles it to 60 s, then the probe succeeds.
        assert closed.at - opened.at >= timedelta(seconds=90)
        attempts_while_open = [
            t for t, _ in ch.sent if opened.at < T0 + timedelta(seconds=t) < closed.at
        ]
        assert len(attempts_while_open) == 1  # only the failed probe
        delivered = of_type(store, NotificationDelivered)
        assert [d.group_id for d in delivered] == [ch.sent[0][1].group_id, ch.sent[-1][1].group_id]
        assert all(not s.pending for s in rt.world.groups.values())


def _request(gid: str, seq: int, *, resolved: bool = False) -> NotificationRequested:
    return NotificationRequested(
        gid,
        f"{gid}-1-{seq}",
        "team",
        NotifyReason.ALL_RESOLVED if resolved else NotifyReason.FIRST_NOTIFICATION,
        0,
        1,
        () if resolved else ("f1",),
        ("f1",) if resolved else (),
        f"tocsin-{gid}",
        T0,
    )


async def test_a_full_mailbox_coalesces_per_group_and_records_it(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.gate = trio.Event()
    settings = attrs.evolve(FAST, mailbox_size=2, workers=1)
    notifier = notifier_with(ch, settings=settings)
    async with running(store, clock, notifier):
        state = GroupState.initial("x")
        notifier.request(_request("X", 1), state)  # taken by the worker, held at the gate
        await settle()
        notifier.request(_request("A", 1), state)
        notifier.request(_request("B", 1), state)
        notifier.request(_request("A", 2), state)  # full: replaces A-1-1
        notifier.request(_request("C", 1), state)  # full, nothing of C waiting: its one slot
        ch.gate.set()
        await trio.sleep(10)
        assert [n.id for _, n in ch.sent] == ["X-1-1", "A-1-2", "B-1-1", "C-1-1"]
        (coalesced,) = of_type(store, NotificationCoalesced)
        assert (coalesced.notification_id, coalesced.superseded_by) == ("A-1-1", "A-1-2")
        closing = [f for f in of_type(store, NotificationFailed) if f.notification_id == "A-1-1"]
        assert closing and closing[0].permanent and "superseded by A-1-2" in closing[0].error


async def test_per_group_order_holds_while_the_trigger_is_retried(store, clock, autojump_clock):
    ch = ScriptedChannel()
    ch.script = [retryable(503), None, None, None]
    notifier = notifier_with(ch, settings=attrs.evolve(FAST, workers=4))
    async with running(store, clock, notifier):
        state = GroupState.initial("a")
        notifier.request(_request("A", 1), state)  # fails once, retried after a backoff
        await settle()
        notifier.request(_request("A", 2, resolved=True), state)
        notifier.request(_request("B", 1), state)
        await trio.sleep(60)
        ids = [n.id for _, n in ch.sent]
        assert ids.index("B-1-1") < ids.index("A-1-1", 1)  # B is not held up by A's retry
        assert ids.index("A-1-1", 1) < ids.index("A-1-2")  # the resolve waits for its trigger


async def test_delivery_resumes_after_a_restart_with_the_same_dedup_key(
    store, clock, autojump_clock
):
    down = ScriptedChannel()
    down.script = [retryable(503)] * 1000
    async with running(store, clock, notifier_with(down)) as rt:
        await rt.ingest([firing()])
        await trio.sleep(60)
        first = down.sent[0][1]
    assert of_type(store, NotificationDelivered) == []
    up = ScriptedChannel()
    async with running(store, clock, notifier_with(up)) as rt:
        await trio.sleep(5)
        (delivered,) = of_type(store, NotificationDelivered)
        (_, again), *_ = up.sent
        assert again.id == first.id == delivered.notification_id
        assert again.request.dedup_key == first.request.dedup_key
        assert all(not s.pending for s in rt.world.groups.values())


async def test_send_resolved_false_skips_resolved_only_notifications_visibly(
    store, clock, autojump_clock
):
    ch = ScriptedChannel(send_resolved=False)
    async with running(store, clock, notifier_with(ch)) as rt:
        state = GroupState.initial("a")
        notifier = rt.notifier
        notifier.request(_request("A", 1, resolved=True), state)
        await trio.sleep(5)
        assert ch.sent == []
        (skipped,) = of_type(store, NotificationSkipped)
        assert "send_resolved" in skipped.reason
        (closing,) = of_type(store, NotificationDelivered)
        assert closing.integration == "none"


def _down_with_a_fallback() -> tuple[ScriptedChannel, ScriptedChannel, ChannelNotifier, GroupState]:
    """Receiver `team` (slack[0], down: every attempt 503) on a route whose fallback is
    `oncall-email` (email[0], up); the circuit opens after 2 failures for 1 minute, and the
    fallback takes over after 5. Returns (the broken channel, the spare one, the notifier,
    a group on that route)."""
    settings = attrs.evolve(
        FAST,
        fallback_after=timedelta(minutes=5),
        breaker=BreakerSettings(consecutive_failures=2, open_for=timedelta(minutes=1)),
    )
    broken = ScriptedChannel("slack[0]", destination="broken")
    broken.script = [retryable(503)] * 1000
    spare = ScriptedChannel("email[0]", destination="spare")
    notifier = ChannelNotifier(settings=settings, fallbacks={"root": "oncall-email"})
    notifier.add_channel("team", broken)
    notifier.add_channel("oncall-email", spare)
    state = GroupState.initial("a")
    state.policy = attrs.evolve(state.policy or _policy(), route_id="root")
    return broken, spare, notifier, state


async def test_a_circuit_open_too_long_reroutes_to_the_route_fallback(store, clock, autojump_clock):
    _broken, spare, notifier, state = _down_with_a_fallback()
    async with running(store, clock, notifier) as rt:
        notifier.request(_request("A", 1), state)
        await trio.sleep(20 * 60)
        (rerouted,) = of_type(store, NotificationRerouted)
        assert rerouted.fallback == "oncall-email" and rerouted.waited >= timedelta(minutes=5)
        assert [n.id for _, n in spare.sent] == ["A-1-1"]
        (delivered,) = of_type(store, NotificationDelivered)
        assert (delivered.receiver, delivered.integration) == ("oncall-email", "email[0]")
        del rt


async def test_after_the_fallback_took_over_the_circuit_still_probes_and_closes(
    store, clock, autojump_clock
):
    """Every notice of the destination has a fallback: once they reroute, one must still
    probe the destination when the circuit lets one through, and the circuit close when it
    is back (it stayed open for good: nothing ever probed it)."""
    broken, spare, notifier, state = _down_with_a_fallback()
    async with running(store, clock, notifier) as rt:
        notifier.request(_request("A", 1), state)
        await trio.sleep(20 * 60)
        assert [n.id for _, n in spare.sent] == ["A-1-1"]  # rerouted while it was down
        assert not of_type(store, CircuitClosed)
        broken.script = []  # the destination is back
        notifier.request(_request("A", 2), state)
        await trio.sleep(5 * 60)
        assert of_type(store, CircuitClosed)
        assert [n.id for _, n in broken.sent][-1] == "A-1-2"
        assert [n.id for _, n in spare.sent] == ["A-1-1"]  # not rerouted again
        del rt


def _policy():
    from ..core.lifecycle_harness import POLICY

    return POLICY
