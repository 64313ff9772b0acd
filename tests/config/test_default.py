"""The built-in default: the routing, inhibition and escalation the issue lists, from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tocsin.config import ConfigError, load
from tocsin.config.default import VARIABLES, default_config, default_yaml
from tocsin.config.model import Config, EmailConfig, LogConfig, PagerdutyConfig, SlackConfig
from tocsin.core.inhibit import InhibitionIndex
from tocsin.core.labels import Labels

MIN = timedelta(minutes=1)
FULL_ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/secret-token",
    "PAGERDUTY_INTEGRATION_KEY": "pd-oncall-key",
    "PAGERDUTY_SECURITY_KEY": "pd-security-key",
    "PAGERDUTY_EXECUTIVE_KEY": "pd-exec-key",
    "PAGERDUTY_API_KEY": "pd-rest-key",
    "SMTP_HOST": "smtp.example.org",
    "SMTP_USER": "tocsin",
    "SMTP_PASSWORD": "smtp-password",
    "ALERT_EMAIL_FROM": "alerts@example.org",
    "ALERT_EMAIL_TO": "oncall@example.org",
    "DATABASE_TEAM_EMAIL": "dba@example.org",
    "MANAGER_EMAIL": "boss@example.org",
    "SLACK_CHANNEL_CRITICAL": "#fire",
}


@pytest.fixture(scope="module")
def full() -> Config:
    return default_config(FULL_ENV)


def route(config: Config, **labels: str) -> list[str]:
    return config.routing.receivers(Labels.of(labels))


def kinds(config: Config, receiver: str) -> list[str]:
    return [i.kind for i in config.receivers[receiver].integrations]


def test_no_file_means_the_default() -> None:
    assert load(None, {}).source == "built-in default"


def test_routing(full: Config) -> None:
    assert route(full, alertname="X", severity="critical") == ["critical"]
    assert route(full, severity="critical", service="database") == ["critical", "database"]
    assert route(full, alert_type="security", severity="critical") == ["security"]
    assert route(full, severity="critical", environment="dev") == ["dev"]
    assert route(full, severity="high") == ["high"]
    assert route(full, severity="warning", service="database") == ["database"]
    assert route(full, severity="warning", service="external-payments") == ["warnings"]
    assert route(full, severity="warning") == ["warnings"]


def test_timings_acknowledgement_and_escalation(full: Config) -> None:
    by = {r.receiver: r for r in full.routing.routes}
    critical, high, security = by["critical"], by["high"], by["security"]
    assert (critical.group_wait, critical.repeat_interval) == (timedelta(0), 120 * MIN)
    assert (high.group_wait, high.repeat_interval) == (MIN, 240 * MIN)
    assert full.routing.root.group_wait == timedelta(seconds=10)
    assert full.routing.root.group_interval == 5 * MIN
    external = full.routing.by_path["route.routes[5]"]
    assert (external.group_interval, external.repeat_interval) == (15 * MIN, 720 * MIN)
    assert security.group_wait == timedelta(0) and not security.policy().acknowledge
    assert security.escalation is not None and security.escalation.start_level == 1
    policy = critical.policy()
    assert policy.acknowledge and policy.escalation is not None
    assert [(lv.after, lv.receivers) for lv in policy.escalation.levels] == [
        (timedelta(0), ("slack-warnings",)),
        (5 * MIN, ("email-oncall", "slack-critical")),
        (15 * MIN, ("pagerduty-oncall", "email-manager")),
        (60 * MIN, ("pagerduty-executive",)),
    ]
    assert high.escalation is None and by["warnings"].escalation is None


def test_channels(full: Config) -> None:
    assert kinds(full, "critical") == ["slack", "pagerduty", "email"]
    assert kinds(full, "security") == ["slack", "pagerduty", "email"]
    assert kinds(full, "high") == ["slack", "email"]
    assert kinds(full, "database") == ["slack", "email"]
    assert kinds(full, "dev") == ["slack"]
    slack, pd, mail = full.receivers["critical"].integrations
    assert isinstance(slack, SlackConfig) and slack.channel == "#fire"
    assert isinstance(pd, PagerdutyConfig) and pd.routing_key is not None
    assert pd.routing_key.reveal() == "pd-oncall-key"
    assert pd.api_key is not None and pd.api_key.reveal() == "pd-rest-key"
    assert isinstance(mail, EmailConfig)
    assert (mail.smarthost, mail.from_, mail.to, mail.auth_username) == (
        "smtp.example.org:587",
        "alerts@example.org",
        "oncall@example.org",
        "tocsin",
    )
    security_pd = full.receivers["security"].integrations[1]
    assert isinstance(security_pd, PagerdutyConfig) and security_pd.routing_key is not None
    assert security_pd.routing_key.reveal() == "pd-security-key"
    security_mail = full.receivers["security"].integrations[2]
    assert isinstance(security_mail, EmailConfig) and security_mail.to == "oncall@example.org"
    assert full.log_integrations() == []


def test_inhibition_a_critical_mutes_warnings_with_the_same_alertname_and_service(
    full: Config,
) -> None:
    index = InhibitionIndex.build(
        full.inhibit_rules,
        [Labels.of({"alertname": "Lag", "service": "db", "severity": "critical"})],
    )
    assert index.check(
        Labels.of({"alertname": "Lag", "service": "db", "severity": "warning"})
    ).muted
    assert not index.check(
        Labels.of({"alertname": "Lag", "service": "api", "severity": "warning"})
    ).muted


def test_without_credentials_every_channel_logs_and_says_why() -> None:
    config = default_config({})
    assert {r for r, _ in config.log_integrations()} == set(config.receivers)
    reasons = {log.reason for _, log in config.log_integrations()}
    assert reasons == {
        "SLACK_WEBHOOK_URL is not set",
        "PAGERDUTY_INTEGRATION_KEY is not set",
        "PAGERDUTY_SECURITY_KEY is not set",
        "PAGERDUTY_EXECUTIVE_KEY is not set",
        "SMTP_HOST is not set",
    }
    critical_slack = config.receivers["critical"].integrations[1]
    assert critical_slack == LogConfig(
        integration="slack", destination="#alerts-critical", reason="SLACK_WEBHOOK_URL is not set"
    )
    # Routing does not depend on credentials.
    assert route(config, severity="critical", service="database") == ["critical", "database"]


def test_an_email_channel_without_recipients_logs() -> None:
    config = default_config({"SMTP_HOST": "mail"})
    manager = config.receivers["email-manager"].integrations[0]
    assert manager == LogConfig(
        integration="email", destination="", reason="MANAGER_EMAIL is not set"
    )


def test_timings_from_the_environment() -> None:
    config = default_config(
        {"ALERT_GROUP_WAIT": "5", "ALERT_GROUP_INTERVAL": "2m", "ALERT_REPEAT_INTERVAL": "3600"}
    )
    root = config.routing.root
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (
        timedelta(seconds=5),
        2 * MIN,
        60 * MIN,
    )
    with pytest.raises(ConfigError) as info:
        default_config({"ALERT_GROUP_WAIT": "soon"})
    assert str(info.value) == (
        'environment: ALERT_GROUP_WAIT: "soon" is neither a number of seconds nor a duration '
        "like 5m"
    )


def test_a_bad_credential_names_its_variable() -> None:
    with pytest.raises(ConfigError) as info:
        default_config({"SLACK_WEBHOOK_URL": "not a url"})
    assert "(the value comes from $SLACK_WEBHOOK_URL)" in str(info.value)


def test_the_generated_text_holds_references_never_secret_values() -> None:
    text = default_yaml(FULL_ENV)
    for name in ("SLACK_WEBHOOK_URL", "PAGERDUTY_INTEGRATION_KEY", "SMTP_PASSWORD"):
        assert FULL_ENV[name] not in text
        assert "${" + name + "}" in text
    assert default_config(FULL_ENV).sha256 == default_config(FULL_ENV).sha256


def test_every_variable_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for var in VARIABLES:
        assert f"`{var.name}`" in docs, var.name


def test_log_channel_notes_say_what_run_will_say() -> None:
    notes = default_config({"SMTP_HOST": "mail", "ALERT_EMAIL_TO": "a@b"}).log_channel_notes()
    assert notes[0] == (
        "PAGERDUTY_INTEGRATION_KEY is not set, so these channels only log what they would send: "
        "pagerduty PagerDuty on-call service"
    )
    assert (
        "DATABASE_TEAM_EMAIL is not set, so these channels only log what they would send: email"
        in notes
    )
    assert default_config(FULL_ENV).log_channel_notes() == []
