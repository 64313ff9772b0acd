"""POST/GET /api/v2/alerts and /api/v2/alerts/groups: Alertmanager's behaviour, in process."""

from __future__ import annotations

from datetime import datetime, timedelta

import trio

from tocsin.actors.runtime import RuntimeSettings
from tocsin.core.labels import Labels

from .harness import ROUTES, alert, serving


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s)


async def test_posted_alert_is_durable_and_listed_like_alertmanager():
    async with serving(ROUTES) as api:
        before = api.rt.clock.now()
        r = await api.client.post("/api/v2/alerts", json=[alert("Boom", severity="critical")])
        assert r.status_code == 200 and r.content == b""
        # 200 means on disk: the alert's events are in the journal already.
        assert "alert.received" in api.types()
        r = await api.client.get("/api/v2/alerts")
        assert r.status_code == 200
        [got] = r.json()
        fp = Labels.of({"alertname": "Boom", "severity": "critical"}).fingerprint_hex
        assert got["fingerprint"] == fp
        assert got["labels"] == {"alertname": "Boom", "severity": "critical"}
        assert got["annotations"] == {"summary": "Boom!"}
        assert got["receivers"] == [{"name": "oncall"}]
        assert got["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
        starts, ends = _t(got["startsAt"]), _t(got["endsAt"])
        # Missing startsAt: now. Missing endsAt: now + resolve_timeout (default 5m).
        assert before - timedelta(seconds=1) <= starts <= api.rt.clock.now()
        assert ends - starts == timedelta(minutes=5)


async def test_empty_valued_labels_are_dropped_before_fingerprinting():
    async with serving(ROUTES) as api:
        # Dropped first, so an empty label's name is never looked at ("bad-name" is no
        # valid label name): Alertmanager's API removes empty labels before validating.
        r = await api.client.post(
            "/api/v2/alerts",
            json=[{"labels": {"alertname": "A", "team": "", "bad-name": "", "env": "prod"}}],
        )
        assert r.status_code == 200
        [got] = (await api.client.get("/api/v2/alerts")).json()
        assert got["labels"] == {"alertname": "A", "env": "prod"}
        assert got["fingerprint"] == Labels.of({"alertname": "A", "env": "prod"}).fingerprint_hex


async def test_resolve_timeout_comes_from_the_config():
    config = "global:\n  resolve_timeout: 1h\n" + ROUTES
    async with serving(config) as api:
        await api.client.post("/api/v2/alerts", json=[alert()])
        [got] = (await api.client.get("/api/v2/alerts")).json()
        assert _t(got["endsAt"]) - _t(got["startsAt"]) == timedelta(hours=1)


async def test_given_times_are_kept_and_a_resolved_alert_resolves():
    async with serving(ROUTES) as api:
        now = api.rt.clock.now()
        starts = (now - timedelta(minutes=3)).isoformat()
        ends = (now + timedelta(minutes=10)).isoformat()
        item = {**alert(), "startsAt": starts, "endsAt": ends, "generatorURL": "http://prom/g"}
        assert (await api.client.post("/api/v2/alerts", json=[item])).status_code == 200
        [got] = (await api.client.get("/api/v2/alerts")).json()
        assert _t(got["startsAt"]) == _t(starts).replace(
            microsecond=_t(got["startsAt"]).microsecond
        )
        assert got["generatorURL"] == "http://prom/g"
        resolved = {**item, "endsAt": now.isoformat()}
        assert (await api.client.post("/api/v2/alerts", json=[resolved])).status_code == 200
        assert "alert.resolved" in api.types()
        assert (await api.client.get("/api/v2/alerts")).json() == []


async def test_an_invalid_alert_is_named_while_the_valid_ones_are_accepted():
    async with serving(ROUTES) as api:
        batch = [alert("Good1"), {"labels": {"1x": "bad"}}, alert("Good2"), {"labels": {}}]
        r = await api.client.post("/api/v2/alerts", json=batch)
        assert r.status_code == 400
        # Alertmanager's 400 body is a JSON string (amtool decodes it as one).
        message = r.json()
        assert isinstance(message, str)
        assert message.startswith("2 of 4 alerts invalid (2 valid ones accepted)")
        assert 'alerts[1].labels["1x"]: invalid label name' in message
        assert "alerts[3].labels: at least one label" in message
        names = {a["labels"]["alertname"] for a in (await api.client.get("/api/v2/alerts")).json()}
        assert names == {"Good1", "Good2"}


async def test_filters_receiver_and_state_switches():
    async with serving(ROUTES) as api:
        await api.client.post(
            "/api/v2/alerts",
            json=[
                alert("Disk", severity="critical"),
                alert("Disk", severity="warning", host="a"),
                alert("Cpu", severity="warning"),
            ],
        )

        async def names(**params: object) -> list[tuple[str, str]]:
            r = await api.client.get("/api/v2/alerts", params=params)
            assert r.status_code == 200, r.text
            return sorted((a["labels"]["alertname"], a["labels"]["severity"]) for a in r.json())

        assert len(await names()) == 3
        assert await names(filter='alertname="Disk"') == [("Disk", "critical"), ("Disk", "warning")]
        assert await names(filter=["alertname=~D.*", 'severity!="critical"']) == [
            ("Disk", "warning")
        ]
        assert await names(receiver="oncall") == [("Disk", "critical")]
        assert await names(receiver="on.*|nobody") == [("Disk", "critical")]
        # The warning Disk alert is inhibited by the critical one (equal alertname).
        assert await names(inhibited="false") == [("Cpu", "warning"), ("Disk", "critical")]
        assert await names(active="false") == [("Disk", "warning")]
        r = await api.client.get("/api/v2/alerts", params={"filter": 'severity="warning"'})
        inhibited = next(a for a in r.json() if a["labels"]["alertname"] == "Disk")
        crit = Labels.of({"alertname": "Disk", "severity": "critical"}).fingerprint_hex
        assert inhibited["status"] == {
            "inhibitedBy": [crit],
            "silencedBy": [],
            "state": "suppressed",
        }


async def test_bad_filter_and_receiver_regex_are_400_naming_them():
    async with serving(ROUTES) as api:
        r = await api.client.get("/api/v2/alerts", params={"filter": "alertname=~("})
        assert r.status_code == 400 and "filter 'alertname=~('" in r.json()
        r = await api.client.get("/api/v2/alerts", params={"filter": "no operator"})
        assert r.status_code == 400 and "bad matcher" in r.json()
        r = await api.client.get("/api/v2/alerts", params={"receiver": "a("})
        assert r.status_code == 400 and r.json().startswith("failed to parse receiver param")
        r = await api.client.get("/api/v2/alerts/groups", params={"active": "maybe"})
        assert r.status_code == 400 and "active" in r.json()


async def test_alert_groups_follow_the_routing_tree():
    async with serving(ROUTES) as api:
        await api.client.post(
            "/api/v2/alerts",
            json=[alert("Disk", severity="critical", host="a"), alert("Disk", host="b")],
        )
        r = await api.client.get("/api/v2/alerts/groups")
        assert r.status_code == 200
        groups = {(g["receiver"]["name"], len(g["alerts"])) for g in r.json()}
        # The critical alert goes to oncall (no later sibling matches it), the other to the root.
        assert groups == {("oncall", 1), ("team", 1)}
        assert all(g["labels"] == {"alertname": "Disk"} for g in r.json())
        r = await api.client.get("/api/v2/alerts/groups", params={"receiver": "oncall"})
        assert [g["receiver"]["name"] for g in r.json()] == ["oncall"]


async def test_a_full_ingest_queue_answers_503_with_retry_after_and_accepts_nothing():
    settings = RuntimeSettings(ingest_queue=1)
    async with serving(ROUTES, runtime_settings=settings) as api:
        # Appends wait: the dispatcher's round holds the first batch, the next fills the queue.
        api.journal.gate = trio.Event()
        results: dict[int, int] = {}

        async def post(i: int) -> None:
            r = await api.client.post("/api/v2/alerts", json=[alert("Same", n=str(i))])
            results[i] = r.status_code

        async with trio.open_nursery() as nursery:
            for i in range(2):
                nursery.start_soon(post, i)
                await trio.testing.wait_all_tasks_blocked()
            r = await api.client.post("/api/v2/alerts", json=[alert("Refused")])
            assert r.status_code == 503
            assert r.headers["Retry-After"] == "1"
            assert r.json()["error"] == "busy"
            assert "nothing of this request was accepted" in r.json()["detail"]
            api.journal.gate.set()
        assert results == dict.fromkeys(range(2), 200)
        payloads = [rec.payload for rec in api.records() if rec.type == "alert.received"]
        assert "Refused" not in str(payloads)
        assert len(payloads) == 2


async def test_not_ready_until_the_runtime_is_attached():
    async with serving(ROUTES, attach=False) as api:
        assert (await api.client.get("/-/healthy")).status_code == 200
        r = await api.client.get("/-/ready")
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        registry = api.ctx.metrics.registry

        def busy() -> float | None:
            name, labels = "tocsin_http_rejected_total", {"reason": "busy"}
            return registry.get_sample_value(name, labels)

        assert not busy()  # a probe's answer, not a sender turned away
        r = await api.client.post("/api/v2/alerts", json=[alert()])
        assert r.status_code == 503 and r.json()["error"] == "not ready"
        assert busy() == 1  # this one was
        api.ctx.attach(api.rt)
        assert (await api.client.get("/-/ready")).status_code == 200
        assert (await api.client.post("/api/v2/alerts", json=[alert()])).status_code == 200
