"""`tocsin run` as a real process: ready, serving, reloading, refusing, stopping cleanly."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tocsin.cli.main import main
from tocsin.config import load_text
from tocsin.daemon import default_runtime_settings
from tocsin.journal import open_journal_reader

from ..adapters.running_tocsin import RunningTocsin, free_port, running_tocsin, wait_for
from ..fakes.webhook_sink import webhook_sink


def _wait_for_line(proc: subprocess.Popen[bytes], needle: str, deadline: float) -> str:
    """Read the process's stderr until a line contains `needle`, or fail at `deadline`."""
    assert proc.stderr is not None
    seen: list[str] = []
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            buf += chunk
            *lines, rest = buf.split(b"\n")
            buf = rest
            for raw in lines:
                line = raw.decode(errors="replace")
                seen.append(line)
                if needle in line:
                    return line
    raise AssertionError(f"no line with {needle!r} before the deadline; got: {seen}")


def test_run_opens_the_journal_and_exits_0_on_sigterm(tmp_path: Path):
    data = tmp_path / "data"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tocsin.cli.main",
            "run",
            "--data-dir",
            str(data),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        line = _wait_for_line(proc, "ready", time.monotonic() + 30)
        assert "0 records" in line
        assert f"http://127.0.0.1:{port}" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert data.is_dir()
    assert main(["journal", "verify", "--data-dir", str(data)]) == 0


CONFIG = """\
route:
  receiver: team
  group_wait: 0s
receivers:
  - name: team
"""


def _types(data: Path) -> list[str]:
    with open_journal_reader(data) as reader:
        return [r.type for r in reader.read()]


def test_serves_the_api_and_an_accepted_batch_survives_sigterm():
    with running_tocsin(CONFIG) as t:
        assert t.client.get("/-/healthy").text == "OK"
        r = t.client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Kept"}}])
        assert r.status_code == 200
        assert t.stop() == 0
        types = _types(t.data_dir)
        assert types[0] == "config.loaded" and "alert.received" in types
        assert "stopped" in t.log()


def test_the_default_config_logs_its_log_only_channels():
    with running_tocsin(None, env={"SLACK_WEBHOOK_URL": "", "SMTP_HOST": ""}) as t:
        assert "SLACK_WEBHOOK_URL is not set); it will only log what it would send" in t.log()
        alert = {"labels": {"alertname": "DiskFull", "severity": "critical"}}
        assert t.client.post("/api/v2/alerts", json=[alert]).status_code == 200
        # What each would have sent, named by its destination (email has none to name).
        t.wait_log("would send to slack #alerts-critical (receiver critical, first notification)")
        t.wait_log("would send to email (receiver critical, first notification)")


def test_reload_by_sighup_and_by_post_keeps_the_old_config_when_the_new_one_is_bad():
    with running_tocsin(CONFIG) as t:
        sha = t.client.get("/api/v2/status").json()["config"]["original"]
        t.config_file.write_text(CONFIG.replace("team", "crew"))
        t.signal(signal.SIGHUP)
        t.wait_log("SIGHUP: configuration")
        wait_for(
            lambda: t.client.get("/api/v2/receivers").json() == [{"name": "crew"}],
            10,
            "the new receivers",
        )
        assert t.client.get("/api/v2/status").json()["config"]["original"] != sha
        t.config_file.write_text("route:\n  receiver: nobody\nreceivers: []\n")
        r = t.client.post("/-/reload")
        assert r.status_code == 400
        assert r.json()["error"] == "configuration not reloaded"
        assert any("undefined receiver" in p for p in r.json()["detail"]["problems"])
        assert t.client.get("/api/v2/receivers").json() == [{"name": "crew"}]
        t.config_file.write_text(CONFIG.replace("team", "crew"))
        assert t.client.post("/-/reload").json()["status"] == "unchanged"
        assert t.stop() == 0
        assert _types(t.data_dir).count("config.loaded") == 2


