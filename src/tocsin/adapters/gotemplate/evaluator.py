"""The evaluator: parse trees compiled to Python closures, executed with Go's semantics.

Theory of operation
-------------------
Walking the tree for every notification would pay, per node, for dispatch on its type. So
each tree is compiled once into nested closures: a list becomes a loop over its children's
closures, a text node a closure that writes a constant, an action a closure that evaluates a
pipeline and writes what Go would print. Rendering then costs one Python call per node.

Shapes:

* an emitter is `emit(write, state, dot, vars)`: `write` appends to the output, `dot` is `.`,
  `vars` the template's variable slots;
* a command is `cmd(state, dot, vars, final)`: `final` is the previous pipeline stage's value
  (or MISSING for the first), passed as the last argument, as Go does.

Variables are resolved while compiling: each declaration gets a slot in the template's frame
(slot 0 is `$`), each use the slot of the innermost visible declaration — the static version
of Go's runtime variable stack, equivalent because the parser already checked scopes. A
`{{template}}` call runs the callee with a fresh frame whose `$` is the call's argument.

Go's evaluation rules kept here: methods win over fields and map keys; a missing map key reads
as the element type's zero value (`missingkey=zero`, as Alertmanager sets it: "" for label
sets, no value for `dict` maps); a field of no value is no value; arguments are checked and
converted against Go parameter types (values.coerce; literals by Go's evalArg rules); `and`
and `or` short-circuit (Go 1.18+); `range` walks maps in sorted key order, binds `$i, $v`,
runs `{{else}}` for an empty or absent collection, honours `{{break}}`/`{{continue}}`.

Errors: helpers raise `_Fail(reason, node)`; the template's entry point turns it into a
`TemplateExecError` located at the node (line:column, and the node's text as Go's `at <…>`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter, methodcaller
from typing import Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.errors import TemplateExecError, TemplateNotDefined
from tocsin.adapters.gotemplate.gofmt import print_value, sprint
from tocsin.adapters.gotemplate.gotime import GoDuration, GoInt64
from tocsin.adapters.gotemplate.lexer import line_col
from tocsin.adapters.gotemplate.values import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    STRING,
    VALUE,
    GoFunc,
    GoStruct,
    TypeMismatch,
    coerce,
    truth,
    type_name,
)

__all__ = ["MAX_DEPTH", "Compiled", "State", "compile_tree"]

# Go integer types a number literal converts to, and the Python type that stands for each.
_INT_TYPES: Final[dict[str, type[int]]] = {
    INT: int,
    "int64": GoInt64,
    "time.Duration": GoDuration,
}

MAX_DEPTH: Final = 100  # nested {{template}} calls; Go allows more, Python's stack does not

Write = Callable[[str], None]
Emit = Callable[[Write, "State", Any, list[Any]], None]
Eval = Callable[["State", Any, list[Any]], Any]
Cmd = Callable[["State", Any, list[Any], Any], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class _Fail(Exception):
    """An execution error not yet located: `reason`, and the node it happened at."""

    def __init__(self, reason: str, node: n.Node | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    """One render: how to find templates by name, the call depth, and the render's time."""

    __slots__ = ("depth", "lookup", "now")

    def __init__(self, lookup: Callable[[str], Compiled | None], now: datetime) -> None:
        self.lookup = lookup
        self.depth = 0
        self.now = now


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
        except _Fail as fail:
            raise self.located(fail) from None

    def located(self, fail: _Fail) -> TemplateExecError:
        node = fail.node
        line = col = 0
        context = ""
        if node is not None:
            line, col = line_col(self.tree.source, node.pos)
            context = str(node)
        cls = TemplateNotDefined if isinstance(fail, _NotDefined) else TemplateExecError
        return cls(self.name, self.tree.parse_name, line, col, context, fail.reason)


# -- field access ---------------------------------------------------------------------------------
_METHOD, _FIELD, _MAP, _NONE = 0, 1, 2, 3
_RESOLVED: dict[tuple[type, str], tuple[int, Any]] = {}


def _resolve(cls: type, name: str) -> tuple[int, Any]:
    key = (cls, name)
    found = _RESOLVED.get(key)
    if found is None:
        methods = getattr(cls, "go_methods", None)
        if methods and name in methods:
            found = (_METHOD, methods[name])
        elif issubclass(cls, GoStruct) and name in cls.go_fields:
            found = (_FIELD, name)
        elif issubclass(cls, dict):
            found = (_MAP, getattr(cls, "go_zero", None))
        else:
            found = (_NONE, None)
        _RESOLVED[key] = found
    return found


