"""match and reReplaceAll: RE2 syntax (through tocsin.core.re2) with Go's replace semantics."""

from __future__ import annotations

import pytest

from tocsin.adapters.gotemplate.regex import match_string, replace_all


@pytest.mark.parametrize(
    ("pattern", "repl", "src", "out"),
    [
        ("x*", "-", "abxd", "-a-b-d-"),  # Go skips an empty match right after a match
        ("a|", "[$0]", "banana", "[]b[a]n[a]n[a]"),
        ("(.*):(\\d+)", "$2 on $1", "host:9100", "9100 on host"),
        ("(?P<h>[a-z]+)-(?P<n>\\d)", "${n}_$h", "db-1 web-2", "1_db 2_web"),
        ("(a)", "$1x ${1}x $$ $ $9", "a", " ax $ $ "),  # "$1x" names group "1x"
        ("^", ">", "a\nb", ">a\nb"),
        ("(?m)^", ">", "a\nb", ">a\n>b"),
        ("\\bcpu\\b", "CPU", "cpu cpus", "CPU cpus"),
    ],
)
def test_replace_all_is_gos(pattern, repl, src, out):
    assert replace_all(pattern, repl, src) == out


def test_match_is_an_unanchored_search_with_re2_classes():
    assert match_string("cpu", "high_cpu_usage")
    assert not match_string("^\\w+$", "héllo")  # RE2's \w is ASCII
    assert not match_string("a$", "a\n")  # RE2's $ is the end of text


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "missing closing )"),
        ("(?=x)", "invalid or unsupported Perl syntax"),
        ("(?U)a+", "ungreedy flag (?U) is not supported by Tocsin"),
    ],
)
def test_bad_patterns_are_errors(pattern, reason):
    with pytest.raises(ValueError, match="error parsing regexp") as info:
        match_string(pattern, "x")
    assert reason in str(info.value)
