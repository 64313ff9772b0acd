"""Slack: an incoming webhook (`api_url`) or a bot token (`app_token`, `chat.postMessage`).

Messages are Block Kit (https://api.slack.com/reference/block-kit): a header with the title
(plain text, at most 150 characters), fields (status, severity, service, environment, started,
count; at most 10, each at most 2000), the summary and details (sections of at most 3000),
a context line with the runbook / dashboard / source links, and — in bot mode, while the group
fires — the Ack, Resolve and Silence 1h buttons, whose `value` is the group id (what
`slack_interactions` acts on). At most 50 blocks. `text` carries the title as the
notification fallback.

Bot mode keeps where each message went (`Receipt.ref` = channel, ts; the channel actor
journals it as `SlackMessagePosted`): when the group is acknowledged, unacknowledged or
resolved, those messages are updated in place with `chat.update` (buttons gone or changed)
instead of a new message being posted. A resolution also posts a new message, so the channel's
feed shows it.

Answers: an incoming webhook says 200 "ok" or an HTTP error with a short text
(`invalid_blocks`, `channel_not_found`, ...); the Web API says 200 with `{"ok": false,
"error": ...}` for most errors and 429 + Retry-After when rate limited. `outcome.py` decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import httpx

from tocsin.adapters.channels.base import HTTPRequest, Kit, is_template, receipt_from_status
from tocsin.adapters.channels.gofields import GoFields
from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.channels.outcome import (
    DeliveryFailed,
    classify_api_error,
    classify_status,
    parse_retry_after,
)
from tocsin.adapters.gotemplate import GoTemplateError
from tocsin.core.events import NotifyReason

__all__ = [
    "ACTION_ACK",
    "ACTION_RESOLVE",
    "ACTION_SILENCE",
    "DEFAULT_APP_URL",
    "MessageRefs",
    "SlackAdapter",
    "blocks_for",
]

DEFAULT_APP_URL: Final = "https://slack.com/api/chat.postMessage"
ACTION_ACK: Final = "tocsin_ack"
ACTION_RESOLVE: Final = "tocsin_resolve"
ACTION_SILENCE: Final = "tocsin_silence_1h"

log = logging.getLogger("tocsin.channels")

HEADER_MAX: Final = 150
TITLE_MAX_RUNES: Final = 1024  # Alertmanager truncates an attachment's title to this
_ATTACHMENT_KEYS: Final = (
    "title",
    "title_link",
    "pretext",
    "text",
    "fallback",
    "callback_id",
    "image_url",
    "thumb_url",
    "footer",
    "color",
)
SECTION_MAX: Final = 3000
FIELD_MAX: Final = 2000
FIELDS_MAX: Final = 10
BLOCKS_MAX: Final = 50
_UPDATES: Final = frozenset(
    {
        NotifyReason.ACKNOWLEDGED,
        NotifyReason.UNACKNOWLEDGED,
        NotifyReason.MANUALLY_RESOLVED,
        NotifyReason.ALL_RESOLVED,
    }
)
_POSTS_TOO: Final = frozenset({NotifyReason.MANUALLY_RESOLVED, NotifyReason.ALL_RESOLVED})


class MessageRefs(Protocol):
    def messages(
        self, group_id: str, receiver: str, integration: str, episode: int
    ) -> list[tuple[str, str]]:
        """(channel, ts) of the bot messages posted for this group's episode, oldest first."""
        ...


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blocks_for(
    data: dict[str, Any], title: str, summary: str, details: str, *, buttons: bool
) -> list[dict[str, Any]]:
    """The Block Kit blocks of a message, within Slack's documented limits."""
    common = data["commonLabels"]
    alerts = data["alerts"]
    started = min((a["startsAt"] for a in alerts), default="")
    status = data["status"]
    if data["acknowledged"] and status == "firing":
        status = f"acknowledged by {data['ack_by']}"
    fields = [
        ("Status", status),
        ("Severity", data["severity"] or "none"),
        ("Service", common.get("service", "") or data["groupLabels"].get("service", "")),
        ("Environment", common.get("environment", "") or common.get("env", "")),
        ("Started", started.replace("T", " ")[:19] + " UTC" if started else ""),
        ("Alerts", f"{len(data['firing'])} firing, {len(data['resolved'])} resolved"),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, HEADER_MAX)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{k}*\n{v}", FIELD_MAX)}
                for k, v in fields[:FIELDS_MAX]
                if v
            ],
        },
    ]
    if summary:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(summary, SECTION_MAX)}}
        )
    while details and len(blocks) < BLOCKS_MAX - 3:
        chunk, details = details[:SECTION_MAX], details[SECTION_MAX:]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    links = [
        f"<{url.replace('|', '%7C')}|{text}>"
        for url, text in (
            (data["runbook_url"], "Runbook"),
            (data["dashboard_url"], "Dashboard"),
            (alerts[0]["generatorURL"] if alerts else "", "Source"),
        )
        if url
    ]
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(links)}]}
        )
    if buttons and data["status"] == "firing":
        gid = data["group_id"]
        elements: list[dict[str, Any]] = []
        if not data["acknowledged"]:
            elements.append(_button("Ack", ACTION_ACK, gid, "primary"))
        elements.append(_button("Resolve", ACTION_RESOLVE, gid, "danger"))
        elements.append(_button("Silence 1h", ACTION_SILENCE, gid, None))
        blocks.append({"type": "actions", "block_id": f"tocsin:{gid}", "elements": elements})
    return blocks[:BLOCKS_MAX]


