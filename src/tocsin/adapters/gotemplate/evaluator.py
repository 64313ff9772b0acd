"""The evaluator: parse trees compiled to Python closures, executed with Go's semantics.

Theory of operation
-------------------
Walking the tree for every notification would pay, per node, for dispatch on its type. So
each tree is compiled once into nested closures (shapes in execstate.py): a list becomes a
loop over its children — text is written inline, without a call —, an action a closure that
evaluates its pipeline (expressions.py) and writes what Go would print (`<no value>` for no
value), `{{ .Name }}` a single closure (access.py). Rendering then costs about one Python call
per node.

Statements keep Go's rules: `if`/`with` test Go's truth (a struct, even the zero time, is
true); `with` rebinds dot; `range` walks lists in order and maps in sorted key order, binds
`$i, $v`, runs `{{else}}` for an empty or absent collection, honours `{{break}}` and
`{{continue}}` (raised only where a body has them); a `{{template}}` call looks its name up
when it runs (a later definition wins) and runs the callee with a fresh frame whose `$` is the
call's argument, at most MAX_DEPTH deep.

Errors: closures raise `Fail(reason, node)`; the compiled template's `run` turns it into a
`TemplateExecError` located at the node (line:column, and the node's text as Go's `at <…>`);
an error in a called template is reported by that template, as Go does.
"""

from __future__ import annotations

from typing import Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.access import emit_dot_field, is_dot_field
from tocsin.adapters.gotemplate.errors import TemplateExecError, TemplateNotDefined
from tocsin.adapters.gotemplate.execstate import (
    Break,
    Continue,
    Emit,
    Fail,
    NotDefined,
    State,
    Write,
)
from tocsin.adapters.gotemplate.expressions import ExpressionCompiler
from tocsin.adapters.gotemplate.gofmt import print_value, sprint
from tocsin.adapters.gotemplate.lexer import line_col
from tocsin.adapters.gotemplate.values import GoFunc, truth

__all__ = ["MAX_DEPTH", "Compiled", "State", "compile_tree"]

MAX_DEPTH: Final = 100  # nested {{template}} calls; Go allows more, Python's stack does not


class Compiled:
    """A compiled template: `run(write, state, dot)` writes it."""

    __slots__ = ("body", "name", "nslots", "tree")

    def __init__(self, tree: n.Tree, body: Emit, nslots: int) -> None:
        self.name = tree.name
        self.tree = tree
        self.body = body
        self.nslots = nslots

    def run(self, write: Write, st: State, dot: Any) -> None:
        """Raises `TemplateExecError`."""
        frame: list[Any] = [None] * self.nslots
        frame[0] = dot
        try:
            self.body(write, st, dot, frame)
        except Fail as fail:
            raise self.located(fail) from None

    def located(self, fail: Fail) -> TemplateExecError:
        node = fail.node
        line = col = 0
        context = ""
        if node is not None:
            line, col = line_col(self.tree.source, node.pos)
            context = str(node)
        cls = TemplateNotDefined if isinstance(fail, NotDefined) else TemplateExecError
        return cls(self.name, self.tree.parse_name, line, col, context, fail.reason)


