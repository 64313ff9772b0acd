"""The lexer: Go template text → items, as Go's text/template/parse lexes it (Go 1.19).

Theory of operation
-------------------
Outside actions everything is text, up to the next `{{`. Inside an action the lexer emits
spaces (they separate command arguments, so they are items), identifiers and keywords,
`.Field` and `$var` (one item per dotted step: `.A.B` is two fields), strings, raw strings,
character constants, numbers, `|`, `(`, `)`, `:=`, `=`, `,` (as a CHAR item) and `.` alone.

Trim markers follow Go to the byte: `{{- ` (dash then an ASCII space, tab, CR or LF) trims the
white space before the action, ` -}}` the white space after it; `{{-3}}` is the number -3.
A comment is `{{/* … */}}` with nothing between the delimiters and the comment markers except
an optional trim marker; it produces no item (Go drops comments unless asked to keep them).

Go's lexer runs concurrently with its parser and so reports a lexical error only when the
parser reaches it; this one lexes the whole text first. The set of accepted texts is the same;
only which of two errors in one text is reported first can differ.

Raises `TemplateSyntaxError` (line:column of the offending character).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from tocsin.adapters.gotemplate.errors import TemplateSyntaxError

__all__ = ["Item", "Kind", "lex", "line_col"]


class Kind(enum.Enum):
    TEXT = "text"
    LEFT_DELIM = "{{"
    RIGHT_DELIM = "}}"
    SPACE = "space"
    IDENTIFIER = "identifier"
    FIELD = "field"
    VARIABLE = "variable"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR_CONSTANT = "char constant"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    DOT = "."
    PIPE = "|"
    LEFT_PAREN = "("
    RIGHT_PAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    CHAR = "char"
    EOF = "EOF"
    # keywords
    BLOCK = "block"
    BREAK = "break"
    CONTINUE = "continue"
    DEFINE = "define"
    ELSE = "else"
    END = "end"
    IF = "if"
    RANGE = "range"
    TEMPLATE = "template"
    WITH = "with"


KEYWORDS: Final = {
    k.value: k
    for k in (
        Kind.BLOCK,
        Kind.BREAK,
        Kind.CONTINUE,
        Kind.DEFINE,
        Kind.ELSE,
        Kind.END,
        Kind.IF,
        Kind.RANGE,
        Kind.TEMPLATE,
        Kind.WITH,
    )
}
KEYWORDS["nil"] = Kind.NIL


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    pos: int  # offset of the item in the text
    val: str

    def describe(self) -> str:
        """The item as Go's error messages show it."""
        if self.kind is Kind.EOF:
            return "EOF"
        if self.kind.value in KEYWORDS or self.kind is Kind.NIL:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return _go_quote(self.val[:10]) + "..."
        return _go_quote(self.val)


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset `pos` in `text`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


_LEFT: Final = "{{"
_RIGHT: Final = "}}"
_SPACE: Final = " \t\r\n"
_TERMINATORS: Final = frozenset(" \t\r\n.,|:)(")


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdigit()


