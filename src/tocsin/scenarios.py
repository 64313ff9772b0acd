"""Built-in alert scenarios for `tocsin fire`: realistic alerts that exercise the default routes
(critical, high, database, security, development, the SLA template, deployments).

Each scenario is a list of alerts in Alertmanager's API v2 shape (labels and annotations);
every alert carries `tocsin_scenario=<name>` so it is easy to find, silence and resolve.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["SCENARIOS", "Scenario", "alerts_of"]


@attrs.frozen
class Scenario:
    name: str
    description: str
    alerts: tuple[tuple[dict[str, str], dict[str, str]], ...]  # (labels, annotations)


def _s(name: str, description: str, *alerts: tuple[dict[str, str], dict[str, str]]) -> Scenario:
    return Scenario(name, description, alerts)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _s(
            "critical_api_down",
            "the public API is down: critical, pages on-call and escalates",
            (
                {"alertname": "APIDown", "severity": "critical", "service": "api",
                 "instance": "api-1:8080", "job": "api", "team": "platform"},
                {"summary": "API api-1:8080 is down",
                 "description": "probe_success == 0 for 2 minutes; users get 502s.",
                 "runbook_url": "https://runbooks.example.com/api-down"},
            ),
        ),
        _s(
            "high_error_rate",
            "5xx ratio above 5%: high severity",
            (
                {"alertname": "HighErrorRate", "severity": "high", "service": "checkout",
                 "job": "checkout"},
                {"summary": "checkout: 7.3% of requests fail",
                 "description": "rate(http_requests_total{code=~\"5..\"}[5m]) / "
                                "rate(http_requests_total[5m]) = 0.073 (threshold 0.05)"},
            ),
        ),
        _s(
            "slow_response_p95",
            "p95 latency above its objective: warning",
            (
                {"alertname": "SlowResponseP95", "severity": "warning", "service": "search",
                 "job": "search"},
                {"summary": "search p95 latency is 2.4s (objective 800ms)",
                 "description": "histogram_quantile(0.95, ...) = 2.4 over 10 minutes"},
            ),
        ),
        _s(
            "high_memory",
            "memory above 90% on two hosts: high severity, grouped together",
            *(
                (
                    {"alertname": "HighMemoryUsage", "severity": "high", "service": "worker",
                     "instance": f"worker-{i}:9100", "job": "node"},
                    {"summary": f"worker-{i}: memory {pct}% used",
                     "description": "node_memory_MemAvailable_bytes / MemTotal below 10%"},
                )
                for i, pct in ((1, 93), (2, 91))
            ),
        ),
        _s(
            "database_connection_lost",
            "the primary database is unreachable: critical, database team",
            (
                {"alertname": "DatabaseConnectionLost", "severity": "critical",
                 "service": "database", "instance": "db-primary:5432", "job": "postgres"},
                {"summary": "cannot connect to db-primary:5432",
                 "description": "pg_up == 0; 42 application pools report connection refused."},
            ),
        ),
        _s(
            "security_incident",
            "repeated failed logins from one address: security route, cannot be acknowledged",
            (
                {"alertname": "BruteForceLogin", "severity": "critical",
                 "alert_type": "security", "service": "auth", "source_ip": "203.0.113.7"},
                {"summary": "1,204 failed logins from 203.0.113.7 in 5 minutes",
                 "description": "rate(auth_failed_logins_total[5m]) by source_ip"},
            ),
        ),
        _s(
            "sla_violation",
            "monthly availability below its SLA: the SLA template",
            (
                {"alertname": "SLAViolation", "severity": "high", "alert_type": "sla_violation",
                 "service": "api", "sla": "99.9"},
                {"summary": "api availability 99.62% this month (SLA 99.9%)",
                 "description": "error budget exhausted on day 19",
                 "current_value": "99.62", "threshold": "99.9"},
            ),
        ),
        _s(
            "deployment_failed",
            "a deployment rolled back: the deployment template",
            (
                {"alertname": "DeploymentFailed", "severity": "high",
                 "alert_type": "deployment", "service": "checkout", "version": "v2.14.0"},
                {"summary": "checkout v2.14.0 rolled back after failed health checks",
                 "description": "3 of 3 new pods failed readiness; previous version restored"},
            ),
        ),
        _s(
            "dev_warning",
            "a warning from the development environment: #dev-alerts only",
            (
                {"alertname": "DiskSpaceLow", "severity": "warning", "environment": "dev",
                 "service": "ci", "instance": "ci-runner-3:9100"},
                {"summary": "ci-runner-3: / is 88% full"},
            ),
        ),
    )
}  # fmt: skip


def alerts_of(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's alerts in the API v2 shape (without times: the caller sets them)."""
    return [
        {
            "labels": {**labels, "tocsin_scenario": scenario.name},
            "annotations": dict(annotations),
            "generatorURL": f"http://prometheus.example.com/graph?g0.expr={labels['alertname']}",
        }
        for labels, annotations in scenario.alerts
    ]