def test_refuses_a_network_address_without_tokens(tmp_path: Path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tocsin.cli.main",
            "run",
            "--data-dir",
            str(tmp_path / "data"),
            "--listen",
            "0.0.0.0:0",
        ],
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert b"refusing to listen on 0.0.0.0:0 without authentication" in proc.stderr
    assert b"--insecure-no-auth" in proc.stderr
    assert b"Traceback" not in proc.stderr


def _cannot_start(*args: str, env: dict[str, str] | None = None) -> str:
    """`tocsin run ARGS` (with `env` added to the environment) that must fail to start: its
    one `cannot start` line (no traceback)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tocsin.cli.main", "run", *args],
        capture_output=True,
        timeout=30,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if "cannot start" in line]
    return line


def test_start_failures_are_one_line_not_a_traceback(tmp_path: Path):
    (tmp_path / "a-file").write_text("")
    line = _cannot_start("--data-dir", str(tmp_path / "a-file"), "--listen", "127.0.0.1:0")
    assert "cannot open the journal in" in line and "File exists" in line
    with running_tocsin(CONFIG, extra_args=("--data-dir", str(tmp_path / "d"))) as t:
        line = _cannot_start("--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:0")
        assert "is open for writing elsewhere" in line
        line = _cannot_start("--data-dir", str(tmp_path / "e"), "--listen", f"127.0.0.1:{t.port}")
        assert f"cannot listen on 127.0.0.1:{t.port}" in line and "in use" in line


def test_a_bad_config_file_is_reported_and_exit_1(tmp_path: Path):
    bad = tmp_path / "am.yml"
    bad.write_text("route:\n  receiver: x\n  group_wait: 5x\nreceivers:\n  - name: x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tocsin.cli.main", "run", "--config", str(bad)],
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    # stderr is not a terminal: one JSON object per log line (tocsin.logs)
    messages = "\n".join(json.loads(line)["msg"] for line in proc.stderr.splitlines())
    assert "cannot start: the configuration has problems" in messages
    assert f'{bad}:3:3: route.group_wait: invalid duration "5x"' in messages


def test_a_malformed_rate_limit_variable_is_reported(tmp_path: Path):
    line = _cannot_start("--data-dir", str(tmp_path / "d"), env={"TOCSIN_RATE_LIMIT": "fast"})
    assert "cannot start: $TOCSIN_RATE_LIMIT must be a number, got 'fast'" in line


def test_the_memory_limit_variable_sets_what_memory_high_compares_with(tmp_path: Path):
    config = load_text(CONFIG, env={})
    settings = default_runtime_settings(config, {"TOCSIN_MEMORY_LIMIT": "512M"})
    assert settings.selfmon is not None and settings.selfmon.memory_limit_bytes == 512 * 2**20
    assert default_runtime_settings(config, {}).selfmon.memory_limit_bytes is None  # type: ignore[union-attr]
    line = _cannot_start("--data-dir", str(tmp_path / "d"), env={"TOCSIN_MEMORY_LIMIT": "lots"})
    assert "cannot start: $TOCSIN_MEMORY_LIMIT must be a size such as 2G" in line


def test_the_slack_interactions_endpoint_is_mounted_and_checks_signatures():
    with running_tocsin(CONFIG, env={"SLACK_SIGNING_SECRET": "test-signing-secret"}) as t:
        r = t.client.post(
            "/api/v1/slack/interactions",
            content=b"payload=%7B%7D",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 401  # mounted (not 404), and an unsigned request is refused


def _signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether `headers` carry the webhook channel's signature of `body` with `secret`."""
    ts = headers.get("x-tocsin-timestamp", "")
    mac = hmac.new(secret.encode(), f"v1:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return bool(ts) and hmac.compare_digest(headers.get("x-tocsin-signature", ""), f"v1={mac}")


HOOK = """\
route:
  receiver: hook
  group_wait: 0s
receivers:
  - name: hook
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/hook'}}]
"""


def test_webhook_bodies_are_signed_with_the_signing_secret_variable():
    secret = "outbound-s3cret"
    with (
        webhook_sink() as sink,
        running_tocsin(
            HOOK.format(port=sink.port), env={"TOCSIN_WEBHOOK_SIGNING_SECRET": secret}
        ) as t,
    ):
        received = sink.received
        r = t.client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Signed"}}])
        assert r.status_code == 200
        wait_for(lambda: received, 15.0, f"the webhook's POST; log:\n{t.log()}")
        headers, body = received[0]
        assert json.loads(body)["commonLabels"] == {"alertname": "Signed"}
        assert _signed_by(secret, headers, body)
        assert not _signed_by("another secret", headers, body)


def test_channels_test_signs_as_the_daemon_does(tmp_path: Path, monkeypatch, capsys):
    with webhook_sink() as sink:
        received = sink.received
        path = tmp_path / "alertmanager.yml"
        path.write_text(HOOK.format(port=sink.port))
        monkeypatch.setenv("TOCSIN_WEBHOOK_SIGNING_SECRET", "s3cret")
        assert main(["channels", "test", "--config", str(path)]) == 0
        assert "TocsinChannelTest" in received[0][1].decode()
        assert _signed_by("s3cret", *received[0])
        monkeypatch.delenv("TOCSIN_WEBHOOK_SIGNING_SECRET")
        assert main(["channels", "test", "--config", str(path)]) == 0
        assert "x-tocsin-signature" not in received[1][0]
    capsys.readouterr()


def test_a_planned_restart_keeps_what_was_only_in_memory(tmp_path: Path):
    """An endsAt moved later by a re-send is applied in memory, not journaled (Prometheus
    re-sends every minute); the snapshot taken on SIGTERM carries it over a restart."""
    now = datetime.now(UTC)
    later = (now + timedelta(minutes=50)).replace(microsecond=0)
    args = ("--data-dir", str(tmp_path / "data"))

    def post(t: RunningTocsin, ends: datetime) -> None:
        alert = {"labels": {"alertname": "Kept"}, "endsAt": ends.isoformat()}
        assert t.client.post("/api/v2/alerts", json=[alert]).status_code == 200

    with running_tocsin(CONFIG, extra_args=args) as t:
        post(t, now + timedelta(minutes=4))
        post(t, later)  # a refresh: in memory only
        [got] = t.client.get("/api/v2/alerts").json()
        assert datetime.fromisoformat(got["endsAt"]) == later
        assert t.stop() == 0
        assert "snapshot of the state at seq" in t.log()
    with running_tocsin(CONFIG, extra_args=args) as t:
        [got] = t.client.get("/api/v2/alerts").json()
        assert datetime.fromisoformat(got["endsAt"]) == later
        assert ", 0 records replayed," in t.log()  # all in the snapshot (it said the last seq)


def test_a_reload_applies_a_rotated_token_file(tmp_path: Path):
    """The config text is unchanged, the file it reads a token from is not: a revoked token
    must stop working at the reload, not at the next restart."""
    token_file = tmp_path / "oncall.token"
    token_file.write_text("old-s3cret\n")
    config = f"""\
route: {{receiver: team}}
receivers: [{{name: team}}]
tocsin:
  auth:
    tokens:
      - {{name: admin, token: admin-s3cret, roles: [admin]}}
      - {{name: oncall, token_file: {token_file}, roles: [read]}}
"""
    with running_tocsin(config, token="admin-s3cret") as t:

        def status(token: str) -> int:
            auth = {"Authorization": f"Bearer {token}"}
            return t.client.get("/api/v2/alerts", headers=auth).status_code

        assert (status("old-s3cret"), status("new-s3cret")) == (200, 401)
        token_file.write_text("new-s3cret\n")
        r = t.client.post("/-/reload")
        assert r.status_code == 200 and "reloaded" in r.text, r.text
        assert (status("old-s3cret"), status("new-s3cret")) == (401, 200)
        r = t.client.post("/-/reload")  # nothing changed since: unchanged
        assert r.status_code == 200 and "unchanged" in r.text, r.text
