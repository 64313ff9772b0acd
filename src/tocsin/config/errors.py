"""What the configuration layer reports: problems with a place, and the one exception it raises.

A `Problem` says where (file, line, column, key path) and what, in words a person can act on:

    alertmanager.yml:14:7: route.routes[1].group_wait: invalid duration "5x"

Loading collects every problem it can find before giving up, so one run of `tocsin config
check` shows them all; then it raises one `ConfigError` carrying the list. Nothing is applied
from a configuration that has problems.

Exceptions::

    Exception
     └── ConfigError    the configuration cannot be used; `.problems` lists every problem found
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import attrs

__all__ = ["ConfigError", "Problem", "q"]


def q(value: object) -> str:
    """`value` in double quotes, escaped as Go's %q would (messages quote the way amtool does)."""
    return json.dumps(str(value), ensure_ascii=False)


@attrs.frozen
class Problem:
    """One thing wrong (or, as a warning, worth knowing) about a configuration.

    `line` and `column` are 1-based; `None` when the problem has no single place (a missing
    section). `path` is the key path (`route.routes[1].group_wait`), "" for the whole file.
    """

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used. `problems` holds every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()) -> None:
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)  # what the loader noticed too, for `config check`
        super().__init__("\n".join(map(str, self.problems)))

    def __str__(self) -> str:
        return "\n".join(map(str, self.problems))
