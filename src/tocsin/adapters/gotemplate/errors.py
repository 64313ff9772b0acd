"""The Go template package's exceptions (the tree is drawn in the package docstring)."""

from __future__ import annotations

__all__ = [
    "GoTemplateError",
    "TemplateExecError",
    "TemplateNotDefined",
    "TemplateSyntaxError",
    "UnsupportedConstruct",
]


class GoTemplateError(Exception):
    """Anything that goes wrong with a Go template: parsing, escaping or executing it."""


class TemplateSyntaxError(GoTemplateError):
    """A template Go's text/template would refuse to parse.

    `name` is the template (or file) being parsed, `line` and `column` are 1-based and point at
    the offending token, `reason` is the problem in Go's words where it has them. `str()` reads
    `template: NAME:LINE:COL: REASON`, like Go's message with the column added.
    """

    def __init__(self, name: str, line: int, column: int, reason: str) -> None:
        super().__init__(name, line, column, reason)
        self.name = name
        self.line = line
        self.column = column
        self.reason = reason

    def __str__(self) -> str:
        return f"template: {self.name}:{self.line}:{self.column}: {self.reason}"


class UnsupportedConstruct(TemplateSyntaxError):
    """A construct Go accepts but Tocsin does not reproduce; `reason` names it."""


class TemplateExecError(GoTemplateError):
    """Executing a template failed where Go's would fail too (or where Tocsin cannot follow).

    `name` is the template executing and `source` what it was parsed from (a file, or the
    template's own name); `line`/`column` locate the node (0 when unknown), `context` is the
    node's text (Go's `at <...>`), `reason` what went wrong.
    """

    def __init__(
        self, name: str, source: str, line: int, column: int, context: str, reason: str
    ) -> None:
        super().__init__(name, source, line, column, context, reason)
        self.name = name
        self.source = source
        self.line = line
        self.column = column
        self.context = context
        self.reason = reason

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}" if self.line else self.source
        at = f" at <{self.context}>" if self.context else ""
        return f'template: {where}: executing "{self.name}"{at}: {self.reason}'


class TemplateNotDefined(TemplateExecError):
    """`{{ template "x" }}` (or `render("x")`) named a template nobody defined."""
