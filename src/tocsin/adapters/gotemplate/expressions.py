"""Compiling expressions: pipelines, commands, field chains, function calls and arguments.

Theory of operation
-------------------
A pipeline compiles to one evaluator; each command to a closure taking the previous stage's
value as `final`, Go's last argument. Calls check and convert arguments against the function's
Go parameter types: values through `values.coerce` (Go's validateType), literals by Go's
evalArg rules (a number literal fits an int, an int64 or a time.Duration parameter; `nil` only
an interface, slice or map). The wrong number of arguments is an execution error, raised only
if the call runs — as in Go. `and` and `or` evaluate their arguments lazily (Go 1.18+).

Variables are resolved here too: each declaration gets a slot in the template's frame (slot 0
is `$`), each use the slot of the innermost visible declaration — the static version of Go's
runtime variable stack, equivalent because the parser already checked scopes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.access import (
    CALL_ERRORS,
    FIELD,
    MAP,
    METHOD,
    coerce_arg,
    dot_fields,
    field_step,
    get_field,
    resolve,
)
from tocsin.adapters.gotemplate.execstate import MISSING, Cmd, Eval, Fail, State
from tocsin.adapters.gotemplate.gotime import GoDuration, GoInt64
from tocsin.adapters.gotemplate.values import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    STRING,
    VALUE,
    GoFunc,
    truth,
    type_name,
)

__all__ = ["ExpressionCompiler"]

# Go integer types a number literal converts to, and the Python type that stands for each.
INT_TYPES: Final[dict[str, type[int]]] = {
    INT: int,
    "int64": GoInt64,
    "time.Duration": GoDuration,
}


class ExpressionCompiler:
    """Compiles pipelines and their parts; keeps the template's variable scopes."""

    def __init__(self, funcs: dict[str, GoFunc]) -> None:
        self.funcs = funcs
        self.scope: list[tuple[str, int]] = [("$", 0)]
        self.nslots = 1

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
            return dot_fields(idents, node)
        steps = [field_step(i, node) for i in idents]

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
                    raise Fail(f"undefined variable: {pipe.decl[0].idents[0]}", pipe)
                frame[slot] = v
            return v

        return eval_pipe

    def compile_command(self, cmd: n.Command, has_final: bool) -> Cmd:
        first = cmd.args[0]
        args = cmd.args[1:]
        if isinstance(first, n.Field):
            return self.compile_field_chain(dot_eval, first.idents, args, has_final, first)
        if isinstance(first, n.Variable):
            slot = self.lookup(first.idents[0])
            if slot is None:
                return fail_cmd(f"undefined variable: {first.idents[0]}", first)
            var_eval = slot_eval(slot)
            if len(first.idents) == 1:
                return self.not_a_function(var_eval, args, has_final, first)
            return self.compile_field_chain(var_eval, first.idents[1:], args, has_final, first)
        if isinstance(first, n.Chain):
            if isinstance(first.node, n.Nil):
                return fail_cmd(f"indirection through explicit nil in {first}", first)
            base = self.compile_arg(first.node, VALUE)
            return self.compile_field_chain(base, first.fields, args, has_final, first)
        if isinstance(first, n.Identifier):
            fn = self.funcs.get(first.name)
            if fn is None:
                return fail_cmd(f'function "{first.name}" not defined', first)
            call = self.compile_call(fn, args, has_final, first)

            def cmd_call(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                return call(st, dot, frame, final, MISSING)

            return cmd_call
        if isinstance(first, n.Pipe):
            return self.not_a_function(self.compile_pipe(first), args, has_final, first)
        if isinstance(first, n.Nil):
            return fail_cmd("nil is not a command", first)
        return self.not_a_function(self.compile_arg(first, ANY), args, has_final, first)

    def not_a_function(self, ev: Eval, args: list[n.Node], has_final: bool, node: n.Node) -> Cmd:
        if args or has_final:
            return fail_cmd(f"can't give argument to non-function {node}", node)

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
                    return get_field(base(st, dot, frame), last, node)

                return cmd_field1
            if len(idents) == 2:
                a = idents[0]

                def cmd_field2(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                    return get_field(get_field(base(st, dot, frame), a, node), last, node)

                return cmd_field2

            def cmd_fields(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
                recv = base(st, dot, frame)
                for ident in idents:
                    recv = get_field(recv, ident, node)
                return recv

            return cmd_fields

        callers: dict[int, Callable[..., Any]] = {}

        def cmd_field_args(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
            recv = base(st, dot, frame)
            for ident in lead:
                recv = get_field(recv, ident, node)
            if recv is None:
                return None
            kind, payload = resolve(type(recv), last)
            if kind == METHOD:
                caller = callers.get(id(payload))
                if caller is None:
                    caller = callers[id(payload)] = self.compile_call(
                        payload, args, has_final, node
                    )
                return caller(st, dot, frame, final, recv)
            if kind == FIELD:
                raise Fail(f"{last} has arguments but cannot be invoked as function", node)
            if kind == MAP:
                raise Fail(f"{last} is not a method but has arguments", node)
            raise Fail(f"can't evaluate field {last} in type {type_name(recv)}", node)

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
            return fail_call(f"wrong number of args for {name}: want {fixed} got {count}", node)
        if fn.variadic is not None and count < fixed:
            return fail_call(
                f"wrong number of args for {name}: want at least {fixed} got {len(args)}", node
            )
        types = list(fn.params) + [fn.variadic or ANY] * (count - fixed)
        evals = tuple(self.compile_arg(a, t) for a, t in zip(args, types, strict=False))
        final_type = types[-1] if has_final else VALUE
        if name in ("and", "or") and fn is self.funcs.get(name):
            return and_or(evals, name == "or")
        call_fn = fn.fn
        uses_now = fn.uses_now

        def call(st: State, dot: Any, frame: list[Any], final: Any, recv: Any) -> Any:
            values = [e(st, dot, frame) for e in evals]
            if has_final:
                values.append(coerce_arg(final, final_type, node))
            if recv is not MISSING:
                values.insert(0, recv)
            if uses_now:
                values.insert(0, st.now)
            try:
                return call_fn(*values)
            except Fail:
                raise
            except CALL_ERRORS as exc:
                raise Fail(f"error calling {name}: {exc}", node) from None

        return call

    def compile_arg(self, node: n.Node, typ: str) -> Eval:
        """`node` as an argument of Go type `typ`: evaluated, checked, converted."""
        if isinstance(node, n.Dot):
            if typ in (ANY, VALUE):
                return dot_eval
            return lambda st, dot, frame: coerce_arg(dot, typ, node)
        if isinstance(node, n.Nil):
            if typ == VALUE or not (typ == ANY or typ.startswith(("[]", "map["))):
                return fail_eval(f"cannot assign nil to {typ}", node)
            return const(None)
        if isinstance(node, (n.Field, n.Variable, n.Chain, n.Identifier)):
            cmd = self.compile_command(n.Command(node.pos, [node]), has_final=False)
            if typ in (ANY, VALUE):
                return lambda st, dot, frame: cmd(st, dot, frame, MISSING)
            return lambda st, dot, frame: coerce_arg(cmd(st, dot, frame, MISSING), typ, node)
        if isinstance(node, n.Pipe):
            ev = self.compile_pipe(node)
            if typ in (ANY, VALUE):
                return ev
            return lambda st, dot, frame: coerce_arg(ev(st, dot, frame), typ, node)
        # literals
        if typ == BOOL:
            if isinstance(node, n.Bool):
                return const(node.value)
            return fail_eval(f"expected bool; found {node}", node)
        if typ in INT_TYPES:
            if isinstance(node, n.Number) and float(node.value).is_integer():
                return const(INT_TYPES[typ](int(node.value)))
            return fail_eval(f"expected integer; found {node}", node)
        if typ == FLOAT:
            if isinstance(node, n.Number):
                return const(float(node.value))
            return fail_eval(f"expected float; found {node}", node)
        if typ == STRING:
            if isinstance(node, n.String):
                return const(node.value)
            return fail_eval(f"expected string; found {node}", node)
        if typ in (ANY, VALUE):
            if isinstance(node, n.Bool):
                return const(node.value)
            if isinstance(node, n.String):
                return const(node.value)
            if isinstance(node, n.Number):
                if node.is_float:
                    return const(float(node.value))
                if not -(1 << 63) <= node.value < (1 << 63):
                    return fail_eval(f"{node} overflows int", node)
                return const(int(node.value))
        return fail_eval(f"can't handle {node} for arg of type {typ}", node)


def and_or(evals: tuple[Eval, ...], is_or: bool) -> Callable[..., Any]:
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


def dot_eval(st: State, dot: Any, frame: list[Any]) -> Any:
    return dot


def slot_eval(slot: int) -> Eval:
    def eval_var(st: State, dot: Any, frame: list[Any]) -> Any:
        return frame[slot]

    return eval_var


def const(value: Any) -> Eval:
    def eval_const(st: State, dot: Any, frame: list[Any]) -> Any:
        return value

    return eval_const


def fail_eval(reason: str, node: n.Node) -> Eval:
    def eval_fail(st: State, dot: Any, frame: list[Any]) -> Any:
        raise Fail(reason, node)

    return eval_fail


def fail_cmd(reason: str, node: n.Node) -> Cmd:
    def cmd_fail(st: State, dot: Any, frame: list[Any], final: Any) -> Any:
        raise Fail(reason, node)

    return cmd_fail


def fail_call(reason: str, node: n.Node) -> Callable[..., Any]:
    def call_fail(st: State, dot: Any, frame: list[Any], final: Any, recv: Any) -> Any:
        raise Fail(reason, node)

    return call_fail
