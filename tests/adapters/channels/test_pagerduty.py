"""PagerDuty Events API v2 against the local fake, which checks events as the API documents."""

from __future__ import annotations

import httpx
import pytest

from tocsin.adapters.channels.base import HTTPChannel
from tocsin.adapters.channels.outcome import DeliveryFailed, Verdict
from tocsin.adapters.channels.pagerduty import PagerdutyAdapter
from tocsin.core.events import NotifyReason

from .samples import ROUTING_KEY, alert, kit, notification


def channel(fake, client, key: str = ROUTING_KEY) -> HTTPChannel:
    adapter = PagerdutyAdapter(kit(), url=f"{fake.url}/v2/enqueue", routing_key=key)
    return HTTPChannel(
        kind="pagerduty",
        name="pagerduty[0]",
        adapter=adapter,
        client=client,
        destination="d",
        send_resolved=True,
    )


async def test_trigger_acknowledge_resolve_on_one_incident(pd):
    async with httpx.AsyncClient() as client:
        ch = channel(pd, client)
        assert (await ch.deliver(notification())).status_code == 202
        await ch.deliver(notification(reason=NotifyReason.ACKNOWLEDGED, ack_by="alice"))
        await ch.deliver(notification(alert(firing=False), reason=NotifyReason.ALL_RESOLVED))
    state = await pd.state()
    trigger, ack, resolve = state["events"]
    assert [e["event_action"] for e in state["events"]] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in state["events"]} == {"tocsin-g1"}
    assert state["incidents"]["tocsin-g1"] == {
        "triggers": 1,
        "status": "resolved",
        "summary": trigger["payload"]["summary"],
    }
    p = trigger["payload"]
    assert p["severity"] == "critical" and p["source"] == "tocsin"
    assert p["summary"].startswith("[FIRING:1] CRITICAL DiskFull")
    assert p["component"] == "db" and p["class"] == "DiskFull"
    assert p["custom_details"]["num_firing"] == 1
    assert {"href": "https://runbooks.test/disk", "text": "Runbook"} in trigger["links"]
    assert set(ack) == set(resolve) == {"routing_key", "event_action", "dedup_key"}


async def test_the_escalation_level_is_the_same_everywhere_and_absent_without_a_policy(pd):
    """-1 is a route without an escalation policy: PagerDuty's details and the built-in text
    leave the level out (the text said 0 while PagerDuty said -1); a real level shows in both."""
    k = kit()
    async with httpx.AsyncClient() as client:
        for level in (-1, 1):
            n = notification(level=level, seq=level + 2)
            await channel(pd, client).deliver(n)
            text = k.renderer.render(k.data(n), channel="slack", fmt="text").text
            assert ("Escalation level 1" in text) is (level == 1), text
            assert "Escalation level 0" not in text and "Escalation level -1" not in text
    without, with_ = (await pd.state())["events"]
    assert "escalation_level" not in without["payload"]["custom_details"]
    assert with_["payload"]["custom_details"]["escalation_level"] == 1


async def test_summary_is_cut_to_1024_and_severities_map(pd):
    long = alert(ann_summary="s" * 3000, severity="high")
    async with httpx.AsyncClient() as client:
        await channel(pd, client).deliver(notification(long))
    (event,) = (await pd.state())["events"]
    assert len(event["payload"]["summary"]) == 1024
    assert event["payload"]["severity"] == "error"


async def test_an_invalid_event_is_permanent_and_says_why(pd):
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed) as info:
            await channel(pd, client, key="short").deliver(notification())
    outcome = info.value.outcome
    assert (outcome.verdict, outcome.status_code) == (Verdict.PERMANENT, 400)
    assert "routing_key" in outcome.error and "short" not in outcome.error


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_throttling_and_server_errors_are_retried(pd, status):
    await pd.script({"status": status, "headers": {"Retry-After": "2"}})
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed) as info:
            await channel(pd, client).deliver(notification())
    assert info.value.outcome.verdict is Verdict.RETRYABLE
    assert info.value.outcome.trips_circuit is (status != 429)
