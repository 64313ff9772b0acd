"""An alertmanager.yml with Go-template fields and `.tmpl` files: the channels send exactly what
the Go template interpreter renders (Slack, PagerDuty and email, against the local fakes)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import httpx
import pytest

from tests.fakes import wait_for
from tests.fakes.fixtures import mail_dir, serve
from tocsin.adapters.channels.base import Kit
from tocsin.adapters.channels.factory import ClientPool, build_channels, check_templates
from tocsin.adapters.channels.gofields import go_fields
from tocsin.adapters.channels.slack import ACTION_ACK, SlackAdapter, SlackChannel
from tocsin.adapters.gotemplate import GoTemplates, template_data
from tocsin.adapters.gotemplate.defaults import FIELD_DEFAULTS
from tocsin.adapters.templates import JinjaRenderer, Redactor
from tocsin.config import ConfigError, load
from tocsin.config.model import SlackConfig

from .samples import T0, alert, notification

TMPL = """\
{{ define "team.title" }}[{{ .Status | toUpper }}:{{ .Alerts.Firing | len }}] \
{{ .CommonLabels.alertname }}{{ end }}
{{ define "team.alert" }}* {{ .Labels.instance }}: {{ .Annotations.summary }}
{{ end }}
{{ define "team.text" }}{{ range .Alerts }}{{ template "team.alert" . }}{{ end }}\
{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}{{ end }}
{{ define "team.subject" }}{{ template "team.title" . }} for {{ .Receiver }}{{ end }}
{{ define "team.html" }}<h1>{{ template "team.title" . }}</h1>\
<p>{{ .CommonAnnotations.description }}</p>\
<a href="{{ .ExternalURL }}">{{ printf "%d alerts" (len .Alerts) }}</a>{{ end }}
"""

CONFIG = """\
route: {{receiver: team}}
receivers:
- name: team
  slack_configs:
  - api_url: {slack}/services/T000/B000/XXXX
    channel: '#ops'
    title: '{{{{ template "team.title" . }}}}'
    text: '{{{{ template "team.text" . }}}}'
  pagerduty_configs:
  - routing_key: {key}
    url: {pd}/v2/enqueue
    description: '{{{{ template "team.title" . }}}} on {{{{ .CommonLabels.service }}}}'
    details:
      team: '{{{{ .CommonLabels.service | toUpper }}}}'
      firing: 'custom {{{{ .Alerts.Firing | len }}}}'
  email_configs:
  - to: oncall@example.com
    from: tocsin@example.com
    smarthost: 127.0.0.1:{smtp}
    require_tls: false
    headers:
      Subject: '{{{{ template "team.subject" . }}}}'
    html: '{{{{ template "team.html" . }}}}'
templates: ['templates/*.tmpl']
tocsin:
  external_url: http://tocsin.test:9093/
