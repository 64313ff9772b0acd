"""The built-in configuration: what `tocsin run` uses without a file, built from the environment.

Theory of operation
-------------------
`default_yaml(env)` writes an alertmanager.yml (Tocsin's extensions included) whose shape
depends on which variables are set: a channel whose credentials are missing becomes a `log`
integration that prints what it would send and says which variable would enable it. Secret
values never appear in that text: it refers to them as `${VAR}`, and `default_config(env)`
loads it through the ordinary loader with the same environment, so the default is checked
exactly like a user's file and `tocsin config env` can list what it reads.

The routing (see docs/configuration.md, "The built-in default"):

    security   alert_type="security"        PagerDuty (security key) + #security + email;
                                            no group wait; acknowledgement forbidden;
                                            escalation starts at level 1 at once
    dev        environment=~"dev|development"   #dev only (nothing else, even if critical)
    critical   severity="critical"          PagerDuty + #critical + email; no group wait;
                                            repeat 2h; escalation; continue
    high       severity="high"              #warnings + email; group wait 1m; repeat 4h; continue
    database   service="database"           #database + database team email
    external   service=~"external-.+"       #warnings with group_interval 15m, repeat 12h
    (root)     anything else                #warnings

Inhibition: a critical alert mutes warning alerts with the same alertname and service.
Escalation "default": level 0 at once → #warnings; level 1 at 5m → email + #critical; level 2
at 15m → PagerDuty + manager email; level 3 at 1h → executive PagerDuty.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs
import yaml

from tocsin.config.durations import DurationError, format_duration, parse_duration
from tocsin.config.errors import ConfigError, Problem, q
from tocsin.config.loader import load_text
from tocsin.config.model import Config

__all__ = ["DEFAULT_SOURCE", "VARIABLES", "Variable", "default_config", "default_yaml"]

DEFAULT_SOURCE: Final = "built-in default"
_FILENAME: Final = "<built-in default>"


@attrs.frozen
class Variable:
    """An environment variable the built-in default reads."""

    name: str
    default: str | None
    secret: bool
    meaning: str


VARIABLES: Final = (
    Variable("SLACK_WEBHOOK_URL", None, True, "Slack incoming webhook URL for every channel"),
    Variable("SLACK_CHANNEL_CRITICAL", "#alerts-critical", False, "channel for critical alerts"),
    Variable("SLACK_CHANNEL_WARNINGS", "#alerts", False, "channel for high and other alerts"),
    Variable("SLACK_CHANNEL_DATABASE", "#database-alerts", False, "channel for service=database"),
    Variable("SLACK_CHANNEL_SECURITY", "#security-alerts", False, "channel for security incidents"),
    Variable("SLACK_CHANNEL_DEV", "#dev-alerts", False, "channel for development alerts"),
    Variable("PAGERDUTY_INTEGRATION_KEY", None, True, "PagerDuty Events v2 routing key (on-call)"),
    Variable("PAGERDUTY_API_KEY", None, True, "PagerDuty REST API key (optional)"),
    Variable("PAGERDUTY_SECURITY_KEY", None, True, "PagerDuty routing key for security incidents"),
    Variable("PAGERDUTY_EXECUTIVE_KEY", None, True, "PagerDuty routing key for escalation level 3"),
    Variable("SMTP_HOST", None, False, "SMTP server; without it email channels only log"),
    Variable("SMTP_PORT", "587", False, "SMTP port (587: STARTTLS)"),
    Variable("SMTP_USER", None, False, "SMTP login user"),
    Variable("SMTP_PASSWORD", None, True, "SMTP login password"),
    Variable("ALERT_EMAIL_FROM", "tocsin@localhost", False, "sender address"),
    Variable("ALERT_EMAIL_TO", None, False, "on-call recipients (comma-separated)"),
    Variable("DATABASE_TEAM_EMAIL", None, False, "database team recipients"),
    Variable("MANAGER_EMAIL", None, False, "manager recipients (escalation level 2)"),
    Variable("SECURITY_EMAIL", None, False, "security recipients (default: ALERT_EMAIL_TO)"),
    Variable("ALERT_GROUP_WAIT", "10", False, "group_wait, seconds or a duration"),
    Variable("ALERT_GROUP_INTERVAL", "300", False, "group_interval, seconds or a duration"),
    Variable("ALERT_REPEAT_INTERVAL", "14400", False, "repeat_interval, seconds or a duration"),
)
_DEFAULTS: Final = {v.name: v.default for v in VARIABLES}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "")
    return value if value else _DEFAULTS.get(name)


def _ref(name: str) -> str:
    """`${NAME}` or `${NAME:-default}`: the text refers to the variable, never holds a secret."""
    default = _DEFAULTS.get(name)
    return f"${{{name}:-{default}}}" if default is not None else f"${{{name}}}"


def _seconds_or_duration(env: Mapping[str, str], name: str, problems: list[Problem]) -> str:
    raw = _get(env, name) or ""
    text = f"{raw}s" if re.fullmatch(r"[0-9]+", raw) else raw
    try:
        return format_duration(parse_duration(text))
    except DurationError:
        problems.append(
            Problem(
                "environment",
                None,
                None,
                name,
                f"{q(raw)} is neither a number of seconds nor a duration like 5m",
            )
        )
        return "0s"


class _Channels:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _log(self, integration: str, destination: str, missing: str) -> dict[str, Any]:
        return {
            "log_configs": [
                {
                    "integration": integration,
                    "destination": destination,
                    "reason": f"{missing} is not set",
                }
            ]
        }

    def slack(self, channel_var: str) -> dict[str, Any]:
        if not _get(self.env, "SLACK_WEBHOOK_URL"):
            channel = _get(self.env, channel_var) or ""
            return self._log("slack", channel, "SLACK_WEBHOOK_URL")
        return {
            "slack_configs": [
                {
                    "api_url": _ref("SLACK_WEBHOOK_URL"),
                    "channel": _ref(channel_var),
                    "send_resolved": True,
                }
            ]
        }

    def pagerduty(self, key_var: str, what: str) -> dict[str, Any]:
        if not _get(self.env, key_var):
            return self._log("pagerduty", what, key_var)
        config: dict[str, Any] = {"routing_key": _ref(key_var)}
        if _get(self.env, "PAGERDUTY_API_KEY"):
            config["api_key"] = _ref("PAGERDUTY_API_KEY")
        return {"pagerduty_configs": [config]}

    def email(self, to_var: str) -> dict[str, Any]:
        to_name = to_var
        if to_var == "SECURITY_EMAIL" and not _get(self.env, to_var):
            to_name = "ALERT_EMAIL_TO"
        to = _get(self.env, to_name)
        if not _get(self.env, "SMTP_HOST"):
            return self._log("email", to or "", "SMTP_HOST")
        if not to:
            return self._log("email", "", to_var)
        return {"email_configs": [{"to": _ref(to_name), "send_resolved": True}]}


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, list[Any]] = {}
    for part in parts:
        for key, items in part.items():
            out.setdefault(key, []).extend(items)
    return out


def default_yaml(env: Mapping[str, str]) -> str:
    """The built-in configuration as alertmanager.yml text for this environment.

    Raises `ConfigError` when a timing variable (ALERT_GROUP_WAIT, ...) is not a duration.
    """
    problems: list[Problem] = []
    group_wait = _seconds_or_duration(env, "ALERT_GROUP_WAIT", problems)
    group_interval = _seconds_or_duration(env, "ALERT_GROUP_INTERVAL", problems)
    repeat_interval = _seconds_or_duration(env, "ALERT_REPEAT_INTERVAL", problems)
    if problems:
        raise ConfigError(problems)
    ch = _Channels(env)
    slack_critical = ch.slack("SLACK_CHANNEL_CRITICAL")
    slack_warnings = ch.slack("SLACK_CHANNEL_WARNINGS")
    email_oncall = ch.email("ALERT_EMAIL_TO")
    pd_oncall = ch.pagerduty("PAGERDUTY_INTEGRATION_KEY", "PagerDuty on-call service")
    receivers = {
        # Composite receivers, one per route.
        "critical": _merge(pd_oncall, slack_critical, email_oncall),
        "security": _merge(
            ch.pagerduty("PAGERDUTY_SECURITY_KEY", "PagerDuty security service"),
            ch.slack("SLACK_CHANNEL_SECURITY"),
            ch.email("SECURITY_EMAIL"),
        ),
        "high": _merge(slack_warnings, email_oncall),
        "database": _merge(ch.slack("SLACK_CHANNEL_DATABASE"), ch.email("DATABASE_TEAM_EMAIL")),
        "warnings": slack_warnings,
        "dev": ch.slack("SLACK_CHANNEL_DEV"),
        # Single channels, for escalation levels.
        "slack-warnings": slack_warnings,
        "slack-critical": slack_critical,
        "email-oncall": email_oncall,
        "email-manager": ch.email("MANAGER_EMAIL"),
        "pagerduty-oncall": pd_oncall,
        "pagerduty-executive": ch.pagerduty(
            "PAGERDUTY_EXECUTIVE_KEY", "PagerDuty executive service"
        ),
    }
    glob: dict[str, Any] = {"resolve_timeout": "5m", "smtp_from": _ref("ALERT_EMAIL_FROM")}
    if _get(env, "SMTP_HOST"):
        glob["smtp_smarthost"] = f"{_ref('SMTP_HOST')}:{_ref('SMTP_PORT')}"
        if _get(env, "SMTP_USER"):
            glob["smtp_auth_username"] = _ref("SMTP_USER")
        if _get(env, "SMTP_PASSWORD"):
            glob["smtp_auth_password"] = _ref("SMTP_PASSWORD")
    document = {
        "global": glob,
        "route": {
            "receiver": "warnings",
            "group_by": ["alertname", "service"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": [
                {
                    "matchers": ['alert_type="security"'],
                    "receiver": "security",
                    "group_wait": "0s",
                    "acknowledge": "forbidden",
                    "escalation": "default",
                    "escalation_start_level": 1,
                },
                {"matchers": ['environment=~"dev|development"'], "receiver": "dev"},
                {
                    "matchers": ['severity="critical"'],
                    "receiver": "critical",
                    "group_wait": "0s",
                    "repeat_interval": "2h",
                    "escalation": "default",
                    "continue": True,
                },
                {
                    "matchers": ['severity="high"'],
                    "receiver": "high",
                    "group_wait": "1m",
                    "repeat_interval": "4h",
                    "continue": True,
                },
                {"matchers": ['service="database"'], "receiver": "database"},
                {
                    "matchers": ['service=~"external-.+"'],
                    "receiver": "warnings",
                    "group_interval": "15m",
                    "repeat_interval": "12h",
                },
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "service"],
            }
        ],
        "receivers": [{"name": name, **body} for name, body in receivers.items()],
        "escalation_policies": [
            {
                "name": "default",
                "levels": [
                    {"after": "0s", "receivers": ["slack-warnings"]},
                    {"after": "5m", "receivers": ["email-oncall", "slack-critical"]},
                    {"after": "15m", "receivers": ["pagerduty-oncall", "email-manager"]},
                    {"after": "1h", "receivers": ["pagerduty-executive"]},
                ],
            }
        ],
    }
    header = (
        "# Tocsin's built-in configuration, generated from the environment.\n"
        "# Channels without credentials are log_configs: they print what they would send.\n"
    )
    return header + yaml.dump(
        document, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100
    )


class _NoAliases(yaml.SafeDumper):
    """Writes a channel shared by two receivers out twice, not as a YAML alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def default_config(env: Mapping[str, str]) -> Config:
    """The built-in configuration for this environment. Raises `ConfigError`."""
    return load_text(
        default_yaml(env),
        filename=_FILENAME,
        env=env,
        base_dir=os.getcwd(),
        source=DEFAULT_SOURCE,
    )
