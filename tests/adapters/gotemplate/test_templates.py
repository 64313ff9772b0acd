"""The template set: files, field texts with their own definitions, HTML fields, defaults."""

from __future__ import annotations

import pytest

from tocsin.adapters.gotemplate import (
    DEFAULT_NAMES,
    Data,
    GoTemplates,
    TemplateNotDefined,
    TemplateSyntaxError,
    UnsupportedConstruct,
    is_go_template,
)
from tocsin.adapters.gotemplate.defaults import FIELD_DEFAULTS

DATA = Data.from_json(
    {
        "receiver": "ops",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "A", "x": "<b>"}}],
        "groupLabels": {"alertname": "A"},
        "commonLabels": {"alertname": "A", "x": "<b>"},
        "externalURL": "http://am",
    }
)


def test_files_are_named_by_base_name_and_globs_may_match_nothing(tmp_path):
    (tmp_path / "b.tmpl").write_text('{{ define "b" }}B{{ end }}top')
    (tmp_path / "a.tmpl").write_text('{{ define "a" }}A{{ template "b" }}{{ end }}')
    t = GoTemplates(defaults=False)
    files = t.parse_globs([str(tmp_path / "*.tmpl"), str(tmp_path / "none-*.tmpl")])
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.tmpl", "b.tmpl"]
    assert t.names() == ["a", "a.tmpl", "b", "b.tmpl"]
    assert t.execute("a", None) == "AB"
    assert t.execute("b.tmpl", None) == "top"


def test_a_broken_file_names_itself_and_changes_nothing(tmp_path):
    good, bad = tmp_path / "good.tmpl", tmp_path / "bad.tmpl"
    good.write_text('{{ define "x" }}new{{ end }}')
    bad.write_text('\n{{ define "y" }}{{ if }}{{ end }}')
    t = GoTemplates(defaults=False)
    t.add("old", '{{ define "x" }}old{{ end }}')
    with pytest.raises(TemplateSyntaxError) as info:
        t.parse_files([good, bad])
    assert (info.value.name, info.value.line) == (str(bad), 2)
    assert "missing value for if" in info.value.reason
    assert t.execute("x", None) == "old"


def test_definitions_in_a_field_text_are_that_texts_own():
    t = GoTemplates()
    text = '{{ define "slack.default.title" }}mine{{ end }}{{ template "slack.default.title" . }}'
    assert t.render(text, DATA) == "mine"
    assert t.render('{{ template "slack.default.title" . }}', DATA) == "[FIRING:1] A (<b>)"


def test_execute_by_name_and_unknown_names():
    t = GoTemplates()
    assert t.execute("__alertmanagerURL", DATA) == "http://am/#/alerts?receiver=ops"
    with pytest.raises(TemplateNotDefined):
        t.execute("nope", DATA)


def test_html_fields_are_escaped_for_their_context():
    t = GoTemplates()
    html = '<a href="{{ .ExternalURL }}/?q={{ .CommonLabels.x }}" title="{{ .CommonLabels.x }}">'
    html += "{{ .CommonLabels.x }}</a><!-- gone --> 1 < 2"
    out = t.render_html(html, DATA)
    assert out == '<a href="http://am/?q=%3cb%3e" title="&lt;b&gt;">&lt;b&gt;</a> 1 &lt; 2'
    assert t.render(html, DATA).endswith("<b></a><!-- gone --> 1 < 2")  # text mode: as is
    assert t.execute("email.default.subject", DATA, html=True) == "[FIRING:1] A (&lt;b&gt;)"


@pytest.mark.parametrize(
    ("html", "error", "reason"),
    [
        ("<script>var x = {{ .Status }};</script>", UnsupportedConstruct, "JavaScript"),
        ('<a onclick="f({{ .Status }})">', UnsupportedConstruct, "JavaScript"),
        ("<p style=\"font: '{{ .Status }}'\">", UnsupportedConstruct, "CSS string"),
        ('<img srcset="{{ .Status }}">', UnsupportedConstruct, "srcset"),
        ("<a href='{{ .Status }}", TemplateSyntaxError, "ends in a non-text context"),
        ("{{ if .Status }}<a {{ end }}", TemplateSyntaxError, "branches end in different contexts"),
        (
            '{{ if false }}{{ template "nope" }}{{ end }}',
            TemplateSyntaxError,
            'no such template "nope"',
        ),
        ("<p title={{ .Status | html }}>", TemplateSyntaxError, 'predefined escaper "html"'),
    ],
)
def test_html_escaping_refuses_what_go_refuses_and_what_tocsin_cannot_follow(html, error, reason):
    t = GoTemplates()
    with pytest.raises(error, match=reason):
        t.check(html, html=True)
    t.check(html)  # as text it is fine (or fails only when run)


def test_unsupported_html_names_where():
    with pytest.raises(UnsupportedConstruct) as info:
        GoTemplates().check("<p>\n  <script>{{ .Status }}</script>", html=True)
    assert (info.value.line, info.value.column) == (2, 14)  # the action's pipeline


def test_every_default_is_defined_and_every_field_default_parses():
    t = GoTemplates()
    assert set(t.names()) >= DEFAULT_NAMES
    for fields in FIELD_DEFAULTS.values():
        for text in fields.values():
            t.check(text)
    t.check(FIELD_DEFAULTS["email"]["html"], html=True)


def test_is_go_template():
    assert is_go_template("{{ .Status }}") and not is_go_template("#alerts")
