"""`receivers:`: Slack, PagerDuty, email, webhook and Microsoft Teams integrations, plus `log`.

Each `*_configs` list becomes integration objects (`tocsin.config.model`) with Alertmanager's
defaults and global fallbacks applied the way `config.go` applies them: an integration without
its own `http_config` uses the global one; email takes `smtp_*` from `global` where it sets
nothing; Slack takes `slack_api_url`; PagerDuty takes `pagerduty_url`. An integration type
Alertmanager has and Tocsin does not (OpsGenie, Pushover, ...) is a load error that says so,
never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Final

import yaml

from tocsin.config.errors import q
from tocsin.config.global_section import (
    read_http_config,
    read_secret,
    read_tls_config,
    read_url,
    smarthost_problem,
)
from tocsin.config.model import (
    EmailConfig,
    GlobalConfig,
    Integration,
    LogConfig,
    MSTeamsConfig,
    PagerdutyConfig,
    PagerdutyImage,
    PagerdutyLink,
    Receiver,
    SlackAction,
    SlackConfig,
    SlackField,
    WebhookConfig,
)
from tocsin.config.yaml_nodes import MapView, Reader

__all__ = ["SUPPORTED_INTEGRATIONS", "read_receivers"]

SUPPORTED_INTEGRATIONS: Final = (
    "slack_configs",
    "pagerduty_configs",
    "email_configs",
    "webhook_configs",
    "msteams_configs",
    "log_configs",
)
_NOT_IMPLEMENTED: Final = {
    key: (
        f"Tocsin does not implement {key}: it sends to slack_configs, pagerduty_configs, "
        "email_configs, webhook_configs and msteams_configs (a webhook_configs bridge can "
        "reach anything else)"
    )
    for key in (
        "discord_configs",
        "opsgenie_configs",
        "wechat_configs",
        "pushover_configs",
        "victorops_configs",
        "sns_configs",
        "telegram_configs",
        "webex_configs",
        "msteamsv2_configs",
        "jira_configs",
        "rocketchat_configs",
        "mattermost_configs",
        "incidentio_configs",
    )
}
_SLACK_TEXT: Final = (
    "channel",
    "username",
    "color",
    "title",
    "title_link",
    "pretext",
    "text",
    "footer",
    "fallback",
    "callback_id",
    "icon_emoji",
    "icon_url",
    "image_url",
    "thumb_url",
)
_SLACK_KEYS: Final = frozenset(
    {
        "send_resolved",
        "http_config",
        "api_url",
        "api_url_file",
        "app_token",
        "app_token_file",
        "app_url",
        "fields",
        "short_fields",
        "link_names",
        "mrkdwn_in",
        "actions",
        *_SLACK_TEXT,
    }
)
_PD_TEXT: Final = (
    "client",
    "client_url",
    "description",
    "source",
    "severity",
    "class",
    "component",
    "group",
)
_PD_KEYS: Final = frozenset(
    {
        "send_resolved",
        "http_config",
        "routing_key",
        "routing_key_file",
        "service_key",
        "service_key_file",
        "api_key",
        "api_key_file",
        "url",
        "details",
        "images",
        "links",
        *_PD_TEXT,
    }
)
_EMAIL_KEYS: Final = frozenset(
    {
        "send_resolved",
        "to",
        "from",
        "hello",
        "smarthost",
        "auth_username",
        "auth_password",
        "auth_password_file",
        "auth_secret",
        "auth_secret_file",
        "auth_identity",
        "headers",
        "html",
        "text",
        "require_tls",
        "tls_config",
    }
)
_WEBHOOK_KEYS: Final = frozenset(
    {"send_resolved", "http_config", "url", "url_file", "max_alerts", "timeout"}
)
_MSTEAMS_KEYS: Final = frozenset(
    {"send_resolved", "http_config", "webhook_url", "webhook_url_file", "title", "summary", "text"}
)
_LOG_KEYS: Final = frozenset({"send_resolved", "integration", "destination", "reason"})


class _Ctx:
    def __init__(self, reader: Reader, glob: GlobalConfig) -> None:
        self.r = reader
        self.g = glob


def _resolved(view: MapView, default: bool) -> bool:
    value = view.boolean("send_resolved")
    return default if value is None else value


def _slack(ctx: _Ctx, view: MapView) -> Integration | None:
    api_url = read_secret(view, "api_url", url=True)
    app_token = read_secret(view, "app_token")
    if api_url is None and app_token is None:
        if any(k in view for k in ("api_url", "api_url_file", "app_token", "app_token_file")):
            return None  # set, but wrong: already reported
        api_url, app_token = ctx.g.slack_api_url, ctx.g.slack_app_token
        if api_url is None and app_token is None:
            view.r.error(
                view.node,
                view.path,
                "no Slack API URL: set api_url or api_url_file (an incoming webhook), or "
                "app_token (a bot token), here or as slack_api_url in global",
            )
            return None
    fields = []
    for node, path in view.seq("fields"):
        f = view.r.map(node, path, {"title", "value", "short"})
        if f is None:
            continue
        title, value = f.string("title"), f.string("value")
        if not title:
            view.r.error(node, path, "missing title in Slack field configuration")
        elif not value:
            view.r.error(node, path, "missing value in Slack field configuration")
        else:
            fields.append(SlackField(title=title, value=value, short=f.boolean("short")))
    actions = []
    for node, path in view.seq("actions"):
        a = view.r.map(node, path, {"type", "text", "url", "style", "name", "value", "confirm"})
        if a is None:
            continue
        kind, text, url, name = (
            a.string("type"),
            a.string("text"),
            a.string("url"),
            a.string("name"),
        )
        if not kind:
            view.r.error(node, path, "missing type in Slack action configuration")
        elif not text:
            view.r.error(node, path, "missing text in Slack action configuration")
        elif not url and not name:
            view.r.error(node, path, "missing name or url in Slack action configuration")
        else:
            confirm = None
            if not url and (c := a.map("confirm", {"text", "title", "ok_text", "dismiss_text"})):
                confirm = {k: v for k in c if (v := c.string(k)) is not None}
                if not confirm.get("text"):
                    c.r.error(c.node, c.path, "missing text in Slack confirmation configuration")
            actions.append(
                SlackAction(
                    type=kind,
                    text=text,
                    url=url or None,
                    style=a.string("style"),
                    name=None if url else name,
                    value=None if url else a.string("value"),
                    confirm=confirm,
                )
            )
    return SlackConfig(
        send_resolved=_resolved(view, False),
        http_config=read_http_config(view) or ctx.g.http_config,
        api_url=api_url,
        app_token=app_token,
        app_url=read_url(view, "app_url"),
        fields=tuple(fields),
        short_fields=bool(view.boolean("short_fields")),
        link_names=bool(view.boolean("link_names")),
        mrkdwn_in=view.strings("mrkdwn_in") or (),
        actions=tuple(actions),
        **{k: view.string(k) for k in _SLACK_TEXT},
    )


def _pagerduty(ctx: _Ctx, view: MapView) -> Integration | None:
    routing_key = read_secret(view, "routing_key")
    service_key = read_secret(view, "service_key")
    if not routing_key and not service_key:
        if "routing_key_file" not in view and "service_key_file" not in view:
            view.r.error(view.node, view.path, "missing service or routing key in PagerDuty config")
        return None
    links = []
    for node, path in view.seq("links"):
        if (lk := view.r.map(node, path, {"href", "text"})) is not None:
            links.append(PagerdutyLink(href=lk.string("href"), text=lk.string("text")))
    images = []
    for node, path in view.seq("images"):
        if (im := view.r.map(node, path, {"src", "alt", "href"})) is not None:
            images.append(
                PagerdutyImage(src=im.string("src"), alt=im.string("alt"), href=im.string("href"))
            )
    text = {k: view.string(k) for k in _PD_TEXT}
    return PagerdutyConfig(
        send_resolved=_resolved(view, True),
        http_config=read_http_config(view) or ctx.g.http_config,
        routing_key=routing_key or None,
        service_key=service_key or None,
        api_key=read_secret(view, "api_key") or None,
        url=read_url(view, "url") or ctx.g.pagerduty_url,
        details=MappingProxyType(view.string_map("details") or {}),
        images=tuple(images),
        links=tuple(links),
        client=text["client"],
        client_url=text["client_url"],
        description=text["description"],
        # Alertmanager: "source defaults to client" when not set.
        source=text["source"] or text["client"],
        severity=text["severity"],
        class_=text["class"],
        component=text["component"],
        group=text["group"],
    )


def _canonical_header(name: str) -> str:
    # Go's textproto.CanonicalMIMEHeaderKey: Word-Word capitalisation.
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _email(ctx: _Ctx, view: MapView) -> Integration | None:
    g = ctx.g
    to = view.string("to")
    if not to:
        view.r.error(view.node, view.path, "missing to address in email config")
    smarthost = view.string("smarthost") or g.smtp_smarthost
    if "smarthost" in view and view.string("smarthost"):
        if (problem := smarthost_problem(view.string("smarthost") or "")) is not None:
            view.error("smarthost", problem)
    elif not g.smtp_smarthost:
        view.r.error(view.node, view.path, "no global SMTP smarthost set (smtp_smarthost)")
    from_ = view.string("from") or g.smtp_from
    if not from_:
        view.r.error(view.node, view.path, "no global SMTP from set (smtp_from)")
    headers: dict[str, str] = {}
    for name, value in (view.string_map("headers") or {}).items():
        canonical = _canonical_header(name)
        if canonical in headers:
            view.error("headers", f'duplicate header "{canonical}" in email config')
        headers[canonical] = value
    password = read_secret(view, "auth_password")
    secret = read_secret(view, "auth_secret")
    if "auth_password" not in view and "auth_password_file" not in view:
        password = g.smtp_auth_password
    if "auth_secret" not in view and "auth_secret_file" not in view:
        secret = g.smtp_auth_secret
    require_tls = view.boolean("require_tls")
    if not to or not smarthost or not from_:
        return None
    return EmailConfig(
        send_resolved=_resolved(view, False),
        to=to,
        from_=from_,
        smarthost=smarthost,
        hello=view.string("hello") or g.smtp_hello,
        auth_username=view.string("auth_username") or g.smtp_auth_username,
        auth_password=password or None,
        auth_secret=secret or None,
        auth_identity=view.string("auth_identity") or g.smtp_auth_identity,
        headers=MappingProxyType(headers),
        html=view.string("html"),
        text=view.string("text"),
        require_tls=g.smtp_require_tls if require_tls is None else require_tls,
        tls_config=read_tls_config(view, "tls_config") or g.smtp_tls_config,
    )


def _webhook(ctx: _Ctx, view: MapView) -> Integration | None:
    url = read_secret(view, "url", url=True)
    if url is None:
        if "url" not in view and "url_file" not in view:
            view.r.error(view.node, view.path, "one of url or url_file must be configured")
        return None
    return WebhookConfig(
        send_resolved=_resolved(view, True),
        http_config=read_http_config(view) or ctx.g.http_config,
        url=url,
        max_alerts=view.integer("max_alerts", minimum=0) or 0,
        timeout=view.duration("timeout") or None,
    )


def _msteams(ctx: _Ctx, view: MapView) -> Integration | None:
    url = read_secret(view, "webhook_url", url=True)
    if url is None:
        if "webhook_url" not in view and "webhook_url_file" not in view:
            view.r.error(
                view.node, view.path, "one of webhook_url or webhook_url_file must be configured"
            )
        return None
    return MSTeamsConfig(
        send_resolved=_resolved(view, True),
        http_config=read_http_config(view) or ctx.g.http_config,
        webhook_url=url,
        title=view.string("title"),
        summary=view.string("summary"),
        text=view.string("text"),
    )


def _log(ctx: _Ctx, view: MapView) -> Integration | None:
    return LogConfig(
        send_resolved=_resolved(view, True),
        integration=view.string("integration"),
        destination=view.string("destination") or "",
        reason=view.string("reason"),
    )


_READERS: Final[dict[str, tuple[frozenset[str], Callable[[_Ctx, MapView], Integration | None]]]] = {
    "slack_configs": (_SLACK_KEYS, _slack),
    "pagerduty_configs": (_PD_KEYS, _pagerduty),
    "email_configs": (_EMAIL_KEYS, _email),
    "webhook_configs": (_WEBHOOK_KEYS, _webhook),
    "msteams_configs": (_MSTEAMS_KEYS, _msteams),
    "log_configs": (_LOG_KEYS, _log),
}


def read_receivers(
    reader: Reader, root: MapView, glob: GlobalConfig
) -> tuple[dict[str, Receiver], dict[str, yaml.Node]]:
    """Every receiver by name, and the node of each name (for reference errors)."""
    ctx = _Ctx(reader, glob)
    receivers: dict[str, Receiver] = {}
    nodes: dict[str, yaml.Node] = {}
    allowed = frozenset({"name", *_READERS})
    for node, path in root.seq("receivers"):
        view = reader.map(node, path, allowed, unsupported=_NOT_IMPLEMENTED)
        if view is None:
            continue
        name = view.string("name")
        if not name:
            reader.error(node, path, "missing name in receiver")
            continue
        if name in receivers or name in nodes:
            view.error("name", f"notification config name {q(name)} is not unique")
            continue
        nodes[name] = view.value_node("name") or node
        integrations: list[Integration] = []
        for key, (keys, read) in _READERS.items():
            for item, item_path in view.seq(key):
                item_view = reader.map(item, item_path, keys)
                if item_view is not None and (integration := read(ctx, item_view)) is not None:
                    integrations.append(integration)
        receivers[name] = Receiver(name, tuple(integrations))
    return receivers, nodes
