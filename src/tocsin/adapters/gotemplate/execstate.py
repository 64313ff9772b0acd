"""What a render carries, and the shapes of compiled closures (shared by the evaluator modules).

* an emitter is `emit(write, state, dot, frame)`: `write` appends to the output, `dot` is `.`,
  `frame` the template's variable slots;
* an evaluator is `ev(state, dot, frame) -> value`;
* a command is `cmd(state, dot, frame, final)`: `final` is the previous pipeline stage's
  value (or MISSING for the first), passed as the last argument, as Go does.

Execution errors are raised as `Fail(reason, node)` and located (line:column) by the compiled
template that catches them; `Break`/`Continue` carry `{{break}}`/`{{continue}}` to their range.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from tocsin.adapters.gotemplate import nodes as n

if TYPE_CHECKING:
    from tocsin.adapters.gotemplate.evaluator import Compiled

__all__ = [
    "MISSING",
    "Break",
    "Cmd",
    "Continue",
    "Emit",
    "Eval",
    "Fail",
    "NotDefined",
    "State",
    "Write",
]

Write = Callable[[str], None]
Emit = Callable[[Write, "State", Any, list[Any]], None]
Eval = Callable[["State", Any, list[Any]], Any]
Cmd = Callable[["State", Any, list[Any], Any], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class Fail(Exception):
    """An execution error not yet located: `reason`, and the node it happened at."""

    def __init__(self, reason: str, node: n.Node | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


class Break(Exception):
    pass


class Continue(Exception):
    pass


class State:
    """One render: how to find templates by name, the call depth, and the render's time."""

    __slots__ = ("depth", "lookup", "now")

    def __init__(self, lookup: Callable[[str], Compiled | None], now: datetime) -> None:
        self.lookup = lookup
        self.depth = 0
        self.now = now


class NotDefined(Fail):
    pass
