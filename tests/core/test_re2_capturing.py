"""`translate_capturing`: RE2 unanchored, with Go's capture groups kept."""

from __future__ import annotations

import re

import pytest

from tocsin.core.re2 import Re2Error, translate_capturing


@pytest.mark.parametrize(
    ("pattern", "text", "groups"),
    [
        (r"(\w+)@(?P<host>[a-z.]+)", "mail bob@example.com now", ("bob", "example.com")),
        (r"(?i)(a)(?:b)(c)", "xxABC", ("A", "C")),  # (?:…) stays uncounted
        (r"^(x)", "yx", None),  # unanchored, but ^ still anchors
    ],
)
def test_groups_are_kept_and_numbered_as_go_numbers_them(pattern, text, groups) -> None:
    m = re.search(translate_capturing(pattern), text)
    assert (m.groups() if m else None) == groups


def test_named_groups_keep_their_names() -> None:
    m = re.search(translate_capturing(r"(?P<k>\w+)=(?P<v>\d+)"), "a=1")
    assert m is not None and m.group("k", "v") == ("a", "1")


def test_what_re2_refuses_is_re2error_at_the_offset() -> None:
    with pytest.raises(Re2Error) as exc:
        translate_capturing("ab(c")
    assert exc.value.reason == "missing closing )" and exc.value.position == 2
