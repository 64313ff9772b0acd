"""Tocsin's own endpoints: active groups, ack / unack / resolve by group id or fingerprint,
a group's state and its history; and the ops endpoints (/metrics, /-/reload)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import trio.testing

from tocsin.adapters.http import ReloadOutcome
from tocsin.core.labels import Labels
from tocsin.journal import RecordsCompacted, StoredRecord

from .harness import ROUTES, alert, serving


async def _post(api, *alerts):  # type: ignore[no-untyped-def]
    r = await api.client.post("/api/v2/alerts", json=list(alerts))
    assert r.status_code == 200, r.text


async def test_active_groups_ack_unack_and_resolve():
    async with serving(ROUTES) as api:
        c = api.client
        await _post(api, alert("Disk", host="a"), alert("Disk", host="b"))
        [group] = (await c.get("/alerts/active")).json()["groups"]
        gid = group["id"]
        assert group["receiver"] == "team" and group["labels"] == {"alertname": "Disk"}
        assert group["phase"] in ("pending", "firing") and group["ack"] is None
        assert {a["labels"]["host"] for a in group["alerts"]} == {"a", "b"}
        assert all(a["state"] == "active" for a in group["alerts"])

        r = await c.post(f"/api/v1/alerts/{gid}/ack", json={"by": "alice", "comment": "on it"})
        assert r.status_code == 200
        assert r.json()["groups"] == [{"id": gid, "ok": True, "phase": "acknowledged"}]
        view = (await c.get(f"/api/v1/groups/{gid}")).json()
        assert view["phase"] == "acknowledged"
        assert view["ack"]["by"] == "alice" and view["ack"]["comment"] == "on it"
        r = await c.post(f"/api/v1/alerts/{gid}/ack", json={"by": "bob"})
        assert r.status_code == 409
        assert r.json() == {
            "error": "cannot acknowledge",
            "detail": "the group is already acknowledged",
        }
        assert (
            await c.post(f"/api/v1/alerts/{gid}/unack", json={"by": "alice"})
        ).status_code == 200
        # By fingerprint: the alert's group.
        fp = Labels.of({"alertname": "Disk", "host": "a"}).fingerprint_hex
        r = await c.post(f"/api/v1/alerts/{fp}/resolve", json={"by": "alice", "comment": "fixed"})
        assert r.status_code == 200 and r.json()["groups"][0]["id"] == gid
        assert (await c.get("/alerts/active")).json()["groups"] == []

        await trio.testing.wait_all_tasks_blocked()  # the last notification delivered
        r = await c.get(f"/api/v1/groups/{gid}/history")
        assert r.status_code == 200
        types = [e["type"] for e in r.json()["events"]]
        assert types[0] == "group.opened"
        assert "group.acknowledged" in types and "group.unacknowledged" in types
        assert types[-1] == "group.resolved" or "group.resolved" in types
        ack = next(e for e in r.json()["events"] if e["type"] == "group.acknowledged")
        assert ack["data"]["by"] == "alice" and ack["data"]["comment"] == "on it"
        page = (await c.get(f"/api/v1/groups/{gid}/history", params={"limit": 2})).json()
        assert len(page["events"]) == 2
        rest = (
            await c.get(f"/api/v1/groups/{gid}/history", params={"since": page["next_since"]})
        ).json()
        assert [e["seq"] for e in page["events"] + rest["events"]] == [
            e["seq"] for e in r.json()["events"]
        ]
        for bad, detail in (
            ("0", "must be at least 1, got 0"),
            ("10001", "must be between 1 and 10000, got 10001"),
            ("x", "expected an integer, got 'x'"),
        ):
            r = await c.get(f"/api/v1/groups/{gid}/history", params={"limit": bad})
            assert (r.status_code, r.json()["detail"]) == (400, detail)
        r = await c.get(f"/api/v1/groups/{gid}/history", params={"since": "-5"})
        assert (r.status_code, r.json()["detail"]) == (400, "must be at least 0, got -5")


async def test_ack_forbidden_route_is_409_with_the_reason_and_changes_nothing():
    async with serving(ROUTES) as api:
        await _post(api, alert("Breach", team="security"))
        [gid] = api.rt.world.groups
        await trio.testing.wait_all_tasks_blocked()  # flushed and notified
        records = len(api.records())
        r = await api.client.post(f"/api/v1/alerts/{gid}/ack", json={"by": "mallory"})
        assert r.status_code == 409
        assert r.json() == {
            "error": "acknowledgement forbidden",
            "detail": "this group's route forbids acknowledgement",
        }
        assert len(api.records()) == records
        assert (await api.client.get(f"/api/v1/groups/{gid}")).json()["acknowledge"] == "forbidden"


async def test_command_bodies_are_checked():
    async with serving(ROUTES) as api:
        await _post(api, alert("X"))
        [gid] = api.rt.world.groups
        for body, text in [
            ({}, "by: required"),
            ({"by": 5}, "by: expected a string, got number"),
            ({"by": "a", "comment": []}, "comment: expected a string, got array"),
            ([], "expected a JSON object, got array"),
        ]:
            r = await api.client.post(f"/api/v1/alerts/{gid}/ack", json=body)
            assert r.status_code == 400 and text in r.json()["detail"], (body, r.json())
        r = await api.client.post(f"/api/v1/alerts/{gid}/poke", json={"by": "a"})
        assert r.status_code == 404 and "no such action 'poke'" in r.json()["detail"]


async def test_metrics_count_what_happened():
    async with serving(ROUTES) as api:
        await _post(api, alert("A", severity="critical"), alert("B"))
        await api.client.post("/api/v2/alerts", json=[{"labels": {}}])
        await trio.testing.wait_all_tasks_blocked()  # flushed and notified
        text = (await api.client.get("/metrics")).text
        assert 'tocsin_alerts_received_total{ingress="api",status="firing"} 2.0' in text
        assert 'tocsin_alerts_invalid_total{ingress="api"} 1.0' in text
        assert "tocsin_alerts_active 2.0" in text
        assert 'tocsin_groups{phase="firing"}' in text
        assert 'tocsin_silences{state="active"} 0.0' in text
        assert 'tocsin_queue_depth{queue="ingest"} 0.0' in text
        assert 'tocsin_notifications_requested_total{receiver="oncall"}' in text
        assert 'tocsin_notifications_total{integration="log",receiver="oncall"}' in text
        assert 'tocsin_http_request_duration_seconds_count{code="200",handler="post_alerts"' in text
        assert "tocsin_journal_records_appended_total" in text


async def test_reload_endpoint_reports_success_and_refusal():
    outcomes = [
        ReloadOutcome(True, True, "abc", "am.yml"),
        ReloadOutcome(False, False, "def", "am.yml", ("am.yml:3:5: route: bad",)),
    ]
    calls: list[str] = []

    async def reload(trigger: str) -> ReloadOutcome:
        calls.append(trigger)
        return outcomes.pop(0)

    async with serving(ROUTES, reload=reload) as api:
        r = await api.client.post("/-/reload")
        assert r.status_code == 200
        assert r.json() == {"status": "reloaded", "source": "am.yml", "sha256": "abc"}
        r = await api.client.post("/-/reload")
        assert r.status_code == 400
        assert r.json()["error"] == "configuration not reloaded"
        assert r.json()["detail"]["problems"] == ["am.yml:3:5: route: bad"]
        assert calls == ["POST /-/reload by anonymous"] * 2


async def test_history_reads_what_retention_kept():
    """Retention removes records a snapshot covers: a group's history is what is left (it
    was a 500: the journal's RecordsCompacted, unhandled)."""
    first_kept = [1]
    journal: list[Any] = []

    def kept(after: int) -> Iterator[StoredRecord]:
        if after < first_kept[0] - 1:
            raise RecordsCompacted(after, first_kept[0])
        return journal[0].read(after)

    async with serving(ROUTES, history=kept) as api:
        journal.append(api.journal)
        await _post(api, alert("Boom"))
        [gid] = api.rt.world.groups
        await trio.testing.wait_all_tasks_blocked()
        whole = (await api.client.get(f"/api/v1/groups/{gid}/history")).json()["events"]
        first_kept[0] = whole[2]["seq"]  # as if the first records had been removed
        r = await api.client.get(f"/api/v1/groups/{gid}/history")
        assert r.status_code == 200
        assert r.json()["events"] == whole[2:]


async def test_a_fingerprint_refused_by_every_group_names_each_and_why():
    async with serving(ROUTES) as api:
        await _post(api, alert("Breach", severity="critical", team="security"))
        assert len(api.rt.world.groups) == 2  # the critical route continues to security's
        fp = next(iter(next(iter(api.rt.world.groups.values())).alerts))
        await trio.testing.wait_all_tasks_blocked()
        r = await api.client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "alice"})
        assert r.status_code == 200  # one group acknowledged, security's refused
        r = await api.client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "alice"})
        assert r.status_code == 409
        detail = r.json()["detail"]
        assert detail.startswith(f"every group of {fp} refused: group ")
        assert "already acknowledged" in detail and "forbids acknowledgement" in detail
        for gid in api.rt.world.groups:
            assert f"group {gid}:" in detail
