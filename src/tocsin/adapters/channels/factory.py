"""Channels from a configuration: one `Channel` per receiver integration.

This is where secrets are revealed — only to be put into the requests that carry them to their
destination. Destination keys (for circuit breakers and rate limits) are hashes: two receivers
posting to the same Slack channel or PagerDuty routing key share one breaker and one pace.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import httpx

from tocsin.adapters.channels.base import Channel, HTTPChannel, Kit, destination_key
from tocsin.adapters.channels.email import EmailChannel
from tocsin.adapters.channels.gofields import GoFields, check_go_fields, open_go_templates
from tocsin.adapters.channels.log import LogChannel
from tocsin.adapters.channels.msteams import MSTeamsAdapter
from tocsin.adapters.channels.pagerduty import PagerdutyAdapter
from tocsin.adapters.channels.slack import MessageRefs, SlackAdapter, SlackChannel
from tocsin.adapters.channels.webhook import WebhookAdapter
from tocsin.adapters.gotemplate import GoTemplates
from tocsin.config.model import (
    Config,
    EmailConfig,
    HTTPConfig,
    Integration,
    LogConfig,
    MSTeamsConfig,
    PagerdutyConfig,
    SlackConfig,
    TLSConfig,
    WebhookConfig,
)

__all__ = ["ClientPool", "build_channels", "check_templates", "integration_name"]


def integration_name(kind: str, index: int) -> str:
    """How events name an integration: its kind and its index among the receiver's
    integrations of that kind (`pagerduty[0]`)."""
    return f"{kind}[{index}]"


class ClientPool:
    """One httpx client per distinct TLS/proxy setting (connection pools are shared)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._clients: dict[tuple[Any, ...], httpx.AsyncClient] = {}

    def client(self, http: HTTPConfig) -> httpx.AsyncClient:
        tls = http.tls_config or TLSConfig()
        key = (tls.insecure_skip_verify, tls.ca_file, tls.cert_file, tls.key_file, http.proxy_url)
        found = self._clients.get(key)
        if found is None:
            verify: Any = True
            if tls.insecure_skip_verify:
                verify = False
            elif tls.ca_file:
                verify = ssl.create_default_context(cafile=tls.ca_file)
            cert = (tls.cert_file, tls.key_file) if tls.cert_file and tls.key_file else None
            found = httpx.AsyncClient(
                verify=verify,
                cert=cert,
                proxy=http.proxy_url,
                timeout=self.timeout,
                follow_redirects=http.follow_redirects,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
            self._clients[key] = found
        return found

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _auth_headers(http: HTTPConfig) -> dict[str, str]:
    import base64

    if http.authorization is not None and http.authorization.credentials:
        a = http.authorization
        return {"Authorization": f"{a.type} {a.credentials.reveal()}"}  # type: ignore[union-attr]
    if http.basic_auth is not None:
        b = http.basic_auth
        raw = f"{b.username}:{b.password.reveal() if b.password else ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {}


def _tls_context(tls: TLSConfig | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file if tls else None)
    if tls is not None and tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls is not None and tls.cert_file and tls.key_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


def build_channel(
    cfg: Integration,
    name: str,
    kit: Kit,
    pool: ClientPool,
    refs: MessageRefs | None,
    *,
    timeout: float = 10.0,
    webhook_secret: str | None = None,
    go: GoFields | None = None,
) -> Channel:
    """The channel for one integration config. A config without what it needs to send (no
    URL, no key) becomes a log channel that says what is missing. `go` holds the config's
    fields that are Go templates (`gofields.go_fields`), already checked."""
    if isinstance(cfg, SlackConfig):
        api_url = cfg.api_url.reveal() if cfg.api_url else None
        token = cfg.app_token.reveal() if cfg.app_token else None
        if not api_url and not token:
            return _log(kit, name, "slack", cfg.channel or "", "no api_url or app_token")
        adapter = SlackAdapter(
            kit,
            name=name,
            api_url=api_url,
            app_token=token,
            app_url=cfg.app_url,
            channel=cfg.channel,
            username=cfg.username,
            icon_emoji=cfg.icon_emoji,
            icon_url=cfg.icon_url,
            title=cfg.title,
            refs=refs,
            go=go,
            field_shorts=tuple(f.short for f in cfg.fields),
            short_fields=cfg.short_fields,
            mrkdwn_in=cfg.mrkdwn_in,
            link_names=cfg.link_names,
        )
        dest = destination_key("slack", api_url or cfg.app_url, cfg.channel)
        return SlackChannel(
            name=name,
            adapter=adapter,
            client=pool.client(cfg.http_config),
            destination=dest,
            send_resolved=cfg.send_resolved,
            timeout=timeout,
        )
    if isinstance(cfg, PagerdutyConfig):
        if not cfg.routing_key:
            why = (
                "service_key (Events API v1) is not supported"
                if cfg.service_key
                else "no routing_key"
            )
            return _log(kit, name, "pagerduty", "PagerDuty", why)
        key = cfg.routing_key.reveal()
        pd = PagerdutyAdapter(
            kit,
            url=cfg.url,
            routing_key=key,
            client=cfg.client,
            client_url=cfg.client_url,
            source=cfg.source,
            severity=cfg.severity,
            class_=cfg.class_,
            component=cfg.component,
            group=cfg.group,
            details=dict(cfg.details),
            links=tuple((link.href, link.text or link.href) for link in cfg.links if link.href),
            go=go,
        )
        return HTTPChannel(
            kind="pagerduty",
            name=name,
            adapter=pd,
            client=pool.client(cfg.http_config),
            destination=destination_key("pagerduty", cfg.url, key),
            send_resolved=cfg.send_resolved,
            timeout=timeout,
        )
    if isinstance(cfg, WebhookConfig):
        url = cfg.url.reveal()
        secret = getattr(cfg, "hmac_secret", None)
        wh = WebhookAdapter(
            kit,
            url=url,
            max_alerts=cfg.max_alerts,
            secret=secret.reveal() if secret else webhook_secret,
            headers=_auth_headers(cfg.http_config),
        )
        return HTTPChannel(
            kind="webhook",
            name=name,
            adapter=wh,
            client=pool.client(cfg.http_config),
            destination=destination_key("webhook", url),
            send_resolved=cfg.send_resolved,
            timeout=cfg.timeout.total_seconds() if cfg.timeout else timeout,
        )
    if isinstance(cfg, MSTeamsConfig):
        url = cfg.webhook_url.reveal()
        return HTTPChannel(
            kind="msteams",
            name=name,
            adapter=MSTeamsAdapter(kit, url=url, title=cfg.title, go=go),
            client=pool.client(cfg.http_config),
            destination=destination_key("msteams", url),
            send_resolved=cfg.send_resolved,
            timeout=timeout,
        )
    if isinstance(cfg, EmailConfig):
        return EmailChannel(
            kit,
            name=name,
            destination=destination_key("email", cfg.smarthost, cfg.to),
            send_resolved=cfg.send_resolved,
            to=cfg.to,
            from_=cfg.from_,
            smarthost=cfg.smarthost,
            hello=cfg.hello,
            username=cfg.auth_username,
            password=cfg.auth_password.reveal() if cfg.auth_password else None,
            require_tls=cfg.require_tls,
            tls_context=_tls_context(cfg.tls_config),
            headers=dict(cfg.headers),
            go=go,
        )
    assert isinstance(cfg, LogConfig)
    return LogChannel(
        kit,
        name=name,
        destination=destination_key("log", name),
        stands_for=cfg.integration,
        where=cfg.destination,
        why=cfg.reason,
        send_resolved=cfg.send_resolved,
    )


def _log(kit: Kit, name: str, kind: str, where: str, why: str) -> Channel:
    return LogChannel(
        kit,
        name=name,
        destination=destination_key("log", name),
        stands_for=kind,
        where=where,
        why=why,
    )


def build_channels(
    config: Config,
    kit: Kit,
    pool: ClientPool,
    refs: MessageRefs | None = None,
    *,
    timeout: float = 10.0,
    webhook_secret: str | None = None,
    on_channel: Callable[[str, Channel], object] | None = None,
    go_templates: GoTemplates | None = None,
) -> dict[str, list[Channel]]:
    """Every receiver's channels, in the order its integrations are configured.

    The Go templates (`go_templates`, else the config's `templates:` Go files and
    Alertmanager's defaults) are parsed and every Go field checked first. Raises
    `ConfigError` for a template file or field that does not parse, naming where it is.
    """
    if go_templates is None:
        go_templates = open_go_templates(config.templates)
    go_fields = check_go_fields(config, go_templates)
    out: dict[str, list[Channel]] = {}
    for receiver in config.receivers.values():
        counts: dict[str, int] = {}
        channels: list[Channel] = []
        for position, cfg in enumerate(receiver.integrations):
            index = counts.get(cfg.kind, 0)
            counts[cfg.kind] = index + 1
            channel = build_channel(
                cfg,
                integration_name(cfg.kind, index),
                kit,
                pool,
                refs,
                timeout=timeout,
                webhook_secret=webhook_secret,
                go=go_fields.get((receiver.name, position)),
            )
            channels.append(channel)
            if on_channel is not None:
                on_channel(receiver.name, channel)
        out[receiver.name] = channels
    return out


def check_templates(config: Config) -> GoTemplates:
    """Parse the Go templates of `config` (its `templates:` Go files and every receiver field
    holding `{{`) the way `build_channels` will: what `tocsin config check` and a reload can
    call before they accept a configuration. Returns the template set.

    Raises `ConfigError` naming the file:line:col or the YAML key of every text that does not
    parse. (The Jinja2 files are checked by `JinjaRenderer`.)
    """
    templates = open_go_templates(config.templates)
    check_go_fields(config, templates)
    return templates
