"""The commands against a running daemon — alerts, silence, fire, test, heartbeats, channels —
each run against a real `tocsin run` process (127.0.0.1, a free port, a temp data dir, a
config whose receivers are log channels), including how they fail: daemon down, bad token."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.cli.main import main
from tocsin.scenarios import SCENARIOS

from ..adapters.running_tocsin import RunningTocsin, free_port, running_tocsin, wait_for

CONFIG = """\
route:
  receiver: team
  group_wait: 0s
  group_interval: 1s
  group_by: [alertname]
  routes:
    - matchers: ['tocsin_test="escalation"']
      receiver: oncall
      escalation: fast
escalation_policies:
  - name: fast
    levels:
      - {after: 0s, receivers: [team]}
      - {after: 1s, receivers: [oncall]}
      - {after: 2s, receivers: [managers]}
receivers:
  - name: team
    log_configs: [{integration: slack, destination: '#team'}]
  - name: oncall
    log_configs: [{integration: pagerduty, destination: oncall}]
  - name: managers
    log_configs: [{}]
"""


@pytest.fixture(scope="module")
def daemon() -> Iterator[RunningTocsin]:
    with running_tocsin(CONFIG) as t:
        yield t


def run(capsys: pytest.CaptureFixture[str], t: RunningTocsin | str, *argv: str):
    """`tocsin ARGV --url URL`: (exit code, stdout, stderr)."""
    url = t if isinstance(t, str) else t.url
    code = main([*argv, "--url", url])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, t, *argv: str):
    code, out, err = run(capsys, t, *argv, "-o", "json")
    assert code == 0, err
    return json.loads(out)


# -- fire and alerts -------------------------------------------------------------------------


def test_fire_list_names_every_scenario(capsys, daemon):
    code, out, _ = run(capsys, daemon, "fire", "--list")
    assert code == 0
    for name in SCENARIOS:
        assert name in out
    assert len(SCENARIOS) == 9


def test_fire_ack_resolve_through_the_cli(capsys, daemon):
    code, out, err = run(capsys, daemon, "fire", "critical_api_down")
    assert code == 0, err
    assert "fired critical_api_down: 1 alert(s)" in out

    rows = run_json(capsys, daemon, "alerts", "list", "alertname=APIDown")
    assert [r["labels"]["tocsin_scenario"] for r in rows] == ["critical_api_down"]
    group, fingerprint = rows[0]["group_id"], rows[0]["fingerprint"]
    code, out, _ = run(capsys, daemon, "alerts", "list", "alertname=APIDown")
    assert group in out and "APIDown" in out and "critical" in out

    code, out, err = run(capsys, daemon, "alerts", "ack", fingerprint, "--by", "alice", "-c", "x")
    assert code == 0, err
    assert f"{group}: acknowledged by alice" in out
    rows = run_json(capsys, daemon, "alerts", "list", "--state", "acknowledged")
    assert group in [r["group_id"] for r in rows]

    code, out, err = run(capsys, daemon, "alerts", "ack", group)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "already acknowledged" in err

    code, out, err = run(capsys, daemon, "alerts", "resolve", group, "--by", "alice")
    assert code == 0, err
    assert "resolved" in out
    assert group not in [r["group_id"] for r in run_json(capsys, daemon, "alerts", "list")]


def test_fire_resolve_ends_the_scenario(capsys, daemon):
    assert run(capsys, daemon, "fire", "high_memory")[0] == 0
    rows = run_json(capsys, daemon, "alerts", "list", 'tocsin_scenario="high_memory"')
    assert len(rows) == 2
    code, out, _ = run(capsys, daemon, "fire", "high_memory", "--resolve")
    assert code == 0 and "resolved high_memory: 2 alert(s)" in out
    assert run_json(capsys, daemon, "alerts", "list", "tocsin_scenario=high_memory") == []


def test_fire_unknown_scenario_and_bad_matcher_fail_in_one_line(capsys, daemon):
    code, _, err = run(capsys, daemon, "fire", "no_such_thing")
    assert code == 1 and "no scenario 'no_such_thing'" in err and err.count("\n") == 1
    code, _, err = run(capsys, daemon, "alerts", "list", 'a=~"("')
    assert code == 1 and "bad matcher" in err


def test_ack_of_an_unknown_id_is_a_one_line_404(capsys, daemon):
    code, _, err = run(capsys, daemon, "alerts", "ack", "0123456789abcdef", "--by", "x")
    assert code == 1
    assert "404" in err and err.count("\n") == 1


# -- silences --------------------------------------------------------------------------------


def test_silence_add_query_expire_as_amtool(capsys, daemon):
    assert run(capsys, daemon, "fire", "dev_warning")[0] == 0
    code, _, err = run(capsys, daemon, "silence", "add", "DiskSpaceLow")
    assert code == 1 and "comment required" in err

    code, out, err = run(
        capsys, daemon, "silence", "add", "DiskSpaceLow", 'instance=~"ci-.*"', "-c", "resize",
        "-a", "bob", "-d", "2h",
    )  # fmt: skip
    assert code == 0, err
    sid = out.strip()
    assert len(sid) == 36

    code, out, _ = run(capsys, daemon, "silence", "query", "-q")
    assert sid in out.split()
    code, out, _ = run(capsys, daemon, "silence", "query", "DiskSpaceLow")
    assert sid in out and 'alertname="DiskSpaceLow"' in out and "bob" in out and "resize" in out
    rows = run_json(capsys, daemon, "alerts", "list", "--state", "silenced")
    assert "DiskSpaceLow" in [r["labels"]["alertname"] for r in rows]

    code, out, _ = run(capsys, daemon, "silence", "expire", sid)
    assert code == 0 and f"{sid}: expired" in out
    code, out, _ = run(capsys, daemon, "silence", "query", "-q")
    assert sid not in out
    code, out, _ = run(capsys, daemon, "silence", "query", "--expired", "--within", "1h", "-q")
    assert sid in out.split()
    code, out, _ = run(capsys, daemon, "silence", "expire", sid)  # again: nothing to do
    assert code == 0 and f"{sid}: expired" in out
    code, _, err = run(capsys, daemon, "silence", "expire", "no-such-silence")
    assert code == 1 and "404" in err and err.count("\n") == 1
    run(capsys, daemon, "fire", "dev_warning", "--resolve")


# -- tests of the daemon -----------------------------------------------------------------------


def test_test_escalation_follows_levels_then_stops_at_the_ack(capsys, daemon):
    code, out, err = run(capsys, daemon, "test", "escalation", "--wait", "30", "--quiet-for", "3")
    assert code == 0, out + err
    assert "ESCALATED to level 0" in out
    assert "ESCALATED to level 1" in out
    assert "acknowledged by tocsin test escalation" in out
    after_ack = out.split("acknowledged by tocsin test escalation", 1)[1]
    assert "ESCALATED" not in after_ack
    assert "ok: escalated to level 1, acknowledged, and escalation stopped" in out


def test_test_escalation_again_and_again_in_one_group(capsys):
    """Runs share a group (group_by names no tocsin_run) whose episode would otherwise end only
    at its next flush, 5 minutes on: each run ends its episode, and shows only its own."""
    with running_tocsin(CONFIG.replace("group_interval: 1s", "group_interval: 5m")) as t:
        runs = [
            run(capsys, t, "test", "escalation", "--wait", "30", "--quiet-for", "2")
            for _ in range(2)
        ]
        assert [code for code, _, _ in runs] == [0, 0], runs
        first, second = (out for _, out, _ in runs)
        for out in (first, second):
            assert out.count("group opened") == 1
            assert out.count("acknowledged by tocsin test escalation") == 1
            assert "group resolved" not in out  # an earlier run's end is not replayed
        groups = {out.split("→ group ")[1].split()[0] for out in (first, second)}
        assert len(groups) == 1  # the same group, a new episode each time

        code, _, _ = run(
            capsys, t, "test", "escalation", "--wait", "30", "--quiet-for", "2", "--keep"
        )
        assert code == 0
        code, _, err = run(capsys, t, "test", "escalation", "--wait", "30")
        assert code == 1
        assert "already acknowledged" in err and "tocsin alerts resolve" in err
        assert err.count("\n") == 1


def test_test_escalation_fails_when_no_route_escalates(capsys, daemon):
    code, _, err = run(capsys, daemon, "test", "escalation", "--ack-at-level", "5", "--wait", "1")
    assert code == 1
    assert "reached escalation level" in err and err.count("\n") == 1


def test_test_storm_reports_and_loses_nothing(capsys, daemon):
    report = run_json(
        capsys, daemon, "test", "storm", "--alerts", "2000", "--batch", "250", "--names", "4"
    )
    assert report["alerts"] == report["alerts_held"] == 2000
    assert report["lost"] == 0
    assert report["groups"] == 4  # grouped by alertname
    assert report["grouping_ratio"] == 500
    assert report["notifications_requested"] >= 4
    assert report["alerts_per_second"] > 0
    # resolved at the end
    wait_for(
        lambda: (
            not any(
                r["labels"].get("tocsin_test") == "storm"
                for r in run_json(capsys, daemon, "alerts", "list")
            )
        ),
        10,
        "the storm's alerts resolved",
    )


def test_test_prometheus_shows_what_the_webhook_did(capsys, daemon):
    code, out, err = run(capsys, daemon, "test", "prometheus")
    assert code == 0, err
    assert "accepted 2, firing 2, resolved 0" in out
    assert "KubePodCrashLooping" in out or "group opened" in out
    assert "group opened (receiver team" in out
    assert "resolved them again (accepted 2)" in out


# -- heartbeats ------------------------------------------------------------------------------


def test_heartbeats_beat_list_remove(capsys, daemon):
    code, _, err = run(capsys, daemon, "heartbeats", "beat", "nightly")
    assert code == 1 and "interval" in err and err.count("\n") == 1
    code, out, err = run(capsys, daemon, "heartbeats", "beat", "nightly", "--interval", "25h")
    assert code == 0, err
    assert "expected every 25h" in out
    beats = run_json(capsys, daemon, "heartbeats", "list")
    assert {"name": "nightly", "interval_seconds": 90000.0, "missing": False}.items() <= next(
        b for b in beats if b["name"] == "nightly"
    ).items()
    code, out, _ = run(capsys, daemon, "heartbeats", "list")
    assert "nightly" in out and "ok" in out
    assert run(capsys, daemon, "heartbeats", "remove", "nightly")[0] == 0
    code, _, err = run(capsys, daemon, "heartbeats", "remove", "nightly")
    assert code == 1 and "404" in err


def test_heartbeat_over_http_with_the_interval_in_the_query(daemon):
    r = daemon.client.post("/api/v1/heartbeats/cron-job?interval=300")
    assert r.status_code == 200, r.text
    assert r.json()["interval_seconds"] == 300.0
    assert daemon.client.post("/api/v1/heartbeats/cron-job").status_code == 200
    assert daemon.client.post("/api/v1/heartbeats/x", json={"interval": "5x"}).status_code == 400
    assert daemon.client.post("/api/v1/heartbeats/bad%20name?interval=1m").status_code == 400
    assert daemon.client.delete("/api/v1/heartbeats/cron-job").status_code == 200


# -- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("alerts", "list"),
        ("alerts", "ack", "abc"),
        ("silence", "query"),
        ("silence", "add", "X", "-c", "y"),
        ("silence", "expire", "abc"),
        ("fire", "dev_warning"),
        ("test", "escalation"),
        ("test", "storm", "--alerts", "10"),
        ("test", "prometheus"),
        ("heartbeats", "list"),
    ],
)
def test_daemon_down_is_exit_1_with_one_line(capsys, argv):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, url, *argv)
    assert code == 1
    assert out == ""
    assert err.startswith("tocsin: error: cannot reach Tocsin at " + url)
    assert err.count("\n") == 1
    # A password in the URL is not repeated back.
    port = url.rsplit(":", 1)[1]
    code, _, err = run(capsys, f"http://ops:pa55word@127.0.0.1:{port}", *argv)
    assert code == 1 and "pa55word" not in err and "ops:<secret>@" in err


def test_daemon_down_as_a_process(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "tocsin.cli.main", "alerts", "list"],
        env={"TOCSIN_URL": f"http://127.0.0.1:{free_port()}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cannot reach Tocsin" in proc.stderr


TOKEN_CONFIG = """\
route: {receiver: team, group_wait: 0s}
receivers: [{name: team, log_configs: [{}]}]
tocsin:
  auth:
    tokens:
      - {name: oncall, token: s3cret-oncall, roles: [read, operate, ingest]}
      - {name: viewer, token: s3cret-viewer, roles: [read]}
