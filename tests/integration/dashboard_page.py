"""What the dashboard's browser test and benchmarks/dashboard.py both run: the same Chromium
flags against a daemon with the same configuration, so the benchmark measures the page the
test checks."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TOKEN = "dashboard-secret"
CONFIG = f"""\
route:
  receiver: ops-log
  group_by: [alertname]
  group_wait: 0s
  routes:
    # A team routed before severity: its alerts share a group whatever their severity, so the
    # browser test can watch one group's severity change, and with a short group_interval it
    # sees the group resolve and end within a second or two.
    - matchers: ['team="payments"']
      receiver: ops-log
      group_interval: 1s
    - matchers: ['severity="critical"']
      receiver: oncall-log
receivers:
  - name: ops-log
  - name: oncall-log
tocsin:
  auth:
    tokens:
      - {{name: alice, token: {TOKEN}, roles: [admin]}}
"""
