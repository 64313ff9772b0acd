"""The data a template sees: Alertmanager's template data, plus Tocsin's own.

Alertmanager's keys keep Alertmanager's names (template/template.go `Data`, in camelCase as its
webhook JSON spells them): `receiver`, `status`, `alerts` (each with `status`, `labels`,
`annotations`, `startsAt`, `endsAt`, `generatorURL`, `fingerprint`), `groupLabels`,
`commonLabels`, `commonAnnotations`, `externalURL`, `groupKey`. Tocsin adds `reason` (why this
notification), `group_id`, `escalation_level`, `acknowledged` / `ack_by` / `ack_comment`,
`dashboard_url`, `severity`, `alert_type`, `alertname`, `firing` / `resolved` (the alerts by
status), `runbook_url` and `notification_id`.

Label and annotation values are redacted here, once, before any template or payload sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from tocsin.adapters.templates.redact import Redactor

if TYPE_CHECKING:  # (a runtime import would be circular: channels render with templates)
    from tocsin.adapters.channels.model import AlertView, Notification

__all__ = ["SEVERITY_ORDER", "build_data", "rfc3339", "severity_of"]

# Highest first. Unknown severities rank below every known one.
SEVERITY_ORDER: Final = ("critical", "high", "error", "warning", "info", "none")
ZERO_TIME: Final = "0001-01-01T00:00:00Z"  # Go's zero time, as Alertmanager sends it


def rfc3339(t: datetime | None) -> str:
    if t is None:
        return ZERO_TIME
    text = t.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def severity_of(labels_list: list[dict[str, str]]) -> str:
    """The group's severity: the highest `severity` label among its alerts ("" if none)."""
    found = {labels.get("severity", "").lower() for labels in labels_list} - {""}
    if not found:
        return ""
    ranked = sorted(found, key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else 99)
    return ranked[0]


def _alert(view: AlertView, redactor: Redactor) -> dict[str, Any]:
    a = view.alert
    ends = a.ends_at if view.firing else (view.resolved_at or a.ends_at)
    return {
        "status": "firing" if view.firing else "resolved",
        "labels": redactor.redact_pairs(a.labels),
        "annotations": redactor.redact_pairs(a.annotations),
        "startsAt": rfc3339(a.starts_at),
        "endsAt": rfc3339(ends) if not view.firing else ZERO_TIME,
        "generatorURL": a.generator_url,
        "fingerprint": view.fingerprint,
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    out = dict(maps[0])
    for m in maps[1:]:
        for k in [k for k, v in out.items() if m.get(k) != v]:
            del out[k]
    return dict(sorted(out.items()))


def build_data(
    n: Notification, redactor: Redactor, external_url: str = "", receiver: str | None = None
) -> dict[str, Any]:
    """The template data of notification `n` (redacted)."""
    alerts = [_alert(v, redactor) for v in n.alerts]
    labels = [a["labels"] for a in alerts]
    common_labels = _common(labels)
    common_annotations = _common([a["annotations"] for a in alerts])
    group_labels = redactor.redact_pairs(n.group_labels)
    external = external_url.rstrip("/")
    dashboard = f"{external}/?group={quote(n.group_id)}" if external else ""
    alertname = common_labels.get("alertname") or group_labels.get("alertname", "")
    if not alertname and labels:
        alertname = labels[0].get("alertname", "")
    alert_type = common_labels.get("alert_type") or group_labels.get("alert_type", "")
    return {
        "receiver": receiver or n.receiver,
        "status": n.status,
        "alerts": alerts,
        "firing": [a for a in alerts if a["status"] == "firing"],
        "resolved": [a for a in alerts if a["status"] == "resolved"],
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": external,
        "groupKey": n.group_key,
        "reason": str(n.reason),
        "group_id": n.group_id,
        "notification_id": n.id,
        "escalation_level": n.level,
        "acknowledged": n.acknowledged_by is not None,
        "ack_by": n.acknowledged_by or "",
        "ack_comment": n.ack_comment,
        "dashboard_url": common_annotations.get("dashboard_url")
        or common_annotations.get("dashboard")
        or dashboard,
        "tocsin_url": dashboard,
        "runbook_url": common_annotations.get("runbook_url")
        or common_annotations.get("runbook", ""),
        "severity": severity_of(labels) or common_labels.get("severity", ""),
        "alert_type": alert_type,
        "alertname": alertname,
    }
