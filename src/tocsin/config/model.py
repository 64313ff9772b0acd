"""The loaded configuration: immutable objects, secrets wrapped, references checked.

A `Config` is a value. Loading builds a whole new one or raises (`tocsin.config.loader`); the
daemon swaps the one it uses atomically on reload. Field names follow alertmanager.yml keys
(`from` is `from_`, `class` is `class_`, `continue` is `continue_`). A field that is `None`
was not set and the adapter applies its own default: Tocsin's Jinja2 look, or Alertmanager's
default Go templates when the receiver's message fields hold Go templates (`{{`); see
docs/templates.md.

Receivers hold integrations; `Integration` is the union of the integration classes, each with
a `kind` naming its config list (`slack_configs` → "slack"). `LogConfig` ("log") is Tocsin's
stand-in for a channel without credentials: it prints what it would send.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar

import attrs

from tocsin.config.env import EnvUse
from tocsin.config.errors import Problem
from tocsin.config.secrets import Secret
from tocsin.core.events import EscalationPolicy
from tocsin.core.inhibit import InhibitRule
from tocsin.core.routing import RouteSpec, RoutingTree
from tocsin.core.timeintervals import TimeInterval

__all__ = [
    "DEFAULT_PAGERDUTY_URL",
    "AuthToken",
    "Authorization",
    "BasicAuth",
    "Config",
    "EmailConfig",
    "GlobalConfig",
    "HTTPConfig",
    "Integration",
    "Limits",
    "LogConfig",
    "MSTeamsConfig",
    "PagerdutyConfig",
    "PagerdutyImage",
    "PagerdutyLink",
    "Receiver",
    "Role",
    "SlackAction",
    "SlackConfig",
    "SlackField",
    "TLSConfig",
    "TocsinSettings",
    "WebhookConfig",
]

DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


# ---------------------------------------------------------------------------------- http
@attrs.frozen(kw_only=True)
class TLSConfig:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False
    min_version: str | None = None


@attrs.frozen(kw_only=True)
class BasicAuth:
    username: str = ""
    password: Secret | None = None


@attrs.frozen(kw_only=True)
class Authorization:
    """An `Authorization: <type> <credentials>` header (`bearer_token` becomes type Bearer)."""

    type: str = "Bearer"
    credentials: Secret | None = None


@attrs.frozen(kw_only=True)
class HTTPConfig:
    """The `http_config` basics Tocsin's HTTP adapters honour."""

    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    proxy_url: str | None = None
    tls_config: TLSConfig | None = None
    follow_redirects: bool = True
    enable_http2: bool = True


# -------------------------------------------------------------------------------- global
@attrs.frozen(kw_only=True)
class GlobalConfig:
    resolve_timeout: timedelta = timedelta(minutes=5)
    http_config: HTTPConfig = HTTPConfig()
    smtp_from: str | None = None
    smtp_hello: str = "localhost"
    smtp_smarthost: str | None = None
    smtp_auth_username: str | None = None
    smtp_auth_password: Secret | None = None
    smtp_auth_secret: Secret | None = None
    smtp_auth_identity: str | None = None
    smtp_require_tls: bool = True
    smtp_tls_config: TLSConfig | None = None
    slack_api_url: Secret | None = None
    slack_app_token: Secret | None = None
    pagerduty_url: str = DEFAULT_PAGERDUTY_URL


# -------------------------------------------------------------------------- integrations
@attrs.frozen(kw_only=True)
class SlackField:
    title: str
    value: str
    short: bool | None = None


@attrs.frozen(kw_only=True)
class SlackAction:
    type: str
    text: str
    url: str | None = None
    style: str | None = None
    name: str | None = None
    value: str | None = None
    confirm: Mapping[str, str] | None = None


