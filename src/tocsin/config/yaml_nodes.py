"""Reading YAML with positions: every value knows its line, column and key path.

PyYAML's `compose` gives a node tree that keeps marks; `Reader` walks it for the section
parsers and turns everything that is wrong into a `Problem` with file, line, column and key
path, then carries on, so one load reports every problem it can find.

`Reader.map(node, path, allowed)` opens a mapping: duplicate keys, and keys not in `allowed`
(with a did-you-mean from the allowed ones), are problems right away. Its typed getters
(`string`, `boolean`, `integer`, `duration`, `strings`, `string_map`, `secret`) expand
`${VAR}` references (see `tocsin.config.env`), convert, and return `None` for an absent key or
a value that was wrong (already reported). Merge keys (`<<: *anchor`) are honoured, as Go's
yaml.v2 honours them.

Scalars are read as Alertmanager's Go decoder reads them into string fields: `2` and `true`
are the strings "2" and "true"; `~` or an empty value is "not set".
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Final

import yaml

from tocsin.config.durations import DurationError, parse_duration
from tocsin.config.env import EnvError, EnvUse, expand
from tocsin.config.errors import ConfigError, Problem, q
from tocsin.config.secrets import Secret

__all__ = ["MapView", "Reader", "compose"]

_NULL_TAG: Final = "tag:yaml.org,2002:null"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_TRUE: Final = frozenset({"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
_FALSE: Final = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
_INT_RE: Final = re.compile(r"[-+]?[0-9]+\Z")


# libyaml's parser when PyYAML was built with it (ten times faster on big files), else PyYAML's.
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(text: str, filename: str) -> yaml.Node | None:
    """The node tree of a YAML document (None for an empty one). Raises `ConfigError`."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.context}: {exc.problem}"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise ConfigError([Problem(filename, line, column, "", f"YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(filename, None, None, "", f"YAML: {exc}")]) from None


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "nothing"
    return f"the {node.tag.rsplit(':', 1)[-1]} {q(node.value)}"


class Reader:
    """The state of one load: where problems go, the environment, the file's name and folder."""

    def __init__(self, filename: str, env: Mapping[str, str], base_dir: str) -> None:
        self.filename = filename
        self.env = env
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.env_uses: list[EnvUse] = []
        self._env_by_path: dict[str, list[str]] = {}
        self.files: dict[str, str] = {}  # files the config reads (secrets) -> sha256 of content

    def read_file(self, path: str) -> str:
        """The text of a file the configuration refers to (a secret's `*_file`), noted so that
        a reload sees when it changed. Raises `OSError`, `UnicodeDecodeError`."""
        with open(path, "rb") as f:
            data = f.read()
        self.files[path] = hashlib.sha256(data).hexdigest()
        return data.decode("utf-8")

    # -- reporting -----------------------------------------------------------------------
    def at(self, node: yaml.Node | None, path: str, message: str) -> Problem:
        if node is None:
            return Problem(self.filename, None, None, path, message)
        mark = node.start_mark
        return Problem(self.filename, mark.line + 1, mark.column + 1, path, message)

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        names = self._env_by_path.get(path)
        if names:
            message += f" (the value comes from {', '.join('$' + n for n in names)})"
        self.problems.append(self.at(node, path, message))

    def warn(self, node: yaml.Node | None, path: str, message: str) -> None:
        self.warnings.append(self.at(node, path, message))

    # -- structure -----------------------------------------------------------------------
    def map(
        self,
        node: yaml.Node | None,
        path: str,
        allowed: Mapping[str, object] | frozenset[str] | set[str],
        *,
        unsupported: Mapping[str, str] | None = None,
        ignored: Mapping[str, str] | None = None,
    ) -> MapView | None:
        """Open the mapping at `node`; None (reported) when it is something else.

        `unsupported` keys are reported with their message as errors; `ignored` keys as
        warnings; any other key not in `allowed` is an error with a did-you-mean.
        """
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            return MapView(self, node, path, {})
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {_describe(node)}")
            return None
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in self._flatten(node, path):
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.error(key_node, path, "a key must be a plain string")
                continue
            key_path = f"{path}.{key}" if path else key
            if key in items:
                self.error(
                    key_node,
                    key_path,
                    f"duplicate key {q(key)} (first at line {items[key][0].start_mark.line + 1})",
                )
                continue
            if unsupported and key in unsupported:
                self.error(key_node, key_path, unsupported[key])
                continue
            if ignored and key in ignored:
                self.warn(key_node, key_path, ignored[key])
                continue
            if key not in allowed:
                self.error(key_node, key_path, _unknown_key(key, allowed))
                continue
            items[key] = (key_node, value_node)
        return MapView(self, node, path, items)

    def _flatten(self, node: yaml.MappingNode, path: str) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for src in sources:
                    if isinstance(src, yaml.MappingNode):
                        merged.extend(self._flatten(src, path))
                    else:
                        self.error(src, path, f"<< merges a mapping, got {_describe(src)}")
            else:
                own.append((key_node, value_node))
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        seen: set[str] = set()
        for k, v in merged:  # explicit keys win over merged ones; the first merged one wins
            if k.value not in own_keys and k.value not in seen:
                seen.add(k.value)
                yield k, v
        yield from own

    def seq(self, node: yaml.Node | None, path: str) -> list[tuple[yaml.Node, str]]:
        """The items of the list at `node` with their paths; [] (reported) when not a list."""
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {_describe(node)}")
            return []
        return [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]

    # -- scalars -------------------------------------------------------------------------
    def text(
        self, node: yaml.Node, path: str, *, secret: bool = False, at: yaml.Node | None = None
    ) -> str | None:
        """The expanded text of a scalar; None for null or (reported) for anything else.

        Problems are reported at `at` (a key) when given, else at the value itself.
        """
        if not isinstance(node, yaml.ScalarNode):
            self.error(at or node, path, f"expected a single value, got {_describe(node)}")
            return None
        if node.tag == _NULL_TAG:
            return None
        try:
            value, uses = expand(node.value, self.env, path, secret=secret)
        except EnvError as exc:
            self.error(at or node, path, str(exc))
            return None
        self.env_uses.extend(uses)
        if uses:
            self._env_by_path[path] = [u.name for u in uses]
        return value


def _unknown_key(key: str, allowed: Mapping[str, object] | frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    hint = f" (did you mean {q(close[0])}?)" if close else ""
    return f"unknown key {q(key)}{hint}"


class MapView:
    """One mapping of the file, its keys checked; typed getters that report and carry on."""

    def __init__(
        self,
        reader: Reader,
        node: yaml.Node | None,
        path: str,
        items: Mapping[str, tuple[yaml.Node, yaml.Node]],
    ) -> None:
        self.r = reader
        self.node = node
        self.path = path
        self.items = items

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def value_node(self, key: str) -> yaml.Node | None:
        item = self.items.get(key)
        return None if item is None else item[1]

    def key_node(self, key: str) -> yaml.Node | None:
        item = self.items.get(key)
        return None if item is None else item[0]

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def is_null(self, key: str) -> bool:
        node = self.value_node(key)
        return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG)

    def error(self, key: str, message: str) -> None:
        """Report a problem with the value of `key`, at the key (else at the mapping)."""
        self.r.error(self.key_node(key) or self.node, self.sub(key), message)

    # -- typed getters -------------------------------------------------------------------
    def string(self, key: str, *, secret: bool = False) -> str | None:
        node = self.value_node(key)
        if node is None:
            return None
        return self.r.text(node, self.sub(key), secret=secret, at=self.key_node(key))

    def secret(self, key: str) -> Secret | None:
        value = self.string(key, secret=True)
        return None if value is None else Secret(value)

    def boolean(self, key: str) -> bool | None:
        value = self.string(key)
        if value is None:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.error(key, f"expected true or false, got {q(value)}")
        return None

    def integer(self, key: str, *, minimum: int | None = None) -> int | None:
        value = self.string(key)
        if value is None:
            return None
        if not _INT_RE.match(value):
            self.error(key, f"expected a whole number, got {q(value)}")
            return None
        number = int(value)
        if minimum is not None and number < minimum:
            self.error(key, f"must be at least {minimum}, got {number}")
            return None
        return number

    def duration(self, key: str) -> timedelta | None:
        value = self.string(key)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.error(key, str(exc))
            return None

    def strings(self, key: str) -> tuple[str, ...] | None:
        """A list of single values; None when absent. Bad items are reported and left out."""
        node = self.value_node(key)
        if node is None or self.is_null(key):
            return None
        out = []
        for item, path in self.r.seq(node, self.sub(key)):
            value = self.r.text(item, path)
            if value is not None:
                out.append(value)
        return tuple(out)

    def string_items(self, key: str) -> list[tuple[str, yaml.Node, str]]:
        """Each single value of the list under `key` with its node and path (bad ones reported)."""
        out = []
        for item, path in self.seq(key):
            value = self.r.text(item, path)
            if value is not None:
                out.append((value, item, path))
        return out

    def string_map(self, key: str) -> dict[str, str] | None:
        """A mapping of names to single values; None when absent."""
        node = self.value_node(key)
        if node is None or self.is_null(key):
            return None
        view = self.r.map(node, self.sub(key), _AnyKey())
        if view is None:
            return None
        out: dict[str, str] = {}
        for name in view:
            value = view.string(name)
            out[name] = "" if value is None else value
        return out

    def map(
        self,
        key: str,
        allowed: Mapping[str, object] | frozenset[str] | set[str],
        **kwargs: Mapping[str, str] | None,
    ) -> MapView | None:
        """The mapping under `key`; None when absent or (reported) not a mapping."""
        node = self.value_node(key)
        if node is None or self.is_null(key):
            return None
        return self.r.map(node, self.sub(key), allowed, **kwargs)

    def seq(self, key: str) -> list[tuple[yaml.Node, str]]:
        node = self.value_node(key)
        return [] if node is None else self.r.seq(node, self.sub(key))


class _AnyKey(frozenset[str]):
    """An `allowed` set that allows every key (free-form maps like `match:` or `details:`)."""

    def __contains__(self, key: object) -> bool:
        return True
