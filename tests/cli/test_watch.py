"""`tocsin watch` against a daemon started by the test (a real process on 127.0.0.1)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tocsin.cli.watch_cmd import format_line, stream_url

from ..adapters.running_tocsin import free_port, running_tocsin

TOKEN = "watch-secret"
CONFIG = f"""\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: team
tocsin:
  auth:
    tokens:
      - {{name: watcher, token: {TOKEN}, roles: [read, ingest]}}
"""


def _watch(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin.cli.main", "watch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_stream_url():
    assert (
        stream_url("https://t.example/tocsin/", 5, ["alert.*"], ["g1"])
        == "wss://t.example/tocsin/api/v1/stream?since=5&type=alert.%2A&group=g1"
    )
    assert stream_url("http://127.0.0.1:9093", None, [], []) == "ws://127.0.0.1:9093/api/v1/stream"


def test_lines_are_coloured_only_on_request():
    msg = {"seq": 7, "ts": "T", "type": "alert.received", "data": {"change": "new"}}
    assert format_line(msg, colour=False) == f"{7:>8} T {'alert.received':<24} change=new"
    assert format_line(msg, colour=True).startswith("\x1b[33m")


@pytest.mark.slow
def test_tails_the_journal_then_exits_after_count():
    with running_tocsin(CONFIG, token=TOKEN) as t:
        r = t.client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Watched"}}])
        assert r.status_code == 200
        proc = _watch(
            "--url", t.url, "--token", TOKEN, "--since", "0", "--type", "alert.*", "--count", "1"
        )
        assert proc.returncode == 0, proc.stderr
        (line,) = proc.stdout.splitlines()
        assert "alert.received" in line and "alertname=Watched" in line
        assert "\x1b[" not in line  # not a terminal: no colour


@pytest.mark.slow
def test_a_bad_token_is_one_line_and_exit_1():
    with running_tocsin(CONFIG, token=TOKEN) as t:
        proc = _watch("--url", t.url, "--token", "nope", "--count", "1")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "tocsin: error: the daemon refused the stream (unauthorized): "
        "unauthorized: the bearer token is not valid"
    ]


def test_a_daemon_that_is_down_is_one_line_and_exit_1():
    url = f"http://127.0.0.1:{free_port()}"
    proc = _watch("--url", url)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"tocsin: error: cannot reach the daemon at {url}")