_GETTERS: dict[tuple[type, str], Callable[[Any], Any]] = {}


def _getter(recv: Any, name: str, node: n.Node) -> Callable[[Any], Any]:
    """The function reading `.name` (no arguments) from values of `recv`'s type: a field, a
    map entry or a method without parameters. Raises `_Fail` when there is none."""
    cls = type(recv)
    getter = _GETTERS.get((cls, name))
    if getter is None:
        kind, payload = _resolve(cls, name)
        if kind == _FIELD:
            getter = attrgetter(name)
        elif kind == _MAP:
            getter = methodcaller("get", name, payload)
        elif kind == _METHOD:
            fn: GoFunc = payload
            if fn.params or fn.variadic:
                want = len(fn.params)
                raise _Fail(f"wrong number of args for {name}: want {want} got 0", node)
            getter = fn.fn
        else:
            raise _Fail(f"can't evaluate field {name} in type {type_name(recv)}", node)
        _GETTERS[(cls, name)] = getter
    return getter


def _get(recv: Any, name: str, node: n.Node) -> Any:
    """`recv.name` with no arguments (no value reads as no value)."""
    if recv is None:
        return None
    return _getter(recv, name, node)(recv)


def _step(name: str, node: n.Node) -> Callable[[Any], Any]:
    """`.name` as a function of the receiver, with a one-type inline cache: receivers at one
    place in a template are nearly always of one type."""
    cache: list[Any] = [None, None]

    def get(recv: Any) -> Any:
        if recv is None:
            return None
        if recv.__class__ is cache[0]:
            return cache[1](recv)
        getter = _getter(recv, name, node)
        cache[0], cache[1] = recv.__class__, getter
        return getter(recv)

    return get


def _is_dot_field(pipe: n.Pipe) -> bool:
    """Is the pipeline just `.Name`?"""
    if pipe.decl or len(pipe.cmds) != 1 or len(pipe.cmds[0].args) != 1:
        return False
    node = pipe.cmds[0].args[0]
    return isinstance(node, n.Field) and len(node.idents) == 1