@attrs.frozen(kw_only=True)
class SlackConfig:
    """`slack_configs`: an incoming webhook (`api_url`) or a bot token (`app_token`)."""

    kind: ClassVar[str] = "slack"
    send_resolved: bool = False
    http_config: HTTPConfig = HTTPConfig()
    api_url: Secret | None = None
    app_token: Secret | None = None
    app_url: str | None = None
    channel: str | None = None
    username: str | None = None
    color: str | None = None
    title: str | None = None
    title_link: str | None = None
    pretext: str | None = None
    text: str | None = None
    fields: tuple[SlackField, ...] = ()
    short_fields: bool = False
    footer: str | None = None
    fallback: str | None = None
    callback_id: str | None = None
    icon_emoji: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    thumb_url: str | None = None
    link_names: bool = False
    mrkdwn_in: tuple[str, ...] = ()
    actions: tuple[SlackAction, ...] = ()

    @property
    def destination(self) -> str:
        return self.channel or "(the webhook's channel)"


@attrs.frozen(kw_only=True)
class PagerdutyLink:
    href: str | None = None
    text: str | None = None


@attrs.frozen(kw_only=True)
class PagerdutyImage:
    src: str | None = None
    alt: str | None = None
    href: str | None = None


@attrs.frozen(kw_only=True)
class PagerdutyConfig:
    """`pagerduty_configs`: Events API v2 with `routing_key` (v1 `service_key` is kept too).

    `api_key` is Tocsin's: a PagerDuty REST API key for features beyond the Events API.
    """

    kind: ClassVar[str] = "pagerduty"
    send_resolved: bool = True
    http_config: HTTPConfig = HTTPConfig()
    routing_key: Secret | None = None
    service_key: Secret | None = None
    api_key: Secret | None = None
    url: str = DEFAULT_PAGERDUTY_URL
    client: str | None = None
    client_url: str | None = None
    description: str | None = None
    details: Mapping[str, str] = attrs.field(factory=dict)
    images: tuple[PagerdutyImage, ...] = ()
    links: tuple[PagerdutyLink, ...] = ()
    source: str | None = None
    severity: str | None = None
    class_: str | None = None
    component: str | None = None
    group: str | None = None

    @property
    def destination(self) -> str:
        return "PagerDuty (Events API v2)" if self.routing_key else "PagerDuty (Events API v1)"


@attrs.frozen(kw_only=True)
class EmailConfig:
    """`email_configs`, with the `smtp_*` globals already filled in where not set."""

    kind: ClassVar[str] = "email"
    send_resolved: bool = False
    to: str
    from_: str
    smarthost: str
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password: Secret | None = None
    auth_secret: Secret | None = None
    auth_identity: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    html: str | None = None
    text: str | None = None
    require_tls: bool = True
    tls_config: TLSConfig | None = None

    @property
    def destination(self) -> str:
        return self.to


@attrs.frozen(kw_only=True)
class WebhookConfig:
    kind: ClassVar[str] = "webhook"
    send_resolved: bool = True
    http_config: HTTPConfig = HTTPConfig()
    url: Secret
    max_alerts: int = 0
    timeout: timedelta | None = None

    @property
    def destination(self) -> str:
        return "a webhook"


@attrs.frozen(kw_only=True)
class MSTeamsConfig:
    kind: ClassVar[str] = "msteams"
    send_resolved: bool = True
    http_config: HTTPConfig = HTTPConfig()
    webhook_url: Secret
    title: str | None = None
    summary: str | None = None
    text: str | None = None

    @property
    def destination(self) -> str:
        return "a Microsoft Teams webhook"


@attrs.frozen(kw_only=True)
class LogConfig:
    """`log_configs` (Tocsin): print what would be sent instead of sending it.

    `integration` and `destination` say what it stands for (`slack`, `#alerts-critical`);
    `reason` says why it is a log channel (`SLACK_WEBHOOK_URL is not set`).
    """

    kind: ClassVar[str] = "log"
    send_resolved: bool = True
    integration: str | None = None
    destination: str = ""
    reason: str | None = None


Integration = (
    SlackConfig | PagerdutyConfig | EmailConfig | WebhookConfig | MSTeamsConfig | LogConfig
)


@attrs.frozen
class Receiver:
    """A named set of integrations. A receiver with none is valid (it sends nothing)."""

    name: str
    integrations: tuple[Integration, ...] = ()

    def of_kind(self, kind: str) -> tuple[Integration, ...]:
        return tuple(i for i in self.integrations if i.kind == kind)


