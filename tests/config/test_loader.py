"""Loading alertmanager.yml: what loads, what it becomes, and every error a person would see."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from tocsin.config import ConfigError, Secret, load, load_file, load_text, reload
from tocsin.config.model import (
    EmailConfig,
    LogConfig,
    MSTeamsConfig,
    PagerdutyConfig,
    Role,
    SlackConfig,
    WebhookConfig,
)
from tocsin.core.labels import Labels

DATA = Path(__file__).parent / "data"
MIN = timedelta(minutes=1)


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_text(textwrap.dedent(text), filename="am.yml", env=env or {})
    return [str(p) for p in info.value.problems]


# -- a full Alertmanager file -----------------------------------------------------------------


def test_a_full_alertmanager_file_loads_as_alertmanager_reads_it() -> None:
    config = load_file(str(DATA / "alertmanager-full.yml"), {})
    assert config.global_.resolve_timeout == 10 * MIN
    assert list(config.receivers) == [
        "team-X-mails",
        "team-X-pager",
        "team-Y-mails",
        "team-Y-pager",
        "team-DB-pager",
        "hooks",
    ]
    mail = config.receivers["team-X-mails"].integrations[0]
    assert isinstance(mail, EmailConfig)
    # Globals fill in what the integration leaves out; headers get Go's canonical case.
    assert (mail.smarthost, mail.from_, mail.auth_username, mail.require_tls) == (
        "localhost:25",
        "alertmanager@example.org",
        "alertmanager",
        False,
    )
    assert mail.auth_password == Secret("password")
    assert dict(mail.headers) == {"Subject": "Alert", "X-Priority": "1"}
    db = config.receivers["team-DB-pager"]
    slack = db.of_kind("slack")[0]
    assert isinstance(slack, SlackConfig)
    assert slack.api_url == Secret("https://hooks.slack.com/services/T000/B000/XXXX")
    assert (slack.channel, slack.send_resolved, slack.fields[0].short) == ("#db", True, True)
    assert slack.actions[0].url == "https://runbooks.example.org"
    pd = config.receivers["team-Y-pager"].integrations[0]
    assert isinstance(pd, PagerdutyConfig)
    assert pd.url == "https://events.pagerduty.com/v2/enqueue"
    assert (pd.severity, dict(pd.details), pd.links[0].text) == (
        "critical",
        {"runbook": "https://runbooks.example.org"},
        "Grafana",
    )
    hook = config.receivers["hooks"].integrations[0]
    assert isinstance(hook, WebhookConfig)
    assert hook.max_alerts == 10
    assert hook.http_config.basic_auth is not None
    assert hook.http_config.basic_auth.password == Secret("p")
    assert hook.http_config.tls_config is not None
    assert hook.http_config.tls_config.insecure_skip_verify
    assert len(config.inhibit_rules) == 2
    assert str(config.inhibit_rules[1].target_matchers) == '{alertname=~"^(?:Instance.*)$"}'
    assert set(config.time_intervals) == {"offhours", "business"}
    assert config.template_patterns == ("templates/*.tmpl",)
    assert [str(w) for w in config.warnings] == [
        f"{DATA / 'alertmanager-full.yml'}:12:3: global.opsgenie_api_key: "
        "ignored: Tocsin has no opsgenie integration"
    ]
    labels = Labels.of({"service": "database", "owner": "team-X", "alertname": "A"})
    assert config.routing.receivers(labels) == ["team-X-pager"]


# -- broken files: every problem, where it is, what to do -------------------------------------

BROKEN = [
    (
        "invalid duration (the issue's example)",
        """\
        route:
          receiver: default
          routes:
          - matchers: [a="1"]
            receiver: default
          - matchers: [a="2"]
            group_wait: 5x
        receivers: [{name: default}]
        """,
        ['am.yml:7:5: route.routes[1].group_wait: invalid duration "5x"'],
    ),
    (
        "unknown keys with did-you-mean, at every level",
        """\
        route:
          reciever: default
          routes: [{matchers: [a="1"], contine: true}]
        receivers: [{name: default, slack_config: []}]
        inhibit_rule: []
        """,
        [
            'am.yml:2:3: route.reciever: unknown key "reciever" (did you mean "receiver"?)',
            "am.yml:2:3: route.receiver: root route must specify a default receiver",
            'am.yml:3:32: route.routes[0].contine: unknown key "contine" (did you mean "continue"?)',
            'am.yml:4:29: receivers[0].slack_config: unknown key "slack_config" '
            '(did you mean "slack_configs"?)',
            'am.yml:5:1: inhibit_rule: unknown key "inhibit_rule" (did you mean "inhibit_rules"?)',
        ],
    ),
    (
        "undefined references",
        """\
        route:
          receiver: defualt
          escalation: page
          routes:
          - {matchers: [a="1"], receiver: default, mute_time_intervals: [nights]}
        receivers: [{name: default}]
        escalation_policies:
        - name: oncall
          levels: [{after: 0s, receivers: [pagr]}]
        """,
        [
            'am.yml:2:3: route.receiver: undefined receiver "defualt" used in route '
            '(did you mean "default"?)',
            'am.yml:3:3: route.escalation: undefined escalation policy "page" used in route',
            "am.yml:5:66: route.routes[0].mute_time_intervals[0]: undefined time interval "
            '"nights" used in route (no time interval is defined)',
            "am.yml:9:36: escalation_policies[0].levels[0].receivers[0]: undefined receiver "
            '"pagr" used in escalation policy',
        ],
    ),
    (
        "route rules Alertmanager enforces",
        """\
        route:
          receiver: r
          continue: true
          matchers: [a="1"]
          group_by: ['...', alertname]
          group_interval: 0s
          routes:
          - {match: {bad-name: x}, match_re: {b: '(unclosed'}, repeat_interval: 0}
          - {matchers: ['a=~"(?<=x)y"', 'not a matcher']}
          - group_by: [alertname, alertname, 0bad]
        receivers: [{name: r}]
        """,
        [
            "am.yml:3:3: route.continue: cannot have continue in root route",
            "am.yml:4:3: route.matchers: root route must not have any matchers",
            "am.yml:5:3: route.group_by: cannot have wildcard group_by (`...`) and other labels "
            "at the same time",
            "am.yml:6:3: route.group_interval: group_interval cannot be zero",
            'am.yml:8:6: route.routes[0].match: invalid label name "bad-name"',
            'am.yml:8:28: route.routes[0].match_re: invalid regular expression for "b": '
            "missing closing )",
            "am.yml:8:56: route.routes[0].repeat_interval: repeat_interval cannot be zero",
            "am.yml:9:17: route.routes[1].matchers[0]: bad matcher at column 5: invalid regular "
            'expression for "a": invalid or unsupported Perl syntax: (?<',
            "am.yml:9:33: route.routes[1].matchers[1]: bad matcher at column 5: expected one of "
            '=, !=, =~, !~ after label name "not", found "a"',
            'am.yml:10:5: route.routes[2].group_by: duplicated label "alertname" in group_by',
            'am.yml:10:5: route.routes[2].group_by: invalid label name "0bad" in group_by list',
        ],
    ),
    (
        "receivers",
        """\
        route: {receiver: a}
        receivers:
        - name: a
          opsgenie_configs: [{api_key: x}]
        - name: a
        - email_configs: [{to: x@y}]
        - name: b
          email_configs: [{to: x@y}]
          pagerduty_configs: [{client: me}]
          webhook_configs: [{url: 'ftp://token@host/'}, {max_alerts: -1, url: 'http://h/'}]
          slack_configs: [{channel: '#c', api_url: x, api_url_file: y}]
          msteams_configs: [{title: t}]
        """,
        [
            "am.yml:4:3: receivers[0].opsgenie_configs: Tocsin does not implement "
            "opsgenie_configs: it sends to slack_configs, pagerduty_configs, email_configs, "
            "webhook_configs and msteams_configs (a webhook_configs bridge can reach anything else)",
            'am.yml:5:3: receivers[1].name: notification config name "a" is not unique',
            "am.yml:6:3: receivers[2]: missing name in receiver",
            "am.yml:8:19: receivers[3].email_configs[0]: no global SMTP smarthost set "
            "(smtp_smarthost)",
            "am.yml:8:19: receivers[3].email_configs[0]: no global SMTP from set (smtp_from)",
            "am.yml:9:23: receivers[3].pagerduty_configs[0]: missing service or routing key in "
            "PagerDuty config",
            'am.yml:10:22: receivers[3].webhook_configs[0].url: unsupported scheme "ftp" for URL '
            "(want http or https)",
            "am.yml:10:50: receivers[3].webhook_configs[1].max_alerts: must be at least 0, got -1",
            "am.yml:11:47: receivers[3].slack_configs[0].api_url_file: at most one of api_url & "
            "api_url_file must be configured",
            "am.yml:12:21: receivers[3].msteams_configs[0]: one of webhook_url or "
            "webhook_url_file must be configured",
        ],
    ),
    (
        "types and YAML",
        """\
        route: {receiver: r, group_wait: [1m], routes: {receiver: r}}
        receivers: [{name: r}]
        receivers: []
        tocsin: {fsync: often, listen_address: nohost, limits: {max_request_bytes: lots}}
        """,
        [
            "am.yml:1:22: route.group_wait: expected a single value, got a list",
            "am.yml:1:48: route.routes: expected a list, got a mapping",
            'am.yml:3:1: receivers: duplicate key "receivers" (first at line 2)',
            'am.yml:4:10: tocsin.fsync: fsync must be one of batch, always, never, got "often"',
            "am.yml:4:24: tocsin.listen_address: address nohost: missing port in address",
            'am.yml:4:57: tocsin.limits.max_request_bytes: expected a whole number, got "lots"',
        ],
    ),
    (
        "YAML syntax",
        "route: {receiver: r\nreceivers: [\n",
        ["am.yml:2:10: YAML: while parsing a flow mapping: did not find expected ',' or '}'"],
    ),
    ("empty file", "", ["am.yml: no route provided in config"]),
    (
        "Tocsin's extensions",
        """\
        route:
          receiver: r
          acknowledge: maybe
          escalation: p
          escalation_start_level: 5
          suppress_duration: soon
        receivers: [{name: r}]
        escalation_policies:
        - name: p
          levels: [{after: 5m, receivers: [r]}, {after: 1m, receivers: [r]}, {after: 2m}]
        - name: p
          levels: []
        """,
        [
            'am.yml:3:3: route.acknowledge: acknowledge must be allowed or forbidden, got "maybe"',
            'am.yml:6:3: route.suppress_duration: invalid duration "soon"',
            "am.yml:10:42: escalation_policies[0].levels[1].after: levels must be in order: this "
            "level's after is shorter than the previous one's",
            "am.yml:10:70: escalation_policies[0].levels[2]: a level needs at least one receiver",
            'am.yml:11:3: escalation_policies[1].name: escalation policy "p" is not unique',
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_files_report_every_problem_where_it_is(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_a_start_level_the_policy_lacks_is_reported_at_the_route() -> None:
    text = """\
    route: {receiver: r, escalation: p, escalation_start_level: 2}
    receivers: [{name: r}]
    escalation_policies: [{name: p, levels: [{after: 0s, receivers: [r]}]}]
    """
    assert problems(text) == [
        'am.yml:1:8: route: escalation start level 2 is not a level of policy "p" (it has 1)'
    ]


# -- environment ------------------------------------------------------------------------------


def test_variables_expand_in_values_with_defaults_and_escapes() -> None:
    text = """\
    route:
      receiver: ${RECEIVER:-fallback}
      group_wait: ${WAIT}
    receivers:
    - name: fallback
      slack_configs:
      - api_url: ${HOOK}
        channel: '$${NOT_A_VAR} and ${CHANNEL:-#alerts}'
        text: '{{ $labels.x }} costs $5'
    """
    env = {"WAIT": "15s", "HOOK": "https://hooks.example/T/B/x", "CHANNEL": ""}
    config = load_text(textwrap.dedent(text), env=env)
    assert config.routing.root.receiver == "fallback"
    assert config.routing.root.group_wait == timedelta(seconds=15)
    slack = config.receivers["fallback"].integrations[0]
    assert isinstance(slack, SlackConfig)
    assert slack.api_url == Secret("https://hooks.example/T/B/x")
    assert slack.channel == "${NOT_A_VAR} and #alerts"
    assert slack.text == "{{ $labels.x }} costs $5"
    uses = {(u.name, u.secret, u.is_set) for u in config.env_uses}
    assert uses == {
        ("RECEIVER", False, False),
        ("WAIT", False, True),
        ("HOOK", True, True),
        ("CHANNEL", False, True),
    }


def test_a_missing_variable_is_an_error_naming_it() -> None:
    text = """\
    route: {receiver: r}
    receivers:
    - name: r
      webhook_configs: [{url: '${HOOK_URL}'}]
    """
    assert problems(text) == [
        "am.yml:4:22: receivers[0].webhook_configs[0].url: environment variable HOOK_URL is not "
        "set (write ${HOOK_URL:-default} to give it a default)"
    ]


def test_a_bad_value_from_a_variable_says_which_variable() -> None:
    text = """\
    route: {receiver: r, group_wait: '${WAIT}'}
    receivers: [{name: r}]
    """
    assert problems(text, env={"WAIT": "a while"}) == [
        'am.yml:1:22: route.group_wait: invalid duration "a while" (the value comes from $WAIT)'
    ]


# -- secrets ----------------------------------------------------------------------------------


def test_secrets_never_show_in_repr_str_or_format() -> None:
    text = """\
    global: {smtp_smarthost: 'mail:587', smtp_from: a@b, smtp_auth_password: hunter2}
    route: {receiver: r}
    receivers:
    - name: r
      pagerduty_configs: [{routing_key: pd-routing-key-0123456789}]
      slack_configs: [{api_url: 'https://hooks.slack.com/services/T0/B0/tokentoken'}]
      email_configs: [{to: a@b}]
      msteams_configs: [{webhook_url: 'https://teams.example/webhook/secret-part'}]
    tocsin:
      auth:
        tokens: [{name: prom, token: ingest-token-value, roles: [ingest]}]
    """
    config = load_text(textwrap.dedent(text))
    shown = repr(config) + str(config.receivers) + f"{config.tocsin}"
    for secret in (
        "hunter2",
        "pd-routing-key",
        "tokentoken",
        "secret-part",
        "ingest-token-value",
    ):
        assert secret not in shown
    assert "<secret>" in shown
    teams = config.receivers["r"].of_kind("msteams")[0]
    assert isinstance(teams, MSTeamsConfig)
    assert teams.webhook_url.reveal() == "https://teams.example/webhook/secret-part"
    token = config.tocsin.auth_tokens[0]
    assert token.allows(Role.INGEST) and not token.allows(Role.READ)


def test_file_secrets_are_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pd").write_text("routing-key-from-file\n")
    (tmp_path / "am.yml").write_text(
        textwrap.dedent(
            """\
            route: {receiver: r}
            receivers:
            - name: r
              pagerduty_configs: [{routing_key_file: secrets/pd}]
              webhook_configs: [{url_file: secrets/missing}]
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        load_file(str(tmp_path / "am.yml"), {})
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path}/am.yml:5:22: receivers[0].webhook_configs[0].url_file: cannot read "
        f"{tmp_path}/secrets/missing: No such file or directory"
    ]
    (tmp_path / "secrets" / "missing").write_text("http://127.0.0.1:9/hook")
    config = load_file(str(tmp_path / "am.yml"), {})
    pd = config.receivers["r"].integrations[0]
    assert isinstance(pd, PagerdutyConfig)
    assert pd.routing_key is not None
    assert pd.routing_key.reveal() == "routing-key-from-file"
    assert pd.routing_key.file == f"{tmp_path}/secrets/pd"