"""


def test_tokens_bad_missing_and_lacking_a_role(capsys, monkeypatch):
    with running_tocsin(TOKEN_CONFIG, token="s3cret-oncall") as t:
        code, _, err = run(capsys, t, "alerts", "list")
        assert code == 1 and "requires a token (401" in err and err.count("\n") == 1
        code, _, err = run(capsys, t, "alerts", "list", "--token", "wrong")
        assert code == 1 and "refused the token (401" in err
        assert "wrong" not in err
        code, _, err = run(capsys, t, "fire", "dev_warning", "--token", "s3cret-viewer")
        assert code == 1 and "not allowed (403)" in err and "ingest" in err
        code, out, err = run(capsys, t, "fire", "dev_warning", "--token", "s3cret-oncall")
        assert code == 0, err
        monkeypatch.setenv("TOCSIN_TOKEN", "s3cret-oncall")
        rows = run_json(capsys, t, "alerts", "list")
        group = rows[0]["group_id"]
        # with a token, `by` defaults to the token's name
        code, out, err = run(capsys, t, "alerts", "ack", group)
        assert code == 0, err
        assert "acknowledged by oncall" in out
        assert "s3cret" not in t.log()


def test_daemon_logs_json_lines_under_tocsin_names(daemon):
    lines = [ln for ln in daemon.log().splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]  # every line is one JSON object
    ready = [r for r in records if r["msg"].startswith("ready:")]
    assert ready and ready[0]["logger"] == "tocsin.daemon" and ready[0]["level"] == "info"
    assert all(r["logger"].startswith("tocsin.") for r in records if r["level"] == "info")


# -- channels test (no daemon: the configuration's channels, from here) ------------------------


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    return str(path)


def test_channels_test_log_channels_ok(tmp_path, capsys):
    path = _config(tmp_path, CONFIG)
    assert main(["channels", "test", "--config", path]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:3]) for line in out.splitlines()}
    assert {("team", "log[0]", "ok"), ("oncall", "log[0]", "ok")} <= rows
    assert "logged only: slack is not configured" in out
    assert main(["channels", "test", "--config", path, "oncall", "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["receiver"], r["ok"]) for r in rows] == [("oncall", True)]


def test_channels_test_reports_a_failing_webhook_and_dry_run_sends_nothing(tmp_path, capsys):
    port = free_port()  # nothing listens there
    path = _config(
        tmp_path,
        f"""\
