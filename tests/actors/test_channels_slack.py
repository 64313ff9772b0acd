"""The whole flow against local servers: a critical alert → Slack (bot, with buttons),
PagerDuty and email; pressing Ack in Slack → the group is acknowledged, escalation stops, and
all three are updated. Signed-request checks on the interactions endpoint."""

from __future__ import annotations

import email
import email.policy
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import trio
import trio.testing
from starlette.applications import Starlette

from tests.fakes import wait_for
from tests.fakes.fixtures import mail_dir, serve
from tocsin.actors.channels import ChannelNotifier, ChannelSettings
from tocsin.actors.runtime import Rules, open_runtime
from tocsin.adapters.channels.slack_interactions import MAX_BODY, PATH, routes, sign
from tocsin.config import load_text
from tocsin.core.events import Acknowledged, NotificationDelivered, SlackMessagePosted
from tocsin.core.group_state import Phase
from tocsin.journal import open_memory_journal

from .channel_helpers import of_type
from .conftest import firing

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
KEY = "R" * 32


@pytest.fixture
def net_clock():
    """Mock clock that jumps only after 0.25 s of real idleness (local I/O never waits that
    long; backoffs and timeouts do)."""
    return trio.testing.MockClock(autojump_threshold=0.2)


@pytest.fixture(scope="module")
def slack_fake():
    yield from serve("tests.fakes.slack_server")


@pytest.fixture(scope="module")
def pd_fake():
    yield from serve("tests.fakes.pagerduty_server")


@pytest.fixture(scope="module")
def smtp():
    directory = mail_dir()
    for fake in serve("tests.fakes.smtp_server", str(directory)):
        fake.directory = directory  # type: ignore[attr-defined]
        yield fake


def config_for(slack, pd, smtp):
    return load_text(
        f"""
route:
  receiver: critical
  group_by: [alertname]
  group_wait: 0s
  escalation: default
receivers:
  - name: critical
    slack_configs:
      - app_token: xoxb-test
        app_url: {slack.url}/api/chat.postMessage
        channel: "#alerts-critical"
        send_resolved: true
    pagerduty_configs:
      - routing_key: {KEY}
        url: {pd.url}/v2/enqueue
    email_configs:
      - to: oncall@example.com
        from: tocsin@example.com
        smarthost: 127.0.0.1:{smtp.port}
        require_tls: false
        send_resolved: true
  - name: managers
    email_configs:
      - to: manager@example.com
        from: tocsin@example.com
        smarthost: 127.0.0.1:{smtp.port}
        require_tls: false
escalation_policies:
  - name: default
    levels:
      - after: 0s
        receivers: [critical]
      - after: 15m
        receivers: [managers]
tocsin:
  external_url: http://tocsin.test:9093
"""
    )


def mails(directory: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(directory.glob("*.eml"))
    ]


