"""Execution: Go's rules for values, pipelines, variables and control flow, and located errors."""

from __future__ import annotations

import pytest

from tocsin.adapters.gotemplate import (
    KV,
    Alert,
    Alerts,
    Data,
    GoTemplates,
    GoTime,
    TemplateExecError,
    TemplateNotDefined,
)
from tocsin.adapters.gotemplate.gotime import ZERO_TIME


@pytest.fixture(scope="module")
def t() -> GoTemplates:
    return GoTemplates()


def data() -> Data:
    alert = Alert("firing", KV(a="1", b="2"), KV(), ZERO_TIME, ZERO_TIME, "", "fp")
    return Data("r", "firing", Alerts([alert]), KV(), KV(a="1"), KV(), "http://am")


@pytest.mark.parametrize(
    ("text", "line", "col", "context", "reason"),
    [
        ("{{ .Nope }}", 1, 4, ".Nope", "can't evaluate field Nope in type *template.Data"),
        (
            "x\n {{ .Status.Nope }}",
            2,
            5,
            ".Status.Nope",
            "can't evaluate field Nope in type string",
        ),
        ("{{ 1 . }}", 1, 4, "1", "can't give argument to non-function 1"),
        ("{{ .Receiver 1 }}", 1, 4, ".Receiver", "Receiver has arguments but cannot be invoked"),
        ("{{ toUpper 3 }}", 1, 12, "3", "expected string; found 3"),
        ("{{ toUpper .Alerts }}", 1, 12, ".Alerts", "wrong type for value; expected string; got"),
        ("{{ index .Alerts 9 }}", 1, 4, "index", "error calling index: index out of range: 9"),
        ('{{ eq 1 "a" }}', 1, 4, "eq", "error calling eq: incompatible types for comparison"),
        ("{{ range 3 }}{{ end }}", 1, 4, "{{range 3}}", "range can't iterate over 3"),
        ("{{ printf }}", 1, 4, "printf", "wrong number of args for printf: want at least 1 got 0"),
        ("{{ 99999999999999999999 }}", 1, 4, "99999999999999999999", "overflows int"),
    ],
)
def test_execution_errors_are_located(t, text, line, col, context, reason):
    with pytest.raises(TemplateExecError) as info:
        t.render(text, data())
    err = info.value
    assert (err.line, err.column, err.context) == (line, col, context)
    assert reason in err.reason
    assert 'executing ""' in str(err)


def test_an_undefined_template_is_its_own_error(t):
    with pytest.raises(TemplateNotDefined, match='template "nope" not defined'):
        t.render('{{ if true }}{{ template "nope" . }}{{ end }}', data())
    # not reached, not an error (text/template resolves names when it runs)
    assert t.render('{{ if false }}{{ template "nope" . }}{{ end }}ok', data()) == "ok"


def test_an_error_inside_a_called_template_names_that_template():
    t = GoTemplates(defaults=False)
    t.add("lib.tmpl", 'line1\n{{ define "inner" }}{{ .Nope }}{{ end }}')
    with pytest.raises(TemplateExecError) as info:
        t.render('{{ template "inner" . }}', data())
    assert (info.value.name, info.value.source, info.value.line) == ("inner", "lib.tmpl", 2)


def test_infinite_recursion_is_an_error_not_a_crash():
    t = GoTemplates(defaults=False)
    t.add("r", '{{ define "loop" }}{{ template "loop" . }}{{ end }}')
    with pytest.raises(TemplateExecError, match="exceeded maximum template depth"):
        t.execute("loop", None)


def test_and_or_short_circuit_and_return_the_deciding_value(t):
    # the second operand would fail if evaluated
    assert t.render("{{ or 1 (index .Alerts 9) }}|{{ and 0 (index .Alerts 9) }}", data()) == "1|0"
    assert t.render('{{ and "a" "b" }}|{{ or "" 0 }}', data()) == "b|0"


def test_variables_scope_and_assignment(t):
    text = "{{ $x := 1 }}{{ range .Alerts }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}"
    assert t.render(text, data()) == "2"
    assert t.render('{{ with $v := .Receiver }}{{ $v }}{{ $ | printf "%T" }}{{ end }}', data()) == (
        "r*template.Data"
    )


def test_range_binds_index_and_element_over_maps_in_key_order(t):
    d = data()
    d.CommonLabels = KV(b="2", a="1", c="3")
    out = t.render("{{ range $k, $v := .CommonLabels }}{{ $k }}{{ $v }}{{ end }}", d)
    assert out == "a1b2c3"
    loop = "{{ range $i, $v := .CommonLabels.Values }}{{ if eq $i 1 }}{{ continue }}{{ end }}"
    assert t.render(loop + "{{ $v }}{{ end }}", d) == "13"


def test_missing_keys_read_as_the_zero_value(t):
    assert t.render("[{{ .CommonLabels.nope }}]", data()) == "[]"  # KV: ""
    assert t.render('[{{ (dict "a" 1).b }}]', data()) == "[<no value>]"  # map[string]any: nil


def test_methods_win_over_map_keys(t):
    d = data()
    d.CommonLabels = KV(Names="label called Names")
    assert t.render("{{ .CommonLabels.Names }}", d) == "[Names]"
    assert t.render('{{ index .CommonLabels "Names" }}', d) == "label called Names"


def test_the_zero_time_is_true_like_any_struct(t):
    d = data()
    assert t.render("{{ with (index .Alerts 0).EndsAt }}{{ . }}{{ end }}", d) == (
        "0001-01-01 00:00:00 +0000 UTC"
    )
    assert isinstance(d.Alerts[0].EndsAt, GoTime)


def test_render_of_empty_text_is_empty_without_parsing(t):
    assert t.render("", data()) == ""
    assert t.render_html("", data()) == ""
