"""Functions beyond Alertmanager 0.25 (checked against newer Alertmanager's definitions) and the
0.25-only function set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.adapters.gotemplate import (
    FUNCS_0_25,
    Data,
    GoTemplates,
    TemplateExecError,
    TemplateSyntaxError,
)
from tocsin.adapters.gotemplate.data import parse_go_time

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def t() -> GoTemplates:
    return GoTemplates()


def render(t: GoTemplates, text: str) -> str:
    d = Data.from_json(
        {
            "receiver": "r",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "A"},
                    "annotations": {},
                    "startsAt": "2026-03-01T10:30:15Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                }
            ],
        },
        now=NOW,
    )
    return t.render(text, d)


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ('{{ trimSpace "  x y \\n" }}', "x y"),
        ('{{ urlUnescape "a%20b+c%2Fd" }}', "a b c/d"),
        ('{{ safeUrl "javascript:x" }}', "javascript:x"),
        ('{{ date "2006-01-02 15:04" (index .Alerts 0).StartsAt }}', "2026-03-01 10:30"),
        ('{{ (index .Alerts 0).StartsAt | tz "Europe/Paris" }}', "2026-03-01 11:30:15 +0100 CET"),
        ("{{ since (index .Alerts 0).StartsAt }}", "1h29m45s"),
        ('{{ (since (index .Alerts 0).StartsAt).Minutes | printf "%.1f" }}', "89.8"),
        (
            "{{ humanizeDuration 0 }} {{ humanizeDuration 0.1 }} {{ humanizeDuration 1.234 }}",
            "0s 100ms 1.234s",
        ),
        (
            "{{ humanizeDuration 899.99 }} {{ humanizeDuration 90061 }} {{ humanizeDuration -1 }}",
            "14m 59s 1d 1h 1m 1s -1s",
        ),
        (
            '{{ humanizeDuration "3600" }} {{ since (index .Alerts 0).StartsAt | humanizeDuration }}',
            "1h 0m 0s 1h 29m 45s",
        ),
        ('{{ toJson (dict "b" 1 "a" (list "x" 2.5 true)) }}', '{"a":["x",2.5,true],"b":1}'),
        ('{{ toJson "<&>" }}', '"\\u003c\\u0026\\u003e"'),
        ("{{ toJson (index .Alerts 0).Labels }}", '{"alertname":"A"}'),
        ('{{ list 1 "a" }} {{ append (list 1) 2 3 }} {{ len (list) }}', "[1 a] [1 2 3] 0"),
        ('{{ (dict "k" "v").k }} {{ index (dict "k" 1) "k" }}', "v 1"),
    ],
)
def test_newer_alertmanager_functions(t, text, out):
    assert render(t, text) == out


def test_to_json_of_an_alert_uses_alertmanagers_field_names(t):
    out = render(t, "{{ toJson (index .Alerts 0) }}")
    assert out == (
        '{"status":"firing","labels":{"alertname":"A"},"annotations":{},'
        '"startsAt":"2026-03-01T10:30:15Z","endsAt":"0001-01-01T00:00:00Z",'
        '"generatorURL":"","fingerprint":""}'
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{{ dict "a" }}', "dict requires an even number of arguments"),
        ("{{ dict 1 2 }}", "dict keys must be strings"),
        ('{{ tz "Mars/Base" (index .Alerts 0).StartsAt }}', "unknown time zone Mars/Base"),
        ('{{ urlUnescape "%zz" }}', 'invalid URL escape "%zz"'),
        ('{{ humanizeDuration "x" }}', "strconv.ParseFloat"),
    ],
)
def test_function_errors(t, text, reason):
    with pytest.raises(TemplateExecError, match=reason):
        render(t, text)


def test_since_measures_from_the_data_time_not_the_clock(t):
    d = Data.from_json({"alerts": []}, now=NOW)
    start = parse_go_time("2026-03-01T11:00:00Z")
    assert t.render("{{ since . }}", start, now=NOW) == "1h0m0s"
    assert t.render("{{ len .Alerts }}", d) == "0"


@pytest.mark.parametrize("name", ["trimSpace", "date", "tz", "since", "toJson", "dict", "list"])
def test_the_0_25_set_refuses_newer_functions_at_parse_time(name):
    t = GoTemplates(funcs=FUNCS_0_25)
    with pytest.raises(TemplateSyntaxError, match=f'function "{name}" not defined'):
        t.check("{{ if false }}{{ " + name + " }}{{ end }}")
