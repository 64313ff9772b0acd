"""Go templates: Tocsin renders exactly what Debian's real Alertmanager 0.25 sends.

Alertmanager runs with an alertmanager.yml whose one receiver has many slack_configs (each
with its own title, text, pretext, fallback, footer, channel, username… templates), two
email_configs (custom and default subjects, HTML and text), a pagerduty_config (description,
client, details, …) and a webhook_config, all pointing at sinks on 127.0.0.1: an HTTP sink
that records request bodies and an SMTP sink (aiosmtpd). `templates:` loads a file of
`{{ define }}` blocks. Alerts go in through the v2 API in two rounds: two groups fire (one of
them with an alert already resolved), then one group resolves.

Each notification's webhook payload is the exact data Alertmanager used (alerts, startsAt,
fingerprints, externalURL, group labels); Tocsin renders every field's template on it and
must produce the very strings Alertmanager sent: Slack JSON fields, email Subject, HTML and
text parts, PagerDuty summary, client, custom details. Unset fields are Alertmanager's
defaults (its default.tmpl and email.tmpl), so those are compared too.

A second test holds the recorded differential corpus (tests/adapters/gotemplate/golden.json)
to what `amtool template render` says today.

Without Debian's prometheus-alertmanager these tests fail, telling to run
scripts/system-deps.sh; they never skip.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tocsin.adapters.gotemplate import FUNCS_0_25, Data, GoTemplates
from tocsin.adapters.gotemplate.defaults import FIELD_DEFAULTS

from ..adapters.gotemplate import golden
from ..adapters.gotemplate.cases import CASES
from .alertmanager import find_binary, running_alertmanager

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
CORPUS_TMPL = HERE.parent / "adapters" / "gotemplate" / "data" / "corpus.tmpl"
RECEIVER = "team.corpus"  # the dot: Alertmanager quotes it (regexp.QuoteMeta) for templates
KEY = (
    "{{ .GroupLabels.alertname }}/{{ .Status }}/{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}"
)
DEADLINE = 60.0

# -- the template corpus ----------------------------------------------------------------------------
# One dict per slack_config: its templated fields (unset ones take Alertmanager's defaults).
SLACK_CONFIGS: list[dict[str, str]] = [
    {},  # everything default: slack.default.title, .fallback, .titlelink, .username, color
    {
        "title": '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
        "{{ end }}] {{ .CommonLabels.alertname }} for {{ .CommonLabels.job }}",
        "text": "{{ range .Alerts }}*Alert:* {{ .Annotations.summary }}"
        "{{ if .Labels.severity }} - `{{ .Labels.severity }}`{{ end }}\n"
        "*Description:* {{ .Annotations.description }}\n*Details:*\n"
        "{{ range .Labels.SortedPairs }} • *{{ .Name }}:* `{{ .Value }}`\n{{ end }}{{ end }}",
        "channel": "#{{ .CommonLabels.team }}-alerts",
        "username": "{{ .Receiver }} bot",
    },
    {
        "title": '{{ template "corpus.title" . }}',
        "text": '{{ template "corpus.text" . }}',
        "pretext": '{{ template "corpus.links" . }}',
        "icon_emoji": '{{ template "corpus.severity_emoji" .CommonLabels.severity }}',
    },
    {
        "title": '{{ printf "%s: %d firing, %d resolved (%.1f%%)" .GroupLabels.alertname '
        "(len .Alerts.Firing) (len .Alerts.Resolved) 12.345 }}",
        "text": "{{ range .Alerts }}{{ .Labels.instance }} since "
        '{{ .StartsAt.Format "2006-01-02 15:04:05 MST" }} ({{ .StartsAt.Format "Mon Jan _2 3:04PM" }})'
        '{{ if eq .Status "resolved" }}, ended {{ .EndsAt.Format "15:04:05.000 -07:00" }}{{ end }}\n{{ end }}',
        "footer": '{{ printf "%-12s|%5d|%q|%x|%v" .Status (len .Alerts) .Receiver 255 .GroupLabels }}',
    },
    {
        "text": "{{ range .Alerts.Firing }}FIRING {{ .Fingerprint }} {{ .StartsAt }} "
        "<{{ .GeneratorURL }}>\n{{ end }}{{ range .Alerts.Resolved }}RESOLVED {{ .Fingerprint }} "
        "{{ .StartsAt }} → {{ .EndsAt }}\n{{ end }}",
        "title": "{{ .CommonLabels.SortedPairs }} / {{ .GroupLabels.SortedPairs.Values }}",
    },
    {
        "text": "{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }}; {{ end }}\n"
        "{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Names }} {{ .Values }}{{ end }}\n"
        '{{ (.CommonLabels.Remove (stringSlice "job")).SortedPairs.Names | join "," }}',
        "title": '{{ join " + " .CommonLabels.Values }}',
    },
    {
        "text": "{{ range .Alerts }}"
        '{{ reReplaceAll "(.+):(\\\\d+)" "$1 port $2" .Labels.instance }} | '
        '{{ reReplaceAll "^/dev/" "" .Labels.device }} | '
        '{{ if match "^web-[0-9]+$" .Labels.instance }}web{{ else }}other{{ end }} | '
        "{{ title .Annotations.summary }} | {{ toUpper .Labels.instance }} | "
        "{{ toLower .Labels.alertname }} | {{ safeHtml .Annotations.summary }}\n{{ end }}",
        "title": '{{ stringSlice "a" .Status "c" | join "/" }}',
    },
    {
        "text": "{{ range .Alerts }}"
        '{{ if eq .Labels.severity "critical" }}CRIT{{ else if eq .Labels.severity "warning" '
        '"page" }}WARN{{ else }}INFO{{ end }} '
        "{{ with .Annotations.runbook }}{{ . }}{{ else }}no runbook{{ end }} "
        "{{ and .Labels.team .Labels.job }} {{ or .Labels.nope .Labels.instance }} "
        "{{ not .Annotations.value }} {{ if and (gt (len .Labels) 5) (lt (len .Labels) 10) }}"
        "many{{ end }}\n{{ end }}",
        "title": '{{ if ne .Status "firing" }}✅ resolved{{ else if gt (len .Alerts.Firing) 1 }}'
        "🔥 several{{ else }}🔥 one{{ end }}",
    },
    {
        "text": "{{ $first := index .Alerts 0 }}{{ $n := len .Alerts }}"
        "{{ range $i, $a := .Alerts }}{{ $i }}/{{ $n }} {{ $a.Labels.instance }} "
        "{{ $.GroupLabels.alertname }} {{ $first.Fingerprint }} "
        '{{ printf "%q" $a.Annotations.summary }} {{ html $a.Annotations.summary }} '
        "{{ js $a.Annotations.summary }} {{ urlquery $a.Labels.instance }} "
        '{{ slice $a.Fingerprint 0 8 }} {{ index $a.Labels "job" }}\n{{ end }}',
        "title": "{{ len .Alerts }} alerts, {{ len .CommonLabels }} common labels",
    },
    {
        "fallback": '{{ template "slack.default.fallback" . }} :: {{ .ExternalURL }}',
        "pretext": '{{ template "slack.default.titlelink" . }}',
        "footer": '{{ template "__alertmanager" . }} {{ template "__subject" . }}',
        "title_link": "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}&x=1",
    },
    {
        "text": '{{ template "__text_alert_list" .Alerts }}',
        "pretext": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
        "title": '{{ template "pagerduty.default.description" . }}',
    },
    {
        "text": '{{ template "opsgenie.default.description" . }}',
        "title": '{{ template "email.default.subject" . }}',
        "pretext": '{{ template "wechat.default.message" . }}',
        "footer": '{{ template "victorops.default.state_message" . }}',
    },
    {
        "text": "{{- /* trimmed */ -}}\n  {{- range .Alerts }}\n    - {{ .Labels.alertname -}}\n"
        '  {{ end -}}\n  {{ block "corpus.inline" .Status }}<{{ . }}>{{ end }}'
        '{{ define "corpus.other" }}[{{ . }}]{{ end }}{{ template "corpus.other" .Receiver }}',
        "title": '{{/* a comment */}}{{ .Status }}{{- "  " -}}!',
    },
    {
        "text": '{{ template "corpus.times" . }}{{ template "corpus.recursive" .Alerts }}'
        '|{{ template "corpus.counter" . }}',
        "title": '{{ template "corpus.severity_emoji" "critical" }}'
        '{{ template "corpus.severity_emoji" "warning" }}',
    },
    {
        "text": "{{ .Alerts }}",
        "title": "{{ .Alerts.Firing | len }} {{ .Receiver }} {{ .Status }}",
        "color": '{{ if eq .Status "firing" }}{{ if eq .CommonLabels.severity "critical" }}'
        "#FF0000{{ else }}#FFA500{{ end }}{{ else }}#00FF00{{ end }}",
    },
]
SLACK_FIELDS = (
    "title",
    "title_link",
    "pretext",
    "text",
    "fallback",
    "footer",
    "color",
    "channel",
    "username",
    "icon_emoji",
)

EMAIL_CONFIGS: list[dict[str, Any]] = [
    {"text": '{{ template "__text_alert_list" .Alerts }}'},  # default subject and HTML
    {
        "headers": {"Subject": "[{{ .Status }}] {{ .GroupLabels.alertname }} ({{ len .Alerts }})"},
        "html": '<h1>{{ template "corpus.title" . }}</h1>{{ template "corpus.html.alerts" . }}'
        '<p><a href="{{ template "__alertmanagerURL" . }}">Alertmanager</a> '
        '<a href="{{ template "corpus.html.url" . }}">again</a></p>'
        "<!-- dropped -->{{ range .Alerts }}<b>{{ .Labels.instance }}</b> < "
        "{{ .Annotations.summary }}{{ end }}",
        "text": "{{ range .Alerts }}{{ .Status }}: {{ .Annotations.summary }}\n{{ end }}",
    },
]

PAGERDUTY_CONFIG: dict[str, Any] = {
    "description": '{{ template "corpus.title" . }}',
    "client": "{{ .Receiver }} via Alertmanager",
    "client_url": '{{ template "__alertmanagerURL" . }}',
    "severity": '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
    "class": "{{ .CommonLabels.job }}",
    "component": '{{ .CommonLabels.team | printf "team-%s" }}',
    "details": {
        "summary": "{{ .CommonAnnotations.summary }}",
        "instances": "{{ range .Alerts }}{{ .Labels.instance }} {{ end }}",
    },
}


def _count_templates() -> int:
    texts = {v for c in SLACK_CONFIGS for v in c.values()}
    for c in EMAIL_CONFIGS:
        texts |= {v for k, v in c.items() if k != "headers"} | set(c.get("headers", {}).values())
    texts |= {v for k, v in PAGERDUTY_CONFIG.items() if isinstance(v, str)}
    texts |= set(PAGERDUTY_CONFIG["details"].values())
    return len(texts)


# -- sinks ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class HTTPSink:
    """Records every POST (path, JSON body) it receives; answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.lock:
                    sink.requests.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true,"status":"success"}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self, prefix: str) -> list[tuple[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r[0].startswith(prefix)]

    @contextmanager
    def running(self) -> Iterator[HTTPSink]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()


class SMTPSink:
    """An SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = _free_port()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"

    @contextmanager
    def running(self) -> Iterator[SMTPSink]:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            pytest.fail("aiosmtpd is not installed: `.venv/bin/pip install aiosmtpd`", False)
        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        try:
            yield self
        finally:
            controller.stop()


def _wait_for(what: str, condition: Callable[[], bool], am_log: Callable[[], str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; alertmanager log:\n{am_log()}", False)
        time.sleep(0.05)


# -- the configuration and the alerts -----------------------------------------------------------------
def _config(http: HTTPSink, smtp: SMTPSink) -> str:
    slack = [
        {
            "api_url": f"{http.url}/slack/{i}",
            "send_resolved": True,
            "callback_id": KEY,
            **fields,
        }
        for i, fields in enumerate(SLACK_CONFIGS)
    ]
    emails = [
        {
            "to": f"oncall-{i}@example.com",
            "from": "alertmanager@example.com",
            "smarthost": f"127.0.0.1:{smtp.port}",
            "require_tls": False,
            "send_resolved": True,
            **fields,
            "headers": {
                **fields.get("headers", {}),
                "X-Corpus-Config": str(i),
                "X-Corpus-Key": KEY,
            },
        }
        for i, fields in enumerate(EMAIL_CONFIGS)
    ]
    config = {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": RECEIVER,
                "slack_configs": slack,
                "email_configs": emails,
                "pagerduty_configs": [
                    {
                        "routing_key": "corpus-key",
                        "url": f"{http.url}/pagerduty",
                        "group": KEY,
                        **PAGERDUTY_CONFIG,
                    }
                ],
                "webhook_configs": [{"url": f"{http.url}/webhook", "send_resolved": True}],
            }
        ],
        "templates": [str(CORPUS_TMPL)],
    }
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def _rfc3339(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


def _alerts(now: datetime, *, resolve_disk: bool) -> list[dict[str, Any]]:
    plus2 = timezone(timedelta(hours=2))
    minus530 = timezone(-timedelta(hours=5, minutes=30))
    ended = _rfc3339(now - timedelta(seconds=1))
    disk = [
        {
            "labels": {
                "alertname": "CorpusDisk",
                "device": "/dev/sda1",
                "instance": "web-1:9100",
                "job": "node",
                "severity": "warning",
                "team": "infra",
            },
            "annotations": {
                "summary": "Disk <90%> & \"full\" on 'web-1'",
                "description": "Disk usage is 93.25%",
                "value": "93.25",
            },
            "startsAt": _rfc3339((now - timedelta(hours=3, seconds=0.25)).astimezone(plus2)),
            "generatorURL": "http://prometheus:9090/graph?g0.expr=disk+%3E+0.9&g0.tab=1",
        },
        {
            "labels": {
                "alertname": "CorpusDisk",
                "device": "/dev/sdb",
                "instance": "web-2:9100",
                "job": "node",
                "severity": "warning",
                "team": "infra",
            },
            "annotations": {"summary": "Disk almost full on web-2", "runbook": "https://rb/disk"},
            "startsAt": _rfc3339(now - timedelta(hours=5)),
            "endsAt": _rfc3339(now - timedelta(minutes=10)),  # resolved before it arrives
            "generatorURL": "",
        },
        {
            "labels": {
                "alertname": "CorpusDisk",
                "device": "/dev/nvme0n1",
                "instance": "wörker-3",
                "job": "node",
                "severity": "critical",
                "team": "infra",
                "zone": "eu-west-1a",
            },
            "annotations": {"summary": "Disk full on wörker-3 — 日本", "value": "99"},
            "startsAt": _rfc3339((now - timedelta(minutes=42)).astimezone(minus530)),
            "generatorURL": "http://prometheus:9090/graph?g0.expr=disk%7Bdevice%3D%22nvme%22%7D",
        },
    ]
    if resolve_disk:
        for a in disk:
            a["endsAt"] = a.get("endsAt") or ended
        return disk
    cpu = {
        "labels": {
            "alertname": "CorpusCPU",
            "instance": "db-1:9100",
            "job": "node",
            "severity": "critical",
            "team": "dba",
        },
        "annotations": {"summary": "CPU on db-1 above 90%", "runbook": "https://rb/cpu"},
        "startsAt": _rfc3339(now - timedelta(minutes=7, seconds=30)),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu",
    }
    return [*disk, cpu]


# -- the comparison -------------------------------------------------------------------------------------
def _templates() -> GoTemplates:
    t = GoTemplates(funcs=FUNCS_0_25)
    t.parse_files([CORPUS_TMPL])
    return t


def _mail_parts(raw: bytes) -> tuple[email.message.EmailMessage, dict[str, str]]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    parts = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            text = payload.decode(part.get_content_charset() or "utf-8")
            # Quoted-printable (RFC 2045) carries line breaks as CRLF: transport, not template.
            parts[part.get_content_subtype()] = text.replace("\r\n", "\n")
    return message, parts


def test_alertmanager_sends_what_tocsin_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _count_templates() >= 30
    monkeypatch.setenv("TZ", "UTC")
    http, smtp = HTTPSink(), SMTPSink()
    t = _templates()

    def keys() -> dict[str, Data]:
        """The notifications Alertmanager's webhook received so far, by their rendered key."""
        out = {}
        for _, payload in http.posts("/webhook"):
            data = Data.from_json(payload)
            out[t.render(KEY, data)] = data
        return out

    def all_delivered() -> bool:
        # Every notification goes to each integration of the one receiver (at least once:
        # Alertmanager may retry one; every copy is compared below like the others).
        sent = len(http.posts("/webhook"))
        return (
            len(http.posts("/slack/")) >= sent * len(SLACK_CONFIGS)
            and len(http.posts("/pagerduty")) >= sent
            and len(smtp.messages) >= sent * len(EMAIL_CONFIGS)
        )

    firing = {"CorpusCPU/firing/1/0", "CorpusDisk/firing/2/1"}
    with http.running(), smtp.running(), running_alertmanager(_config(http, smtp)) as am:
        now = datetime.now(UTC).replace(microsecond=0)
        am.client.post("/api/v2/alerts", json=_alerts(now, resolve_disk=False)).raise_for_status()
        _wait_for("the firing notifications", lambda: firing <= set(keys()), am.log)
        am.client.post("/api/v2/alerts", json=_alerts(now, resolve_disk=True)).raise_for_status()
        _wait_for(
            "every notification",
            lambda: "CorpusDisk/resolved/0/3" in keys() and all_delivered(),
            am.log,
        )
        data_by_key = keys()
        slack_posts = http.posts("/slack/")
        pd_posts = [body for _, body in http.posts("/pagerduty")]
        mails = list(smtp.messages)

    # Alertmanager flushes a group at once when its first alert started more than group_wait
    # ago, which these have; its dispatcher may then flush before the batch's other alerts of
    # the group are in (a race inside Alertmanager), and one partial CorpusDisk notification
    # goes out first. That one is compared like the others; no other notification may appear.
    partial = {k for k in data_by_key if k.startswith("CorpusDisk/firing/")} - firing
    assert len(partial) <= 1, f"more than one early CorpusDisk notification: {sorted(partial)}"
    assert sorted(set(data_by_key) - partial) == [
        "CorpusCPU/firing/1/0",
        "CorpusDisk/firing/2/1",
        "CorpusDisk/resolved/0/3",
    ], "unexpected notifications; check the webhook payloads"

    compared = 0
    mismatches: list[str] = []

    def check(where: str, template: str, got: str, html: bool = False) -> None:
        nonlocal compared
        data = data_by_key[key]
        expected = t.render_html(template, data) if html else t.render(template, data)
        compared += 1
        if expected != got:
            at = next(
                (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
                min(len(expected), len(got)),
            )
            mismatches.append(
                f"{where}: template {template!r}\n  first difference at {at}:\n"
                f"  Alertmanager: {got[max(0, at - 60) : at + 60]!r}\n"
                f"  Tocsin:       {expected[max(0, at - 60) : at + 60]!r}"
            )

    for path, body in slack_posts:
        index = int(path.rsplit("/", 1)[1])
        fields = {**FIELD_DEFAULTS["slack"], **SLACK_CONFIGS[index]}
        attachment = body["attachments"][0]
        key = attachment["callback_id"]
        for name in SLACK_FIELDS:
            got = body.get(name, attachment.get(name, ""))
            check(f"slack[{index}] {key} {name}", fields[name], got)

    for raw in mails:
        message, parts = _mail_parts(raw)
        index = int(str(message["X-Corpus-Config"]))
        key = str(message["X-Corpus-Key"])
        fields = {**FIELD_DEFAULTS["email"], **EMAIL_CONFIGS[index]}
        subject = fields.get("headers", {}).get("Subject", FIELD_DEFAULTS["email"]["subject"])
        check(f"email[{index}] {key} Subject", subject, str(message["Subject"]))
        check(f"email[{index}] {key} html", fields["html"], parts.get("html", ""), html=True)
        check(f"email[{index}] {key} text", fields["text"], parts.get("plain", ""))

    for body in pd_posts:
        key = body["payload"]["group"] if body.get("payload") else None
        if key is None:  # a resolve event carries no payload, only the client fields
            key = "CorpusDisk/resolved/0/3"
        fields = {**FIELD_DEFAULTS["pagerduty"], **PAGERDUTY_CONFIG}
        check(f"pagerduty {key} client", fields["client"], body.get("client", ""))
        check(f"pagerduty {key} client_url", fields["client_url"], body.get("client_url", ""))
        if body.get("payload"):
            payload = body["payload"]
            check(f"pagerduty {key} summary", fields["description"], payload["summary"])
            for name in ("severity", "class", "component"):
                check(f"pagerduty {key} {name}", fields[name], payload.get(name, ""))
            details = {**FIELD_DEFAULTS["pagerduty_details"], **fields["details"]}
            assert set(payload["custom_details"]) == set(details)
            for name, template in details.items():
                check(f"pagerduty {key} details.{name}", template, payload["custom_details"][name])

    assert not mismatches, f"{len(mismatches)} of {compared} differ:\n" + "\n".join(mismatches)
    assert compared >= 3 * len(SLACK_CONFIGS) * len(SLACK_FIELDS)


def test_recorded_corpus_is_what_amtool_renders() -> None:
    """golden.json (what the fast tests compare with) is still what amtool 0.25 says."""
    amtool = find_binary("amtool")
    for path in golden.DEBIAN_TEMPLATES:
        if not path.exists():
            pytest.fail(f"{path} is missing. {golden.INSTALL_HINT}", False)
    recorded = golden.load_golden()
    stale = []
    for case in CASES:
        now = golden.amtool_render(case, amtool)
        if ("error" in now) != ("error" in recorded.get(case.key, {"error": ""})) or now.get(
            "output"
        ) != recorded.get(case.key, {}).get("output"):
            stale.append(case.key)
    assert not stale, f"golden.json is stale for {len(stale)} cases, e.g. {stale[:3]}"
