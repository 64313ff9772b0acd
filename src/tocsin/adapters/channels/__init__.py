"""Notification integrations: one small adapter per service, and the seam they share.

    slack        incoming webhook or bot (chat.postMessage / chat.update), Block Kit
    pagerduty    Events API v2: trigger / acknowledge / resolve on the group's dedup_key
    email        SMTP (smtplib in a worker thread), multipart/alternative, threaded per group
    webhook      Alertmanager's payload version 4, optional HMAC signature
    msteams      an Adaptive Card to an incoming webhook / Workflows URL
    log          prints what would be sent
    outcome      the one place that says delivered / retryable / permanent
    factory      channels from a configuration
    slack_interactions   POST /api/v1/slack/interactions (signed buttons)

Exceptions::

    Exception
     └── DeliveryFailed     an attempt did not deliver (`outcome.py`)
"""

from __future__ import annotations

from tocsin.adapters.channels.base import Channel, HTTPAdapter, HTTPChannel, HTTPRequest, Kit
from tocsin.adapters.channels.model import AlertView, Notification, Receipt
from tocsin.adapters.channels.outcome import DeliveryFailed, Outcome, Verdict

__all__ = [
    "AlertView",
    "Channel",
    "DeliveryFailed",
    "HTTPAdapter",
    "HTTPChannel",
    "HTTPRequest",
    "Kit",
    "Notification",
    "Outcome",
    "Receipt",
    "Verdict",
]