route: {{receiver: hook}}
receivers:
  - name: hook
    webhook_configs: [{{url: 'http://user:pa55word@127.0.0.1:{port}/hook?token=abc123'}}]
  - name: pager
    pagerduty_configs: [{{routing_key: r0ut1ngk3y, url: 'http://127.0.0.1:{port}/v2/enqueue'}}]
  - name: quiet
    log_configs: [{{}}]
""",
    )
    assert main(["channels", "test", "--config", path]) == 1
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:3]) for line in out.splitlines()}
    assert ("hook", "webhook[0]", "FAILED") in rows
    assert ("quiet", "log[0]", "ok") in rows
    assert "connection failed" in out
    assert main(["channels", "test", "--config", path, "--dry-run", "hook", "pager"]) == 0
    out = capsys.readouterr().out
    assert f"POST http://127.0.0.1:{port}/..." in out
    for secret in ("abc123", "pa55word", "user:", "r0ut1ngk3y"):
        assert secret not in out
    assert '"routing_key": "<secret>"' in out
    assert "TocsinChannelTest" in out


def test_channels_test_unknown_receiver_and_bad_config(tmp_path, capsys):
    path = _config(tmp_path, CONFIG)
    assert main(["channels", "test", "--config", path, "nobody"]) == 1
    err = capsys.readouterr().err
    assert "no receiver nobody" in err and err.count("\n") == 1
    bad = _config(tmp_path, "route: {receiver: missing}\n")
    assert main(["channels", "test", "--config", bad]) == 1
    err = capsys.readouterr().err
    assert "the configuration has problems" in err and err.count("\n") == 1


def test_channels_test_dry_run_shows_the_mail_as_it_would_be_sent(tmp_path, capsys):
    """With configured headers and a Go-template subject, the preview is the real mail
    (it was Tocsin's default subject, without the headers)."""
    path = _config(
        tmp_path,
        """\
route: {receiver: mail}
receivers:
  - name: mail
    email_configs:
      - to: oncall@example.com
        from: tocsin@example.com
        smarthost: '127.0.0.1:25'
        require_tls: false
        headers:
          X-Team: platform
          Subject: 'GO {{ .CommonLabels.alertname }} {{ .Status }}'
""",
    )
    assert main(["channels", "test", "--config", path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "X-Team: platform" in out
    assert "Subject: GO TocsinChannelTest firing" in out
