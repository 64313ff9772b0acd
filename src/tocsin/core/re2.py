"""Go's RE2 regex dialect, translated for Python's `re`: what Alertmanager's regex matchers mean.

Theory of operation
-------------------
Alertmanager compiles matcher regexes with Go's `regexp` (RE2 syntax, Perl flags), anchored as
`^(?:pattern)$`. Python's `re` reads many of the same patterns differently: `$` may match before
a final newline, `\\d` and `\\w` are Unicode-aware, inline flags are only allowed at the start or
scoped, `(?P=name)` and look-around exist, `{,n}` means something else, and so on. So rather
than hand `re` the pattern, `_Re2Translator` walks it the way Go's parser does and emits, atom by
atom, Python syntax with the same matches:

* flags are tracked here (an RE2 flag lasts until its enclosing group closes, across `|`);
* `^`/`$` become `\\A`/`\\Z` (or their multi-line forms under `(?m)`);
* character classes, Perl classes (`\\d`) and POSIX classes (`[[:alpha:]]`) become explicit
  code-point ranges, so they stay ASCII where RE2's are;
* every group becomes non-capturing; `(?U)` is dropped (anchored matching does not depend on
  greediness);
* what RE2 rejects is rejected, at the offset RE2 would name: look-around, back-references,
  `\\C`, `\\Z`, nested repetition operators, repeat counts over 1000, and so on.

One gap: RE2's Unicode classes (`\\pL`, `\\p{Greek}`) have no `re` equivalent; they are refused
with a message that says so rather than approximated.

`compile_anchored(pattern)` is the entry point: it compiles `^(?:pattern)$` and returns the
function that tells whether a value matches.

Exceptions::

    ValueError
     └── Re2Error    a pattern Go's regexp would not compile, or one Tocsin cannot reproduce
                     (`.position` is a 0-based offset into the pattern as given, `.reason`)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Re2Error", "compile_anchored", "translate_anchored", "translate_capturing"]


class Re2Error(ValueError):
    """A pattern Alertmanager (Go's regexp) would reject, or one Tocsin cannot reproduce.

    `position` is a 0-based offset into the pattern as the user wrote it, `reason` the problem in
    RE2's words where it has them.
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


_WRAPPER_OPEN: Final = "^(?:"


def translate_anchored(pattern: str) -> tuple[str, bool]:
    """The Python pattern equivalent to Go's `^(?:pattern)$`, and whether it starts anchored.

    The second value is true when the wrapper's leading `^` still anchors the whole pattern
    (nothing like `a)|(b` broke out of the wrapper group), so `re.match` can replace the search
    Go does. Raises `Re2Error`.
    """
    # Translate the anchored pattern whole, as Go compiles it whole: `a)|(b` is legal there.
    translator = _Re2Translator(_WRAPPER_OPEN + pattern + ")$")
    try:
        return translator.translate()
    except _Re2Error as exc:
        position = max(0, min(exc.position - len(_WRAPPER_OPEN), len(pattern)))
        raise Re2Error(pattern, position, exc.reason) from None


def translate_capturing(pattern: str) -> str:
    """The Python pattern equivalent to Go's unanchored `pattern`, its capture groups kept
    (numbered and named as Go numbers them): for searching and replacing with groups, as
    Go's `regexp.Compile` (not `^(?:…)$`) does. Raises `Re2Error`.
    """
    try:
        python_pattern, _ = _CapturingTranslator(pattern).translate()
    except _Re2Error as exc:
        raise Re2Error(pattern, exc.position, exc.reason) from None
    return python_pattern


def compile_anchored(pattern: str) -> Callable[[str], object]:
    """Compile `^(?:pattern)$` as Go's regexp would; return the function that searches with it.

    The function returns a match object (truthy) or None. Raises `Re2Error`.
    """
    python_pattern, anchored = translate_anchored(pattern)
    try:
        compiled = re.compile(python_pattern)
    except re.error as exc:  # a translation gap: say so rather than crash
        raise Re2Error(pattern, 0, f"not supported by Tocsin ({exc})") from exc
    # Go's MatchString searches; with the wrapper intact the pattern starts with \A, so `match`
    # is the same search, only cheaper.
    return compiled.match if anchored else compiled.search


# -- the translator --------------------------------------------------------------------------------
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


class _CapturingTranslator(_Re2Translator):
    """RE2 → Python with capture groups kept (the matcher translator drops them)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self.kinds: list[str | None] = []  # per open group: "" capture, a name, or None

    def _enter(self, start: int, end: int) -> None:
        opener = self.p[start:end]
        if opener == "(":
            self.kinds.append("")
        elif opener.startswith("(?P<"):
            self.kinds.append(opener[4:-1])
        else:
            self.kinds.append(None)
        super()._enter(start, end)

    def _close_group(self) -> None:
        kind = self.kinds.pop() if len(self.stack) > 1 else None
        super()._close_group()
        if kind is not None:
            atoms = self.stack[-1].atoms
            body = atoms[-1][len("(?:") :]
            atoms[-1] = ("(" if kind == "" else f"(?P<{kind}>") + body
