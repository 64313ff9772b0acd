"""Issue 6, "done when": a 10-minute outage of one service ends with every notification
delivered in order — against the fake PagerDuty process, not the in-memory channel.

The service is down (answering 503, or refusing connections) for 10 minutes of trio's mock
clock while triggers and resolves of several groups queue up; a task switches it back after
600 simulated seconds. The clock only jumps after 0.2 s of real idleness, so it moves through
backoff sleeps and open-circuit waits but never during a local HTTP exchange.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import trio
import trio.testing

from tests.fakes import wait_for
from tests.fakes.fixtures import serve
from tocsin.actors.channels import ChannelNotifier, ChannelSettings
from tocsin.actors.runtime import open_runtime
from tocsin.config import load_text
from tocsin.core.events import (
    CircuitClosed,
    CircuitOpened,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotifyReason,
)
from tocsin.core.group_state import GroupState
from tocsin.journal import open_memory_journal

from ..core.lifecycle_harness import T0
from .channel_helpers import of_type
from .conftest import GroupByRouter

KEY = "R" * 32
OUTAGE = 600.0  # simulated seconds


@pytest.fixture
def net_clock():
    """Mock clock that jumps only after 0.2 s of real idleness (local I/O never waits that
    long; backoffs and open circuits do)."""
    return trio.testing.MockClock(autojump_threshold=0.2)


@pytest.fixture(scope="module")
def pd_fake():
    yield from serve("tests.fakes.pagerduty_server")


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


@pytest.mark.parametrize("outage", ["503", "refused"])
async def test_a_ten_minute_outage_ends_with_every_notification_delivered_once_in_order(
    outage, pd_fake, store, clock, net_clock
):
    await pd_fake.control("/reset")
    config = load_text(
        f"""
route: {{receiver: team}}
receivers:
  - name: team
    pagerduty_configs:
      - routing_key: {KEY}
        url: {pd_fake.url}/v2/enqueue
        send_resolved: true
"""
    )
    # Generous request timeout: under load the mock clock may jump while a request is on the
    # wire, and a timeout must not count that as the outage.
    notifier = ChannelNotifier.from_config(config, ChannelSettings(timeout=3600))
    await pd_fake.control("/down" if outage == "503" else "/refuse", {"status": 503})
    recovered_at: list[float] = []

    async def recover() -> None:
        await trio.sleep(OUTAGE)
        await pd_fake.control("/up" if outage == "503" else "/accept")
        recovered_at.append(trio.current_time())

    # The groups' notifications, and when (simulated seconds into the outage) each is asked.
    plan = [
        (0, "A", 1, False),
        (0, "B", 1, False),
        (0, "C", 1, False),
        (90, "A", 2, True),
        (200, "D", 1, False),
        (300, "B", 2, True),
        (420, "C", 2, True),
        (540, "D", 2, True),
    ]
    async with (
        open_memory_journal(store) as journal,
        open_runtime(journal, router=GroupByRouter(), clock=clock, notifier=notifier) as rt,
    ):
        await rt.nursery.start(notifier.run, rt)
        rt.nursery.start_soon(recover)
        start = trio.current_time()
        for at, gid, seq, resolved in plan:
            await trio.sleep_until(start + at)
            notifier.request(_request(gid, seq, resolved=resolved), GroupState.initial(gid))

        async def all_accepted():
            return len((await pd_fake.state())["events"]) >= len(plan)

        await wait_for(all_accepted, within=3600, every=15, what="every event accepted")
        await wait_for(
            lambda: len(of_type(store, NotificationDelivered)) >= len(plan),
            within=60,
            every=5,
            what="every delivery journaled",
        )
        await trio.sleep(60)  # nothing more may arrive
        events = (await pd_fake.state())["events"]

    assert recovered_at and recovered_at[0] - start >= OUTAGE
    # Exactly once, and in order per group: each group's trigger, then its resolve.
    assert len(events) == len(plan)
    actions: dict[str, list[str]] = {}
    for ev in events:
        actions.setdefault(ev["dedup_key"], []).append(ev["event_action"])
    assert actions == {f"tocsin-{g}": ["trigger", "resolve"] for g in "ABCD"}
    if outage == "503":  # every request during the outage was answered 503, none accepted
        received = await pd_fake.requests()
        assert len(received) > len(plan)

    delivered = of_type(store, NotificationDelivered)
    counts = Counter(d.notification_id for d in delivered)
    assert counts == {f"{g}-1-{s}": 1 for _, g, s, _ in plan}
    assert all(d.at >= T0 + timedelta(seconds=OUTAGE) for d in delivered)
    assert not [f for f in of_type(store, NotificationFailed) if f.permanent]
    opened = of_type(store, CircuitOpened)
    (closed,) = of_type(store, CircuitClosed)
    assert opened and opened[0].at < closed.at
    assert opened[0].integration == closed.integration == "pagerduty[0]"
    assert closed.at >= T0 + timedelta(seconds=OUTAGE)
    assert all(o.at < closed.at for o in opened)
