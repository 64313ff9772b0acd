"""Slack messages against the local fake Slack, which checks Block Kit as Slack documents it."""

from __future__ import annotations

import httpx
import pytest

from tocsin.adapters.channels.outcome import DeliveryFailed, Verdict
from tocsin.adapters.channels.slack import ACTION_ACK, SlackAdapter, SlackChannel
from tocsin.core.events import NotifyReason

from .samples import alert, kit, notification


class Refs:
    def __init__(self) -> None:
        self.known: dict[tuple, list[tuple[str, str]]] = {}

    def messages(self, group_id, receiver, integration, episode):
        return self.known.get((group_id, receiver, integration, episode), [])


def channel(fake, client, *, bot: bool, refs=None, timeout: float = 10.0, **kw) -> SlackChannel:
    adapter = SlackAdapter(
        kit(),
        name="slack[0]",
        api_url=None if bot else f"{fake.url}/services/T000/B000/XXXX",
        app_token="xoxb-test-token" if bot else None,
        app_url=f"{fake.url}/api/chat.postMessage",
        channel="#alerts-critical",
        refs=refs,
        **kw,
    )
    return SlackChannel(
        name="slack[0]",
        adapter=adapter,
        client=client,
        destination="d",
        send_resolved=True,
        timeout=timeout,
    )


async def test_webhook_message_is_valid_block_kit_without_buttons(slack):
    async with httpx.AsyncClient() as client:
        receipt = await channel(slack, client, bot=False).deliver(notification())
    assert receipt.status_code == 200
    (msg,) = (await slack.state())["webhook_messages"]
    assert msg["channel"] == "#alerts-critical"
    types = [b["type"] for b in msg["blocks"]]
    assert types[0] == "header" and "actions" not in types
    assert msg["blocks"][0]["text"]["text"] == "[FIRING:1] CRITICAL DiskFull"
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in msg["blocks"][1]["fields"]
    }
    assert fields["*Severity*"] == "critical" and fields["*Service*"] == "db"
    assert fields["*Alerts*"] == "1 firing, 0 resolved"
    context = next(b for b in msg["blocks"] if b["type"] == "context")
    assert "<https://runbooks.test/disk|Runbook>" in context["elements"][0]["text"]


async def test_bot_message_has_buttons_and_an_ack_updates_it_in_place(slack):
    refs = Refs()
    async with httpx.AsyncClient() as client:
        ch = channel(slack, client, bot=True, refs=refs)
        receipt = await ch.deliver(notification())
        assert receipt.ref is not None
        cid, ts = receipt.ref
        posted = (await slack.state())["messages"][ts]
        actions = next(b for b in posted["blocks"] if b["type"] == "actions")
        assert [e["action_id"] for e in actions["elements"]] == [
            "tocsin_ack",
            "tocsin_resolve",
            "tocsin_silence_1h",
        ]
        assert actions["elements"][0]["value"] == "g1"
        refs.known[("g1", "critical", "slack[0]", 1)] = [(cid, ts)]
        await ch.deliver(notification(reason=NotifyReason.ACKNOWLEDGED, ack_by="slack:alice"))
    state = await slack.state()
    assert len(state["messages"]) == 1  # updated, not posted again
    (update,) = state["updates"]
    assert update["ts"] == ts
    assert "[ACKNOWLEDGED]" in update["text"]
    actions = next(b for b in state["messages"][ts]["blocks"] if b["type"] == "actions")
    assert ACTION_ACK not in [e["action_id"] for e in actions["elements"]]


async def test_long_texts_are_cut_to_block_kit_limits(slack):
    huge = alert(ann_summary="x" * 5000, ann_description="y" * 20000, instance="i" * 300)
    many = [alert(f"A{i}", instance=f"h{i}") for i in range(60)]
    async with httpx.AsyncClient() as client:
        await channel(slack, client, bot=True).deliver(notification(huge, *many))
    (msg,) = (await slack.state())["messages"].values()
    assert len(msg["blocks"]) <= 50


@pytest.mark.parametrize(
    ("script", "verdict", "retry_after"),
    [
        ({"status": 429, "headers": {"Retry-After": "3"}}, Verdict.RETRYABLE, 3.0),
        ({"status": 500}, Verdict.RETRYABLE, None),
        ({"status": 404, "body": "channel_not_found"}, Verdict.PERMANENT, None),
        ({"status": 400, "body": "invalid_payload"}, Verdict.PERMANENT, None),
    ],
)
async def test_webhook_answers_are_classified(slack, script, verdict, retry_after):
    await slack.script(script)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed) as info:
            await channel(slack, client, bot=False).deliver(notification())
    assert info.value.outcome.verdict is verdict
    assert info.value.outcome.retry_after == retry_after


async def test_api_errors_are_permanent_and_a_bad_token_says_so(slack):
    async with httpx.AsyncClient() as client:
        ch = channel(slack, client, bot=True)
        ch.adapter.app_token = "not-a-bot-token"
        with pytest.raises(DeliveryFailed) as info:
            await ch.deliver(notification())
    assert info.value.outcome.verdict is Verdict.PERMANENT
    assert "invalid_auth" in info.value.outcome.error
    assert "not-a-bot-token" not in info.value.outcome.error


async def test_refused_connection_and_hang_are_retryable_and_trip_the_circuit(slack, net_clock):
    async with httpx.AsyncClient() as client:
        await slack.control("/refuse")
        with pytest.raises(DeliveryFailed) as refused:
            await channel(slack, client, bot=True).deliver(notification())
        await slack.control("/accept")
        await slack.script({"hang": True})
        with pytest.raises(DeliveryFailed) as hung:
            await channel(slack, client, bot=True, timeout=5).deliver(notification())
        await slack.control("/release")
    for info, word in ((refused, "connection"), (hung, "timeout")):
        assert info.value.outcome.verdict is Verdict.RETRYABLE
        assert info.value.outcome.trips_circuit and word in info.value.outcome.error
