"""Matchers: Alertmanager 0.25's matcher syntax, its matching semantics and its regex dialect.

Expected results come from Alertmanager itself: the parse cases restate upstream
pkg/labels/parse_test.go, and every row of the regex tables was checked against the real
`amtool` 0.25 (`amtool config routes test` on a route with that matcher).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import tocsin.core.matchers as matchers_module
from tocsin.core.labels import Labels
from tocsin.core.matchers import (
    InvalidRegex,
    Matcher,
    MatcherError,
    MatcherParseError,
    Matchers,
    MatchOp,
    parse_matcher,
    parse_matchers,
)

EQ, NE, RE, NRE = MatchOp.EQUAL, MatchOp.NOT_EQUAL, MatchOp.REGEX, MatchOp.NOT_REGEX


def triples(ms: tuple[Matcher, ...]) -> list[tuple[str, MatchOp, str]]:
    return [(m.name, m.op, m.value) for m in ms]


# -- parsing: what Alertmanager accepts ----------------------------------------------------------

PARSE_OK: list[tuple[str, list[tuple[str, MatchOp, str]]]] = [
    # The four operators, braced.
    ('{foo="bar"}', [("foo", EQ, "bar")]),
    ('{foo=~"bar.*"}', [("foo", RE, "bar.*")]),
    ('{foo!="bar"}', [("foo", NE, "bar")]),
    ('{foo!~"bar.*"}', [("foo", NRE, "bar.*")]),
    # Lists, with and without spaces after the comma.
    ('{foo="bar", baz!="quux"}', [("foo", EQ, "bar"), ("baz", NE, "quux")]),
    (
        '{foo="bar",baz!~".*quux", derp="wat"}',
        [("foo", EQ, "bar"), ("baz", NRE, ".*quux"), ("derp", EQ, "wat")],
    ),
    ('{foo="bar", instance=~"some-api.*"}', [("foo", EQ, "bar"), ("instance", RE, "some-api.*")]),
    # Empty values, quoted or not.
    ('{foo=""}', [("foo", EQ, "")]),
    ("job=", [("job", EQ, "")]),
    ("{job=}", [("job", EQ, "")]),
    # Commas inside quotes do not separate.
    ('{foo="bar,quux", job="job1"}', [("foo", EQ, "bar,quux"), ("job", EQ, "job1")]),
    (
        'contains_quote != "\\"" , contains_comma !~ "foo,bar" , ',
        [("contains_quote", NE, '"'), ("contains_comma", NRE, "foo,bar")],
    ),
    # White space around every part, and a trailing comma.
    ('{foo = "bar", dings != "bums", }', [("foo", EQ, "bar"), ("dings", NE, "bums")]),
    ('  a  =~  " x "  ', [("a", RE, " x ")]),
    ("a=\tx\t", [("a", EQ, "x")]),
    # Unquoted values.
    ("foo=bar,dings!=bums", [("foo", EQ, "bar"), ("dings", NE, "bums")]),
    ("statuscode=~5..", [("statuscode", RE, "5..")]),
    # Escapes: \" \\ \n; any other backslash stays a backslash.
    (
        '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
        [("quote", EQ, 'She said: "Hi, ladies! That\'s gender-neutral…"')],
    ),
    ('a="line1\\nline2"', [("a", EQ, "line1\nline2")]),
    ('a="back\\\\slash"', [("a", EQ, "back\\slash")]),
    ('a="\\d+\\.\\w"', [("a", EQ, "\\d+\\.\\w")]),
    ("a=b\\", [("a", EQ, "b\\")]),
    ("a=b\\x", [("a", EQ, "b\\x")]),
    ('a="literal\nnewline"', [("a", EQ, "literal\nnewline")]),
    # The first operator wins; what follows is the value.
    ("tricky=~~~", [("tricky", RE, "~~")]),
    ('trickier==\\\\=\\=\\"', [("trickier", EQ, '=\\=\\="')]),
    # Names may contain ':' (Alertmanager's parser allows it).
    ("a:b=c", [("a:b", EQ, "c")]),
    (":a=c", [(":a", EQ, "c")]),
    ("_x1=y", [("_x1", EQ, "y")]),
    # One '{' and one '}' are trimmed, no more.
    ("{a=b}}", [("a", EQ, "b}")]),
    # Nothing at all.
    ("", []),
    ("{}", []),
    ("{ }", []),
    # Unicode values.
    ('emoji="🔥 ünïcödé"', [("emoji", EQ, "🔥 ünïcödé")]),
    # Only the last matcher is trimmed of Unicode white space; \v stays inside earlier values.
    ("a=b\v,c=d", [("a", EQ, "b\v"), ("c", EQ, "d")]),
    ("a=b\u00a0", [("a", EQ, "b")]),
    ("\u00a0a=b", [("a", EQ, "b")]),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_OK, ids=[repr(t) for t, _ in PARSE_OK])
def test_parse_matchers_accepts_what_alertmanager_accepts(
    text: str, expected: list[tuple[str, MatchOp, str]]
) -> None:
    assert triples(parse_matchers(text)) == expected


def test_parse_matcher_parses_one() -> None:
    assert parse_matcher('  severity =~ "crit.*" ') == Matcher("severity", RE, "crit.*")
    assert parse_matcher("foo=bar,baz") == Matcher("foo", EQ, "bar,baz")


# -- parsing: what Alertmanager rejects, and where we say it went wrong ------------------------

# (input, 0-based position of the offending character, words the message must contain)
PARSE_ERRORS: list[tuple[str, int, str]] = [
    # Unbalanced or stray quotes.
    ('job="value', 10, 'expected a closing " for the value of label "job" opened at column 5'),
    ('job=value"', 9, 'unescaped " in the unquoted value of label "job"'),
    ('trickier==\\\\=\\=\\""', 17, 'unescaped "'),
    ('contains_unescaped_quote = foo"bar', 30, 'unescaped "'),
    ('a="b"c', 4, 'unescaped " inside the quoted value of label "a"'),
    ('a="b\\"', 6, "the last quote is escaped"),
    # Not a label name.
    ('{invalid-name = "valid label"}', 8, 'after label name "invalid", found "-"'),
    ("1a=b", 0, "expected a label name"),
    ("=b", 0, "expected a label name"),
    ('{"foo"="bar"}', 1, "expected a label name"),
    # Double-escaped input (a string quoted one time too many).
    ('"{foo=\\"bar"}', 0, "expected a label name"),
    ('"foo=\\"bar"', 0, "expected a label name"),
    ('"foo="bar""', 0, "expected a label name"),
    # No operator.
    ("foo", 3, 'expected one of =, !=, =~, !~ after label name "foo", found the end of the input'),
    ('{foo~"bar"}', 4, 'expected one of =, !=, =~, !~ after label name "foo", found "~"'),
    ("foo!bar", 3, "expected one of =, !=, =~, !~"),
    ("foo,bar=baz", 3, 'after label name "foo", found ","'),
    # Empty pieces of a list (only a trailing one is allowed).
    ("a=b,,c=d", 4, 'expected a label name ([a-zA-Z_:][a-zA-Z0-9_:]*), found ","'),
    (",a=b", 0, 'found ","'),
    (",", 0, 'found ","'),
    ("a=b,  ,c=d", 6, 'found ","'),
    # Braces are trimmed only at the very ends.
    (' {a="b"}', 1, 'expected a label name ([a-zA-Z_:][a-zA-Z0-9_:]*), found "{"'),
    ('{a="b"} ', 5, 'unescaped " inside the quoted value of label "a"'),
    ("{{a=b}", 1, 'found "{"'),
    # Invalid regexes point into the value.
    ('{foo=~"invalid[regexp"}', 14, 'invalid regular expression for "foo": missing closing ]'),
    ('a=~"x{1001}"', 5, "invalid repeat count"),
    ('a!~"(?=x)"', 4, "invalid or unsupported Perl syntax"),
    ('a=~"ok\\\\1"', 6, "invalid escape sequence"),
    ('a=~"\\\\pL"', 4, "not supported by Tocsin"),
    ("a=~(", 3, "missing closing )"),
]


@pytest.mark.parametrize(
    ("text", "position", "words"), PARSE_ERRORS, ids=[repr(t) for t, _, _ in PARSE_ERRORS]
)
def test_parse_errors_say_what_was_expected_and_where(text: str, position: int, words: str) -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matchers(text)
    err = info.value
    assert err.text == text
    assert err.position == position
    assert words in err.message
    assert err.message.startswith(f"bad matcher at column {position + 1}: ")
    assert isinstance(err, MatcherError) and isinstance(err, ValueError)


def test_parse_error_str_draws_a_caret_under_the_offending_character() -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matchers('{foo~"bar"}')
    assert str(info.value) == (
        'bad matcher at column 5: expected one of =, !=, =~, !~ after label name "foo", found "~"\n'
        '  {foo~"bar"}\n'
        "      ^"
    )


def test_parse_error_caret_on_a_multiline_input_shows_the_offending_line() -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matchers('a="x\ny",\tb!c')
    lines = str(info.value).splitlines()
    assert info.value.position == 10
    assert lines[0].startswith("bad matcher at line 2, column 6: ")
    assert lines[1:] == ['  y",\tb!c', "     \t ^"]


def test_parse_error_survives_pickling() -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matcher("foo~bar")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.text, again.position, str(again)) == ("foo~bar", 3, str(info.value))


def test_parse_matcher_does_not_trim_braces() -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matcher('{a="b"}')
    assert info.value.position == 0


# -- rendering and round trips --------------------------------------------------------------------

RENDER = [
    (Matcher("foo", EQ, "bar"), 'foo="bar"'),
    (Matcher("foo", NE, ""), 'foo!=""'),
    (Matcher("foo", RE, "a.*|b"), 'foo=~"a.*|b"'),
    (Matcher("foo", NRE, "x"), 'foo!~"x"'),
    (Matcher("q", EQ, 'say "hi"\\n\nnext'), 'q="say \\"hi\\"\\\\n\\nnext"'),
    (Matcher("u", EQ, "日本\t"), 'u="日本\t"'),
]


@pytest.mark.parametrize(("matcher", "text"), RENDER, ids=[t for _, t in RENDER])
def test_str_is_alertmanagers_canonical_form(matcher: Matcher, text: str) -> None:
    assert str(matcher) == text
    assert parse_matcher(text) == matcher


@pytest.mark.parametrize(
    "text",
    [
        'foo="bar"',
        "foo = bar",
        'a=~"(?i)crit.*"',
        'trickier==\\\\=\\=\\"',
        'q="She said: \\"Hi, ladies!\\""',
        "x!=a\\b",
        'n="multi\\nline"',
        "tricky=~~~",
    ],
)
def test_str_of_a_parsed_matcher_parses_back_to_it(text: str) -> None:
    matcher = parse_matcher(text)
    assert parse_matcher(str(matcher)) == matcher


_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(_names, st.sampled_from([EQ, NE]), _values)
def test_any_value_round_trips_through_str(name: str, op: MatchOp, value: str) -> None:
    matcher = Matcher(name, op, value)
    assert parse_matcher(str(matcher)) == matcher
    assert parse_matchers(str(Matchers([matcher]))) == (matcher,)


@given(st.lists(st.tuples(_names, st.sampled_from([EQ, NE]), _values), max_size=5))
def test_any_matcher_list_round_trips_through_str(items: list[tuple[str, MatchOp, str]]) -> None:
    ms = Matchers(Matcher(*item) for item in items)
    assert parse_matchers(str(ms)) == ms


def test_matchers_str_is_alertmanagers() -> None:
    ms = parse_matchers('{a="b", c!~"d,e"}')
    assert str(ms) == '{a="b",c!~"d,e"}'
    assert str(Matchers()) == "{}"


# -- matching semantics -----------------------------------------------------------------------------

LABELS = Labels.of({"alertname": "DiskFull", "env": "prod", "team": "", "path": "/var/lib"})

MATCHING = [
    # Equality, and a missing (or empty) label counting as "".
    ('env="prod"', True),
    ('env="Prod"', False),
    ('env!="prod"', False),
    ('missing=""', True),
    ('missing!=""', False),
    ('team=""', True),
    ('missing="x"', False),
    ('missing!="x"', True),
    # Regexes are anchored at both ends.
    ('env=~"prod"', True),
    ('env=~"pro"', False),
    ('env=~"rod"', False),
    ('alertname=~"Disk"', False),
    ('alertname=~"Disk.*"', True),
    ('alertname=~".*Full"', True),
    ('env=~"dev|prod"', True),
    ('env=~"prod|dev"', True),
    ('env=~"pr|od"', False),
    ('env!~"pro"', True),
    ('env!~"prod|dev"', False),
    # A missing label is "" for regexes too.
    ('missing=~""', True),
    ('missing=~".*"', True),
    ('missing=~".+"', False),
    ('missing!~".+"', True),
    ('missing!~""', False),
    # Regex metacharacters in values.
    ('path=~"/var/.*"', True),
    ('path="/var/lib"', True),
    ('path=~"/var"', False),
]


@pytest.mark.parametrize(("text", "expected"), MATCHING, ids=[t for t, _ in MATCHING])
def test_matching_semantics(text: str, expected: bool) -> None:
    matcher = parse_matcher(text)
    assert matcher.matches(LABELS) is expected
    assert matcher.matches_value(LABELS.get_or_empty(matcher.name)) is expected
    assert Matchers([matcher]).matches(LABELS) is expected


def test_matchers_match_only_when_all_do() -> None:
    assert Matchers().matches(LABELS)
    assert parse_matchers('env="prod", alertname=~"Disk.*"').matches(LABELS)
    assert not parse_matchers('env="prod", alertname=~"CPU.*"').matches(LABELS)
    assert not parse_matchers('alertname=~"CPU.*", env="prod"').matches(LABELS)


# -- the regex dialect: Go's RE2, as amtool 0.25 compiled and matched each row ------------------

INVALID = "invalid"

RE2: list[tuple[str, str, bool | str]] = [
    # Anchoring and end of text: Go's `$` never matches before a final newline.
    ("foo", "foo\n", False),
    ("foo$", "foo\n", False),
    ("$a", "a", False),
    ("^a", "a", True),
    ("\\Aa", "a", True),
    ("a\\z", "a", True),
    ("a)|(b", "ax", True),  # ^(?:a)|(b)$ is legal in Go, and only half anchored
    ("a)|(b", "xb", True),
    ("a)|(b", "xbx", False),
    ("", "", True),
    ("x*", "", True),
    ("a|", "x", False),
    ("(|a)", "", True),
    # Inline flags: until the group closes, across `|`; (?U) changes nothing anchored.
    ("(?i)foo", "FOO", True),
    ("foo|(?i)bar", "BAR", True),
    ("ab(?i)cd|ef", "EF", True),
    ("ab(?i)cd|ef", "abCD", True),
    ("ab(?i)cd|ef", "ab", False),
    ("(?i:FOO)bar", "fooBAR", False),
    ("(?i)(?-i:a)b", "aB", True),
    ("(?i)(?-i:a)b", "AB", False),
    ("(?m)^b$", "a\nb", False),
    ("(?s).", "\n", True),
    (".", "\n", False),
    ("(?smi)A.", "a\n", True),
    ("(?U)a+", "a", True),
    ("(?ims-U)a", "A", True),
    ("(?)", "", True),
    ("(?i-)", "", INVALID),
    ("(?-)", "", INVALID),
    ("(?x)a b", "ab", INVALID),
    # Unicode case folding.
    ("(?i)é", "É", True),
    ("(?i)k", "\u212a", True),
    ("(?i)s", "ſ", True),
    ("(?i)Σ", "ς", True),
    ("(?i)straße", "STRASSE", False),
    ("(?i)[k]", "\u212a", True),
    ("(?i)[^a]", "A", False),
    ("(?i)[[:upper:]]", "a", True),
    # Perl and POSIX classes are ASCII-only.
    ("\\d+", "12", True),
    ("\\d+", "٣", False),
    ("\\w+", "é", False),
    ("\\s", "\v", False),
    ("\\s", "\u00a0", False),
    ("\\S", "\v", True),
    ("[\\d]", "5", True),
    ("[^\\D]", "5", True),
    ("[\\W]", "é", True),
    ("[\\S]", "\v", True),
    ("[\\d-z]", "-", True),
    ("\\bfoo\\b", "foo", True),
    ("[[:alpha:]]+", "abc", True),
    ("[[:alpha:]]+", "é", False),
    ("[[:^alpha:]]+", "12", True),
    ("[[:word:]]+", "a_1", True),
    ("[[:upper:][:digit:]]+", "A1", True),
    ("[[:alpha:]-z]", "-", True),
    ("[:alpha:]", "a", True),
    ("[[:foo:]]", "a", INVALID),
    ("[a-[:alpha:]]", "b", INVALID),
    # Bracket expressions.
    ("[a-]", "-", True),
    ("[-a]", "-", True),
    ("[]a]", "]", True),
    ("[]]", "]", True),
    ("[^]]", "]", False),
    ("[^]a]", "b", True),
    ("[[]", "[", True),
    ("[a&&b]", "&", True),
    ("[a~~b]", "~", True),
    ("[a||b]", "|", True),
    ("[a\\-z]", "b", False),
    ("[^a]", "\n", True),
    ("[^\\n]", "\n", False),
    ("[]", "a", INVALID),
    ("[^]", "a", INVALID),
    ("[a", "a", INVALID),
    ("[z-a]", "a", INVALID),
    ("[a-\\d]", "a", INVALID),
    ("[\\b]", "\b", INVALID),
    # Escapes.
    ("\\x{41}", "A", True),
    ("\\x7f", "\x7f", True),
    ("[\\x{41}-\\x{43}]", "B", True),
    ("(?i)\\x{212A}", "k", True),
    ("\\101", "A", True),
    ("\\12", "\n", True),
    ("\\1234", "S4", True),
    ("\\400", "Ā", True),
    ("\\t", "\t", True),
    ("\\v", "\v", True),
    ("\\a", "\x07", True),
    ("\\_", "_", True),
    ("\\ ", " ", True),
    ("\\`", "`", True),
    ("\\x{110000}", "a", INVALID),
    ("\\x{}", "a", INVALID),
    ("\\x4", "a", INVALID),
    ("\\1", "a", INVALID),
    ("(a)\\1", "aa", INVALID),
    ("\\8", "8", INVALID),
    ("\\C", "a", INVALID),
    ("\\e", "a", INVALID),
    ("\\Z", "a", INVALID),
    ("\\é", "é", INVALID),
    ("\\u0041", "A", INVALID),
    ("\\N{LATIN SMALL LETTER A}", "a", INVALID),
    ("\\", "\\", INVALID),
    # \Q...\E quoting, to \E or to the very end (swallowing the anchoring `)`).
    ("\\Q.*\\E", ".*", True),
    ("\\Q.*\\E", "ab", False),
    ("\\Qa\\Eb", "ab", True),
    ("\\Q\\\\E", "\\", True),
    ("(?i)\\Qab\\E", "AB", True),
    ("a\\Q\\E*", "aa", True),
    ("\\Q.*", ".*", INVALID),
    ("[\\Q]\\E]", "]", INVALID),
    # Repetition.
    ("a*?", "aa", True),
    ("a{1}?", "a", True),
    ("x{1000,}", "", False),
    ("a{0}", "", True),
    ("a{,2}", "a{,2}", True),
    ("a{01}", "a{01}", True),
    ("a{1,2", "a{1,2", True),
    ("a}", "a}", True),
    ("a*(?i)*", "aa", True),
    ("a(?i)*", "aa", True),
    ("^*", "", True),
    ("a++", "aa", INVALID),
    ("a**", "aa", INVALID),
    ("a{1}??", "a", INVALID),
    ("x{2}{3}", "xxxxxx", INVALID),
    ("x{1001}", "", INVALID),
    ("a{1,1001}", "a", INVALID),
    ("a{2,1}", "aa", INVALID),
    ("(a{1000}){1000}", "", INVALID),
    ("*", "a", INVALID),
    ("a|*", "a", INVALID),
    ("(?i)*", "", INVALID),
    ("{1}", "{1}", INVALID),
    # Groups.
    ("(?P<n>a)", "a", True),
    ("(?P<a>x)(?P<a>y)", "xy", True),
    ("(?P<1a>x)", "x", True),
    ("()", "", True),
    ("(?:a", "a", INVALID),
    ("(?P<>x)", "x", INVALID),
    ("(?P<a-b>x)", "x", INVALID),
    ("(?<n>a)", "a", INVALID),
    ("(?#c)a", "a", INVALID),
    ("(?=a)a", "a", INVALID),
    ("(?!b)a", "a", INVALID),
    ("(?<=a)", "", INVALID),
]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"), RE2, ids=[f"{p!r}~{v!r}" for p, v, _ in RE2]
)
def test_regex_dialect_is_alertmanagers(pattern: str, value: str, expected: bool | str) -> None:
    if expected == INVALID:
        with pytest.raises(InvalidRegex) as info:
            Matcher("a", RE, pattern)
        assert info.value.pattern == pattern
        assert 0 <= info.value.position <= len(pattern)
        return
    assert Matcher("a", RE, pattern).matches_value(value) is expected
    assert Matcher("a", NRE, pattern).matches_value(value) is not expected


@pytest.mark.parametrize("pattern", ["\\pL", "\\p{Greek}", "\\PN", "[\\pL]"])
def test_unicode_classes_are_refused_as_unsupported_not_as_invalid(pattern: str) -> None:
    # Alertmanager accepts these; Python's re has no equivalent. Say so plainly.
    with pytest.raises(InvalidRegex, match="not supported by Tocsin"):
        Matcher.regex("a", pattern)


# -- the Matcher object ---------------------------------------------------------------------------


def test_matcher_is_frozen_hashable_and_compares_by_value() -> None:
    a, b = Matcher("env", RE, "prod|dev"), Matcher.regex("env", "prod|dev")
    assert a == b and hash(a) == hash(b)
    assert a != Matcher("env", NRE, "prod|dev")
    assert len({a, b, Matcher.equal("env", "prod|dev")}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = "x"  # type: ignore[misc]


def test_legacy_constructors() -> None:
    assert Matcher.equal("a", "b") == Matcher("a", EQ, "b")
    assert Matcher.regex("a", "b.*") == Matcher("a", RE, "b.*")
    with pytest.raises(InvalidRegex):
        Matcher.regex("a", "(")


def test_op_may_be_given_as_its_operator_text() -> None:
    matcher = Matcher("a", "=~", "b+")  # type: ignore[arg-type]
    assert matcher.op is RE and matcher.matches_value("bb")
    with pytest.raises(ValueError):
        Matcher("a", "==", "b")  # type: ignore[arg-type]


def test_non_string_parts_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        Matcher("a", EQ, 1)  # type: ignore[arg-type]


def test_invalid_regex_is_an_error_at_construction() -> None:
    with pytest.raises(InvalidRegex) as info:
        Matcher("a", NRE, "ok[")
    assert (info.value.pattern, info.value.position) == ("ok[", 2)
    assert "missing closing ]" in str(info.value)


def test_matchers_survive_pickling_and_copying() -> None:
    ms = parse_matchers('{a="b", c=~"d.*", e!~"(?i)x"}')
    for again in (pickle.loads(pickle.dumps(ms)), copy.deepcopy(ms)):
        assert again == ms
        assert again.matches(Labels.of({"a": "b", "c": "dz", "e": "y"}))
        assert not again.matches(Labels.of({"a": "b", "c": "dz", "e": "X"}))


def test_repr_is_evaluable() -> None:
    ms = parse_matchers('{a="b", c=~"d.*"}')
    assert eval(repr(ms), vars(matchers_module)) == ms


def test_public_names_are_pinned() -> None:
    assert sorted(matchers_module.__all__) == [
        "InvalidRegex",
        "MatchOp",
        "Matcher",
        "MatcherError",
        "MatcherParseError",
        "Matchers",
        "parse_matcher",
        "parse_matchers",
    ]


# -- Alertmanager's own configs and silences (shared conformance data) ---------------------------

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "alertmanager"


@pytest.fixture
def conformance() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(
            f"Alertmanager conformance data not found at {CONFORMANCE} "
            "(it lives in ../shared next to the repository checkout)"
        )
    return CONFORMANCE


def _route_matchers(route: dict[str, Any]) -> list[str]:
    found = list(route.get("matchers") or [])
    for child in route.get("routes") or []:
        found += _route_matchers(child)
    return found


def _legacy_route_matchers(route: dict[str, Any]) -> list[Matcher]:
    # YAML may read `2` as an int; Alertmanager's map[string]string takes the scalar's text.
    found = [Matcher.equal(k, str(v)) for k, v in (route.get("match") or {}).items()]
    found += [Matcher.regex(k, str(v)) for k, v in (route.get("match_re") or {}).items()]
    for child in route.get("routes") or []:
        found += _legacy_route_matchers(child)
    return found


def test_every_matcher_in_the_routing_cases_parses(conformance: Path) -> None:
    suites = yaml.safe_load((conformance / "routing_cases.yaml").read_text())
    seen = 0
    for suite in suites:
        config = yaml.safe_load(suite["config"])
        for text in _route_matchers(config["route"]):
            assert parse_matchers(text), f"{suite['name']}: {text!r} gave no matchers"
            seen += 1
        _legacy_route_matchers(config["route"])  # match:/match_re: compile too
    assert seen > 0


def test_every_matcher_in_the_inhibit_cases_parses(conformance: Path) -> None:
    suites = yaml.safe_load((conformance / "inhibit_cases.yaml").read_text())
    seen = 0
    for suite in suites:
        for rule in yaml.safe_load(suite["inhibit_rules"]):
            for key in ("source_matchers", "target_matchers"):
                for text in rule.get(key) or []:
                    assert parse_matchers(text), f"{suite['name']}: {text!r} gave no matchers"
                    seen += 1
        for case in suite["cases"]:
            for text in case.get("silences") or []:
                assert parse_matchers(text), f"{suite['name']}/{case['name']}: {text!r}"
                seen += 1
    assert seen > 0
