"""Label matchers: Alertmanager's `name="value"`, `!=`, `=~` and `!~`, parsed and matched its way.

Theory of operation
-------------------
* A `Matcher` tests one label. A missing label matches as the empty string, so `foo=""` matches
  alerts without `foo` and `foo!=""` means "has a non-empty foo", as in Alertmanager.
* Regex matchers are anchored as Alertmanager anchors them: `^(?:re)$`. Alertmanager compiles
  Go's RE2 dialect, Python's `re` differs (where `$` may match, `\\d` and `\\w` being Unicode,
  where inline flags may appear, ...), so `tocsin.core.re2` rewrites the anchored RE2 pattern into
  a Python pattern with the same matches, and rejects what RE2 rejects (look-around,
  back-references, `\\Z`, repeat counts over 1000, ...). One gap: RE2's Unicode classes (`\\pL`,
  `\\p{Greek}`) have no `re` equivalent and are refused with a message saying so.
* `parse_matchers` / `parse_matcher` accept exactly what Alertmanager 0.25's
  `pkg/labels/parse.go` (`ParseMatchers` / `ParseMatcher`) accepts, tolerances included (unquoted
  values, a stray `\\` kept as a literal backslash, one optional `{` and `}`, a trailing comma),
  and give the same matchers; where Alertmanager only says "bad matcher format", we say where and
  what was expected.
* Matching is the routing hot path (hundreds of thousands of calls a second): everything is
  decided at construction, and `matches` is one dict lookup and one prebuilt test.

Exceptions::

    ValueError
     └── MatcherError            anything this module rejects
          ├── InvalidRegex       a regex Alertmanager would not compile (raised by `Matcher(...)`)
          └── MatcherParseError  text that is not a matcher list (`.text`, `.position`)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from tocsin.core.labels import Labels
from tocsin.core.re2 import Re2Error, compile_anchored

__all__ = [
    "InvalidRegex",
    "MatchOp",
    "Matcher",
    "MatcherError",
    "MatcherParseError",
    "Matchers",
    "parse_matcher",
    "parse_matchers",
]


class MatcherError(ValueError):
    """Base class of everything this module raises."""


class InvalidRegex(MatcherError):
    """A regex Alertmanager would reject (or one Tocsin cannot reproduce, said as such).

    `pattern` is the regex as given, `position` a 0-based offset into it, `reason` the problem.
    """

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        super().__init__(pattern, position, reason)
        self.pattern = pattern
        self.position = position
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"invalid regular expression {self.pattern!r} at offset {self.position}: {self.reason}"
        )


class MatcherParseError(MatcherError):
    """Text that is not an Alertmanager matcher (list).

    `text` is the whole input, `position` the 0-based offset of the offending character (may be
    `len(text)` when the input ended too early), `message` one line saying what was expected
    there. `str()` adds the input with a caret under the offending character.
    """

    def __init__(self, text: str, position: int, problem: str) -> None:
        super().__init__(text, position, problem)
        self.text = text
        self.position = position
        self.problem = problem
        line_start = text.rfind("\n", 0, position) + 1
        line = text.count("\n", 0, position) + 1
        where = f"column {position - line_start + 1}"
        if line > 1:  # a value with literal newlines: a bare column would mislead
            where = f"line {line}, {where}"
        self.message = f"bad matcher at {where}: {problem}"

    def __str__(self) -> str:
        line_start = self.text.rfind("\n", 0, self.position) + 1
        line_end = self.text.find("\n", self.position)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        pad = "".join(c if c == "\t" else " " for c in self.text[line_start : self.position])
        return f"{self.message}\n  {line}\n  {pad}^"


class MatchOp(enum.StrEnum):
    """How a matcher compares: `str(op)` is the operator as Alertmanager writes it."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


def _escape_value(value: str) -> str:
    # OpenMetrics escaping, as Alertmanager's Matcher.String() does.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(frozen=True, slots=True, repr=False)
