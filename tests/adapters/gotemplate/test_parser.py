"""Parsing: Go's grammar, its parse-time checks, and errors that say where (line:column)."""

from __future__ import annotations

import pytest

from tocsin.adapters.gotemplate import (
    FUNCS,
    GoTemplates,
    TemplateSyntaxError,
    UnsupportedConstruct,
)
from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.lexer import Kind, lex
from tocsin.adapters.gotemplate.parser import go_unquote, parse


def kinds(text: str) -> list[str]:
    return [i.kind.name for i in lex("t", text) if i.kind is not Kind.SPACE]


def test_trim_markers_need_a_space_and_trim_white_space_around_the_action():
    assert [i.val for i in lex("t", "a \n {{- 1 -}} \n b") if i.kind is Kind.TEXT] == ["a", "b"]
    # "{{-3}}" is the number -3, not a trim marker
    assert kinds("x {{-3}} y") == ["TEXT", "LEFT_DELIM", "NUMBER", "RIGHT_DELIM", "TEXT", "EOF"]
    assert [i.val for i in lex("t", "x {{-3}} y") if i.kind is Kind.NUMBER] == ["-3"]


def test_comments_produce_nothing_and_may_trim():
    assert kinds("a {{/* c */}} b") == ["TEXT", "TEXT", "EOF"]
    assert [i.val for i in lex("t", "a {{- /* c */ -}} b") if i.kind is Kind.TEXT] == ["a", "b"]


def test_fields_variables_and_keywords_are_lexed_like_go():
    assert kinds("{{ range $i, $v := .A.B }}") == [
        "LEFT_DELIM",
        "RANGE",
        "VARIABLE",
        "CHAR",
        "VARIABLE",
        "DECLARE",
        "FIELD",
        "FIELD",
        "RIGHT_DELIM",
        "EOF",
    ]


@pytest.mark.parametrize(
    ("text", "line", "col", "reason"),
    [
        ("{{ .A", 1, 1, "unclosed action"),
        ("ok\n  {{ if .A }}x", 2, 15, "unexpected EOF"),
        ("{{ end }}", 1, 4, "unexpected {{end}}"),
        ("a\nb {{ nosuch 1 }}", 2, 6, 'function "nosuch" not defined'),
        ("{{ $x }}", 1, 4, 'undefined variable "$x"'),
        ("{{ break }}", 1, 4, "{{break}} outside {{range}}"),
        ('{{ "x" | "y" }}', 1, 10, "non executable command in pipeline stage 2"),
        ('{{ "unterminated }}', 1, 4, "unterminated quoted string"),
        ("{{ 1a }}", 1, 4, 'bad number syntax: "1a"'),
        ("{{ /* not a comment */ }}", 1, 4, 'unexpected "/" in command'),
        ("{{ .A § }}", 1, 7, "unrecognized character in action: U+00A7"),
        ("{{ .A ) }}", 1, 7, "unexpected right paren U+0029 ')'"),
        ("{{ ( .A }}", 1, 9, "unclosed left paren"),
        ("{{ range $a, $b, $c := . }}{{ end }}", 1, 16, "too many declarations in range"),
        ('{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}', 1, 27, "multiple definition"),
        ("{{ with . }}{{ else if . }}{{ end }}", 1, 21, "unexpected <if> in input"),
    ],
)
def test_syntax_errors_name_line_and_column(text, line, col, reason):
    with pytest.raises(TemplateSyntaxError) as info:
        parse("field", text, FUNCS)
    err = info.value
    assert (err.name, err.line, err.column) == ("field", line, col)
    assert reason in err.reason
    assert str(err).startswith(f"template: field:{line}:{col}: ")


def test_complex_numbers_are_refused_by_name():
    with pytest.raises(UnsupportedConstruct, match="complex numbers"):
        parse("t", "{{ 1i }}", FUNCS)


def test_define_and_block_add_trees_and_an_empty_definition_replaces_nothing():
    trees = parse("main", '{{ define "a" }}A{{ end }}{{ block "b" . }}B{{ end }}', FUNCS)
    assert set(trees) == {"main", "a", "b"}
    assert isinstance(trees["main"].root.nodes[0], n.TemplateCall)
    t = GoTemplates(defaults=False)
    t.add("x", '{{ define "a" }}A{{ end }}')
    t.add("y", '{{ define "a" }}  {{/* empty */}}  {{ end }}')
    assert t.execute("a", None) == "A"
    t.add("z", '{{ define "a" }}again{{ end }}')  # a later non-empty one wins
    assert t.execute("a", None) == "again"


def test_else_if_chains_share_one_end():
    tree = parse("t", "{{ if .A }}a{{ else if .B }}b{{ else }}c{{ end }}", FUNCS)["t"]
    node = tree.root.nodes[0]
    assert isinstance(node, n.If)
    assert node.else_body is not None
    assert isinstance(node.else_body.nodes[0], n.If)


@pytest.mark.parametrize(
    ("quoted", "value"),
    [
        ('"a\\tb"', "a\tb"),
        ('"\\x41\\u00e9\\U0001F525\\101"', "Aé🔥A"),
        ("`raw\\n\r`", "raw\\n"),
        ("'\\''", "'"),
    ],
)
def test_go_string_literals(quoted, value):
    assert go_unquote(quoted) == value


def test_invalid_escapes_are_syntax_errors():
    with pytest.raises(TemplateSyntaxError, match="invalid syntax"):
        parse("t", '{{ "\\q" }}', FUNCS)
