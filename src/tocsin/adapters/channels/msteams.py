"""Microsoft Teams: an Adaptive Card posted to an incoming webhook or a Workflows URL.

Workflows ("Post to a channel when a webhook request is received") and the older connectors
both take a `message` whose attachment is an Adaptive Card
(https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference):
a title, the summary, a fact set (status, severity, service, alerts), the details, and
Action.OpenUrl buttons for the runbook and dashboard. Connectors answer 200, Workflows 202.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from tocsin.adapters.channels.base import HTTPRequest, Kit, is_template, receipt_from_status
from tocsin.adapters.channels.gofields import GoFields
from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.gotemplate import GoTemplateError

__all__ = ["MSTeamsAdapter", "adaptive_card"]

log = logging.getLogger("tocsin.channels")

_COLOR = {"firing": "attention", "resolved": "good"}


def adaptive_card(data: dict[str, Any], title: str, summary: str, details: str) -> dict[str, Any]:
    facts = [
        {"title": "Status", "value": data["status"]},
        {"title": "Severity", "value": data["severity"] or "none"},
        {
            "title": "Alerts",
            "value": f"{len(data['firing'])} firing, {len(data['resolved'])} resolved",
        },
    ]
    service = data["commonLabels"].get("service")
    if service:
        facts.insert(2, {"title": "Service", "value": service})
    if data["acknowledged"]:
        facts.append({"title": "Acknowledged by", "value": data["ack_by"]})
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": _COLOR.get(data["status"], "default"),
        }
    ]
    if summary:
        body.append({"type": "TextBlock", "text": summary, "wrap": True})
    body.append({"type": "FactSet", "facts": facts})
    if details:
        body.append({"type": "TextBlock", "text": details, "wrap": True, "isSubtle": True})
    actions = [
        {"type": "Action.OpenUrl", "title": text, "url": url}
        for url, text in ((data["runbook_url"], "Runbook"), (data["dashboard_url"], "Dashboard"))
        if url
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class MSTeamsAdapter:
    def __init__(
        self, kit: Kit, *, url: str, title: str | None = None, go: GoFields | None = None
    ) -> None:
        self.kit = kit
        self.url = url
        self.title = None if is_template(title) else title
        self.go = go

    def build(self, n: Notification) -> HTTPRequest:
        """Tocsin's card; Go-template `title`, `summary`, `text` fields replace its parts."""
        data = self.kit.data(n)
        go: dict[str, str] = {}
        if self.go is not None:
            try:
                go = self.go.render(self.kit.go_data(n))
            except GoTemplateError:
                log.exception("msteams: a Go template failed; sending Tocsin's built-in card")
        r = self.kit.renderer.render(data, channel="msteams", fmt="markdown")
        title = go.get("title") or self.title or r.title
        summary = go.get("summary", r.summary) if go else r.summary
        details = go.get("text", r.details) if go else r.details
        return HTTPRequest(self.url, json=adaptive_card(data, title, summary, details))

    def receipt(self, n: Notification, response: httpx.Response) -> Receipt:
        return receipt_from_status(response, self.kit.now())