class Matcher:
    """One label test. Immutable, hashable; equal when name, op and value are.

    Raises `InvalidRegex` at construction when `op` is a regex op and `value` is not a regex
    Alertmanager would compile.
    """

    name: str
    op: MatchOp
    value: str
    # The prebuilt test of a label value; everything else about matching is decided here, once.
    _test: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.value, str):
            raise TypeError("matcher name and value must be strings")
        op = MatchOp(self.op)
        object.__setattr__(self, "op", op)
        test: Callable[[str], bool]
        if op is MatchOp.EQUAL:
            test = self.value.__eq__
        elif op is MatchOp.NOT_EQUAL:
            test = self.value.__ne__
        else:
            test = _regex_test(self.value, positive=op is MatchOp.REGEX)
        object.__setattr__(self, "_test", test)

    @classmethod
    def equal(cls, name: str, value: str) -> Matcher:
        """`name="value"`: the legacy `match:` form of Alertmanager's config."""
        return cls(name, MatchOp.EQUAL, value)

    @classmethod
    def regex(cls, name: str, value: str) -> Matcher:
        """`name=~"value"`: the legacy `match_re:` form. Raises `InvalidRegex`."""
        return cls(name, MatchOp.REGEX, value)

    def matches(self, labels: Labels) -> bool:
        """Whether `labels` satisfies this matcher; a missing label counts as ""."""
        return self._test(labels.get_or_empty(self.name))

    def matches_value(self, value: str) -> bool:
        """Whether a label value (use "" for a missing label) satisfies this matcher."""
        return self._test(value)

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape_value(self.value)}"'

    def __repr__(self) -> str:
        return f"Matcher({self.name!r}, MatchOp.{self.op.name}, {self.value!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # The prebuilt test is a closure: rebuild it rather than pickle it.
        return (Matcher, (self.name, self.op, self.value))


class Matchers(tuple[Matcher, ...]):
    """A tuple of matchers that all have to match (an empty one matches everything)."""

    __slots__ = ()

    def __new__(cls, matchers: Iterable[Matcher] = ()) -> Matchers:
        return super().__new__(cls, matchers)

    def matches(self, labels: Labels) -> bool:
        """Whether every matcher matches `labels`."""
        get = labels.get_or_empty
        # A plain loop: `all(<generator>)` allocates a generator per call on the routing hot path.
        for m in self:  # noqa: SIM110
            if not m._test(get(m.name)):
                return False
        return True

    def __str__(self) -> str:
        return "{" + ",".join(map(str, self)) + "}"

    def __repr__(self) -> str:
        return f"Matchers({list(self)!r})"


# -- regex matching --------------------------------------------------------------------------------


# No verdict cache (Alertmanager keeps an unbounded one per matcher): known alerts keep their
# routes cached upstream, so only new label sets get here, and a cache per regex matcher of a big
# tree would cost more memory than the few hundred nanoseconds it saves.
def _regex_test(pattern: str, *, positive: bool) -> Callable[[str], bool]:
    try:
        match = compile_anchored(pattern)
    except Re2Error as exc:
        raise InvalidRegex(pattern, exc.position, exc.reason) from None
    if positive:
        return lambda value: match(value) is not None
    return lambda value: match(value) is None


# -- parsing -------------------------------------------------------------------------------------

# Go's regexp `\s` (used by parse.go's matcher regex) is ASCII-only and has no \v ...
_RE_SPACE: Final = frozenset("\t\n\f\r ")
# ... while strings.TrimSpace (used on the last matcher of a list) trims Unicode white space.
_GO_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_NAME_START: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:")
_NAME_CHARS: Final = _NAME_START | frozenset("0123456789")
_OPS: Final = "one of =, !=, =~, !~"


def _show(c: str) -> str:
    return f'"{c}"' if c.isprintable() and c != '"' else repr(c)


def _found(text: str, pos: int, end: int) -> str:
    """What stands at `pos` of the matcher `text[...:end]`, in words."""
    if pos < end:
        return f"found {_show(text[pos])}"
    if end < len(text) and text[end] == ",":
        return 'found ","'
    return "found the end of the input"


