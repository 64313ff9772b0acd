"""Label matchers: Alertmanager's `name="value"`, `!=`, `=~` and `!~`, parsed and matched its way.

Theory of operation
-------------------
* A `Matcher` tests one label. A missing label matches as the empty string, so `foo=""` matches
  alerts without `foo` and `foo!=""` means "has a non-empty foo", as in Alertmanager.
* Regex matchers are anchored as Alertmanager anchors them: `^(?:re)$`. Alertmanager compiles
  Go's RE2 dialect, Python's `re` differs (where `$` may match, `\\d` and `\\w` being Unicode,
  where inline flags may appear, ...), so `_Re2Translator` rewrites the anchored RE2 pattern into
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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from tocsin.core.labels import Labels

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
    match = _compile_re2_anchored(pattern)
    if positive:
        return lambda value: match(value) is not None
    return lambda value: match(value) is None


def _compile_re2_anchored(pattern: str) -> Callable[[str], object]:
    """Compile `^(?:pattern)$` as Go's regexp would; return the function that searches with it."""
    # Translate the anchored pattern whole, as Go compiles it whole: `a)|(b` is legal there.
    translator = _Re2Translator("^(?:" + pattern + ")$")
    try:
        python_pattern, anchored = translator.translate()
    except _Re2Error as exc:
        raise InvalidRegex(
            pattern, max(0, min(exc.position - 4, len(pattern))), exc.reason
        ) from None
    try:
        compiled = re.compile(python_pattern)
    except re.error as exc:  # a translation gap: say so rather than crash
        raise InvalidRegex(pattern, 0, f"not supported by Tocsin ({exc})") from exc
    # Go's MatchString searches; with the wrapper intact the pattern starts with \A, so `match`
    # is the same search, only cheaper.
    return compiled.match if anchored else compiled.search


# -- RE2 → Python re -----------------------------------------------------------------------------

_MAX_RUNE: Final = 0x10FFFF
_MAX_REPEAT: Final = 1000
_Ranges = tuple[tuple[int, int], ...]


