"""Debian's real Prometheus posting its alerts to Tocsin, as it would to Alertmanager.

A rule that always fires (`vector(1)`), `alerting:` pointed at Tocsin with a bearer token
(API v2). The alert arrives, is routed to the `sink` receiver, and Tocsin requests the
notification (journaled before anything is sent). The receiver's webhook points at a local sink
on 127.0.0.1, which receives Tocsin's notification (Alertmanager's webhook format), and the
delivery is journaled.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tocsin.journal import open_journal_reader

from ..adapters.running_tocsin import RunningTocsin, free_port, running_tocsin, wait_for

pytestmark = pytest.mark.slow

TOCSIN = """\
route:
  receiver: sink
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:{sink_port}/hook
tocsin:
  auth:
    tokens:
      - {{name: prometheus, token: prom-token, roles: [ingest]}}
      - {{name: tests, token: read-token, roles: [read]}}
"""

PROMETHEUS = """\
global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      authorization:
        credentials: prom-token
      static_configs:
        - targets: ["127.0.0.1:{port}"]
"""

RULES = """\
groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: critical
          team: sre
        annotations:
          summary: "this rule always fires"
"""


@contextmanager
def webhook_sink() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A tiny HTTP server on 127.0.0.1 that records every JSON body POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_prometheus(tocsin_port: int) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "prometheus not found: run `make test` (or `bash scripts/system-deps.sh`)",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="tocsin-prometheus-") as tmp:
        d = Path(tmp)
        (d / "prometheus.yml").write_text(PROMETHEUS.format(port=tocsin_port))
        (d / "rules.yml").write_text(RULES)
        port = free_port()
        with open(d / "prometheus.log", "wb") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={d / 'prometheus.yml'}",
                    f"--storage.tsdb.path={d / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--rules.alert.resend-delay=1s",
                    "--log.level=warn",
                ],
                cwd=d,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            yield str(d / "prometheus.log")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _journal(t: RunningTocsin) -> list[tuple[str, dict[str, Any]]]:
    with open_journal_reader(t.data_dir) as reader:
        return [(r.type, r.payload) for r in reader.read()]


def test_prometheus_alerts_reach_tocsin_and_it_notifies():
    with webhook_sink() as (sink_port, received):
        config = TOCSIN.format(sink_port=sink_port)
        with (
            running_tocsin(config, token="read-token") as tocsin,
            running_prometheus(tocsin.port) as prom_log,
        ):

            def firing() -> list[dict[str, Any]]:
                try:
                    return tocsin.client.get(
                        "/api/v2/alerts", params={"filter": "alertname=AlwaysFiring"}
                    ).json()
                except httpx.TransportError:
                    return []

            [got] = wait_for(firing, 60, "Prometheus' alert in Tocsin")  # type: ignore[misc]
            assert got["labels"] == {
                "alertname": "AlwaysFiring",
                "severity": "critical",
                "team": "sre",
            }
            assert got["annotations"] == {"summary": "this rule always fires"}
            assert got["generatorURL"].startswith("http")
            assert [r["name"] for r in got["receivers"]] == ["sink"]

            def requested() -> list[dict[str, Any]]:
                return [
                    p
                    for t, p in _journal(tocsin)
                    if t == "notification.requested" and p["receiver"] == "sink"
                ]

            wait_for(requested, 30, "Tocsin's notification request to the sink receiver")
            wait_for(lambda: received, 30, "the webhook notification at the sink")
            hook = received[0]
            assert hook["version"] == "4" and hook["status"] == "firing"
            assert hook["receiver"] == "sink"
            assert hook["alerts"][0]["labels"]["alertname"] == "AlwaysFiring"
            wait_for(
                lambda: any(
                    t == "notification.delivered"
                    and str(p.get("integration")).startswith("webhook")
                    for t, p in _journal(tocsin)
                ),
                30,
                "the delivery journaled",
            )
            # Prometheus keeps re-sending (resend-delay 1s): the re-sends refresh the alert
            # without new journal records.
            first = got["endsAt"]
            wait_for(lambda: firing()[0]["endsAt"] != first, 30, "a re-send refreshing endsAt")
            received_events = [t for t, _ in _journal(tocsin) if t == "alert.received"]
            assert len(received_events) == 1
            log = Path(prom_log).read_text(errors="replace")
            assert "Error sending alert" not in log, log
