"""Notifications to render and send in adapter tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.adapters.channels.base import Kit
from tocsin.adapters.channels.model import AlertView, Notification
from tocsin.adapters.templates import JinjaRenderer, Redactor
from tocsin.core.events import AlertData, NotificationRequested, NotifyReason
from tocsin.core.labels import Labels

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROUTING_KEY = "R" * 32


def kit(external_url: str = "http://tocsin.test:9093") -> Kit:
    return Kit(JinjaRenderer(), Redactor(), external_url, lambda: T0)


def alert(name: str = "DiskFull", *, firing: bool = True, **labels: str) -> AlertView:
    annotations = {
        "summary": f"{name} on {labels.get('instance', 'db1')}",
        "description": "Disk usage above 95% for 10m",
        "runbook_url": "https://runbooks.test/disk",
    }
    for k in list(labels):
        if k.startswith("ann_"):
            annotations[k[4:]] = labels.pop(k)
    data = AlertData(
        Labels.of({"alertname": name, "severity": "critical", "service": "db", **labels}),
        Labels.of(annotations),
        T0 - timedelta(minutes=3),
        None,
        "http://prometheus.test/graph?g0.expr=disk",
    )
    return AlertView(data.fingerprint, data, firing, None if firing else T0)


def notification(
    *alerts: AlertView,
    reason: NotifyReason = NotifyReason.FIRST_NOTIFICATION,
    receiver: str = "critical",
    gid: str = "g1",
    ack_by: str | None = None,
    episode: int = 1,
    seq: int = 1,
    level: int = 0,
) -> Notification:
    alerts = alerts or (alert(),)
    req = NotificationRequested(
        gid,
        f"{gid}-{episode}-{seq}",
        receiver,
        reason,
        level,
        episode,
        tuple(a.fingerprint for a in alerts if a.firing),
        tuple(a.fingerprint for a in alerts if not a.firing),
        f"tocsin-{gid}",
        T0,
    )
    return Notification(
        req,
        '{}:{alertname="DiskFull"}',
        Labels.of({"alertname": alerts[0].alert.labels["alertname"]}),
        alerts,
        level,
        ack_by,
    )
