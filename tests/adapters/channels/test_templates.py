"""Templates per severity and alert type (the SLA one included), custom files, broken files,
and redaction."""

from __future__ import annotations

import pytest

from tocsin.adapters.templates import JinjaRenderer, Redactor, build_data, template_kind
from tocsin.config import ConfigError

from .samples import alert, notification

R = JinjaRenderer()


def render(*alerts, fmt="text", renderer=R, **kw):
    data = build_data(notification(*alerts, **kw), Redactor(), "http://tocsin.test")
    return data, renderer.render(data, channel="slack", fmt=fmt)


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        ({"severity": "critical"}, "critical"),
        ({"severity": "high"}, "high"),
        ({"severity": "warning"}, "warning"),
        ({"severity": "info"}, "info"),
        ({"severity": "bogus"}, "warning"),
        ({"severity": "critical", "alert_type": "sla_violation"}, "sla_violation"),
        ({"severity": "critical", "alert_type": "security"}, "security"),
        ({"severity": "info", "alert_type": "deployment"}, "deployment"),
    ],
)
def test_the_template_follows_alert_type_then_severity(labels, kind):
    data, _ = render(alert(**labels))
    assert template_kind(data) == kind


def test_critical_is_full_warning_concise_info_minimal():
    _, crit = render(
        alert(severity="critical", instance="db1"), alert(severity="critical", instance="db2")
    )
    _, warn = render(alert(severity="warning"))
    _, info = render(alert(severity="info"))
    assert crit.title == "[FIRING:2] CRITICAL DiskFull"
    assert "Disk usage above 95% for 10m" in crit.details and "db2" in crit.details
    assert "Runbook: https://runbooks.test/disk" in crit.details
    assert warn.details == "1 firing · Runbook: https://runbooks.test/disk"
    assert info.details == "" and info.summary == "DiskFull on db1"


def test_high_shows_the_key_metric():
    _, high = render(alert(severity="high", ann_value="97.3%"))
    assert "(97.3%)" in high.details


def test_sla_template_names_service_target_value_impact_and_links():
    sla = alert(
        "CheckoutSLA",
        alert_type="sla_violation",
        service="checkout",
        ann_sla_target="99.9%",
        ann_current_value="99.2%",
        ann_customer_impact="1 in 100 checkouts fail",
        ann_dashboard_url="https://grafana.test/d/slo",
    )
    _, r = render(sla)
    assert r.title == "[FIRING:1] SLA violation: checkout"
    assert r.summary == "checkout is below its SLA target 99.9%: currently 99.2%."
    for line in (
        "Service: checkout",
        "Target: 99.9%",
        "Current: 99.2%",
        "Customer impact: 1 in 100 checkouts fail",
        "Runbook: https://runbooks.test/disk",
        "Dashboard: https://grafana.test/d/slo",
    ):
        assert line in r.details


def test_resolved_and_acknowledged_titles():
    _, resolved = render(alert(firing=False))
    _, acked = render(alert(), ack_by="alice")
    assert resolved.title.startswith("[RESOLVED]")
    assert acked.title.startswith("[ACKNOWLEDGED]") and "Acknowledged by alice" in acked.details


def test_formats_escape_for_their_channel():
    a = alert(ann_summary="5 < 6 & <b>bold</b>")
    _, slack = render(a, fmt="mrkdwn")
    _, html = render(a, fmt="html")
    assert slack.summary == "5 &lt; 6 &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert "&lt;b&gt;bold&lt;/b&gt;" in html.summary
    assert "<https://runbooks.test/disk|Runbook>" in slack.details


def test_secrets_in_labels_and_annotations_are_masked_everywhere():
    leaky = alert(
        api_key="abc123",
        ann_description="curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1.x.y' https://u:hunter2@db/",
        ann_summary="token=xoxb-1234567890-abcdefghij leaked",
    )
    data, r = render(leaky)
    text = str(data) + r.title + r.summary + r.details
    for secret in ("abc123", "eyJhbGciOiJIUzI1", "hunter2", "xoxb-1234567890"):
        assert secret not in text
    assert data["alerts"][0]["labels"]["api_key"] == "[REDACTED]"
    assert "Bearer [REDACTED]" in r.details


def test_extra_redaction_patterns():
    data = build_data(
        notification(alert(ann_summary="customer 4111-1111-1111-1111 charged")),
        Redactor([r"\b\d{4}-\d{4}-\d{4}-\d{4}\b"]),
    )
    assert data["alerts"][0]["annotations"]["summary"] == "customer [REDACTED] charged"


def test_a_custom_template_overrides_and_extends_a_builtin(tmp_path):
    (tmp_path / "critical.j2").write_text(
        '{% extends "builtin/critical.j2" %}{% block summary %}PAGE: {{ alertname }}{% endblock %}'
    )
    (tmp_path / "slack.warning.j2").write_text(
        '{% extends "base.j2" %}{% block details %}slack only{% endblock %}'
    )
    r = JinjaRenderer([str(tmp_path / "critical.j2"), str(tmp_path / "slack.warning.j2")])
    _, crit = render(alert(), renderer=r)
    assert crit.summary == "PAGE: DiskFull" and "Disk usage above 95%" in crit.details
    _, warn = render(alert(severity="warning"), renderer=r)
    assert warn.details == "slack only"


def test_a_broken_template_is_a_load_error_with_file_and_line(tmp_path):
    bad = tmp_path / "high.j2"
    bad.write_text(
        "{% extends 'base.j2' %}\n{% block details %}\n{{ alerts | nosuchfilter }}\n{% endblock %}\n"
    )
    with pytest.raises(ConfigError) as info:
        JinjaRenderer([str(bad)])
    (problem,) = info.value.problems
    assert problem.file == str(bad) and problem.line == 3
    assert "nosuchfilter" in problem.message


def test_a_template_failing_at_run_time_falls_back_to_the_builtin(tmp_path, caplog):
    (tmp_path / "critical.j2").write_text(
        '{% extends "base.j2" %}{% block title %}{{ 1 // 0 }}{% endblock %}'
    )
    r = JinjaRenderer([str(tmp_path / "critical.j2")])
    _, out = render(alert(), renderer=r)
    assert out.title == "[FIRING:1] CRITICAL DiskFull"
    assert "failed" in caplog.text


def test_the_sandbox_refuses_python_internals(tmp_path):
    (tmp_path / "info.j2").write_text(
        '{% extends "base.j2" %}{% block details %}{{ alerts.__class__.__mro__ }}{% endblock %}'
    )
    r = JinjaRenderer([str(tmp_path / "info.j2")])
    _, out = render(alert(severity="info"), renderer=r)
    assert "object" not in out.details
