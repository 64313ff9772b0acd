"""The webhook ingress (Alertmanager's payload v4), bearer tokens with roles, the rate limit and
the webhook signature."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import trio.testing

from tocsin.adapters.http import HttpSettings, sign_webhook
from tocsin.core.labels import Labels

from .harness import ROUTES, serving


def payload(status: str = "firing", **labels: str) -> dict[str, Any]:
    labels = {"alertname": "FromAM", **labels}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="FromAM"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "tocsin",
        "groupLabels": {"alertname": "FromAM"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "from Alertmanager"},
        "externalURL": "http://am:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "from Alertmanager"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-01T00:05:00Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": Labels.of(labels).fingerprint_hex,
            }
        ],
    }


async def test_webhook_ingests_is_idempotent_on_retry_and_resolves():
    async with serving(ROUTES) as api:
        r = await api.client.post("/alerts/webhook", json=payload())
        assert r.status_code == 200
        assert r.json() == {
            "status": "success",
            "accepted": 1,
            "firing": 1,
            "resolved": 0,
            "groupKey": '{}:{alertname="FromAM"}',
        }
        [got] = (await api.client.get("/api/v2/alerts")).json()
        assert got["labels"] == {"alertname": "FromAM"}
        # A firing webhook alert lives until Alertmanager's next re-send could come (4h) + 5m.
        ends = got["endsAt"]
        assert ends > (api.rt.clock.now() + timedelta(hours=4)).isoformat()[:16]
        await trio.testing.wait_all_tasks_blocked()  # its flush and delivery are recorded
        records = len(api.records())
        for _ in range(3):  # Alertmanager retrying the same delivery
            assert (await api.client.post("/alerts/webhook", json=payload())).status_code == 200
        assert len(api.records()) == records
        r = await api.client.post("/alerts/webhook", json=payload("resolved"))
        assert r.status_code == 200 and r.json()["resolved"] == 1
        assert "alert.resolved" in api.types()
        await trio.testing.wait_all_tasks_blocked()  # its flush and delivery are recorded
        records = len(api.records())
        assert (
            await api.client.post("/alerts/webhook", json=payload("resolved"))
        ).status_code == 200
        assert len(api.records()) == records
        assert (await api.client.get("/api/v2/alerts")).json() == []


async def test_webhook_ttl_parameter_and_bad_payloads():
    async with serving(ROUTES) as api:
        r = await api.client.post("/alerts/webhook?ttl=1h", json=payload())
        assert r.status_code == 200
        r = await api.client.post("/alerts/webhook?ttl=soon", json=payload())
        assert r.status_code == 400 and r.json()["error"] == "invalid ttl"
        records = len(api.records())
        for body, text in [
            ({**payload(), "version": "3"}, 'version: expected "4"'),
            ({**payload(), "version": 4}, "got number 4"),  # the type, not a quoted '"4"'
            ({"alerts": []}, 'version: required ("4")'),
            ([], "expected an object, got array"),
            ({**payload(), "alerts": {}}, "alerts: expected a JSON array"),
            (
                {**payload(), "alerts": [{**payload()["alerts"][0], "status": "odd"}]},
                'alerts[0].status: expected "firing" or "resolved"',
            ),
        ]:
            r = await api.client.post("/alerts/webhook", json=body)
            assert r.status_code == 400, body
            assert text in r.json()["detail"], r.json()
        assert len(api.records()) == records


TOKENS = """
tocsin:
  auth:
    tokens:
      - {name: prometheus, token: ingest-secret, roles: [ingest]}
      - {name: viewer, token: read-secret, roles: [read]}
      - {name: oncall, token: operate-secret, roles: [operate, read]}
      - {name: root, token: admin-secret, roles: [admin]}
