"""Go's fmt as templates reach it: print, println and printf with Go's formatting of values."""

from __future__ import annotations

import math

import pytest

from tocsin.adapters.gotemplate import KV, Pair
from tocsin.adapters.gotemplate.gofmt import print_value, sprint, sprintf, sprintln
from tocsin.adapters.gotemplate.values import GoAnys, GoStrings


@pytest.mark.parametrize(
    ("fmt", "args", "out"),
    [
        (
            "%v %v %v %v %v",
            [1e6, 123456.0, 1234567.0, 0.0001, 0.00001],
            "1e+06 123456 1.234567e+06 0.0001 1e-05",
        ),
        ("%v %v %v", [math.inf, -math.inf, math.nan], "+Inf -Inf NaN"),
        ("%v %v", [-0.0, 2.0], "-0 2"),
        (
            "%6.2f|%-6.1f|%+.1e|%g|%.3g",
            [3.14159, 2.5, 12345.678, 1e21, 1234567.0],
            "  3.14|2.5   |+1.2e+04|1e+21|1.23e+06",
        ),
        ("%05s|%5s|%-5s|%.2s", ["ab", "ab", "ab", "héllo"], "000ab|   ab|ab   |hé"),
        (
            "%05d|%+d|% d|%x|%X|%o|%#o|%b|%#x",
            [-42, 5, 5, -255, 255, 8, 8, 5, 255],
            "-0042|+5| 5|-ff|FF|10|010|101|0xff",
        ),
        ("%c|%q|%U|%#U", [0x1F525, 120, 0x263A, 0x263A], "🔥|'x'|U+263A|U+263A '☺'"),
        (
            "%x|% x|%q|%+q|%#q",
            ["héllo", "ab", 'a"b\n', "日本", "back`tick"],
            '68c3a96c6c6f|61 62|"a\\"b\\n"|"\\u65e5\\u672c"|"back`tick"',
        ),
        ("%t|%v|%s", [True, None, None], "true|<nil>|%!s(<nil>)"),
        ("%d|%s", ["s", 5], "%!d(string=s)|%!s(int=5)"),
        ("%d %d", [1], "1 %!d(MISSING)"),
        ("%d", [1, 2, "x"], "1%!(EXTRA int=2, string=x)"),
        ("%[2]s %[1]s|%[3]d", ["a", "b"], "b a|%!d(BADINDEX)"),
        ("%*d|%-*d|%.*f", [5, 42, 4, 7, 2, 3.14159], "   42|7   |3.14"),
        ("100%%|%!|%", [], "100%|%!!(MISSING)|%!(NOVERB)"),
        ("%v|%s|%d", [GoStrings(["a", "b"]), GoStrings(["c"]), GoAnys([1, 2])], "[a b]|[c]|[1 2]"),
        (
            "%v|%+v|%#v",
            [Pair("a", "b"), Pair("a", "b"), Pair("a", "b")],
            '{a b}|{Name:a Value:b}|template.Pair{Name:"a", Value:"b"}',
        ),
        ("%v|%q", [KV(b="2", a="1"), KV(a="x")], 'map[a:1 b:2]|map["a":"x"]'),
        ("%#v|%#v|%#v", ["x", GoStrings(["a", "b"]), 42], '"x"|[]string{"a", "b"}|42'),
        ("%T %T %T %T %T", [1, 1.5, "s", None, KV()], "int float64 string <nil> template.KV"),
    ],
)
def test_sprintf(fmt, args, out):
    assert sprintf(fmt, args) == out


def test_sprint_spaces_operands_only_between_non_strings():
    assert sprint(["a", 1, 2, "b", 3.5, True, None]) == "a1 2b3.5 true <nil>"
    assert sprintln(["a", 1, 2]) == "a 1 2\n"


def test_an_action_prints_no_value_and_dereferences_pointers():
    assert print_value(None) == "<no value>"
    assert print_value(1.5) == "1.5"
