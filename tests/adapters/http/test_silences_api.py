"""Silences over the API with Alertmanager's semantics: create, update in place or anew, expire,
filters, and the checks before any of it (which leave the journal alone)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from .harness import ROUTES, alert, serving


def silence(api: Any, *, hours: float = 1, **overrides: Any) -> dict[str, Any]:
    now = api.rt.clock.now()
    body = {
        "matchers": [{"name": "alertname", "value": "Boom", "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=hours)).isoformat(),
        "createdBy": "alice",
        "comment": "maintenance",
    }
    body.update(overrides)
    return body


async def test_create_get_list_update_and_expire():
    async with serving(ROUTES) as api:
        c = api.client
        await c.post("/api/v2/alerts", json=[alert("Boom")])
        r = await c.post("/api/v2/silences", json=silence(api))
        assert r.status_code == 200
        sid = r.json()["silenceID"]
        got = (await c.get(f"/api/v2/silence/{sid}")).json()
        assert got["id"] == sid and got["status"] == {"state": "active"}
        assert got["matchers"] == [
            {"isEqual": True, "isRegex": False, "name": "alertname", "value": "Boom"}
        ]
        assert got["createdBy"] == "alice" and got["comment"] == "maintenance"
        [listed] = (await c.get("/api/v2/alerts")).json()
        assert listed["status"] == {"inhibitedBy": [], "silencedBy": [sid], "state": "suppressed"}
        assert (await c.get("/api/v2/alerts", params={"silenced": "false"})).json() == []
        # Same matchers, later end: updated in place.
        r = await c.post(
            "/api/v2/silences",
            json={**silence(api, hours=2), "id": sid, "startsAt": got["startsAt"]},
        )
        assert r.json()["silenceID"] == sid
        # Other matchers: the old one expires, a new id is made.
        other = silence(api, matchers=[{"name": "alertname", "value": "B.*", "isRegex": True}])
        r = await c.post("/api/v2/silences", json={**other, "id": sid})
        new_id = r.json()["silenceID"]
        assert new_id != sid
        assert (await c.get(f"/api/v2/silence/{sid}")).json()["status"]["state"] == "expired"
        listed = (await c.get("/api/v2/silences")).json()
        assert [s["id"] for s in listed] == [new_id, sid]  # active first, then expired
        # Alertmanager's filter finds the silences with that very matcher: name, operator and
        # value. alertname="Boom" is on the old one, alertname=~"B.*" on the new one.
        r = await c.get("/api/v2/silences", params={"filter": 'alertname=~"B.*"'})
        assert [s["id"] for s in r.json()] == [new_id]
        r = await c.get("/api/v2/silences", params={"filter": 'alertname="Boom"'})
        assert [s["id"] for s in r.json()] == [sid]
        for other in ('alertname="B.*"', 'alertname=~"Bo.*"', 'alertname!="x"', 'env=""'):
            r = await c.get("/api/v2/silences", params={"filter": other})
            assert r.json() == [], other
        r = await c.get("/api/v2/silences", params={"creator": "bob"})
        assert r.json() == []
        assert (await c.delete(f"/api/v2/silence/{new_id}")).status_code == 200
        assert (await c.get(f"/api/v2/silence/{new_id}")).json()["status"]["state"] == "expired"
        journaled = api.rt.world.applied_seq
        r = await c.delete(f"/api/v2/silence/{new_id}")
        assert r.status_code == 200  # expiring is idempotent, as in Alertmanager
        assert api.rt.world.applied_seq == journaled  # and journals nothing
        r = await c.delete("/api/v2/silence/does-not-exist")
        assert r.status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"matchers": []}, 400, "matchers: at least one matcher is required"),
        ({"matchers": "x"}, 400, "matchers: expected an array of matchers, got string"),
        ({"matchers": {"a": "b"}}, 400, "matchers: expected an array of matchers, got object"),
        (
            {"matchers": [{"name": "a", "value": "b", "isRegex": False}, {"value": "c"}]},
            400,
            "matchers[1].name: required",
        ),
        (
            {
                "matchers": [
                    {"name": "a", "value": "b", "isRegex": False},
                    {"name": "c", "value": 5},
                ]
            },
            400,
            "matchers[1].value: expected a string, got number",
        ),
        ({"matchers": [{"name": "a", "value": "b"}]}, 400, "matchers[0].isRegex: required"),
        (
            {"matchers": [{"name": "1a", "value": "b", "isRegex": False}]},
            400,
            "matchers[0].name: invalid label name",
        ),
        (
            {"matchers": [{"name": "a", "value": "(", "isRegex": True}]},
            400,
            "matchers[0].value:",
        ),
        (
            {"matchers": [{"name": "a", "value": ".*", "isRegex": True}]},
            400,
            "at least one matcher must not match the empty string",
        ),
        ({"startsAt": "now"}, 400, "startsAt: not an RFC 3339 time"),
        ({"endsAt": None}, 400, "endsAt: required"),
        ({"createdBy": ""}, 400, "createdBy: required"),
        ({"comment": 5}, 400, "comment: expected a string, got number"),
        ({"id": "nope"}, 404, "id: no silence with id 'nope'"),
    ],
)
async def test_invalid_silences_change_nothing(change: dict[str, Any], status: int, text: str):
    async with serving(ROUTES) as api:
        r = await api.client.post("/api/v2/silences", json={**silence(api), **change})
        assert r.status_code == status, r.text
        assert text in r.json(), r.json()
        assert api.records() == []


async def test_a_body_that_is_not_an_object_is_a_string_error_for_amtool():
    async with serving(ROUTES) as api:
        r = await api.client.post("/api/v2/silences", json=[1])
        assert r.status_code == 400
        assert r.json() == "invalid silence: expected a JSON object, got array"
        assert api.records() == []


async def test_end_before_start_and_end_in_the_past():
    async with serving(ROUTES) as api:
        now = api.rt.clock.now()
        body = silence(api, endsAt=(now - timedelta(minutes=1)).isoformat())
        r = await api.client.post("/api/v2/silences", json=body)
        assert r.status_code == 400 and "endsAt" in r.json()
        body = silence(api, startsAt=(now + timedelta(hours=2)).isoformat())
        r = await api.client.post("/api/v2/silences", json=body)
        assert r.status_code == 400 and "endsAt: the end time must be after startsAt" in r.json()
        assert api.records() == []
