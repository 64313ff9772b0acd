"""Bad input of every kind gets the right status and a message naming what is wrong — and the
journal is unchanged. Plus a hypothesis fuzz of the ingest endpoints that never yields a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.adapters.http import HttpSettings, IngestLimits

from .harness import ROUTES, alert, serving

LIMITS = IngestLimits(
    max_request_bytes=64 * 1024,
    max_alerts_per_request=50,
    max_labels_per_alert=10,
    max_label_value_length=100,
)

# (body, status, text the answer must contain)
CASES: list[tuple[Any, int, str]] = [
    (b"[{", 400, "malformed JSON"),
    (b"", 400, "empty body"),
    (b"\xff\xfe", 400, "malformed JSON"),
    ({"labels": {"a": "b"}}, 400, "body: expected a JSON array of alerts, got object"),
    ("alerts", 400, "expected a JSON array of alerts, got string"),
    ([42], 400, "alerts[0]: expected an alert object, got number"),
    ([{"annotations": {}}], 400, "alerts[0].labels: required"),
    ([{"labels": ["a", "b"]}], 400, "alerts[0].labels: expected an object"),
    ([{"labels": {"a": 1}}], 400, 'alerts[0].labels["a"]: expected a string value, got number'),
    ([{"labels": {"a": None}}], 400, 'alerts[0].labels["a"]: expected a string value, got null'),
    ([{"labels": {"": "x"}}], 400, 'alerts[0].labels[""]: label name is empty'),
    ([{"labels": {"a-b": "x"}}], 400, 'alerts[0].labels["a-b"]: invalid label name'),
    ([{"labels": {"a": ""}}], 400, "alerts[0].labels: at least one label"),
    (
        [{"labels": {"a": "b"}, "annotations": {"bad name": "x"}}],
        400,
        'alerts[0].annotations["bad name"]: invalid label name',
    ),
    (
        [{"labels": {"a": "b"}, "annotations": "x"}],
        400,
        "alerts[0].annotations: expected an object",
    ),
    ([{"labels": {"a": "b"}, "startsAt": 5}], 400, "alerts[0].startsAt: expected an RFC 3339"),
    ([{"labels": {"a": "b"}, "startsAt": "yesterday"}], 400, "alerts[0].startsAt: not an RFC 3339"),
    ([{"labels": {"a": "b"}, "endsAt": "2024-01-01T00:00:00"}], 400, "needs a zone"),
    (
        [
            {
                "labels": {"a": "b"},
                "startsAt": "2024-01-02T00:00:00Z",
                "endsAt": "2024-01-01T00:00:00Z",
            }
        ],
        400,
        "alerts[0].endsAt: the end time must not be before startsAt",
    ),
    ([{"labels": {"a": "b"}, "generatorURL": 7}], 400, "alerts[0].generatorURL: expected a string"),
    (
        [{"labels": {f"l{i}": "x" for i in range(11)}}],
        400,
        "alerts[0].labels: 11 entries, at most 10",
    ),
    ([{"labels": {"a": "x" * 101}}], 400, 'alerts[0].labels["a"]: value is 101 characters'),
    ([alert(f"A{i}") for i in range(51)], 400, "51 alerts in one request, at most 50"),
]


@pytest.mark.parametrize(("body", "status", "text"), CASES)
async def test_bad_alert_batches(body: Any, status: int, text: str):
    async with serving(ROUTES, settings=HttpSettings(limits=LIMITS)) as api:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = await api.client.post(
            "/api/v2/alerts", content=raw, headers={"content-type": "application/json"}
        )
        assert r.status_code == status, r.text
        assert text in r.json(), r.json()
        assert api.records() == []


async def test_oversize_bodies_are_413_before_they_are_read():
    async with serving(ROUTES, settings=HttpSettings(limits=LIMITS)) as api:
        big = json.dumps([alert("A", pad="x" * 90)] * 2000).encode()
        assert len(big) > LIMITS.max_request_bytes
        r = await api.client.post("/api/v2/alerts", content=big)
        assert r.status_code == 413
        assert r.json()["error"] == "request body too large"
        assert f"the limit is {LIMITS.max_request_bytes} bytes" in r.json()["detail"]

        async def chunks():  # no Content-Length: the limit holds while streaming
            for _ in range(100):
                yield b" " * 1024

        r = await api.client.post("/api/v2/alerts", content=chunks())
        assert r.status_code == 413
        r = await api.client.post("/alerts/webhook", content=big)
        assert r.status_code == 413
        assert r.json()["detail"].endswith(": send fewer alerts per request")
        # Other endpoints have their own, fixed limits, and no advice about alerts.
        for path, limit in (
            ("/api/v2/silences", 262_144),
            ("/api/v1/alerts/some-group/ack", 65_536),
            ("/api/v1/heartbeats/nightly", 4_096),
        ):
            r = await api.client.post(path, content=b" " * (limit + 1))
            assert r.status_code == 413, path
            assert r.json()["detail"] == f"{limit + 1} bytes (at least), the limit is {limit} bytes"
        assert api.records() == []


async def test_unknown_paths_methods_and_ids_are_json_errors():
    async with serving(ROUTES) as api:
        r = await api.client.get("/api/v2/nothing")
        assert r.status_code == 404 and r.json()["error"] == "not found"
        r = await api.client.put("/api/v2/alerts")
        assert r.status_code == 405 and "PUT is not allowed" in r.json()["detail"]
        # The Allow header names every method of the path, whichever route serves which.
        for method, path, allowed in (
            ("PUT", "/api/v2/alerts", "GET, HEAD, POST"),
            ("PUT", "/api/v2/silences", "GET, HEAD, POST"),
            ("POST", "/api/v2/silence/abc", "DELETE, GET, HEAD"),
            ("PATCH", "/api/v1/heartbeats/x", "DELETE, POST"),
        ):
            r = await api.client.request(method, path)
            assert r.status_code == 405, path
            assert sorted(r.headers["allow"].split(", ")) == allowed.split(", "), path
        r = await api.client.get("/api/v2/silence/0b7d1a7e-0000-0000-0000-000000000000")
        assert r.status_code == 404 and r.json()["error"] == "silence not found"
        r = await api.client.post("/api/v1/alerts/nope/ack", json={"by": "me"})
        assert r.status_code == 404 and "'nope' is neither a live group id" in r.json()["detail"]
        r = await api.client.get("/api/v1/groups/nope")
        assert r.status_code == 404 and r.json()["error"] == "unknown group"
        r = await api.client.get("/api/v1/groups/nope/history")
        assert r.status_code == 404
        assert api.records() == []


async def test_a_flood_is_answered_without_losing_anything_accepted():
    async with serving(ROUTES) as api:
        statuses = []
        for i in range(300):  # bounded
            r = await api.client.post("/api/v2/alerts", json=[alert("Flood", n=str(i % 30))])
            statuses.append(r.status_code)
        assert set(statuses) == {200}
        r = await api.client.get("/api/v2/alerts", params={"filter": "alertname=Flood"})
        assert len(r.json()) == 30


# -- fuzz -----------------------------------------------------------------------------------
_text = st.text(max_size=12)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_times = st.one_of(
    st.none(),
    _text,
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-01-01T00:00:00"]),
)
_alertish = st.fixed_dictionaries(
    {},
    optional={
        "labels": st.dictionaries(_text, _text | _scalars, max_size=4) | _json,
        "annotations": st.dictionaries(_text, _text, max_size=3) | _json,
        "startsAt": _times,
        "endsAt": _times,
        "generatorURL": _text | _scalars,
        "status": st.sampled_from(["firing", "resolved", "weird"]) | _scalars,
    },
)
_bodies = st.one_of(
    _json,
    st.lists(_alertish | _json, max_size=5),
    st.fixed_dictionaries(
        {"version": st.sampled_from(["4", "3", 4]), "alerts": st.lists(_alertish, max_size=4)}
    ),
).map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies)
async def test_fuzzed_ingest_never_yields_a_500(body: bytes):
    async with serving(ROUTES) as api:
        for path in ("/api/v2/alerts", "/alerts/webhook"):
            r = await api.client.post(path, content=body)
            assert r.status_code in (200, 400), (path, body, r.status_code, r.text)
            if r.content:
                assert r.headers["content-type"] == "application/json"