def signed(body: bytes, ts: float, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(int(ts)),
        "X-Slack-Signature": sign(secret, str(int(ts)), body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def press(action_id: str, value: str, ts: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice"},
        "trigger_id": "t1",
        "container": {"type": "message", "message_ts": ts},
        "actions": [{"action_id": action_id, "value": value, "action_ts": f"{time.time()}"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def test_ack_button_acknowledges_stops_escalation_and_updates_slack_pd_and_email(
    slack_fake, pd_fake, smtp, store, clock, net_clock
):
    for fake in (slack_fake, pd_fake):
        await fake.control("/reset")
    config = config_for(slack_fake, pd_fake, smtp)
    # Generous timeouts: under load the mock clock may jump while a request is on the wire.
    notifier = ChannelNotifier.from_config(config, ChannelSettings(timeout=3600))
    async with (
        open_memory_journal(store) as journal,
        open_runtime(journal, rules=Rules(config.routing), clock=clock, notifier=notifier) as rt,
    ):
        await rt.nursery.start(notifier.run, rt)
        await rt.ingest([firing("DiskFull", severity="critical", service="db")])

        async def three_sent():
            state = await slack_fake.state()
            pd_state = await pd_fake.state()
            return state["messages"] and pd_state["events"] and len(mails(smtp.directory)) >= 1

        await wait_for(three_sent, within=3600, what="Slack, PagerDuty and email")
        (message,) = (await slack_fake.state())["messages"].values()
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        gid = actions["elements"][0]["value"]
        await wait_for(
            lambda: of_type(store, SlackMessagePosted), within=3600, what="the Slack ts journaled"
        )

        app = Starlette(routes=routes(rt, config, signing_secret=SECRET))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as client:
            body = press("tocsin_ack", gid, message["ts"])
            r = await client.post(PATH, content=body, headers=signed(body, clock.now().timestamp()))
            assert r.status_code == 200
            # Slack retries a delivery it thinks failed: the same action is done once.
            r = await client.post(PATH, content=body, headers=signed(body, clock.now().timestamp()))
            assert r.status_code == 200
        (ack,) = of_type(store, Acknowledged)
        assert ack.by == "slack:alice"
        assert rt.world.groups[gid].phase is Phase.ACKNOWLEDGED

        async def all_updated():
            state = await slack_fake.state()
            events = (await pd_fake.state())["events"]
            subjects = [m["Subject"] for m in mails(smtp.directory)]
            return (
                state["updates"]
                and [e["event_action"] for e in events] == ["trigger", "acknowledge"]
                and any(s.startswith("[ACKNOWLEDGED]") for s in subjects)
            )

        await wait_for(
            all_updated, within=3600, what="Slack updated, PagerDuty acknowledged, ack mail"
        )
        state = await slack_fake.state()
        assert len(state["messages"]) == 1  # updated in place, no new message
        (updated,) = state["messages"].values()
        assert "[ACKNOWLEDGED]" in updated["text"]
        buttons = next(b for b in updated["blocks"] if b["type"] == "actions")["elements"]
        assert "tocsin_ack" not in [b["action_id"] for b in buttons]
        incidents = (await pd_fake.state())["incidents"]
        assert incidents[f"tocsin-{gid}"]["status"] == "acknowledged"

        # Escalation stopped: the managers' level (15m) never comes.
        await trio.sleep(16 * 60)
        assert not [m for m in mails(smtp.directory) if m["To"] == "manager@example.com"]
        delivered = of_type(store, NotificationDelivered)
        assert {d.integration for d in delivered} >= {"slack[0]", "pagerduty[0]", "email[0]"}


@pytest.mark.parametrize(
    "problem", ["bad", "missing", "stale", "no payload", "nan", "huge ts", "not ascii", "too big"]
)
async def test_interactions_refuse_unsigned_bad_and_stale_requests(
    problem, store, clock, autojump_clock
):
    from .conftest import GroupByRouter

    async with (
        open_memory_journal(store) as journal,
        open_runtime(journal, router=GroupByRouter(), clock=clock) as rt,
    ):
        await rt.ingest([firing()])
        gid = next(iter(rt.world.groups))
        app = Starlette(routes=routes(rt, None, signing_secret=SECRET))
        body = press("tocsin_ack", gid, "1.1")
        now = clock.now().timestamp()
        headers = {
            "bad": signed(body, now, secret="wrong"),
            "missing": {"Content-Type": "application/x-www-form-urlencoded"},
            "stale": signed(body, now - 301),
            "no payload": signed(b"nothing=here", now),
            # Signed with the secret, but a timestamp that compares false with everything.
            "nan": {
                "X-Slack-Request-Timestamp": "nan",
                "X-Slack-Signature": sign(SECRET, "nan", body),
            },
            "huge ts": {
                "X-Slack-Request-Timestamp": "9" * 400,
                "X-Slack-Signature": sign(SECRET, "9" * 400, body),
            },
            "not ascii": {**signed(body, now), "X-Slack-Signature": b"v0=\xff"},
            "too big": signed(b"x" * (MAX_BODY + 1), now),
        }[problem]
        if problem == "no payload":
            body = b"nothing=here"
        if problem == "too big":
            body = b"x" * (MAX_BODY + 1)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tocsin"
        ) as client:
            r = await client.post(PATH, content=body, headers=headers)
        status = {"no payload": 400, "too big": 413}.get(problem, 401)
        assert r.status_code == status, r.text
        await trio.testing.wait_all_tasks_blocked()
        assert of_type(store, Acknowledged) == []