"""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_tokens_and_roles():
    async with serving(ROUTES + TOKENS) as api:
        c = api.client
        r = await c.post("/api/v2/alerts", json=[{"labels": {"a": "b"}}])
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert "no bearer token" in r.json()["detail"]
        r = await c.post("/api/v2/alerts", json=[], headers={"Authorization": "Basic eDp5"})
        assert r.status_code == 401 and "Bearer <token>" in r.json()["detail"]
        r = await c.post("/api/v2/alerts", json=[], headers=bearer("ingest-secreT"))
        assert r.status_code == 401 and r.json()["detail"] == "the bearer token is not valid"
        r = await c.post(
            "/api/v2/alerts", json=[{"labels": {"a": "b"}}], headers=bearer("read-secret")
        )
        assert r.status_code == 403
        assert r.json()["detail"] == "token 'viewer' lacks the 'ingest' role (it has: read)"
        assert api.records() == []
        ok = await c.post(
            "/api/v2/alerts", json=[{"labels": {"a": "b"}}], headers=bearer("ingest-secret")
        )
        assert ok.status_code == 200
        assert (await c.get("/api/v2/alerts", headers=bearer("ingest-secret"))).status_code == 403
        assert (await c.get("/api/v2/alerts", headers=bearer("read-secret"))).status_code == 200
        assert (await c.get("/api/v2/alerts", headers=bearer("admin-secret"))).status_code == 200
        silence = {
            "matchers": [{"name": "a", "value": "b", "isRegex": False}],
            "startsAt": api.rt.clock.now().isoformat(),
            "endsAt": (api.rt.clock.now() + timedelta(hours=1)).isoformat(),
            "createdBy": "me",
            "comment": "c",
        }
        r = await c.post("/api/v2/silences", json=silence, headers=bearer("read-secret"))
        assert r.status_code == 403
        r = await c.post("/api/v2/silences", json=silence, headers=bearer("operate-secret"))
        assert r.status_code == 200
        assert (await c.post("/-/reload", headers=bearer("operate-secret"))).status_code == 403
        # Health probes need no token; metrics need read.
        assert (await c.get("/-/healthy")).status_code == 200
        assert (await c.get("/-/ready")).status_code == 200
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers=bearer("read-secret"))).status_code == 200


async def test_ack_defaults_to_the_token_name():
    async with serving(ROUTES + TOKENS) as api:
        await api.client.post(
            "/api/v2/alerts", json=[{"labels": {"alertname": "X"}}], headers=bearer("admin-secret")
        )
        [gid] = api.rt.world.groups
        r = await api.client.post(f"/api/v1/alerts/{gid}/ack", headers=bearer("operate-secret"))
        assert r.status_code == 200 and r.json()["by"] == "oncall"


async def test_rate_limit_per_token_with_retry_after():
    now = [1000.0]
    settings = HttpSettings(rate=2.0, burst=3.0)
    async with serving(ROUTES + TOKENS, settings=settings, rate_clock=lambda: now[0]) as api:
        get = api.client.get
        for _ in range(3):
            assert (
                await get("/api/v2/receivers", headers=bearer("read-secret"))
            ).status_code == 200
        r = await get("/api/v2/receivers", headers=bearer("read-secret"))
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"
        assert "limited to 2 requests/s" in r.json()["detail"]
        # Another token has its own bucket.
        assert (await get("/api/v2/receivers", headers=bearer("admin-secret"))).status_code == 200
        now[0] += 0.5  # one request's worth refilled
        assert (await get("/api/v2/receivers", headers=bearer("read-secret"))).status_code == 200
        assert (await get("/api/v2/receivers", headers=bearer("read-secret"))).status_code == 429


async def test_webhook_signature():
    secret = "s3cret"
    async with serving(ROUTES, settings=HttpSettings(webhook_secret=secret)) as api:
        body = json.dumps(payload()).encode()
        ts = int(time.time())

        async def post(headers: dict[str, str]) -> Any:
            return await api.client.post("/alerts/webhook", content=body, headers=headers)

        r = await post({})
        assert r.status_code == 401 and "requires a signature" in r.json()["detail"]
        good = sign_webhook(secret, body, ts)
        r = await post({"X-Tocsin-Timestamp": str(ts), "X-Tocsin-Signature": "sha256=00"})
        assert r.status_code == 401 and "does not match" in r.json()["detail"]
        old = ts - 3600
        stale = {
            "X-Tocsin-Timestamp": str(old),
            "X-Tocsin-Signature": sign_webhook(secret, body, old),
        }
        r = await post(stale)
        assert r.status_code == 401 and "stale or replayed" in r.json()["detail"]
        bare = good.removeprefix("sha256=")
        r = await post({"X-Tocsin-Timestamp": str(ts), "X-Tocsin-Signature": bare})
        assert r.status_code == 401 and "must be sha256=<hex" in r.json()["detail"]
        for bad in ("noon", "9" * 400, "-5", "1e9"):
            r = await post({"X-Tocsin-Timestamp": bad, "X-Tocsin-Signature": good})
            assert r.status_code == 401 and "unix seconds" in r.json()["detail"], bad
        assert api.records() == []
        r = await post({"X-Tocsin-Timestamp": str(ts), "X-Tocsin-Signature": good})
        assert r.status_code == 200
        written = len(api.records())
        # The same signed request again, within the window: a replay, refused.
        r = await post({"X-Tocsin-Timestamp": str(ts), "X-Tocsin-Signature": good})
        assert r.status_code == 401 and "a replay is refused" in r.json()["detail"]
        assert len(api.records()) == written
        # Signed anew (another timestamp), the same body is welcome.
        again = sign_webhook(secret, body, ts + 1)
        r = await post({"X-Tocsin-Timestamp": str(ts + 1), "X-Tocsin-Signature": again})
        assert r.status_code == 200
