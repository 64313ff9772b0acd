"""Go's regexp for `match` and `reReplaceAll`: RE2 syntax through tocsin.core.re2, Go's semantics.

Theory of operation
-------------------
tocsin.core.re2 already translates RE2 patterns for Python's `re` (flags, anchors, ASCII
classes, what RE2 refuses). It was written for matchers, which only ask "does it match", so
it makes every group non-capturing; `reReplaceAll` needs the groups for `$1` and `${name}`.
`re2.translate_capturing` is that translation with groups kept (numbered and named groups come
out as Python's `(...)` and `(?P<name>...)`, same numbering). Unanchored: Go's MatchString and
ReplaceAllString search.

`replace_all` is Go's `ReplaceAllString` loop rather than `re.sub`, because the two differ on
empty matches: Go skips an empty match right after a previous match (`x*` over "abxd" gives
"-a-b-d-", Python's `re.sub` "-a-b--d-"). `expand` is Go's template expansion: `$1`, `${1}`,
`$name`, `${name}`, `$$`; a name is the longest run of letters, digits and `_` (so `$1x` is the
group named "1x", which does not exist, and expands to nothing); a malformed `$` stays a `$`.

RE2's ungreedy flag `(?U)` changes what a replacement matches and is refused here, with a
message that says so, rather than approximated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from tocsin.core import re2

__all__ = ["compile_go", "expand", "match_string", "replace_all"]

# A flag group that turns on RE2's ungreedy mode, e.g. (?U) or (?iU:...).
_UNGREEDY_RE: Final = re.compile(r"\(\?[imsU]*U[imsU]*(?:-[imsU]*)?[:)]")


@lru_cache(maxsize=512)
def compile_go(pattern: str) -> re.Pattern[str]:
    """`pattern` (RE2 syntax) compiled for unanchored search, groups kept.

    Raises ValueError with Go's "error parsing regexp" wording.
    """
    if _UNGREEDY_RE.search(pattern):
        raise ValueError(
            f"error parsing regexp: the ungreedy flag (?U) is not supported by Tocsin: `{pattern}`"
        )
    try:
        python_pattern = re2.translate_capturing(pattern)
    except re2.Re2Error as exc:
        raise ValueError(f"error parsing regexp: {exc.reason}: `{pattern}`") from None
    try:
        return re.compile(python_pattern)
    except re.error as exc:
        raise ValueError(
            f"error parsing regexp: not supported by Tocsin ({exc}): `{pattern}`"
        ) from None


def match_string(pattern: str, s: str) -> bool:
    """Go's regexp.MatchString: does `pattern` match anywhere in `s`. Raises ValueError."""
    return compile_go(pattern).search(s) is not None


def _is_name_char(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdigit()


def _extract(template: str) -> tuple[str, int, str] | None:
    """Go's extract: (name, number or -1, rest) from a leading `name` or `{name}`."""
    brace = template.startswith("{")
    s = template[1:] if brace else template
    i = 0
    while i < len(s) and _is_name_char(s[i]):
        i += 1
    if i == 0:
        return None
    name = s[:i]
    if brace:
        if i >= len(s) or s[i] != "}":
            return None
        i += 1
    num = int(name) if name.isascii() and name.isdigit() and len(name) < 9 else -1
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, s[i:]


def expand(template: str, m: re.Match[str]) -> str:
    """Go's Regexp.Expand of `template` for match `m`."""
    out: list[str] = []
    groups = m.re.groupindex
    while True:
        before, dollar, after = template.partition("$")
        if not dollar:
            break
        out.append(before)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        extracted = _extract(template)
        if extracted is None:
            out.append("$")
            continue
        name, num, template = extracted
        if num >= 0:
            if num <= m.re.groups and m.group(num) is not None:
                out.append(m.group(num))
        elif name in groups and m.group(name) is not None:
            out.append(m.group(name))
    out.append(template)
    return "".join(out)


def replace_all(pattern: str, repl: str, src: str) -> str:
    """Go's Regexp.ReplaceAllString(src, repl) with `pattern`. Raises ValueError."""
    compiled = compile_go(pattern)
    return _replace(compiled, src, lambda m: expand(repl, m))


def _replace(compiled: re.Pattern[str], src: str, repl: Callable[[re.Match[str]], str]) -> str:
    out: list[str] = []
    last_end = 0
    search_pos = 0
    end = len(src)
    while search_pos <= end:
        m = compiled.search(src, search_pos)
        if m is None:
            break
        a0, a1 = m.span()
        out.append(src[last_end:a0])
        # No replacement for an empty match right after the previous match.
        if a1 > last_end or a0 == 0:
            out.append(repl(m))
        last_end = a1
        if search_pos + 1 > a1:
            search_pos += 1
        else:
            search_pos = a1
    out.append(src[last_end:])
    return "".join(out)