def _emit_dot_field(name: str, node: n.Node) -> Emit:
    """`{{ .Name }}`: read and write in one closure (the inner loop of most templates)."""
    cache: list[Any] = [None, None]

    def emit_dot_field(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
        if dot.__class__ is cache[0]:
            v = cache[1](dot)
        elif dot is None:
            v = None
        else:
            getter = _getter(dot, name, node)
            cache[0], cache[1] = dot.__class__, getter
            v = getter(dot)
        w(v if v.__class__ is str else print_value(v))

    return emit_dot_field


def _dot_fields(idents: tuple[str, ...], node: n.Node) -> Eval:
    """`.A` or `.A.B` read from dot, the inline caches in the closure itself (the hot path of
    most templates: `{{ .Labels.severity }}`, `{{ .Name }}`)."""
    a = idents[0]
    ca: list[Any] = [None, None]
    if len(idents) == 1:

        def eval_a(st: State, dot: Any, frame: list[Any]) -> Any:
            if dot.__class__ is ca[0]:
                return ca[1](dot)
            if dot is None:
                return None
            getter = _getter(dot, a, node)
            ca[0], ca[1] = dot.__class__, getter
            return getter(dot)

        return eval_a
    b = idents[1]
    cb: list[Any] = [None, None]

    def eval_ab(st: State, dot: Any, frame: list[Any]) -> Any:
        if dot.__class__ is ca[0]:
            r = ca[1](dot)
        elif dot is None:
            return None
        else:
            getter = _getter(dot, a, node)
            ca[0], ca[1] = dot.__class__, getter
            r = getter(dot)
        if r.__class__ is cb[0]:
            return cb[1](r)
        if r is None:
            return None
        getter = _getter(r, b, node)
        cb[0], cb[1] = r.__class__, getter
        return getter(r)

    return eval_ab


def _coerce(value: Any, typ: str, node: n.Node) -> Any:
    try:
        return coerce(value, typ)
    except TypeMismatch as exc:
        raise _Fail(str(exc), node) from None


_CALL_ERRORS: Final = (
    ValueError,
    TypeMismatch,
    TypeError,
    OverflowError,
    ZeroDivisionError,
    IndexError,
    KeyError,
)


# -- the compiler ---------------------------------------------------------------------------------
class _Compiler:
    def __init__(self, tree: n.Tree, funcs: dict[str, GoFunc]) -> None:
        self.tree = tree
        self.funcs = funcs
        self.scope: list[tuple[str, int]] = [("$", 0)]
        self.nslots = 1
        self.loop_controls = 0  # break/continue compiled inside the current range body

    # -- variables --------------------------------------------------------------------------
    def declare(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.scope.append((name, slot))
        return slot

    def lookup(self, name: str) -> int | None:
        for var, slot in reversed(self.scope):
            if var == name:
                return slot
        return None

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
        raise _Fail(f"unknown node: {node}", node)

    def compile_action(self, node: n.Action) -> Emit:
        if _is_dot_field(node.pipe):
            field = node.pipe.cmds[0].args[0]
            assert isinstance(field, n.Field)
            return _emit_dot_field(field.idents[0], field)
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
                raise _Fail(f"range can't iterate over {sprint([val])}", node)
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
                    except _Continue:
                        continue
                    except _Break:
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
                raise _NotDefined(f'template "{name}" not defined', node)
            if st.depth >= MAX_DEPTH:
                raise _Fail(f"exceeded maximum template depth ({MAX_DEPTH})", node)
            arg = ev(st, dot, frame) if ev is not None else None
            st.depth += 1
            try:
                tmpl.run(w, st, arg)
            finally:
                st.depth -= 1

        return emit_template

    # -- pipelines and commands ---------------------------------------------------------------
    def field_chain_eval(self, pipe: n.Pipe) -> Eval | None:
        """For a pipeline that is only `.A.B…` or `$x.A…` (the commonest action), one closure
        that reads it; None for any other pipeline."""
        if pipe.decl or len(pipe.cmds) != 1 or len(pipe.cmds[0].args) != 1:
            return None
        node = pipe.cmds[0].args[0]
        if isinstance(node, n.Field):
            slot, idents = None, node.idents
        elif isinstance(node, n.Variable) and len(node.idents) > 1:
            slot, idents = self.lookup(node.idents[0]), node.idents[1:]
            if slot is None:
                return None
        else:
            return None
        if slot is None and len(idents) <= 2:
            return _dot_fields(idents, node)
        steps = [_step(i, node) for i in idents]

        def eval_chain(st: State, dot: Any, frame: list[Any]) -> Any:
            recv = dot if slot is None else frame[slot]
            for step in steps:
                recv = step(recv)
            return recv

        return eval_chain

    def compile_pipe(self, pipe: n.Pipe) -> Eval:
        fast = self.field_chain_eval(pipe)
        if fast is not None:
            return fast
        cmds = [self.compile_command(c, has_final=i > 0) for i, c in enumerate(pipe.cmds)]
        decl_slots: list[int | None] = []
        for var in pipe.decl:
            name = var.idents[0]
            decl_slots.append(self.lookup(name) if pipe.is_assign else self.declare(name))
        if not decl_slots and len(cmds) == 1:
            only = cmds[0]

            def eval_one(st: State, dot: Any, frame: list[Any]) -> Any:
                return only(st, dot, frame, MISSING)

            return eval_one
        first, rest = cmds[0], tuple(cmds[1:])

        def eval_pipe(st: State, dot: Any, frame: list[Any]) -> Any:
            v = first(st, dot, frame, MISSING)
            for c in rest:
                v = c(st, dot, frame, v)
            for slot in decl_slots:
                if slot is None:
                    raise _Fail(f"undefined variable: {pipe.decl[0].idents[0]}", pipe)
                frame[slot] = v
            return v

        return eval_pipe

    def compile_command(self, cmd: n.Command, has_final: bool) -> Cmd:
        first = cmd.args[0]
        args = cmd.args[1:]
        if isinstance(first, n.Field):
            return self.compile_field_chain(_dot_eval, first.idents, args, has_final, first)
        if isinstance(first, n.Variable):
            slot = self.lookup(first.idents[0])
            if slot is None:
                return _fail_cmd(f"undefined variable: {first.idents[0]}", first)
            var_eval = _var_eval(slot)
            if len(first.idents) == 1:
                return self.not_a_function(var_eval, args, has_final, first)
            return self.compile_field_chain(var_eval, first.idents[1:], args, has_final, first)
        if isinstance(first, n.Chain):
            if isinstance(first.node, n.Nil):
                return _fail_cmd(f"indirection through explicit nil in {first}", first)
            base = self.compile_arg(first.node, VALUE)
            return self.compile_field_chain(base, first.fields, args, has_final, first)
        if isinstance(first, n.Identifier):
            fn = self.funcs.get(first.name)
            if fn is None:
                return _fail_cmd(f'function "{first.name}" not defined', first)
            call = self.compile_call(fn, args, has_final, first)

            def cmd_call(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                return call(st, dot, frame, final, MISSING)

            return cmd_call
        if isinstance(first, n.Pipe):
            return self.not_a_function(self.compile_pipe(first), args, has_final, first)
        if isinstance(first, n.Nil):
            return _fail_cmd("nil is not a command", first)
        return self.not_a_function(self.compile_arg(first, ANY), args, has_final, first)

    def not_a_function(self, ev: Eval, args: list[n.Node], has_final: bool, node: n.Node) -> Cmd:
        if args or has_final:
            return _fail_cmd(f"can't give argument to non-function {node}", node)

        def cmd_value(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
            return ev(st, dot, frame)

        return cmd_value

    def compile_field_chain(
        self,
        base: Eval,
        idents: tuple[str, ...],
        args: list[n.Node],
        has_final: bool,
        node: n.Node,
    ) -> Cmd:
        lead, last = idents[:-1], idents[-1]
        if not args and not has_final:
            if len(idents) == 1:

                def cmd_field1(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                    return _get(base(st, dot, frame), last, node)

                return cmd_field1
            if len(idents) == 2:
                a = idents[0]

                def cmd_field2(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                    return _get(_get(base(st, dot, frame), a, node), last, node)

                return cmd_field2

            def cmd_fields(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                recv = base(st, dot, frame)
                for ident in idents:
                    recv = _get(recv, ident, node)
                return recv

            return cmd_fields

        callers: dict[int, Callable[..., Any]] = {}

        def cmd_field_args(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
            recv = base(st, dot, frame)
            for ident in lead:
                recv = _get(recv, ident, node)
            if recv is None:
                return None
            kind, payload = _resolve(type(recv), last)
            if kind == _METHOD:
                caller = callers.get(id(payload))
                if caller is None:
                    caller = callers[id(payload)] = self.compile_call(
                        payload, args, has_final, node
                    )
                return caller(st, dot, frame, final, recv)
            if kind == _FIELD:
                raise _Fail(f"{last} has arguments but cannot be invoked as function", node)
            if kind == _MAP:
                raise _Fail(f"{last} is not a method but has arguments", node)
            raise _Fail(f"can't evaluate field {last} in type {type_name(recv)}", node)

        return cmd_field_args

    def compile_call(
        self, fn: GoFunc, args: list[n.Node], has_final: bool, node: n.Node
    ) -> Callable[[State, Any, list[Any], Any, Any], Any]:
        """`fn` applied to `args` (+ the pipeline's final value): call(st, dot, frame, final,
        receiver), receiver MISSING for a plain function."""
        name = fn.name
        count = len(args) + (1 if has_final else 0)
        fixed = len(fn.params)
        if fn.variadic is None and count != fixed:
            return _fail_call(f"wrong number of args for {name}: want {fixed} got {count}", node)
        if fn.variadic is not None and count < fixed:
            return _fail_call(
                f"wrong number of args for {name}: want at least {fixed} got {len(args)}", node
            )
        types = list(fn.params) + [fn.variadic or ANY] * (count - fixed)
        evals = tuple(self.compile_arg(a, t) for a, t in zip(args, types, strict=False))
        final_type = types[-1] if has_final else VALUE
        if name in ("and", "or") and fn is self.funcs.get(name):
            return _and_or(evals, name == "or")
        call_fn = fn.fn
        uses_now = fn.uses_now

        def call(st: State, dot: Any, frame: list[Any], final: Any, recv: Any) -> Any:
            values = [e(st, dot, frame) for e in evals]
            if has_final:
                values.append(_coerce(final, final_type, node))
            if recv is not MISSING:
                values.insert(0, recv)
            if uses_now:
                values.insert(0, st.now)
            try:
                return call_fn(*values)
            except _Fail:
                raise
            except _CALL_ERRORS as exc:
                raise _Fail(f"error calling {name}: {exc}", node) from None

        return call

    def compile_arg(self, node: n.Node, typ: str) -> Eval:
        """`node` as an argument of Go type `typ`: evaluated, checked, converted."""
        if isinstance(node, n.Dot):
            if typ in (ANY, VALUE):
                return _dot_eval
            return lambda st, dot, frame: _coerce(dot, typ, node)
        if isinstance(node, n.Nil):
            if typ == VALUE or not (typ == ANY or typ.startswith(("[]", "map["))):
                return _fail_eval(f"cannot assign nil to {typ}", node)
            return _const(None)
        if isinstance(node, (n.Field, n.Variable, n.Chain, n.Identifier)):
            cmd = self.compile_command(n.Command(node.pos, [node]), has_final=False)
            if typ in (ANY, VALUE):
                return lambda st, dot, frame: cmd(st, dot, frame, MISSING)
            return lambda st, dot, frame: _coerce(cmd(st, dot, frame, MISSING), typ, node)
        if isinstance(node, n.Pipe):
            ev = self.compile_pipe(node)
            if typ in (ANY, VALUE):
                return ev
            return lambda st, dot, frame: _coerce(ev(st, dot, frame), typ, node)
        # literals
        if typ == BOOL:
            if isinstance(node, n.Bool):
                return _const(node.value)
            return _fail_eval(f"expected bool; found {node}", node)
        if typ in _INT_TYPES:
            if isinstance(node, n.Number) and float(node.value).is_integer():
                return _const(_INT_TYPES[typ](int(node.value)))
            return _fail_eval(f"expected integer; found {node}", node)
        if typ == FLOAT:
            if isinstance(node, n.Number):
                return _const(float(node.value))
            return _fail_eval(f"expected float; found {node}", node)
        if typ == STRING:
            if isinstance(node, n.String):
                return _const(node.value)
            return _fail_eval(f"expected string; found {node}", node)
        if typ in (ANY, VALUE):
            if isinstance(node, n.Bool):
                return _const(node.value)
            if isinstance(node, n.String):
                return _const(node.value)
            if isinstance(node, n.Number):
                return _const(float(node.value) if node.is_float else int(node.value))
        return _fail_eval(f"can't handle {node} for arg of type {typ}", node)


class _NotDefined(_Fail):
    pass


def _and_or(evals: tuple[Eval, ...], is_or: bool) -> Callable[..., Any]:
    def call(st: State, dot: Any, frame: list[Any], final: Any, recv: Any) -> Any:
        v: Any = None
        for e in evals:
            v = e(st, dot, frame)
            if truth(v) == is_or:
                return v
        if final is not MISSING:
            return final
        return v

    return call


def _text(text: str) -> Emit:
    def emit_text(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
        w(text)

    emit_text.text = text  # type: ignore[attr-defined]  # lets a list write it inline
    return emit_text


def _nothing(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    pass


def _raise_break(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    raise _Break


def _raise_continue(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
    raise _Continue


def _dot_eval(st: State, dot: Any, frame: list[Any]) -> Any:
    return dot


def _var_eval(slot: int) -> Eval:
    def eval_var(st: State, dot: Any, frame: list[Any]) -> Any:
        return frame[slot]

    return eval_var


def _const(value: Any) -> Eval:
    def eval_const(st: State, dot: Any, frame: list[Any]) -> Any:
        return value

    return eval_const


def _fail_eval(reason: str, node: n.Node) -> Eval:
    def eval_fail(st: State, dot: Any, frame: list[Any]) -> Any:
        raise _Fail(reason, node)

    return eval_fail


def _fail_cmd(reason: str, node: n.Node) -> Cmd:
    def cmd_fail(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
        raise _Fail(reason, node)

    return cmd_fail


def _fail_call(reason: str, node: n.Node) -> Callable[..., Any]:
    def call_fail(st: State, dot: Any, frame: list[Any], final: Any, recv: Any) -> Any:
        raise _Fail(reason, node)

    return call_fail


def compile_tree(tree: n.Tree, funcs: dict[str, GoFunc]) -> Compiled:
    """Compile one parse tree. Name lookups for `{{template}}` happen at render time."""
    compiler = _Compiler(tree, funcs)
    body = compiler.compile_list(tree.root) or _nothing
    return Compiled(tree, body, compiler.nslots)
