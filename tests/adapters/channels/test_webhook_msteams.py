"""Webhook (Alertmanager payload v4, signed) and Microsoft Teams (Adaptive Card) requests,
sent to a local recording server (the fake's scripted 200 answers)."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from tocsin.adapters.channels.base import HTTPChannel
from tocsin.adapters.channels.msteams import MSTeamsAdapter
from tocsin.adapters.channels.webhook import WebhookAdapter

from .samples import T0, alert, kit, notification


async def test_webhook_sends_alertmanager_v4_truncated_and_signed(slack):
    alerts = [alert(instance=f"db{i}") for i in range(5)] + [alert("Gone", firing=False)]
    await slack.script({"status": 200})
    adapter = WebhookAdapter(kit(), url=f"{slack.url}/hook", max_alerts=3, secret="s3cret")
    async with httpx.AsyncClient() as client:
        ch = HTTPChannel(
            kind="webhook",
            name="webhook[0]",
            adapter=adapter,
            client=client,
            destination="d",
            send_resolved=True,
        )
        assert (await ch.deliver(notification(*alerts))).status_code == 200
    (req,) = await slack.requests()
    body = req["body"]
    assert body["version"] == "4" and body["truncatedAlerts"] == 3 and len(body["alerts"]) == 3
    assert body["status"] == "firing" and body["receiver"] == "critical"
    assert set(body) == {
        "receiver",
        "status",
        "alerts",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "version",
        "groupKey",
        "truncatedAlerts",
    }
    a = body["alerts"][0]
    assert set(a) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert a["endsAt"] == "0001-01-01T00:00:00Z"
    ts = req["headers"]["x-tocsin-timestamp"]
    assert ts == str(int(T0.timestamp()))
    raw = adapter.build(notification(*alerts)).content
    expected = "v1=" + hmac.new(b"s3cret", f"v1:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    assert req["headers"]["x-tocsin-signature"] == expected


async def test_teams_gets_an_adaptive_card(slack):
    await slack.script({"status": 202})
    adapter = MSTeamsAdapter(kit(), url=f"{slack.url}/workflows/abc")
    async with httpx.AsyncClient() as client:
        ch = HTTPChannel(
            kind="msteams",
            name="msteams[0]",
            adapter=adapter,
            client=client,
            destination="d",
            send_resolved=True,
        )
        assert (await ch.deliver(notification())).status_code == 202
    (req,) = await slack.requests()
    (attachment,) = req["body"]["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "[FIRING:1] CRITICAL DiskFull"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Severity"] == "critical" and facts["Service"] == "db"
    assert {
        "type": "Action.OpenUrl",
        "title": "Runbook",
        "url": "https://runbooks.test/disk",
    } in card["actions"]