class _Compiler(ExpressionCompiler):
    """Compiles a template's statements (lists, actions, if/with/range, template calls)."""

    def __init__(self, tree: n.Tree, funcs: dict[str, GoFunc]) -> None:
        super().__init__(funcs)
        self.tree = tree
        self.loop_controls = 0  # break/continue compiled inside the current range body

    # -- lists and control structures ---------------------------------------------------------
    def compile_list(self, lst: n.ListNode | None) -> Emit | None:
        if lst is None:
            return None
        emits: list[Emit] = []
        texts: list[str] = []
        for node in lst.nodes:
            if isinstance(node, n.Text):
                texts.append(node.text)
                continue
            if texts:
                emits.append(_text("".join(texts)))
                texts = []
            emits.append(self.compile_node(node))
        if texts:
            emits.append(_text("".join(texts)))
        if not emits:
            return _nothing
        if len(emits) == 1:
            return emits[0]
        # Text is kept as the string itself: writing it costs no call.
        seq = tuple(getattr(e, "text", e) for e in emits)

        def emit_list(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
            for e in seq:
                if e.__class__ is str:
                    w(e)
                else:
                    e(w, st, dot, frame)

        return emit_list

    def compile_node(self, node: n.Node) -> Emit:
        if isinstance(node, n.Action):
            return self.compile_action(node)
        if isinstance(node, n.If):
            return self.compile_if_with(node, is_with=False)
        if isinstance(node, n.With):
            return self.compile_if_with(node, is_with=True)
        if isinstance(node, n.Range):
            return self.compile_range(node)
        if isinstance(node, n.TemplateCall):
            return self.compile_template_call(node)
        if isinstance(node, n.Break):
            self.loop_controls += 1
            return _raise_break
        if isinstance(node, n.Continue):
            self.loop_controls += 1
            return _raise_continue
        if isinstance(node, n.ListNode):
            return self.compile_list(node) or _nothing
        if isinstance(node, n.Text):
            return _text(node.text)
        raise Fail(f"unknown node: {node}", node)

    def compile_action(self, node: n.Action) -> Emit:
        if is_dot_field(node.pipe):
            field = node.pipe.cmds[0].args[0]
            assert isinstance(field, n.Field)
            return emit_dot_field(field.idents[0], field)
        fast = self.field_chain_eval(node.pipe)
        if fast is not None:

            def emit_field(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
                v = fast(st, dot, frame)
                w(v if v.__class__ is str else print_value(v))

            return emit_field
        ev = self.compile_pipe(node.pipe)
        if node.pipe.decl:

            def emit_decl(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
                ev(st, dot, frame)

            return emit_decl

        def emit_action(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
            v = ev(st, dot, frame)
            w(v if type(v) is str else print_value(v))

        return emit_action

    def compile_if_with(self, node: n.If | n.With, is_with: bool) -> Emit:
        mark = len(self.scope)
        ev = self.compile_pipe(node.pipe)
        body = self.compile_list(node.body) or _nothing
        else_body = self.compile_list(node.else_body)
        del self.scope[mark:]

        if is_with:

            def emit_with(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
                v = ev(st, dot, frame)
                if truth(v):
                    body(w, st, v, frame)
                elif else_body is not None:
                    else_body(w, st, dot, frame)

            return emit_with

        def emit_if(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
            v = ev(st, dot, frame)
            if (v != "") if v.__class__ is str else truth(v):
                body(w, st, dot, frame)
            elif else_body is not None:
                else_body(w, st, dot, frame)

        return emit_if

    def compile_range(self, node: n.Range) -> Emit:
        mark = len(self.scope)
        ev = self.compile_pipe(node.pipe)
        slots = [self.lookup(v.idents[0]) for v in node.pipe.decl]
        saved_controls, self.loop_controls = self.loop_controls, 0
        body = self.compile_list(node.body) or _nothing
        has_controls = self.loop_controls > 0
        self.loop_controls = saved_controls
        else_body = self.compile_list(node.else_body)
        del self.scope[mark:]
        index_slot = slots[0] if len(slots) == 2 else None
        elem_slot = slots[-1] if slots else None

        def emit_range(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
            val = ev(st, dot, frame)
            if isinstance(val, dict):
                items: Any = [(k, val[k]) for k in sorted(val)]
            elif isinstance(val, (list, tuple)):
                items = enumerate(val) if (index_slot is not None or has_controls) else None
            elif val is None:
                items = ()
            else:
                raise Fail(f"range can't iterate over {sprint([val])}", node)
            if not val:
                if else_body is not None:
                    else_body(w, st, dot, frame)
                return
            if items is None:  # the common case: a list, no index variable, no break/continue
                if elem_slot is None:
                    for elem in val:
                        body(w, st, elem, frame)
                else:
                    for elem in val:
                        frame[elem_slot] = elem
                        body(w, st, elem, frame)
                return
            for index, elem in items:
                if elem_slot is not None:
                    frame[elem_slot] = elem
                if index_slot is not None:
                    frame[index_slot] = index
                if has_controls:
                    try:
                        body(w, st, elem, frame)
                    except Continue:
                        continue
                    except Break:
                        break
                else:
                    body(w, st, elem, frame)

        return emit_range

    def compile_template_call(self, node: n.TemplateCall) -> Emit:
        name = node.name
        ev = self.compile_pipe(node.pipe) if node.pipe is not None else None

        def emit_template(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
            tmpl = st.lookup(name)
            if tmpl is None:
                raise NotDefined(f'template "{name}" not defined', node)
            if st.depth >= MAX_DEPTH:
                raise Fail(f"exceeded maximum template depth ({MAX_DEPTH})", node)
            arg = ev(st, dot, frame) if ev is not None else None
            st.depth += 1
            try:
                tmpl.run(w, st, arg)
            finally:
                st.depth -= 1

        return emit_template


def _text(text: str) -> Emit:
    def emit_text(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
        w(text)

    emit_text.text = text  # type: ignore[attr-defined]  # lets a list write it inline
    return emit_text


def _nothing(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    pass


def _raise_break(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    raise Break


def _raise_continue(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    raise Continue


def compile_tree(tree: n.Tree, funcs: dict[str, GoFunc]) -> Compiled:
    """Compile one parse tree. Name lookups for `{{template}}` happen at render time."""
    compiler = _Compiler(tree, funcs)
    body = compiler.compile_list(tree.root) or _nothing
    return Compiled(tree, body, compiler.nslots)
