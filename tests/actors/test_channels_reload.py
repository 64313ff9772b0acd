"""Channels follow a config reload (`ChannelNotifier.reconfigure`): a receiver a reload adds
gets the next notification; what is queued or retrying when the reload comes is not lost —
it goes out through the new settings when its integration stays, through the old ones when
its integration was removed. Against the fake PagerDuty process, on a mock clock."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from tests.fakes import wait_for
from tests.fakes.fixtures import serve
from tocsin.actors.channels import ChannelNotifier, ChannelSettings
from tocsin.actors.runtime import open_runtime
from tocsin.config import load_text
from tocsin.core.events import NotificationDelivered, NotificationFailed
from tocsin.core.group_state import GroupState
from tocsin.journal import open_memory_journal

from .channel_helpers import of_type
from .conftest import GroupByRouter
from .test_channels_outage import _request

OLD_KEY, NEW_KEY, OPS_KEY, GONE_KEY = "O" * 32, "N" * 32, "P" * 32, "G" * 32


@pytest.fixture
def net_clock():
    return trio.testing.MockClock(autojump_threshold=0.2)


@pytest.fixture(scope="module")
def pd_fake():
    yield from serve("tests.fakes.pagerduty_server")


def config(url: str, *receivers: tuple[str, str]):
    body = "".join(
        f"""
  - name: {name}
    pagerduty_configs:
      - routing_key: {key}
        url: {url}/v2/enqueue
"""
        for name, key in receivers
    )
    return load_text(f"route: {{receiver: {receivers[0][0]}}}\nreceivers:{body}")


def request(notifier: ChannelNotifier, gid: str, receiver: str) -> None:
    ev = attrs.evolve(_request(gid, 1), receiver=receiver)
    notifier.request(ev, GroupState.initial(gid))


async def accepted(pd_fake):
    return [(e["routing_key"], e["dedup_key"]) for e in (await pd_fake.state())["events"]]


async def test_a_receiver_added_by_a_reload_gets_the_next_notification(
    pd_fake, store, clock, net_clock
):
    await pd_fake.control("/reset")
    notifier = ChannelNotifier.from_config(
        config(pd_fake.url, ("team", OLD_KEY)), ChannelSettings(timeout=3600)
    )
    async with (
        open_memory_journal(store) as journal,
        open_runtime(journal, router=GroupByRouter(), clock=clock, notifier=notifier) as rt,
    ):
        await rt.nursery.start(notifier.run, rt)
        notifier.reconfigure(config(pd_fake.url, ("team", NEW_KEY), ("ops", OPS_KEY)))
        request(notifier, "A", "ops")
        request(notifier, "B", "team")

        async def both():
            return len(await accepted(pd_fake)) >= 2

        await wait_for(both, within=600, every=5, what="both accepted")
        assert sorted(await accepted(pd_fake)) == [(NEW_KEY, "tocsin-B"), (OPS_KEY, "tocsin-A")]
        assert sorted(a.key for a in notifier.actors()) == ["ops/pagerduty[0]", "team/pagerduty[0]"]
        assert not of_type(store, NotificationFailed)


async def test_queued_and_retrying_notifications_survive_a_reload(pd_fake, store, clock, net_clock):
    await pd_fake.control("/reset")
    notifier = ChannelNotifier.from_config(
        config(pd_fake.url, ("team", OLD_KEY), ("gone", GONE_KEY)),
        ChannelSettings(timeout=3600, workers=1),
    )
    async with (
        open_memory_journal(store) as journal,
        open_runtime(journal, router=GroupByRouter(), clock=clock, notifier=notifier) as rt,
    ):
        await rt.nursery.start(notifier.run, rt)
        await pd_fake.control("/down", {"status": 503})
        request(notifier, "A", "team")  # taken, failing, retried
        request(notifier, "B", "team")  # queued behind A (one worker)
        request(notifier, "C", "gone")  # retrying on an integration the reload removes
        await wait_for(
            lambda: len(of_type(store, NotificationFailed)) >= 2, within=600, what="retries"
        )
        (gone,) = [a for a in notifier.actors() if a.receiver == "gone"]
        notifier.reconfigure(config(pd_fake.url, ("team", NEW_KEY)))
        assert [a.key for a in notifier.actors()] == ["team/pagerduty[0]"]
        await trio.sleep(30)
        await pd_fake.control("/up")

        async def three():
            return len(await accepted(pd_fake)) >= 3

        await wait_for(three, within=1800, every=5, what="all three accepted")
        await wait_for(
            lambda: len(of_type(store, NotificationDelivered)) >= 3, within=60, what="journaled"
        )
        # The retired actor was drained: nothing is left in it.
        assert gone.mailbox.closed and not len(gone.mailbox)
    # A and B stayed on team's actor and went out with the new routing key, in order;
    # C finished on the removed integration's actor, with its old key.
    assert await accepted(pd_fake) in (
        [(NEW_KEY, "tocsin-A"), (NEW_KEY, "tocsin-B"), (GONE_KEY, "tocsin-C")],
        [(NEW_KEY, "tocsin-A"), (GONE_KEY, "tocsin-C"), (NEW_KEY, "tocsin-B")],
        [(GONE_KEY, "tocsin-C"), (NEW_KEY, "tocsin-A"), (NEW_KEY, "tocsin-B")],
    )
    delivered = {d.notification_id for d in of_type(store, NotificationDelivered)}
    assert delivered == {"A-1-1", "B-1-1", "C-1-1"}
    assert not [f for f in of_type(store, NotificationFailed) if f.permanent]