"""


def write_config(tmp: Path, **urls: object) -> str:
    (tmp / "templates").mkdir(exist_ok=True)
    (tmp / "templates" / "team.tmpl").write_text(TMPL)
    path = tmp / "alertmanager.yml"
    path.write_text(CONFIG.format(key="R" * 32, **urls))
    return str(path)


def two_alerts():
    # db2 before db1 here; Alertmanager's order (by instance) puts db1 first.
    return notification(
        alert(instance="db2", ann_summary="disk 97% on db2"), alert(instance="db1"), receiver="team"
    )


@pytest.fixture
def smtp():
    directory = mail_dir()
    gen = serve("tests.fakes.smtp_server", str(directory))
    server = next(gen)
    yield server, directory
    gen.close()


async def test_go_template_fields_are_sent_as_the_interpreter_renders_them(
    slack, pd, smtp, tmp_path
):
    server, directory = smtp
    path = write_config(tmp_path, slack=slack.url, pd=pd.url, smtp=server.port)
    config = load(path, {})
    kit = Kit(JinjaRenderer(config.templates), Redactor(), "http://tocsin.test:9093/", lambda: T0)
    pool = ClientPool()
    try:
        channels = build_channels(config, kit, pool)["team"]
        n = two_alerts()
        for ch in channels:
            await ch.deliver(n)
    finally:
        await pool.aclose()

    # What the interpreter renders, from the same files and Alertmanager's data model.
    t = GoTemplates()
    t.parse_globs([str(tmp_path / "templates" / "*.tmpl")])
    views = sorted(n.alerts, key=lambda v: v.alert.labels["instance"])  # Alertmanager's order
    data = template_data(
        "team", "firing", views, {"alertname": "DiskFull"}, "http://tocsin.test:9093", now=T0
    )
    title = t.render('{{ template "team.title" . }}', data)
    assert title == "[FIRING:2] DiskFull"
    text = t.render('{{ template "team.text" . }}', data)
    assert text.index("db1") < text.index("db2")  # Alertmanager's order

    (msg,) = (await slack.state())["webhook_messages"]
    (attachment,) = msg["attachments"]
    assert msg["channel"] == "#ops"
    assert attachment["title"] == title and attachment["text"] == text
    # Unset fields: Alertmanager's defaults.
    assert attachment["fallback"] == t.render(FIELD_DEFAULTS["slack"]["fallback"], data)
    assert attachment["color"] == "danger"
    assert "blocks" not in msg

    (event,) = (await pd.state())["events"]
    payload = event["payload"]
    assert payload["summary"] == f"{title} on db"
    details = payload["custom_details"]
    assert details["team"] == "DB" and details["firing"] == "custom 2"  # configured keys win
    assert details["num_firing"] == "2" and details["num_resolved"] == "0"
    assert details["resolved"] == t.render(FIELD_DEFAULTS["pagerduty_details"]["resolved"], data)

    await wait_for(lambda: len(list(directory.glob("*.eml"))) == 1, what="one mail")
    (raw,) = sorted(directory.glob("*.eml"))
    mail = email.message_from_bytes(raw.read_bytes(), policy=email.policy.default)
    assert mail["Subject"] == t.render('{{ template "team.subject" . }}', data)
    assert mail["Subject"] == "[FIRING:2] DiskFull for team"
    assert mail.get_content_type() == "text/html"  # no `text`: Alertmanager sends HTML alone
    html = t.render_html('{{ template "team.html" . }}', data)
    assert mail.get_content().strip() == html.strip()
    assert '<a href="http://tocsin.test:9093">2 alerts</a>' in html


async def test_without_go_fields_the_message_is_tocsins_block_kit(slack, tmp_path):
    (tmp_path / "am.yml").write_text(
        "route: {receiver: team}\n"
        "receivers:\n"
        "- name: team\n"
        "  slack_configs:\n"
        f"  - api_url: {slack.url}/services/T000/B000/XXXX\n"
        "    channel: '#{{ .CommonLabels.service }}'\n"
    )
    config = load(str(tmp_path / "am.yml"), {})
    kit = Kit(JinjaRenderer(), Redactor(), "", lambda: T0)
    pool = ClientPool()
    try:
        (ch,) = build_channels(config, kit, pool)["team"]
        await ch.deliver(notification())
    finally:
        await pool.aclose()
    (msg,) = (await slack.state())["webhook_messages"]
    assert msg["channel"] == "#db"  # an attribute renders with Go
    assert msg["blocks"][0]["type"] == "header" and "attachments" not in msg


def test_a_broken_field_is_a_load_error_naming_the_yaml_key(tmp_path):
    path = write_config(tmp_path, slack="http://127.0.0.1:9", pd="http://127.0.0.1:9", smtp=25)
    text = (
        Path(path)
        .read_text()
        .replace(
            """title: '{{ template "team.title" . }}'""", "title: '{{ .Status | nosuchfunc }}'"
        )
    )
    Path(path).write_text(text)
    with pytest.raises(ConfigError) as exc:
        check_templates(load(path, {}))
    (problem,) = exc.value.problems
    assert problem.path == "receivers[0].slack_configs[0].title"
    assert (problem.file, problem.line) == (path, 7)
    assert 'function "nosuchfunc" not defined' in problem.message
    assert str(problem).startswith(f"{path}:7:12: receivers[0].slack_configs[0].title: ")


def test_a_broken_template_file_is_a_load_error_naming_file_line_col(tmp_path):
    path = write_config(tmp_path, slack="http://127.0.0.1:9", pd="http://127.0.0.1:9", smtp=25)
    broken = tmp_path / "templates" / "zz.tmpl"
    broken.write_text('{{ define "x" }}\n  {{ if }}{{ end }}\n{{ end }}\n')
    with pytest.raises(ConfigError) as exc:
        check_templates(load(path, {}))
    (problem,) = exc.value.problems
    assert problem.file == str(broken) and problem.line == 2
    assert problem.column is not None and "if" in problem.message


def test_an_undefined_field_elsewhere_does_not_hide_a_good_config(tmp_path):
    path = write_config(tmp_path, slack="http://127.0.0.1:9", pd="http://127.0.0.1:9", smtp=25)
    templates = check_templates(load(path, {}))
    assert "team.title" in templates and "slack.default.title" in templates


async def test_bot_mode_alertmanager_message_keeps_tocsins_buttons(slack):
    cfg = SlackConfig(channel="#ops", title="{{ .CommonLabels.alertname }} x{{ len .Alerts }}")
    go = go_fields(cfg, GoTemplates())
    assert go is not None and go.message
    kit = Kit(JinjaRenderer(), Redactor(), "", lambda: T0)
    adapter = SlackAdapter(
        kit,
        name="slack[0]",
        api_url=None,
        app_token="xoxb-test-token",
        app_url=f"{slack.url}/api/chat.postMessage",
        channel="#ops",
        go=go,
    )
    async with httpx.AsyncClient() as client:
        ch = SlackChannel(
            name="slack[0]", adapter=adapter, client=client, destination="d", send_resolved=True
        )
        receipt = await ch.deliver(notification())
    assert receipt.ref is not None
    (posted,) = (await slack.state())["messages"].values()
    assert posted["attachments"][0]["title"] == "DiskFull x1"
    (actions,) = posted["blocks"]
    assert actions["elements"][0]["action_id"] == ACTION_ACK