def test_templates_resolve_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    for name in ("b.tmpl", "a.tmpl", "skip.txt"):
        (tmp_path / "t" / name).write_text("{{ x }}")
    (tmp_path / "am.yml").write_text(
        "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['t/*.tmpl', 'none/*.tmpl']\n"
    )
    config = load_file(str(tmp_path / "am.yml"), {})
    assert config.template_patterns == ("t/*.tmpl", "none/*.tmpl")
    assert config.templates == (f"{tmp_path}/t/a.tmpl", f"{tmp_path}/t/b.tmpl")


# -- the tocsin: block and log channels --------------------------------------------------------


def test_tocsin_block(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(
        textwrap.dedent(
            """\
            route: {receiver: r}
            receivers: [{name: r, log_configs: [{integration: slack, destination: '#x'}]}]
            tocsin:
              listen_address: 0.0.0.0:9094
              data_dir: state
              fsync: always
              external_url: https://tocsin.example.org
              auth:
                tokens:
                - {name: ops, token: t1, roles: [read, operate]}
                - {name: root, token: t2, roles: [admin]}
              limits: {max_alerts_per_request: 500}
            """
        )
    )
    config = load_file(str(tmp_path / "am.yml"), {})
    t = config.tocsin
    assert (t.listen_address, t.data_dir, t.fsync, t.external_url) == (
        "0.0.0.0:9094",
        f"{tmp_path}/state",
        "always",
        "https://tocsin.example.org",
    )
    assert t.limits.max_alerts_per_request == 500
    ops, root = t.auth_tokens
    assert ops.allows(Role.OPERATE) and not ops.allows(Role.ADMIN)
    assert all(root.allows(role) for role in Role)
    assert config.log_integrations() == [("r", LogConfig(integration="slack", destination="#x"))]


# -- reload ------------------------------------------------------------------------------------


def test_reload_returns_the_new_config_or_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "am.yml"
    path.write_text("route: {receiver: a}\nreceivers: [{name: a}]\n")
    first = load(str(path), {})
    same = reload(str(path), {}, first)
    assert same.ok and not same.changed and same.sha256 == first.sha256
    path.write_text("route: {receiver: b}\nreceivers: [{name: a}]\n")
    bad = reload(str(path), {}, first)
    assert not bad.ok and bad.changed and bad.config is None
    assert [str(p) for p in bad.problems] == [
        f'{path}:1:9: route.receiver: undefined receiver "b" used in route'
    ]
    path.write_text("route: {receiver: b}\nreceivers: [{name: b}]\n")
    good = reload(str(path), {}, first)
    assert good.ok and good.changed and good.config is not None
    assert good.config.routing.root.receiver == "b"
    assert good.sha256 == good.config.sha256 != first.sha256
    gone = reload(str(tmp_path / "nope.yml"), {}, first)
    assert not gone.ok
    assert "No such file or directory" in str(gone.problems[0])


def test_a_config_is_immutable() -> None:
    config = load_text("route: {receiver: r}\nreceivers: [{name: r}]\n")
    with pytest.raises(AttributeError):
        config.source = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.receivers["x"] = config.receivers["r"]  # type: ignore[index]


def test_the_files_a_config_reads_are_part_of_what_a_reload_compares(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k1")
    (tmp_path / "t.tmpl").write_text('{{ define "x" }}one{{ end }}')
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        "route: {receiver: r}\n"
        "templates: ['*.tmpl']\n"
        "receivers:\n"
        "  - name: r\n"
        "    pagerduty_configs: [{routing_key_file: key}]\n"
    )
    first = load_file(str(path), {})
    assert load_file(str(path), {}).files_sha256 == first.files_sha256  # nothing changed
    (tmp_path / "key").write_text("k2")  # a rotated secret
    second = load_file(str(path), {})
    assert second.sha256 == first.sha256 and second.files_sha256 != first.files_sha256
    (tmp_path / "t.tmpl").write_text('{{ define "x" }}two{{ end }}')  # an edited template
    third = load_file(str(path), {})
    assert third.sha256 == first.sha256 and third.files_sha256 != second.files_sha256
