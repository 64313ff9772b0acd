"""Alertmanager's template data built from Tocsin's alerts, and from Alertmanager's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.adapters.gotemplate import GoTemplates, sort_alerts, template_data
from tocsin.adapters.gotemplate.data import Data, quote_meta
from tocsin.core.events import AlertData
from tocsin.core.labels import Labels

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(ends: datetime | None = None, **labels: str) -> AlertData:
    return AlertData(
        labels=Labels.of({"alertname": "Disk", **labels}),
        annotations=Labels.of({"summary": "full", "instance_note": labels.get("instance", "")}),
        starts_at=NOW - timedelta(hours=1),
        ends_at=ends,
        generator_url="http://prom/graph",
    )


def test_status_common_labels_and_fingerprints_follow_alertmanager():
    firing = alert(instance="a", job="node")
    resolved = alert(ends=NOW - timedelta(minutes=1), instance="b", job="node")
    later = alert(ends=NOW + timedelta(minutes=4), instance="c", job="node")  # still firing
    data = template_data(
        "team.ops", None, [firing, resolved, later], {"alertname": "Disk"}, "http://am", now=NOW
    )
    assert data.Receiver == "team\\.ops"  # regexp.QuoteMeta, as Alertmanager does
    assert data.Status == "firing"
    assert [a.Status for a in data.Alerts] == ["firing", "resolved", "firing"]
    assert data.Alerts[1].EndsAt.go_string() == "2026-03-01 11:59:00 +0000 UTC"
    assert data.Alerts[2].EndsAt.is_zero()  # a firing alert's end is not shown
    assert dict(data.CommonLabels) == {"alertname": "Disk", "job": "node"}
    assert dict(data.CommonAnnotations) == {"summary": "full"}
    assert data.Alerts[0].Fingerprint == firing.labels.fingerprint_hex
    assert data.ExternalURL == "http://am"
    only_resolved = template_data("r", None, [resolved], {}, "", now=NOW)
    assert only_resolved.Status == "resolved"


def test_views_that_know_their_status_are_taken_at_their_word():
    @dataclass
    class View:  # the shape of the channels' AlertView
        fingerprint: str
        alert: AlertData
        firing: bool
        resolved_at: datetime | None = None

    a, b = alert(instance="a"), alert(ends=NOW + timedelta(minutes=5), instance="b")
    data = template_data(
        "r",
        None,
        [View("f1", a, True), View("f2", b, False, NOW - timedelta(seconds=30))],
        {},
        "",
        now=NOW,
    )
    assert [(x.Status, x.Fingerprint) for x in data.Alerts] == [
        ("firing", "f1"),
        ("resolved", "f2"),
    ]
    assert data.Alerts[1].EndsAt.go_string() == "2026-03-01 11:59:30 +0000 UTC"
    assert dict(data.CommonLabels) == {"alertname": "Disk"}


def test_the_default_subject_from_tocsin_alerts():
    data = template_data(
        "ops",
        "firing",
        [alert(instance="a", job="node"), alert(instance="b", job="node")],
        {"alertname": "Disk"},
        "",
        now=NOW,
    )
    assert GoTemplates().execute("__subject", data) == "[FIRING:2] Disk (node)"


def test_from_json_reads_alertmanagers_payload_with_offsets_kept():
    data = Data.from_json(
        {
            "receiver": "r",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "A"},
                    "startsAt": "2026-03-01T12:00:00.123+05:30",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "ff",
                }
            ],
            "groupLabels": {"alertname": "A"},
            "externalURL": "http://am",
        }
    )
    a = data.Alerts[0]
    assert a.StartsAt.go_string() == "2026-03-01 12:00:00.123 +0530 +0530"
    assert a.EndsAt.is_zero() and a.Fingerprint == "ff" and dict(a.Annotations) == {}


def test_sort_alerts_orders_by_job_instance_then_labels():
    a = alert(instance="b", job="x")
    b = alert(instance="a", job="x")
    c = alert(instance="a")  # no job: after every alert that has one
    d = alert(job="a")
    assert sort_alerts([a, b, c, d]) == [d, b, a, c]


def test_quote_meta():
    assert quote_meta(r"a.b*c+d?(e)|[f]{g}^$\h") == r"a\.b\*c\+d\?\(e\)\|\[f\]\{g\}\^\$\\h"
