"""PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/overview/).

One incident per group: `dedup_key` is the group's stable key (`NotificationRequested.dedup_key`,
the same across restarts and episodes), so a resend after a crash, a repeat or an escalation
all land on the same incident. The event action follows the notification:

    firing (first, new alerts, repeat, escalated, unacknowledged)   trigger
    acknowledged in Tocsin                                          acknowledge
    all resolved, or resolved by hand                               resolve

A trigger carries `payload.summary` (at most 1024 characters), `source`, `severity`
(critical | error | warning | info, mapped from the alerts' severity), `timestamp`,
`component`, `group`, `class`, `custom_details`, plus `links` (runbook, dashboard) and
`client` / `client_url`. Acknowledge and resolve carry only the routing key, action and key.
202 is accepted; 400 is permanent (the event is invalid); 429 and 5xx are retried.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx

from tocsin.adapters.channels.base import HTTPRequest, Kit, is_template, receipt_from_status
from tocsin.adapters.channels.gofields import GoFields
from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.gotemplate import GoTemplateError
from tocsin.core.events import NotifyReason

__all__ = ["SUMMARY_MAX", "PagerdutyAdapter", "event_action", "pd_severity"]

log = logging.getLogger("tocsin.channels")

SUMMARY_MAX: Final = 1024
_SEVERITY: Final = {
    "critical": "critical",
    "page": "critical",
    "high": "error",
    "error": "error",
    "major": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
}


def pd_severity(severity: str) -> str:
    return _SEVERITY.get(severity.lower(), "info")


def event_action(n: Notification) -> str:
    if n.reason is NotifyReason.ACKNOWLEDGED:
        return "acknowledge"
    if n.status == "resolved":
        return "resolve"
    return "trigger"


def _literal(value: str | None) -> str | None:
    return None if value is None or is_template(value) else value


class PagerdutyAdapter:
    def __init__(
        self,
        kit: Kit,
        *,
        url: str,
        routing_key: str,
        client: str | None = None,
        client_url: str | None = None,
        source: str | None = None,
        severity: str | None = None,
        class_: str | None = None,
        component: str | None = None,
        group: str | None = None,
        details: dict[str, str] | None = None,
        links: tuple[tuple[str, str], ...] = (),
        go: GoFields | None = None,
    ) -> None:
        self.kit = kit
        self.url = url
        self.routing_key = routing_key
        self.client = _literal(client) or "Tocsin"
        self.client_url = _literal(client_url)
        self.source = _literal(source)
        self.severity = _literal(severity)
        self.class_ = _literal(class_)
        self.component = _literal(component)
        self.group = _literal(group)
        self.details = {k: v for k, v in (details or {}).items() if not is_template(v)}
        self.links = links
        self.go = go

    def build(self, n: Notification) -> HTTPRequest:
        action = event_action(n)
        body: dict[str, Any] = {
            "routing_key": self.routing_key,
            "event_action": action,
            "dedup_key": n.request.dedup_key,
        }
        if action == "trigger":
            body.update(self._trigger(n))
        return HTTPRequest(self.url, json=body)

    def _render_go(self, n: Notification) -> dict[str, str]:
        if self.go is None:
            return {}
        try:
            return self.go.render(self.kit.go_data(n))
        except GoTemplateError:
            log.exception("pagerduty: a Go template failed; sending Tocsin's built-in event")
            return {}

    def _trigger(self, n: Notification) -> dict[str, Any]:
        data = self.kit.data(n)
        go = self._render_go(n)
        common = data["commonLabels"]
        first = data["firing"][0]["labels"] if data["firing"] else {}
        if go and self.go is not None and self.go.message:
            # Alertmanager's words: the description is the summary, the details are its.
            summary = go.get("description", "")
            details: dict[str, Any] = self.go.details(go)
        else:
            summary, details = self._tocsin_words(data)
        payload: dict[str, Any] = {
            "summary": summary[: SUMMARY_MAX - 1] + "…" if len(summary) > SUMMARY_MAX else summary,
            "source": go.get("source")
            or self.source
            or first.get("instance")
            or first.get("job")
            or "tocsin",
            "severity": pd_severity(go.get("severity") or self.severity or data["severity"]),
            "timestamp": data["firing"][0]["startsAt"] if data["firing"] else None,
            "custom_details": details,
        }
        for key, value in (
            (
                "component",
                go.get("component")
                or self.component
                or common.get("service")
                or common.get("component"),
            ),
            ("group", go.get("group") or self.group or common.get("cluster") or common.get("team")),
            ("class", go.get("class") or self.class_ or common.get("alertname")),
        ):
            if value:
                payload[key] = value
        if payload["timestamp"] is None or payload["timestamp"].startswith("0001"):
            del payload["timestamp"]
        links = [{"href": href, "text": text} for href, text in self.links]
        for href, text in ((data["runbook_url"], "Runbook"), (data["dashboard_url"], "Dashboard")):
            if href:
                links.append({"href": href, "text": text})
        out: dict[str, Any] = {"payload": payload, "client": go.get("client") or self.client}
        client_url = go.get("client_url") or self.client_url or data["externalURL"]
        if client_url:
            out["client_url"] = client_url
        if links:
            out["links"] = links
        return out

    def _tocsin_words(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Tocsin's summary (its template's title and summary) and custom details."""
        r = self.kit.renderer.render(data, channel="pagerduty", fmt="text")
        summary = r.title if not r.summary else f"{r.title}: {r.summary}"
        details: dict[str, Any] = {
            "firing": "\n".join(
                f"{a['labels'].get('alertname', '')} {a['annotations'].get('summary', '')}".strip()
                for a in data["firing"]
            ),
            "num_firing": len(data["firing"]),
            "num_resolved": len(data["resolved"]),
            "group_labels": data["groupLabels"],
            "common_labels": data["commonLabels"],
            "common_annotations": data["commonAnnotations"],
            "reason": data["reason"],
            "tocsin_group": data["group_id"],
            **self.details,
        }
        if data["escalation_level"] >= 0:  # -1: the route has no escalation policy
            details.setdefault("escalation_level", data["escalation_level"])
        return summary, details

    def receipt(self, n: Notification, response: httpx.Response) -> Receipt:
        detail = ""
        if response.status_code == 400:
            try:
                errors = response.json().get("errors") or []
                detail = "; ".join(map(str, errors))[:300]
            except ValueError:
                detail = response.text[:300]
        return receipt_from_status(response, self.kit.now(), detail)