# ----------------------------------------------------------------------------- tocsin:
class Role(enum.StrEnum):
    """What a token may do. `admin` includes the other three."""

    INGEST = "ingest"
    READ = "read"
    OPERATE = "operate"
    ADMIN = "admin"


@attrs.frozen(kw_only=True)
class AuthToken:
    name: str
    token: Secret
    roles: frozenset[Role]

    def allows(self, role: Role) -> bool:
        return role in self.roles or Role.ADMIN in self.roles


@attrs.frozen(kw_only=True)
class Limits:
    max_request_bytes: int = 4 * 1024 * 1024
    max_alerts_per_request: int = 10_000


@attrs.frozen(kw_only=True)
class TocsinSettings:
    """The `tocsin:` block. `data_dir` None means "the command line's (or ./data)"."""

    listen_address: str = "127.0.0.1:9093"
    data_dir: str | None = None
    fsync: str = "batch"
    external_url: str | None = None
    auth_tokens: tuple[AuthToken, ...] = ()
    limits: Limits = Limits()
    log_level: str | None = None  # None: --log-level / $TOCSIN_LOG_LEVEL / info
    # An always-firing alert with this alertname (Prometheus' "Watchdog") counts as a heartbeat.
    watchdog_alertname: str | None = None


# -------------------------------------------------------------------------------- config
@attrs.frozen(kw_only=True)
class Config:
    """A whole, valid configuration.

    `source` is the file it came from ("built-in default" for the default); `sha256` is the
    hash of its text (for the default: of the generated YAML, which holds `${VAR}` references,
    not their values); `files_sha256` one hash of the files it reads besides (secrets'
    `*_file`, templates), so that a reload notices a rotated token file or an edited template;
    `env_uses` lists every `${VAR}` it referenced; `warnings` are problems that did not stop it
    from loading (keys Tocsin ignores).
    """

    source: str
    sha256: str
    files_sha256: str = ""
    global_: GlobalConfig
    route_spec: RouteSpec
    routing: RoutingTree
    receivers: Mapping[str, Receiver]
    inhibit_rules: tuple[InhibitRule, ...]
    time_intervals: Mapping[str, TimeInterval]
    templates: tuple[str, ...]
    template_patterns: tuple[str, ...]
    escalation_policies: Mapping[str, EscalationPolicy]
    escalation_repeat: Mapping[str, bool]
    tocsin: TocsinSettings
    env_uses: tuple[EnvUse, ...] = ()
    warnings: tuple[Problem, ...] = ()

    def log_integrations(self) -> list[tuple[str, LogConfig]]:
        """Every (receiver name, log integration): channels that only print what they would send."""
        return [
            (r.name, i)
            for r in self.receivers.values()
            for i in r.integrations
            if isinstance(i, LogConfig)
        ]

    def unsupported_integrations(self) -> list[str]:
        """One line per integration that will only log because Tocsin cannot send what it is
        configured for (PagerDuty's Events API v1 `service_key` alone)."""
        return [
            f"receiver {r.name}: pagerduty_configs[{i}] has only a service_key (Events API v1, "
            "not supported): it will only log what it would send; give it a routing_key"
            for r in self.receivers.values()
            for i, c in enumerate(x for x in r.integrations if isinstance(x, PagerdutyConfig))
            if c.service_key and not c.routing_key
        ]

    def log_channel_notes(self) -> list[str]:
        """One line per reason why channels only log: what `tocsin run` says at startup.

        e.g. "SLACK_WEBHOOK_URL is not set, so these channels only log what they would send:
        slack #alerts-critical, slack #alerts".
        """
        by_reason: dict[str, dict[str, None]] = {}
        for receiver, log in self.log_integrations():
            what = f"{log.integration or 'channel'} {log.destination}".strip()
            by_reason.setdefault(log.reason or "no credentials", {})[what or receiver] = None
        return [
            f"{reason}, so these channels only log what they would send: {', '.join(targets)}"
            for reason, targets in by_reason.items()
        ]
