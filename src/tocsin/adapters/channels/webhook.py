"""Webhook: Alertmanager's payload, version "4", so anything that reads Alertmanager webhooks
reads Tocsin's (notify/webhook/webhook.go `Message`: template `Data` plus `version`,
`groupKey`, `truncatedAlerts`).

`max_alerts` (0: all) truncates `alerts` and says how many were left out in
`truncatedAlerts`. With a signing secret, the body is signed: `X-Tocsin-Timestamp` (Unix
seconds) and `X-Tocsin-Signature: v1=<hex HMAC-SHA256 of "v1:{timestamp}:{body}">`, Slack's
scheme, so a receiver can check origin and freshness.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from tocsin.adapters.channels.base import HTTPRequest, Kit, receipt_from_status
from tocsin.adapters.channels.model import Notification, Receipt

__all__ = ["WebhookAdapter", "payload_v4", "signature"]


def payload_v4(data: dict[str, Any], max_alerts: int = 0) -> dict[str, Any]:
    alerts = data["alerts"]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {
        "receiver": data["receiver"],
        "status": data["status"],
        "alerts": alerts,
        "groupLabels": data["groupLabels"],
        "commonLabels": data["commonLabels"],
        "commonAnnotations": data["commonAnnotations"],
        "externalURL": data["externalURL"],
        "version": "4",
        "groupKey": data["groupKey"],
        "truncatedAlerts": truncated,
    }


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class WebhookAdapter:
    def __init__(
        self,
        kit: Kit,
        *,
        url: str,
        max_alerts: int = 0,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.kit = kit
        self.url = url
        self.max_alerts = max_alerts
        self.secret = secret
        self.headers = headers or {}

    def build(self, n: Notification) -> HTTPRequest:
        body = json.dumps(payload_v4(self.kit.data(n), self.max_alerts)).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        if self.secret:
            ts = int(self.kit.now().timestamp())
            headers["X-Tocsin-Timestamp"] = str(ts)
            headers["X-Tocsin-Signature"] = signature(self.secret, ts, body)
        return HTTPRequest(self.url, content=body, headers=headers)

    def receipt(self, n: Notification, response: httpx.Response) -> Receipt:
        return receipt_from_status(response, self.kit.now())