def _ranges(spec: str) -> _Ranges:
    """`"0-9_"` → ((48, 57), (95, 95))."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.append((ord(spec[i]), ord(spec[i + 2])))
            i += 3
        else:
            out.append((ord(spec[i]), ord(spec[i])))
            i += 1
    return tuple(out)


def _negate(ranges: Iterable[tuple[int, int]]) -> _Ranges:
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in sorted(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return tuple(out)


# RE2's classes are ASCII-only, Python's Unicode-aware: spell them out as ranges.
_PERL_CLASSES: Final = {
    "d": _ranges("0-9"),
    "s": _ranges("\t\n\f\r "),
    "w": _ranges("0-9A-Za-z_"),
}
_PERL_CLASSES.update({k.upper(): _negate(v) for k, v in list(_PERL_CLASSES.items())})
_POSIX_CLASSES: Final = {
    "alnum": _ranges("0-9A-Za-z"),
    "alpha": _ranges("A-Za-z"),
    "ascii": _ranges("\x00-\x7f"),
    "blank": _ranges("\t "),
    "cntrl": _ranges("\x00-\x1f\x7f"),
    "digit": _ranges("0-9"),
    "graph": _ranges("!-~"),
    "lower": _ranges("a-z"),
    "print": _ranges(" -~"),
    "punct": _ranges("!-/:-@[-`{-~"),
    "space": _ranges("\t\n\v\f\r "),
    "upper": _ranges("A-Z"),
    "word": _ranges("0-9A-Za-z_"),
    "xdigit": _ranges("0-9A-Fa-f"),
}
_C_ESCAPES: Final = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
_ASCII_ALNUM: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_CAPTURE_NAME_CHARS: Final = _ASCII_ALNUM | {"_"}


def _char(cp: int) -> str:
    """A code point as a Python pattern atom that means only itself, in or out of a class."""
    c = chr(cp)
    if c in _ASCII_ALNUM:
        return c
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _class(ranges: Iterable[tuple[int, int]], *, negate: bool = False) -> str:
    body = "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)
    return f"[{'^' if negate else ''}{body}]"


class _Re2Error(Exception):
    def __init__(self, position: int, reason: str) -> None:
        super().__init__(reason)
        self.position = position
        self.reason = reason


@dataclass
class _Group:
    """An open group: its atoms so far, and the flags to restore when it closes."""

    start: int
    fold: bool
    dotnl: bool
    oneline: bool
    atoms: list[str] = field(default_factory=list)
    # Per atom, the smallest budget RE2's nested-repeat check needs (its `repeatIsValid`).
    needs: list[int] = field(default_factory=list)


class _Re2Translator:
    """Rewrites one RE2 pattern (Go's `regexp/syntax` with its default Perl flags) for `re`.

    Walks the pattern the way Go's parser does and emits, per atom, Python syntax with the same
    meaning: flags are tracked here (RE2 flags last until the enclosing group closes, across
    `|`; Python 3.11 allows only scoped ones), `^`/`$` become `\\A`/`\\Z` or their multi-line
    forms, classes become explicit ranges, every group becomes non-capturing.
    """

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.fold = False  # (?i)
        self.dotnl = False  # (?s)
        self.oneline = True  # not (?m)
        self.stack = [_Group(0, False, False, True)]
        self.has_operand = False  # is there an atom a repetition operator could apply to?
        self.just_repeated = False  # was the last token a repetition operator?
        self.wrapper_closed_at = -1

    def translate(self) -> tuple[str, bool]:
        """The Python pattern, and whether it is anchored at the start (its wrapper intact)."""
        p, n = self.p, len(self.p)
        while self.i < n:
            c = p[self.i]
            repeated = False
            if c == "(":
                self._open_group()
            elif c == ")":
                self._close_group()
            elif c == "|":
                self._push("|")
                self.has_operand = False
                self.i += 1
            elif c in "*+?":
                self._repeat(self.i, self.i + 1, -1, -1)
                repeated = True
            elif c == "{" and (bounds := self._parse_repeat()) is not None:
                end, lo, hi = bounds
                if lo > _MAX_REPEAT or hi > _MAX_REPEAT or 0 <= hi < lo:
                    raise _Re2Error(self.i, f"invalid repeat count: {p[self.i : end]}")
                self._repeat(self.i, end, lo, hi)
                repeated = True
            elif c == "^":
                self._atom("\\A" if self.oneline else "(?m:^)")
                self.i += 1
            elif c == "$":
                self._atom("\\Z" if self.oneline else "(?m:$)")
                self.i += 1
            elif c == ".":
                self._atom("(?s:.)" if self.dotnl else "[^\\n]")
                self.i += 1
            elif c == "[":
                self._atom(self._fold(self._parse_class()))
            elif c == "\\":
                self._escape()
            else:
                self._literal(ord(c))
                self.i += 1
            self.just_repeated = repeated
        if len(self.stack) > 1:
            raise _Re2Error(self.stack[-1].start, "missing closing )")
        return "".join(self.stack[0].atoms), self.wrapper_closed_at == n - 2

    # -- atoms ------------------------------------------------------------------------------
    def _push(self, atom: str, need: int = 0) -> None:
        self.stack[-1].atoms.append(atom)
        self.stack[-1].needs.append(need)

    def _atom(self, atom: str) -> None:
        self._push(atom)
        self.has_operand = True

    def _fold(self, atom: str) -> str:
        return f"(?i:{atom})" if self.fold else atom

    def _literal(self, cp: int) -> None:
        self._atom(self._fold(_char(cp)))

    def _escape(self) -> None:
        p, i = self.p, self.i
        d = p[i + 1] if i + 1 < len(p) else ""
        if d and d in "AbBz":
            self._atom({"A": "\\A", "b": "(?a:\\b)", "B": "(?a:\\B)", "z": "\\Z"}[d])
            self.i += 2
        elif d == "C":
            raise _Re2Error(i, "invalid escape sequence: \\C")
        elif d == "Q":  # literal text up to \E, or to the very end
            end = p.find("\\E", i + 2)
            literal = p[i + 2 :] if end < 0 else p[i + 2 : end]
            for ch in literal:
                self._literal(ord(ch))
            self.i = len(p) if end < 0 else end + 2
        elif d and d in "pP":
            raise _Re2Error(i, "Unicode character classes (\\p, \\P) are not supported by Tocsin")
        elif d and d in _PERL_CLASSES:
            self._atom(self._fold(_class(_PERL_CLASSES[d])))
            self.i += 2
        else:
            cp, self.i = self._parse_escape(i)
            self._literal(cp)

    def _parse_escape(self, i: int) -> tuple[int, int]:
        """A single-character escape at `i` (a backslash): its code point and where it ends."""
        p, n = self.p, len(self.p)
        if i + 1 >= n:
            raise _Re2Error(i, "trailing backslash at end of expression")
        c, j = p[i + 1], i + 2
        if c.isascii() and c not in _ASCII_ALNUM:
            return ord(c), j  # escaped punctuation is itself
        if c == "0" or (c in "1234567" and j < n and p[j] in "01234567"):
            cp = int(c)
            for _ in range(2):
                if j < n and p[j] in "01234567":
                    cp, j = cp * 8 + int(p[j]), j + 1
            return cp, j
        if c == "x" and j < n:
            if p[j] == "{":
                end = p.find("}", j)
                digits = p[j + 1 : end] if end >= 0 else ""
                if digits and all(d in "0123456789abcdefABCDEF" for d in digits):
                    cp = int(digits, 16)
                    if cp <= _MAX_RUNE:
                        return cp, end + 1
            elif j + 1 < n and all(d in "0123456789abcdefABCDEF" for d in p[j : j + 2]):
                return int(p[j : j + 2], 16), j + 2
        if c in _C_ESCAPES:
            return _C_ESCAPES[c], j
        raise _Re2Error(i, f"invalid escape sequence: \\{c}")

    # -- groups -----------------------------------------------------------------------------
    def _open_group(self) -> None:
        p, i = self.p, self.i
        if not p.startswith("(?", i):
            self._enter(i, i + 1)
            return
        if len(p) - i > 4 and p.startswith("(?P<", i):
            end = p.find(">", i)
            name = p[i + 4 : end] if end >= 0 else ""
            if not name or not set(name) <= _CAPTURE_NAME_CHARS:
                raise _Re2Error(i, "invalid named capture")
            self._enter(i, end + 1)
            return
        fold, dotnl, oneline = self.fold, self.dotnl, self.oneline
        sign, saw_flag, j = 1, False, i + 2
        while j < len(p):
            c, j = p[j], j + 1
            if c in "imsU":
                on = sign > 0
                if c == "i":
                    fold = on
                elif c == "m":
                    oneline = not on
                elif c == "s":
                    dotnl = on
                # "U" (ungreedy) is dropped: anchored matching does not depend on greediness.
                saw_flag = True
            elif c == "-" and sign > 0:
                sign, saw_flag = -1, False
            elif c in ":)" and (sign > 0 or saw_flag):
                # `(?i)` alone opens nothing: RE2 still repeats what preceded it (`a(?i)*`).
                if c == ":":
                    self._enter(i, j)
                else:
                    self.i = j
                self.fold, self.dotnl, self.oneline = fold, dotnl, oneline
                return
            else:
                break
        raise _Re2Error(i, f"invalid or unsupported Perl syntax: {p[i:j]}")

    def _enter(self, start: int, end: int) -> None:
        self.stack.append(_Group(start, self.fold, self.dotnl, self.oneline))
        self.has_operand = False
        self.i = end

    def _close_group(self) -> None:
        if len(self.stack) == 1:
            raise _Re2Error(self.i, "unexpected )")
        group = self.stack.pop()
        if group.start == 1:
            self.wrapper_closed_at = self.i
        self.fold, self.dotnl, self.oneline = group.fold, group.dotnl, group.oneline
        self._push("(?:" + "".join(group.atoms) + ")", max(group.needs, default=0))
        self.has_operand = True
        self.i += 1

    # -- repetition ---------------------------------------------------------------------------
    def _parse_repeat(self) -> tuple[int, int, int] | None:
        """`{n}`, `{n,}` or `{n,m}` at `i`: (end, n, m with -1 for none), else None (a literal)."""
        m = _REPEAT_RE.match(self.p, self.i)
        if m is None:
            return None
        lo = int(m[1])
        hi = lo if m[2] is None else (-1 if m[3] is None else int(m[3]))
        return m.end(), lo, hi

    def _repeat(self, start: int, end: int, lo: int, hi: int) -> None:
        p = self.p
        if end < len(p) and p[end] == "?":
            end += 1
        if self.just_repeated:
            raise _Re2Error(start, f"invalid nested repetition operator: {p[start:end]}")
        if not self.has_operand:
            raise _Re2Error(start, f"missing argument to repetition operator: {p[start:end]}")
        group = self.stack[-1]
        atom, need = group.atoms.pop(), group.needs.pop()
        if p[start] == "{":
            count = hi if hi >= 0 else lo
            if hi == 0:
                need = 0
            elif count > 0:
                need = count * max(1, need)
            if (lo >= 2 or hi >= 2) and need > _MAX_REPEAT:
                raise _Re2Error(start, f"invalid repeat count: {p[start:end]}")
        self._push(f"(?:{atom}){p[start:end]}", need)
        self.i = end

    # -- classes ------------------------------------------------------------------------------
    def _parse_class(self) -> str:
        p, n, start = self.p, len(self.p), self.i
        j = start + 1
        negate = j < n and p[j] == "^"
        if negate:
            j += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while j >= n or p[j] != "]" or first:
            if j >= n:
                raise _Re2Error(start, "missing closing ]")
            first = False
            if n - j > 2 and p.startswith("[:", j) and (end := p.find(":]", j + 2)) >= 0:
                name = p[j + 2 : end]
                posix = _POSIX_CLASSES.get(name.removeprefix("^"))
                if posix is None:
                    raise _Re2Error(j, f"invalid character class range: {p[j : end + 2]}")
                ranges.extend(_negate(posix) if name.startswith("^") else posix)
                j = end + 2
                continue
            if p.startswith(("\\p", "\\P"), j):
                raise _Re2Error(
                    j, "Unicode character classes (\\p, \\P) are not supported by Tocsin"
                )
            if p[j] == "\\" and j + 1 < n and p[j + 1] in _PERL_CLASSES:
                ranges.extend(_PERL_CLASSES[p[j + 1]])
                j += 2
                continue
            lo, j = self._class_char(j, start)
            hi = lo
            if n - j >= 2 and p[j] == "-" and p[j + 1] != "]":
                range_start = j - 1
                hi, j = self._class_char(j + 1, start)
                if hi < lo:
                    raise _Re2Error(range_start, "invalid character class range")
            ranges.append((lo, hi))
        self.i = j + 1
        return _class(ranges, negate=negate)

    def _class_char(self, j: int, class_start: int) -> tuple[int, int]:
        if j >= len(self.p):
            raise _Re2Error(class_start, "missing closing ]")
        if self.p[j] == "\\":
            return self._parse_escape(j)
        return ord(self.p[j]), j + 1


# Go's parseRepeat: decimal counts without leading zeros; anything else leaves `{` a literal.
_REPEAT_RE: Final = re.compile(r"\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}")


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
