"""Debian's real Alertmanager delivering to Tocsin's webhook ingress (`POST /alerts/webhook`).

Alertmanager groups, then POSTs its webhook payload (version 4) with a bearer token from its
`http_config`; the alert becomes active in Tocsin, which routes it and requests its own
notification; when Alertmanager sends it resolved, Tocsin resolves it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.journal import open_journal_reader

from ..adapters.running_tocsin import RunningTocsin, running_tocsin, wait_for
from .alertmanager import running_alertmanager

pytestmark = pytest.mark.slow

TOCSIN = """\
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: ops
tocsin:
  auth:
    tokens:
      - {name: alertmanager, token: hook-token, roles: [ingest]}
      - {name: tests, token: read-token, roles: [read]}
"""

ALERTMANAGER = """\
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}/alerts/webhook
        send_resolved: true
        http_config:
          authorization:
            credentials: hook-token
"""


def _journal(t: RunningTocsin) -> list[tuple[str, dict[str, object]]]:
    with open_journal_reader(t.data_dir) as reader:
        return [(r.type, r.payload) for r in reader.read()]


def test_alertmanager_webhook_makes_the_alert_active_notifies_and_resolves():
    with (
        running_tocsin(TOCSIN, token="read-token") as tocsin,
        running_alertmanager(ALERTMANAGER.format(url=tocsin.url)) as am,
    ):
        alert = {
            "labels": {"alertname": "ViaAlertmanager", "severity": "warning"},
            "annotations": {"summary": "sent through Alertmanager"},
        }
        assert am.client.post("/api/v2/alerts", json=[alert]).status_code == 200

        def active() -> list[dict[str, object]]:
            return tocsin.client.get("/api/v2/alerts").json()

        [got] = wait_for(active, 20, "the alert active in Tocsin")  # type: ignore[misc]
        assert got["labels"] == alert["labels"]
        assert got["annotations"] == alert["annotations"]
        am_alert = am.client.get("/api/v2/alerts").json()[0]
        assert got["fingerprint"] == am_alert["fingerprint"]
        # Tocsin routed it and requested its own notification (write-ahead, journaled).
        wait_for(
            lambda: any(
                t == "notification.requested" and p["receiver"] == "ops"
                for t, p in _journal(tocsin)
            ),
            10,
            "Tocsin's notification request",
        )
        now = datetime.now(UTC).isoformat()
        resolved = {**alert, "endsAt": now}
        assert am.client.post("/api/v2/alerts", json=[resolved]).status_code == 200
        wait_for(lambda: active() == [], 20, "the alert resolved in Tocsin")
        types = [t for t, _ in _journal(tocsin)]
        assert "alert.resolved" in types
        # Alertmanager's deliveries were accepted (no error in its log).
        assert "level=error" not in am.log(), am.log()
