"""`tocsin config check|env|show|routes`: what a person sees, and the exit codes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tocsin.cli.config_cmd import parse_label_args
from tocsin.cli.main import main

CONFIG = """\
route:
  receiver: default
  routes:
  - match_re: {test: '^[12]$'}
    receiver: test1
    continue: true
    routes:
    - {matchers: ['foo=~"a|b"', 'x!="y"'], receiver: nested}
  - {match: {test: '2'}, receiver: test2}
  - {matchers: [alertname="Disk"], receiver: disk}
receivers:
- name: default
- name: test1
- name: test2
- name: nested
- name: disk
  slack_configs: [{api_url: '${HOOK}', channel: '${CHANNEL:-#disk}'}]
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOOK", "https://hooks.slack.com/services/T/B/very-secret")
    path = tmp_path / "am.yml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_WEBHOOK_URL", "SMTP_HOST", "PAGERDUTY_INTEGRATION_KEY", "CHANNEL"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["config", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- routes test ------------------------------------------------------------------------------


def test_routes_test_prints_receivers_like_amtool(config_file: Path, capsys) -> None:
    f = f"--config.file={config_file}"
    assert run(capsys, "routes", "test", f, "test=2") == (0, "test1,test2\n", "")
    assert run(capsys, "routes", "test", f, "test=3") == (0, "default\n", "")
    code, out, _ = run(capsys, "routes", "test", f, "--verify.receivers=test1", "test=2")
    assert (code, out) == (
        1,
        "test1,test2\nWARNING: Expected receivers did not match resolved receivers.\n",
    )
    assert run(capsys, "routes", "test", f, "--verify.receivers=test1,test2", "test=2")[0] == 0


def test_a_bare_first_argument_is_the_alertname(config_file: Path, capsys) -> None:
    assert run(capsys, "routes", "test", f"--config.file={config_file}", "Disk") == (
        0,
        "disk\n",
        "",
    )
    assert parse_label_args(["Disk", "a=b"]) == parse_label_args(["alertname=Disk", "a=b"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a=~b"], "Labels must be specified as key=value pairs"),
        (["a=1", "nolabel"], "Failed to parse labels: bad matcher at column 8: expected one of"),
        (['a=x"y'], 'unescaped " in the unquoted value of label "a"'),
    ],
)
def test_labels_that_are_not_label_pairs_exit_1(
    args: list[str], message: str, config_file: Path, capsys
) -> None:
    code, out, err = run(capsys, "routes", "test", f"--config.file={config_file}", *args)
    assert (code, out) == (1, "")
    assert message in err


def test_routes_test_tree_draws_the_matching_routes(config_file: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "routes", "test", f"--config.file={config_file}", "--tree", "test=2", "foo=a"
    )
    assert code == 0
    assert out == (
        "Matching routes:\n"
        ".\n"
        "└── default-route\n"
        '    ├── {test=~"^(?:^[12]$)$"}\n'
        '    │\u00a0\u00a0 └── {foo=~"a|b",x!="y"}  receiver: nested\n'
        '    └── {test="2"}  receiver: test2\n'
        "\n\n"
        "nested,test2\n"
    )


def test_routes_show_draws_the_whole_tree(config_file: Path, capsys) -> None:
    code, out, _ = run(capsys, "routes", f"--config.file={config_file}")
    assert code == 0
    assert out == (
        "Routing tree:\n"
        ".\n"
        "└── default-route  receiver: default\n"
        '    ├── {test=~"^(?:^[12]$)$"}  continue: true  receiver: test1\n'
        '    │\u00a0\u00a0 └── {foo=~"a|b",x!="y"}  receiver: nested\n'
        '    ├── {test="2"}  receiver: test2\n'
        '    └── {alertname="Disk"}  receiver: disk\n'
        "\n"
    )


def test_routes_on_a_broken_file_exit_1_with_the_problems(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("route: {receiver: nobody}\nreceivers: [{name: r}]\n")
    code, out, err = run(capsys, "routes", "test", f"--config.file={path}", "a=b")
    assert (code, out) == (1, "")
    assert f'{path}:1:9: route.receiver: undefined receiver "nobody" used in route' in err


# -- check -----------------------------------------------------------------------------------


def test_check_summarises_and_fails_on_any_bad_file(
    config_file: Path, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("route:\n  receiver: r\n  group_wait: 5x\nreceivers: [{name: r}]\n")
    code, out, err = run(capsys, "check", str(config_file), str(bad))
    assert code == 1
    assert out == textwrap.dedent(
        f"""\
        Checking '{config_file}'  SUCCESS
        Found:
         - global config
         - route
         - 0 inhibit rules
         - 5 receivers
         - 0 templates (0 files)
         - 0 time intervals
         - 0 escalation policies

        Checking '{bad}'  FAILED: 1 problem
          {bad}:3:3: route.group_wait: invalid duration "5x"

        """
    )
    assert "1 file(s) failed to validate" in err
    assert run(capsys, "check", str(config_file))[0] == 0


def test_check_of_a_failing_file_also_prints_its_warnings(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "global:\n  opsgenie_api_key: x\nroute:\n  receiver: r\n  group_wait: 5x\n"
        "receivers: [{name: r}]\n"
    )
    code, out, _ = run(capsys, "check", str(bad))
    assert code == 1
    assert f"{bad}:5:3: route.group_wait: invalid duration" in out
    assert "warning:" in out and "opsgenie_api_key" in out


def test_check_without_a_file_checks_the_default_and_names_log_channels(capsys) -> None:
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert out.startswith("Checking 'built-in default'  SUCCESS\n")
    assert (
        "note: SLACK_WEBHOOK_URL is not set, so these channels only log what they would send: "
        "slack #alerts-critical, slack #security-alerts, slack #alerts, slack #database-alerts, "
        "slack #dev-alerts\n"
    ) in out


# -- env and show -----------------------------------------------------------------------------


def test_env_lists_variables_masking_secrets(config_file: Path, capsys) -> None:
    code, out, _ = run(capsys, "env", str(config_file))
    assert code == 0
    assert out.splitlines() == [
        "VARIABLE  STATUS   VALUE     USE",
        "HOOK      set      <secret>  receivers[4].slack_configs[0].api_url",
        "CHANNEL   default  #disk     receivers[4].slack_configs[0].channel",
    ]
    code, out, _ = run(capsys, "env")
    assert "SLACK_WEBHOOK_URL          missing  -" in out
    assert "SMTP_PORT                  default  587" in out


def test_show_masks_secrets(config_file: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, "show", str(config_file))
    assert code == 0
    assert "very-secret" not in out and "api_url: <secret>" in out
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/default-secret")
    code, out, _ = run(capsys, "show", "--default")
    assert code == 0 and "default-secret" not in out and "api_url: <secret>" in out
    code, out, _ = run(capsys, "show", "--default", "--source")
    assert code == 0 and "api_url: ${SLACK_WEBHOOK_URL}" in out


def test_check_reports_a_go_template_that_does_not_compile(tmp_path, capsys):
    from tocsin.cli.main import main as tocsin_main

    bad = tmp_path / "alertmanager.yml"
    bad.write_text(
        "route: {receiver: r}\n"
        "receivers:\n"
        "  - name: r\n"
        "    slack_configs:\n"
        "      - api_url: http://127.0.0.1:9/x\n"
        "        channel: '#a'\n"
        "        title: '{{ .Nope | nosuchfunc }}'\n"
    )
    assert tocsin_main(["config", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "alertmanager.yml:7:16: receivers[0].slack_configs[0].title:" in out
    assert 'function "nosuchfunc" not defined' in out


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% block summary %}{{ x | nosuchfilter }}{% endblock %}", "nosuchfilter"),
        ("{% if %}", "warning.j2:1"),
        ('{% extends "builtin/nosuch.j2" %}', "extends or includes 'builtin/nosuch.j2'"),
    ],
)
def test_check_and_channels_test_refuse_a_jinja2_template_that_would_fail(
    tmp_path, capsys, source, message
):
    """What `tocsin run` would refuse (or fail on when rendering), `config check` reports,
    and `channels test` says in one line instead of a traceback."""
    from tocsin.cli.main import main as tocsin_main

    (tmp_path / "warning.j2").write_text(source)
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: {receiver: r}\ntemplates: ['*.j2']\nreceivers: [{name: r}]\n")
    assert tocsin_main(["config", "check", str(config)]) == 1
    assert message in capsys.readouterr().out
    assert tocsin_main(["channels", "test", "--config", str(config), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "the configuration has problems" in err and err.count("\n") == 1


def test_check_warns_of_a_pagerduty_integration_with_only_a_v1_service_key(tmp_path, capsys):
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs: [{service_key: k}]\n"
    )
    code, out, _ = run(capsys, "check", str(config))
    assert code == 0
    assert "warning: receiver r: pagerduty_configs[0] has only a service_key" in out


def test_show_source_without_default_is_a_usage_error(config_file: Path, capsys) -> None:
    code, out, err = run(capsys, "show", "--source", str(config_file))
    assert code == 2 and out == ""
    assert "use it with --default" in err and err.count("\n") == 1