def parse_matchers(text: str) -> Matchers:
    """Parse a comma-separated matcher list, `{a="b", c=~"d.*"}`, as Alertmanager 0.25 does.

    One leading `{` and one trailing `}` are optional; commas inside quoted values do not
    separate; a trailing comma is allowed; `{}` and "" give no matchers. Raises
    `MatcherParseError` (with the offending position) on anything Alertmanager rejects.
    """
    base = 1 if text.startswith("{") else 0
    end = len(text) - 1 if text.endswith("}") and len(text) > base else len(text)
    tokens: list[tuple[int, int]] = []
    start = base
    inside_quotes = escaped = False
    for i in range(base, end):
        c = text[i]
        if c == ",":
            if not inside_quotes:
                tokens.append((start, i))
                start = i + 1
        elif c == '"':
            if escaped:
                escaped = False
            else:
                inside_quotes = not inside_quotes
        elif c == "\\":
            escaped = not escaped
        else:
            escaped = False
    # Only the last piece is trimmed (Unicode white space) and dropped when empty: that is what
    # allows a trailing comma; an empty piece elsewhere (`a=b,,c=d`) is an error.
    while start < end and text[start] in _GO_SPACE:
        start += 1
    while end > start and text[end - 1] in _GO_SPACE:
        end -= 1
    if start < end:
        tokens.append((start, end))
    return Matchers(_parse_one(text, s, e) for s, e in tokens)


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher, `name="value"`, as Alertmanager 0.25's `ParseMatcher` does.

    The value may be quoted (escapes `\\"`, `\\\\` and `\\n`; any other backslash is kept) or not;
    white space around each part is ignored. Raises `MatcherParseError`.
    """
    return _parse_one(text, 0, len(text))


def _parse_one(text: str, start: int, end: int) -> Matcher:
    """The matcher in `text[start:end]`; errors point into the whole `text`."""
    i = start
    while i < end and text[i] in _RE_SPACE:
        i += 1
    if i == end or text[i] not in _NAME_START:
        found = _found(text, i, end)
        raise MatcherParseError(
            text, i, f"expected a label name ([a-zA-Z_:][a-zA-Z0-9_:]*), {found}"
        )
    name_start = i
    while i < end and text[i] in _NAME_CHARS:
        i += 1
    name = text[name_start:i]
    name_end = i
    while i < end and text[i] in _RE_SPACE:
        i += 1
    pair = text[i : i + 2] if i + 2 <= end else ""
    if pair in ("=~", "!=", "!~"):
        op, i = MatchOp(pair), i + 2
    elif i < end and text[i] == "=":
        op, i = MatchOp.EQUAL, i + 1
    else:
        hint = ""
        if i == name_end and i < end and (text[i].isalnum() or text[i] in "-./"):
            hint = " (label names may contain only letters, digits, _ and :)"
        raise MatcherParseError(
            text, i, f'expected {_OPS} after label name "{name}", {_found(text, i, end)}{hint}'
        )
    while i < end and text[i] in _RE_SPACE:
        i += 1
    value_end = end
    while value_end > i and text[value_end - 1] in _RE_SPACE:
        value_end -= 1
    value, offsets = _unescape(text, i, value_end, name)
    try:
        return Matcher(name, op, value)
    except InvalidRegex as exc:
        raise MatcherParseError(
            text, offsets[exc.position], f'invalid regular expression for "{name}": {exc.reason}'
        ) from exc


def _unescape(text: str, start: int, end: int, name: str) -> tuple[str, list[int]]:
    """The value in `text[start:end]`, and for each of its characters (and its end) the offset
    in `text` it came from."""
    quoted = start < end and text[start] == '"'
    i = start + 1 if quoted else start
    out: list[str] = []
    offsets: list[int] = []
    while i < end:
        c = text[i]
        if c == "\\" and i < end - 1:
            nxt = text[i + 1]
            if nxt == "n" or nxt in '"\\':
                out.append("\n" if nxt == "n" else nxt)
                offsets.append(i)
                i += 2
                continue
            # A spurious escape: the backslash is literal, the next character is read as usual.
        elif c == '"':
            if quoted and i == end - 1:
                quoted = False
                break
            where = "inside the quoted value" if quoted else "in the unquoted value"
            fix = "" if quoted else "quote the value and "
            raise MatcherParseError(
                text,
                i,
                f'unescaped " {where} of label "{name}": {fix}write \\" for a literal quote',
            )
        elif "\ud800" <= c <= "\udfff":
            raise MatcherParseError(text, i, f'the value of label "{name}" is not valid UTF-8')
        out.append(c)
        offsets.append(i)
        i += 1
    if quoted:
        escaped_close = " (the last quote is escaped)" if text[start:end].endswith('\\"') else ""
        raise MatcherParseError(
            text,
            end,
            f'expected a closing " for the value of label "{name}" opened at column '
            f"{start + 1}{escaped_close}",
        )
    offsets.append(end)
    return "".join(out), offsets
