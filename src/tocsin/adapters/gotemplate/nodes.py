"""The parse tree: Go's text/template/parse node types, as plain frozen-ish dataclasses.

Every node keeps `pos`, its offset in the source text, so that errors found after parsing
(execution errors, HTML escaping errors) can say line and column. `Tree` is one named template:
its root list plus the source it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Action",
    "Bool",
    "Break",
    "Chain",
    "Command",
    "Continue",
    "Dot",
    "Field",
    "Identifier",
    "If",
    "ListNode",
    "Nil",
    "Node",
    "Number",
    "Pipe",
    "Range",
    "String",
    "TemplateCall",
    "Text",
    "Tree",
    "Variable",
    "With",
    "is_empty_tree",
]


@dataclass(eq=False, slots=True)
class Node:
    pos: int


@dataclass(eq=False, slots=True)
class Text(Node):
    text: str


@dataclass(eq=False, slots=True)
class Identifier(Node):
    """A function name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False, slots=True)
class Dot(Node):
    def __str__(self) -> str:
        return "."


@dataclass(eq=False, slots=True)
class Nil(Node):
    def __str__(self) -> str:
        return "nil"


@dataclass(eq=False, slots=True)
class Bool(Node):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(eq=False, slots=True)
class Number(Node):
    text: str
    value: int | float
    is_float: bool  # Go's idealConstant would make it a float64

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False, slots=True)
class String(Node):
    quoted: str
    value: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(eq=False, slots=True)
class Field(Node):
    """`.A.B.C`: idents ("A", "B", "C")."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass(eq=False, slots=True)
class Variable(Node):
    """`$x.A.B`: idents ("$x", "A", "B")."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(eq=False, slots=True)
class Chain(Node):
    """`(pipeline).A.B`: a term followed by fields."""

    node: Node
    fields: tuple[str, ...]

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


@dataclass(eq=False, slots=True)
class Command(Node):
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass(eq=False, slots=True)
class Pipe(Node):
    decl: list[Variable] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)

    def __str__(self) -> str:
        text = ""
        if self.decl:
            text = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(c) for c in self.cmds)


@dataclass(eq=False, slots=True)
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Action(Node):
    pipe: Pipe

    def __str__(self) -> str:
        return f"{{{{{self.pipe}}}}}"


@dataclass(eq=False, slots=True)
class _Branch(Node):
    pipe: Pipe
    body: ListNode
    else_body: ListNode | None


@dataclass(eq=False, slots=True)
class If(_Branch):
    def __str__(self) -> str:
        return f"{{{{if {self.pipe}}}}}"


@dataclass(eq=False, slots=True)
class Range(_Branch):
    def __str__(self) -> str:
        return f"{{{{range {self.pipe}}}}}"


@dataclass(eq=False, slots=True)
class With(_Branch):
    def __str__(self) -> str:
        return f"{{{{with {self.pipe}}}}}"


@dataclass(eq=False, slots=True)
class TemplateCall(Node):
    name: str
    pipe: Pipe | None

    def __str__(self) -> str:
        arg = f" {self.pipe}" if self.pipe is not None else ""
        return f'{{{{template "{self.name}"{arg}}}}}'


@dataclass(eq=False, slots=True)
class Break(Node):
    def __str__(self) -> str:
        return "{{break}}"


@dataclass(eq=False, slots=True)
class Continue(Node):
    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(eq=False, slots=True)
class Tree:
    """One named template: `root`, parsed from `source` (named `parse_name`, e.g. a file)."""

    name: str
    root: ListNode
    source: str
    parse_name: str


def is_empty_tree(node: Node | None) -> bool:
    """Go's parse.IsEmptyTree: only white space (and comments). An empty definition never
    replaces an existing one."""
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, Text):
        return not node.text.strip(" \t\n\r\v\f\x85\xa0")
    return False