def _button(text: str, action_id: str, value: str, style: str | None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        b["style"] = style
    return b


class SlackAdapter:
    """One `slack_configs` entry. `api_url` (webhook) or `app_token` (bot) must be set."""

    def __init__(
        self,
        kit: Kit,
        *,
        name: str,
        api_url: str | None,
        app_token: str | None,
        app_url: str | None,
        channel: str | None,
        username: str | None = None,
        icon_emoji: str | None = None,
        icon_url: str | None = None,
        title: str | None = None,
        refs: MessageRefs | None = None,
        go: GoFields | None = None,
        field_shorts: Sequence[bool | None] = (),
        short_fields: bool = False,
        mrkdwn_in: Sequence[str] = (),
        link_names: bool = False,
    ) -> None:
        self.kit = kit
        self.name = name
        self.api_url = api_url
        self.app_token = app_token
        self.app_url = app_url or DEFAULT_APP_URL
        self.channel = channel
        self.extra: dict[str, str] = {}
        if username and not is_template(username):
            self.extra["username"] = username
        if icon_emoji and not is_template(icon_emoji):
            self.extra["icon_emoji"] = icon_emoji
        elif icon_url and not is_template(icon_url):
            self.extra["icon_url"] = icon_url
        self.title = None if is_template(title) else title
        self.refs = refs
        self.posted_ref: Callable[[str, str], None] | None = None
        self.go = go
        self.field_shorts = tuple(field_shorts)
        self.short_fields = short_fields
        self.mrkdwn_in = tuple(mrkdwn_in) or ("fallback", "pretext", "text")
        self.link_names = link_names

    @property
    def bot(self) -> bool:
        return bool(self.app_token)

    def _api(self, method: str) -> str:
        base = self.app_url
        return base.rsplit("/", 1)[0] + "/" + method if base.endswith("chat.postMessage") else base

    def _existing(self, n: Notification) -> list[tuple[str, str]]:
        if not self.bot or self.refs is None or n.reason not in _UPDATES:
            return []
        return self.refs.messages(n.group_id, n.receiver, self.name, n.request.episode)

    def _render_go(self, n: Notification) -> dict[str, str] | None:
        """The Go fields rendered for `n`; None when there are none or they failed (logged:
        the message then goes out in Tocsin's own words)."""
        if self.go is None:
            return None
        try:
            return self.go.render(self.kit.go_data(n))
        except GoTemplateError:
            log.exception("%s: a Go template failed; sending Tocsin's built-in message", self.name)
            return None

    def messages(self, n: Notification) -> list[HTTPRequest]:
        """Every request `n` makes: updates of earlier messages, then a new post (if any)."""
        data = self.kit.data(n)
        go = self._render_go(n)
        extra = dict(self.extra)
        channel = self.channel if self.channel and not is_template(self.channel) else None
        if go is not None:
            channel = go.get("channel") or channel
            for key in ("username", "icon_emoji", "icon_url"):
                if go.get(key):
                    extra[key] = go[key]
            if extra.get("icon_emoji"):
                extra.pop("icon_url", None)
        if go is not None and self.go is not None and self.go.message:
            return self._alertmanager_messages(n, data, go, extra, channel)
        r = self.kit.renderer.render(data, channel="slack", fmt="mrkdwn")
        title = (go or {}).get("title") or self.title or r.title
        out: list[HTTPRequest] = []
        existing = self._existing(n)
        for ch, ts in existing[-10:]:
            body = {
                "channel": ch,
                "ts": ts,
                "text": title,
                "blocks": blocks_for(data, title, r.summary, r.details, buttons=True),
            }
            out.append(HTTPRequest(self._api("chat.update"), json=body, headers=self._auth()))
        if not existing or n.reason in _POSTS_TOO:
            body = {"text": title, **extra}
            if channel:
                body["channel"] = channel
            body["blocks"] = blocks_for(data, title, r.summary, r.details, buttons=self.bot)
            url = self.app_url if self.bot else (self.api_url or "")
            out.append(HTTPRequest(url, json=body, headers=self._auth()))
        return out

    def _alertmanager_messages(
        self,
        n: Notification,
        data: dict[str, Any],
        go: dict[str, str],
        extra: dict[str, str],
        channel: str | None,
    ) -> list[HTTPRequest]:
        """Alertmanager's message: one attachment of the rendered fields (notify/slack); in
        bot mode Tocsin's buttons ride along as an actions block."""
        attachment: dict[str, Any] = {k: go[k] for k in _ATTACHMENT_KEYS if go.get(k)}
        attachment["text"] = go.get("text", "")
        title = attachment.get("title", "")
        if len(title) > TITLE_MAX_RUNES:
            attachment["title"] = title[: TITLE_MAX_RUNES - 1] + "…"
        fields = []
        for i, short in enumerate(self.field_shorts):
            fields.append(
                {
                    "title": go.get(f"fields[{i}].title", ""),
                    "value": go.get(f"fields[{i}].value", ""),
                    "short": self.short_fields if short is None else short,
                }
            )
        if fields:
            attachment["fields"] = fields
        attachment["mrkdwn_in"] = list(self.mrkdwn_in)
        base: dict[str, Any] = {**extra}
        if self.link_names:
            base["link_names"] = True
        base["attachments"] = [attachment]
        out: list[HTTPRequest] = []
        existing = self._existing(n)
        fallback = go.get("fallback") or title or go.get("text", "")
        for ch, ts in existing[-10:]:
            body = {**base, "channel": ch, "ts": ts, "text": fallback}
            body["blocks"] = self._buttons(data, buttons=True)
            out.append(HTTPRequest(self._api("chat.update"), json=body, headers=self._auth()))
        if not existing or n.reason in _POSTS_TOO:
            body = dict(base)
            if channel:
                body["channel"] = channel
            if self.bot:
                body["text"] = fallback
                buttons = self._buttons(data, buttons=True)
                if buttons:
                    body["blocks"] = buttons
            url = self.app_url if self.bot else (self.api_url or "")
            out.append(HTTPRequest(url, json=body, headers=self._auth()))
        return out

    @staticmethod
    def _buttons(data: dict[str, Any], *, buttons: bool) -> list[dict[str, Any]]:
        """Just the actions block of Tocsin's message ([] when there are no buttons)."""
        blocks = blocks_for(data, "", "", "", buttons=buttons)
        return [b for b in blocks if b["type"] == "actions"]

    def _auth(self) -> dict[str, str]:
        if not self.bot:
            return {}
        return {"Authorization": f"Bearer {self.app_token}"}

    def build(self, n: Notification) -> HTTPRequest:
        return self.messages(n)[-1]

    def receipt(self, n: Notification, response: httpx.Response) -> Receipt:
        now = self.kit.now()
        if not self.bot or response.status_code != 200:
            detail = response.text[:100] if response.status_code != 200 else ""
            return receipt_from_status(response, now, detail)
        try:
            body = response.json()
        except ValueError as exc:
            raise DeliveryFailed(classify_status(502, None, "Slack answered no JSON")) from exc
        if not body.get("ok"):
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            raise DeliveryFailed(classify_api_error(200, str(body.get("error")), retry_after))
        channel, ts = body.get("channel"), body.get("ts")
        ref = (str(channel), str(ts)) if channel and ts else None
        return Receipt(200, ref)


class SlackChannel:
    """Runs a `SlackAdapter`'s requests (updates, then a post) on one HTTP client."""

    def __init__(
        self,
        *,
        name: str,
        adapter: SlackAdapter,
        client: httpx.AsyncClient,
        destination: str,
        send_resolved: bool,
        timeout: float = 10.0,
    ) -> None:
        self.kind = "slack"
        self.name = name
        self.adapter = adapter
        self.client = client
        self.destination = destination
        self.send_resolved = send_resolved
        self.timeout = timeout

    async def deliver(self, n: Notification) -> Receipt:
        from tocsin.adapters.channels.outcome import classify_exception

        receipt = Receipt()
        for req in self.adapter.messages(n):
            try:
                response = await self.client.post(
                    req.url, json=req.json, headers=dict(req.headers), timeout=self.timeout
                )
            except httpx.HTTPError as exc:
                raise DeliveryFailed(classify_exception(exc)) from exc
            try:
                receipt = self.adapter.receipt(n, response)
            except DeliveryFailed as exc:
                # An update of a message that is gone is not worth failing the notification.
                if req.json and "ts" in req.json and "message_not_found" in str(exc):
                    continue
                raise
        return receipt
