"""The parser: items → parse trees, following Go's text/template/parse (Go 1.19) rule by rule.

Theory of operation
-------------------
A text parses into a *tree set*: the text's own top-level tree, named as the caller says, and one
tree per `{{define}}` or `{{block}}` in it. Within one text, two non-empty definitions of a name
are an error (Go's `multiple definition of template`); an empty one never replaces another.

The grammar is Go's, recursive descent over the item list with the same look-ahead: a pipeline
may start with declarations (`$x :=`, `$x =`, and in `range` two of them, `$i, $v :=`), then
commands separated by `|`; a command is operands separated by spaces; an operand is a term
(function name, `.`, `nil`, `$var`, `.Field`, bool, number, string, `(pipeline)`) optionally
followed by `.Field`s. Checks Go makes while parsing are made here too: functions must exist,
variables must be declared (declarations are scoped to the enclosing control's `{{end}}`),
`{{break}}`/`{{continue}}` only inside `{{range}}`, a non-first pipeline stage must be
executable, `{{else if}}` only after `{{if}}`.

Parse errors say `template: NAME:LINE:COL: reason` (Go's message plus the column).
Raises `TemplateSyntaxError`; `UnsupportedConstruct` for complex numbers.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.errors import TemplateSyntaxError, UnsupportedConstruct
from tocsin.adapters.gotemplate.lexer import Item, Kind, lex, line_col

__all__ = ["go_unquote", "parse"]

_OPERAND_START: Final = frozenset(
    {
        Kind.BOOL,
        Kind.CHAR_CONSTANT,
        Kind.DOT,
        Kind.FIELD,
        Kind.IDENTIFIER,
        Kind.NUMBER,
        Kind.NIL,
        Kind.RAW_STRING,
        Kind.STRING,
        Kind.VARIABLE,
        Kind.LEFT_PAREN,
    }
)
_NOT_EXECUTABLE: Final = (n.Bool, n.Dot, n.Nil, n.Number, n.String)


class _End(n.Node):
    __slots__ = ()


class _Else(n.Node):
    __slots__ = ()


class _Parser:
    def __init__(self, name: str, text: str, funcs: Container[str], trees: dict[str, n.Tree]):
        self.parse_name = name
        self.text = text
        self.items = lex(name, text)
        self.i = 0
        self.funcs = funcs
        self.trees = trees
        self.vars: list[str] = ["$"]
        self.range_depth = 0

    # -- item access ----------------------------------------------------------------------
    def next(self) -> Item:
        item = self.items[self.i]
        if self.i < len(self.items) - 1:
            self.i += 1
        return item

    def backup(self, count: int = 1) -> None:
        self.i -= count

    def peek(self) -> Item:
        return self.items[self.i]

    def next_non_space(self) -> Item:
        item = self.next()
        while item.kind is Kind.SPACE:
            item = self.next()
        return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def fail(self, pos: int, reason: str) -> TemplateSyntaxError:
        line, col = line_col(self.text, pos)
        return TemplateSyntaxError(self.parse_name, line, col, reason)

    def unexpected(self, item: Item, context: str) -> TemplateSyntaxError:
        return self.fail(item.pos, f"unexpected {item.describe()} in {context}")

    def expect(self, kind: Kind, context: str) -> Item:
        item = self.next_non_space()
        if item.kind is not kind:
            raise self.unexpected(item, context)
        return item

    # -- tree set ---------------------------------------------------------------------------
    def add(self, name: str, root: n.ListNode, pos: int) -> None:
        tree = self.trees.get(name)
        if tree is None or n.is_empty_tree(tree.root):
            self.trees[name] = n.Tree(name, root, self.text, self.parse_name)
        elif not n.is_empty_tree(root):
            raise self.fail(pos, f"template: multiple definition of template {name!r}")

    def parse_top(self, name: str) -> None:
        root = n.ListNode(self.peek().pos)
        while self.peek().kind is not Kind.EOF:
            if self.peek().kind is Kind.LEFT_DELIM:
                mark = self.i
                delim = self.next()
                if self.next_non_space().kind is Kind.DEFINE:
                    self.parse_definition(delim)
                    continue
                self.i = mark
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                word = "end" if isinstance(node, _End) else "else"
                raise self.fail(node.pos, f"unexpected {{{{{word}}}}}")
            root.nodes.append(node)
        self.add(name, root, 0)

    def parse_definition(self, delim: Item) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(Kind.RIGHT_DELIM, context)
        saved_vars, self.vars = self.vars, ["$"]
        saved_depth, self.range_depth = self.range_depth, 0
        root, end = self.item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if not isinstance(end, _End):
            raise self.fail(end.pos, f"unexpected {{{{else}}}} in {context}")
        self.add(name, root, delim.pos)

    # -- lists ------------------------------------------------------------------------------
    def item_list(self) -> tuple[n.ListNode, n.Node]:
        lst = n.ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return lst, node
            lst.nodes.append(node)
        raise self.fail(len(self.text), "unexpected EOF")

    def text_or_action(self) -> n.Node:
        token = self.next_non_space()
        if token.kind is Kind.TEXT:
            return n.Text(token.pos, token.val)
        if token.kind is Kind.LEFT_DELIM:
            return self.action()
        raise self.unexpected(token, "input")

    def action(self) -> n.Node:
        token = self.next_non_space()
        kind = token.kind
        if kind is Kind.BLOCK:
            return self.block_control(token)
        if kind is Kind.BREAK or kind is Kind.CONTINUE:
            return self.loop_control(token)
        if kind is Kind.ELSE:
            return self.else_control(token)
        if kind is Kind.END:
            self.expect(Kind.RIGHT_DELIM, "end")
            return _End(token.pos)
        if kind is Kind.IF:
            return self.if_control(token)
        if kind is Kind.RANGE:
            return self.range_control(token)
        if kind is Kind.TEMPLATE:
            return self.template_control(token)
        if kind is Kind.WITH:
            return self.with_control(token)
        if kind is Kind.DEFINE:
            raise self.fail(token.pos, "unexpected <define> in command")
        self.backup()
        pos = self.peek().pos
        return n.Action(pos, self.pipeline("command", Kind.RIGHT_DELIM))

    def loop_control(self, token: Item) -> n.Node:
        word = token.val
        item = self.next_non_space()
        if item.kind is not Kind.RIGHT_DELIM:
            raise self.unexpected(item, f"{{{{{word}}}}}")
        if not self.range_depth:
            raise self.fail(token.pos, f"{{{{{word}}}}} outside {{{{range}}}}")
        return n.Break(token.pos) if token.kind is Kind.BREAK else n.Continue(token.pos)

    def else_control(self, token: Item) -> n.Node:
        if self.peek_non_space().kind is Kind.IF:
            # "{{else if ...": leave the "if" pending for the enclosing if_control.
            return _Else(token.pos)
        self.expect(Kind.RIGHT_DELIM, "else")
        return _Else(token.pos)

    # -- control structures -----------------------------------------------------------------
    def parse_control(
        self, allow_else_if: bool, context: str
    ) -> tuple[n.Pipe, n.ListNode, n.ListNode | None]:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, Kind.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_body = None
            if isinstance(nxt, _Else):
                if allow_else_if and self.peek_non_space().kind is Kind.IF:
                    if_token = self.next_non_space()
                    else_body = n.ListNode(nxt.pos, [self.if_control(if_token)])
                else:
                    else_body, nxt = self.item_list()
                    if not isinstance(nxt, _End):
                        raise self.fail(nxt.pos, "expected end; found {{else}}")
            return pipe, body, else_body
        finally:
            del self.vars[mark:]

    def if_control(self, token: Item) -> n.Node:
        pipe, body, else_body = self.parse_control(True, "if")
        return n.If(token.pos, pipe, body, else_body)

    def range_control(self, token: Item) -> n.Node:
        pipe, body, else_body = self.parse_control(False, "range")
        return n.Range(token.pos, pipe, body, else_body)

    def with_control(self, token: Item) -> n.Node:
        pipe, body, else_body = self.parse_control(False, "with")
        return n.With(token.pos, pipe, body, else_body)

    def template_control(self, token: Item) -> n.Node:
        context = "template clause"
        name_token = self.next_non_space()
        if name_token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(name_token, context)
        name = self.unquote(name_token)
        pipe = None
        if self.next_non_space().kind is not Kind.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, Kind.RIGHT_DELIM)
        return n.TemplateCall(token.pos, name, pipe)

    def block_control(self, token: Item) -> n.Node:
        context = "block clause"
        name_token = self.next_non_space()
        if name_token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(name_token, context)
        name = self.unquote(name_token)
        pipe = self.pipeline(context, Kind.RIGHT_DELIM)
        saved_vars, saved_depth = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        root, end = self.item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if not isinstance(end, _End):
            raise self.fail(end.pos, f"unexpected {{{{else}}}} in {context}")
        self.add(name, root, token.pos)
        return n.TemplateCall(token.pos, name, pipe)

    # -- pipelines --------------------------------------------------------------------------
    def pipeline(self, context: str, end: Kind) -> n.Pipe:
        pipe = n.Pipe(self.peek_non_space().pos)
        while (v := self.peek_non_space()).kind is Kind.VARIABLE:
            start = self.i
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in (Kind.ASSIGN, Kind.DECLARE):
                pipe.is_assign = nxt.kind is Kind.ASSIGN
                self.next_non_space()
                pipe.decl.append(n.Variable(v.pos, (v.val,)))
                self.vars.append(v.val)
                break
            if nxt.kind is Kind.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(n.Variable(v.pos, (v.val,)))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (
                        Kind.VARIABLE,
                        Kind.RIGHT_DELIM,
                        Kind.RIGHT_PAREN,
                    ):
                        continue  # the second variable of a range
                    raise self.fail(nxt.pos, "range can only initialize variables")
                raise self.fail(nxt.pos, f"too many declarations in {context}")
            # Not a declaration: "$x" is the first argument. Rewind.
            self.i = start
            break
        while True:
            token = self.next_non_space()
            if token.kind is end:
                self.check_pipeline(pipe, context, token)
                return pipe
            if token.kind in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def check_pipeline(self, pipe: n.Pipe, context: str, token: Item) -> None:
        if not pipe.cmds:
            raise self.fail(token.pos, f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], _NOT_EXECUTABLE):
                raise self.fail(cmd.pos, f"non executable command in pipeline stage {i + 2}")

    def command(self) -> n.Command:
        cmd = n.Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind is Kind.SPACE:
                continue
            if token.kind in (Kind.RIGHT_DELIM, Kind.RIGHT_PAREN):
                self.backup()
            elif token.kind is not Kind.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.fail(cmd.pos, "empty command")
        return cmd

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind is Kind.FIELD:
            pos = self.peek().pos
            fields: list[str] = []
            while self.peek().kind is Kind.FIELD:
                fields.append(self.next().val[1:])
            if isinstance(node, n.Field):
                return n.Field(node.pos, node.idents + tuple(fields))
            if isinstance(node, n.Variable):
                return n.Variable(node.pos, node.idents + tuple(fields))
            if isinstance(node, _NOT_EXECUTABLE):
                raise self.fail(pos, f"unexpected . after term {str(node)!r}")
            return n.Chain(node.pos, node, tuple(fields))
        return node

    def term(self) -> n.Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind is Kind.IDENTIFIER:
            if token.val not in self.funcs:
                raise self.fail(token.pos, f'function "{token.val}" not defined')
            return n.Identifier(token.pos, token.val)
        if kind is Kind.DOT:
            return n.Dot(token.pos)
        if kind is Kind.NIL:
            return n.Nil(token.pos)
        if kind is Kind.VARIABLE:
            if token.val not in self.vars:
                raise self.fail(token.pos, f'undefined variable "{token.val}"')
            return n.Variable(token.pos, (token.val,))
        if kind is Kind.FIELD:
            return n.Field(token.pos, (token.val[1:],))
        if kind is Kind.BOOL:
            return n.Bool(token.pos, token.val == "true")
        if kind is Kind.NUMBER or kind is Kind.CHAR_CONSTANT:
            return self.number(token)
        if kind is Kind.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", Kind.RIGHT_PAREN)
        if kind is Kind.STRING or kind is Kind.RAW_STRING:
            return n.String(token.pos, token.val, self.unquote(token))
        self.backup()
        return None

    # -- literals -----------------------------------------------------------------------------
    def unquote(self, token: Item) -> str:
        try:
            return go_unquote(token.val)
        except ValueError as exc:
            raise self.fail(token.pos, str(exc)) from None

    def number(self, token: Item) -> n.Number:
        text = token.val
        if token.kind is Kind.CHAR_CONSTANT:
            char = self.unquote(token)
            if len(char) != 1:
                raise self.fail(token.pos, f"malformed character constant: {text}")
            return n.Number(token.pos, text, ord(char), False)
        if text.endswith("i"):
            raise UnsupportedConstruct(
                self.parse_name, *line_col(self.text, token.pos), "complex numbers"
            )
        value_int = _parse_int(text)
        if value_int is not None:
            return n.Number(token.pos, text, value_int, False)
        try:
            body = text.lstrip("+-")
            sign = -1.0 if text.startswith("-") else 1.0
            if body[:2] in ("0x", "0X"):
                value = sign * float.fromhex(body.replace("_", ""))
            else:
                value = sign * float(body.replace("_", ""))
        except ValueError:
            raise self.fail(token.pos, f'illegal number syntax: "{text}"') from None
        return n.Number(token.pos, text, value, True)


_OCTAL_RE: Final = re.compile(r"[+-]?0[0-7_]+\Z")
_INT_RE: Final = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)\Z")


def _parse_int(text: str) -> int | None:
    if not _INT_RE.match(text):
        return None
    try:
        if _OCTAL_RE.match(text):
            return int(text.replace("_", ""), 8)
        return int(text, 0)
    except ValueError:
        return None


_SIMPLE_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def go_unquote(quoted: str) -> str:
    """Go's strconv.Unquote for "…", `…` and '…' literals. Raises ValueError."""
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in "\"`'":
        raise ValueError("invalid syntax")
    quote, body = quoted[0], quoted[1:-1]
    if quote == "`":
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            if c == quote:
                raise ValueError("invalid syntax")
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise ValueError("invalid syntax")
        e = body[i]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 1
        elif e == quote:
            out.append(e)
            i += 1
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 1 : i + 1 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            code = int(digits, 16)
            if e == "x" and quote == '"':
                # A byte: Go strings are bytes; keep it as the code point it reads as.
                out.append(chr(code))
            elif code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ValueError("invalid syntax")
            else:
                out.append(chr(code))
            i += 1 + width
        elif e in "01234567":
            digits = body[i : i + 3]
            if len(digits) != 3 or not all(d in "01234567" for d in digits):
                raise ValueError("invalid syntax")
            code = int(digits, 8)
            if code > 255:
                raise ValueError("invalid syntax")
            out.append(chr(code))
            i += 3
        else:
            raise ValueError("invalid syntax")
    return "".join(out)


def parse(
    name: str, text: str, funcs: Container[str], into: dict[str, n.Tree] | None = None
) -> dict[str, n.Tree]:
    """Parse `text` as template `name`; return the tree set (its own tree and its definitions).

    With `into`, trees are added to that set under Go's rules for one parse. Raises
    `TemplateSyntaxError`.
    """
    trees: dict[str, n.Tree] = {} if into is None else into
    parser = _Parser(name, text, funcs, trees)
    parser.parse_top(name)
    return trees