class _Lexer:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.pos = 0
        self.items: list[Item] = []
        self.paren_depth = 0

    def fail(self, pos: int, reason: str) -> TemplateSyntaxError:
        line, col = line_col(self.text, pos)
        return TemplateSyntaxError(self.name, line, col, reason)

    def emit(self, kind: Kind, start: int, end: int) -> None:
        self.items.append(Item(kind, start, self.text[start:end]))

    def run(self) -> list[Item]:
        text = self.text
        n = len(text)
        while True:
            x = text.find(_LEFT, self.pos)
            if x < 0:
                if self.pos < n:
                    self.emit(Kind.TEXT, self.pos, n)
                self.items.append(Item(Kind.EOF, n, ""))
                return self.items
            end = x
            after = x + len(_LEFT)
            trim = _has_left_trim(text, after)
            if trim:
                while end > self.pos and text[end - 1] in _SPACE:
                    end -= 1
            if end > self.pos:
                self.emit(Kind.TEXT, self.pos, end)
            self.pos = after + (2 if trim else 0)
            if text.startswith("/*", self.pos):
                self.lex_comment(x)
            else:
                self.items.append(Item(Kind.LEFT_DELIM, x, _LEFT))
                self.paren_depth = 0
                self.lex_action(x)

    def at_right_delim(self, pos: int) -> tuple[bool, bool]:
        """(at a right delimiter, with a trim marker)."""
        text = self.text
        if _has_right_trim(text, pos) and text.startswith(_RIGHT, pos + 2):
            return True, True
        return text.startswith(_RIGHT, pos), False

    def skip_right_delim(self, trim: bool) -> None:
        self.pos += (2 if trim else 0) + len(_RIGHT)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1

    def lex_comment(self, start: int) -> None:
        close = self.text.find("*/", self.pos + 2)
        if close < 0:
            raise self.fail(start, "unclosed comment")
        self.pos = close + 2
        delim, trim = self.at_right_delim(self.pos)
        if not delim:
            raise self.fail(start, "comment ends before closing delimiter")
        self.skip_right_delim(trim)

    def lex_action(self, start: int) -> None:
        text = self.text
        n = len(text)
        while True:
            delim, trim = self.at_right_delim(self.pos)
            if delim:
                if self.paren_depth:
                    raise self.fail(self.pos, "unclosed left paren")
                self.items.append(Item(Kind.RIGHT_DELIM, self.pos, _RIGHT))
                self.skip_right_delim(trim)
                return
            if self.pos >= n:
                raise self.fail(start, "unclosed action")
            c = text[self.pos]
            p = self.pos
            if c in _SPACE:
                self.lex_space()
            elif c == "=":
                self.pos += 1
                self.emit(Kind.ASSIGN, p, self.pos)
            elif c == ":":
                if not text.startswith(":=", p):
                    raise self.fail(p, "expected :=")
                self.pos += 2
                self.emit(Kind.DECLARE, p, self.pos)
            elif c == "|":
                self.pos += 1
                self.emit(Kind.PIPE, p, self.pos)
            elif c == '"':
                self.lex_quote()
            elif c == "`":
                self.lex_raw_quote()
            elif c == "$":
                self.pos += 1
                self.lex_field_or_variable(Kind.VARIABLE, p)
            elif c == "'":
                self.lex_char()
            elif c == "." and not (p + 1 < n and text[p + 1].isdigit() and text[p + 1].isascii()):
                self.pos += 1
                self.lex_field_or_variable(Kind.FIELD, p)
            elif c in "+-." or ("0" <= c <= "9"):
                self.lex_number()
            elif _is_alnum(c):
                self.lex_identifier()
            elif c == "(":
                self.pos += 1
                self.emit(Kind.LEFT_PAREN, p, self.pos)
                self.paren_depth += 1
            elif c == ")":
                self.pos += 1
                self.emit(Kind.RIGHT_PAREN, p, self.pos)
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    raise self.fail(p, "unexpected right paren U+0029 ')'")
            elif c.isascii() and c.isprintable():
                self.pos += 1
                self.emit(Kind.CHAR, p, self.pos)
            else:
                raise self.fail(p, f"unrecognized character in action: {_rune(c)}")

    def lex_space(self) -> None:
        text, start = self.text, self.pos
        while self.pos < len(text) and text[self.pos] in _SPACE:
            self.pos += 1
        # A space before "-}}" belongs to the trim marker, not to the arguments.
        last = self.pos - 1
        if _has_right_trim(text, last) and text.startswith(_RIGHT, last + 2):
            self.pos = last
            if self.pos == start:
                return
        self.emit(Kind.SPACE, start, self.pos)

    def at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        c = self.text[self.pos]
        if c in _TERMINATORS:
            return True
        return self.at_right_delim(self.pos)[0]

    def lex_field_or_variable(self, kind: Kind, start: int) -> None:
        if self.at_terminator():
            self.emit(Kind.VARIABLE if kind is Kind.VARIABLE else Kind.DOT, start, self.pos)
            return
        text = self.text
        while self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            raise self.fail(self.pos, f"bad character {_rune(text[self.pos])}")
        self.emit(kind, start, self.pos)

    def lex_identifier(self) -> None:
        text, start = self.text, self.pos
        while self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            raise self.fail(self.pos, f"bad character {_rune(text[self.pos])}")
        word = text[start : self.pos]
        if word in KEYWORDS:
            self.emit(KEYWORDS[word], start, self.pos)
        elif word in ("true", "false"):
            self.emit(Kind.BOOL, start, self.pos)
        else:
            self.emit(Kind.IDENTIFIER, start, self.pos)

    def lex_quote(self) -> None:
        text, start = self.text, self.pos
        i = start + 1
        while True:
            if i >= len(text) or text[i] == "\n":
                raise self.fail(start, "unterminated quoted string")
            c = text[i]
            if c == "\\":
                i += 1
                if i >= len(text) or text[i] == "\n":
                    raise self.fail(start, "unterminated quoted string")
            elif c == '"':
                break
            i += 1
        self.pos = i + 1
        self.emit(Kind.STRING, start, self.pos)

    def lex_raw_quote(self) -> None:
        start = self.pos
        end = self.text.find("`", start + 1)
        if end < 0:
            raise self.fail(start, "unterminated raw quoted string")
        self.pos = end + 1
        self.emit(Kind.RAW_STRING, start, self.pos)

    def lex_char(self) -> None:
        text, start = self.text, self.pos
        i = start + 1
        while True:
            if i >= len(text) or text[i] == "\n":
                raise self.fail(start, "unterminated character constant")
            c = text[i]
            if c == "\\":
                i += 1
                if i >= len(text) or text[i] == "\n":
                    raise self.fail(start, "unterminated character constant")
            elif c == "'":
                break
            i += 1
        self.pos = i + 1
        self.emit(Kind.CHAR_CONSTANT, start, self.pos)

    def lex_number(self) -> None:
        text, start = self.text, self.pos
        n = len(text)

        def accept(chars: str) -> bool:
            if self.pos < n and text[self.pos] in chars:
                self.pos += 1
                return True
            return False

        def accept_run(chars: str) -> None:
            while self.pos < n and text[self.pos] in chars:
                self.pos += 1

        accept("+-")
        digits = "0123456789_"
        if accept("0"):
            if accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif accept("oO"):
                digits = "01234567_"
            elif accept("bB"):
                digits = "01_"
        accept_run(digits)
        if accept("."):
            accept_run(digits)
        if len(digits) == 11 and accept("eE"):
            accept("+-")
            accept_run("0123456789_")
        if len(digits) == 23 and accept("pP"):
            accept("+-")
            accept_run("0123456789_")
        accept("i")
        if self.pos < n and _is_alnum(text[self.pos]):
            self.pos += 1
            raise self.fail(start, f"bad number syntax: {_go_quote(text[start : self.pos])}")
        if self.pos < n and text[self.pos] in "+-":
            raise self.fail(start, "complex numbers are not supported by Tocsin")
        self.emit(Kind.NUMBER, start, self.pos)


def _has_left_trim(text: str, pos: int) -> bool:
    return len(text) >= pos + 2 and text[pos] == "-" and text[pos + 1] in _SPACE


def _has_right_trim(text: str, pos: int) -> bool:
    return len(text) >= pos + 2 and text[pos] in _SPACE and text[pos + 1] == "-"


def _rune(c: str) -> str:
    return f"U+{ord(c):04X} {c!r}"


def lex(name: str, text: str) -> list[Item]:
    """All items of `text`, ending with EOF. Raises `TemplateSyntaxError`."""
    return _Lexer(name, text).run()
