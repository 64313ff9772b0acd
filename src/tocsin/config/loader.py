"""Loading alertmanager.yml (with Tocsin's extensions) into a `Config`, all or nothing.

Theory of operation
-------------------
`load_text` composes the YAML (keeping positions), then reads each section with a `Reader`
that records every problem and carries on: global, receivers, route, inhibit_rules,
time_intervals, escalation_policies, templates, tocsin. Names one section uses and another
defines (receivers, time intervals, escalation policies) are checked last, with a did-you-mean.
If anything was wrong, `ConfigError` is raised with every problem, in file order; otherwise the
routing tree is built and a whole new `Config` returned. Nothing is half-applied: the caller
either gets a complete configuration or keeps the one it has.

`reload` is the daemon's form: it never raises for a bad file, it returns the new config or
the problems, and the file's sha256 (what `ConfigLoaded` journals), so the caller can swap
atomically and say why it did not.

The environment (for `${VAR}`) is always passed in; nothing here reads `os.environ`.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

import attrs
import yaml

from tocsin.config.errors import ConfigError, Problem, q
from tocsin.config.global_section import read_global, resolve_path
from tocsin.config.model import Config
from tocsin.config.receivers import read_receivers
from tocsin.config.routes import Reference, read_route
from tocsin.config.rules import read_escalation_policies, read_inhibit_rules, read_time_intervals
from tocsin.config.tocsin_section import read_tocsin
from tocsin.config.yaml_nodes import MapView, Reader, compose
from tocsin.core.routing import RoutingError, RoutingTree

__all__ = ["DEFAULT_FILENAME", "Reloaded", "load_file", "load_text", "reload", "sha256_of"]

DEFAULT_FILENAME: Final = "alertmanager.yml"
_TOP_KEYS: Final = frozenset(
    {
        "global",
        "route",
        "inhibit_rules",
        "receivers",
        "templates",
        "mute_time_intervals",
        "time_intervals",
        "escalation_policies",
        "tocsin",
    }
)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_file(path: str, env: Mapping[str, str]) -> Config:
    """Load the configuration file at `path`. Raises `ConfigError`."""
    return load_text(_read(path), filename=path, env=env)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(
            [Problem(path, None, None, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [Problem(path, None, None, "", f"not UTF-8 text (byte {exc.start})")]
        ) from None


def load_text(
    text: str,
    *,
    filename: str = DEFAULT_FILENAME,
    env: Mapping[str, str] | None = None,
    base_dir: str | None = None,
    source: str | None = None,
) -> Config:
    """Load a configuration from its text. Raises `ConfigError` listing every problem.

    `filename` names the text in messages; relative paths in it (`*_file`, templates,
    data_dir) are taken from `base_dir`, by default the folder of `filename`.
    """
    env = {} if env is None else env
    base = base_dir if base_dir is not None else os.path.dirname(os.path.abspath(filename))
    reader = Reader(filename, env, base)
    document = compose(text, filename)
    if document is None:
        raise ConfigError([Problem(filename, None, None, "", "no route provided in config")])
    root = reader.map(document, "", _TOP_KEYS)
    if root is None:
        raise ConfigError(reader.problems)

    refs: list[Reference] = []
    glob_ = read_global(reader, root)
    receivers, receiver_nodes = read_receivers(reader, root, glob_)
    route_spec = read_route(reader, root, refs)
    inhibit_rules = read_inhibit_rules(reader, root)
    intervals, interval_nodes = read_time_intervals(reader, root)
    policies, repeats, policy_nodes = read_escalation_policies(reader, root, refs)
    patterns, templates = _templates(reader, root)
    tocsin = read_tocsin(reader, root)
    defined = {
        "receiver": receiver_nodes,
        "time interval": interval_nodes,
        "escalation policy": policy_nodes,
    }
    for ref in refs:
        _check_reference(reader, ref, defined[ref.kind])

    routing = None
    if route_spec is not None and not reader.problems:
        try:
            routing = RoutingTree.build(route_spec, policies)
        except RoutingError as exc:
            reader.error(_route_node(root, exc.path), exc.path, exc.problem)
    if reader.problems or route_spec is None or routing is None:
        raise ConfigError(_in_file_order(reader.problems), _in_file_order(reader.warnings))
    return Config(
        source=source or filename,
        sha256=sha256_of(text),
        files_sha256=_files_digest(reader.files, templates),
        global_=glob_,
        route_spec=route_spec,
        routing=routing,
        receivers=MappingProxyType(receivers),
        inhibit_rules=inhibit_rules,
        time_intervals=MappingProxyType(intervals),
        templates=templates,
        template_patterns=patterns,
        escalation_policies=MappingProxyType(policies),
        escalation_repeat=MappingProxyType(repeats),
        tocsin=tocsin,
        env_uses=tuple(reader.env_uses),
        warnings=tuple(_in_file_order(reader.warnings)),
    )


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _check_reference(reader: Reader, ref: Reference, defined: Mapping[str, yaml.Node]) -> None:
    if ref.name in defined:
        return
    where = "route" if ref.path.startswith("route") else "escalation policy"
    close = difflib.get_close_matches(ref.name, list(defined), n=1, cutoff=0.6)
    hint = f" (did you mean {q(close[0])}?)" if close else ""
    if not defined:
        hint = f" (no {ref.kind} is defined)"
    reader.error(ref.node, ref.path, f"undefined {ref.kind} {q(ref.name)} used in {where}{hint}")


def _route_node(root: MapView, path: str) -> yaml.Node | None:
    """The mapping node of the route at `path` (`route.routes[1]...`), for an error position."""
    node = root.value_node("route")
    for part in path.split(".")[1:]:
        name, _, index = part.partition("[")
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == name), None)
        if index and isinstance(node, yaml.SequenceNode):
            node = node.value[int(index.rstrip("]"))]
    return node


def _files_digest(read: Mapping[str, str], templates: Sequence[str]) -> str:
    """One digest of every file the configuration depends on besides its own text: the secret
    files it read and the template files its patterns match (a missing one counts as empty)."""
    h = hashlib.sha256()
    for path in sorted({*read, *templates}):
        digest = read.get(path)
        if digest is None:
            try:
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                digest = ""
        h.update(f"{path}\0{digest}\0".encode())
    return h.hexdigest()


def _templates(reader: Reader, root: MapView) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `templates:` patterns as written, and the files they match now (sorted, unique)."""
    patterns = root.strings("templates") or ()
    files: dict[str, None] = {}
    for pattern in patterns:
        for path in sorted(glob.glob(resolve_path(reader, pattern))):
            if os.path.isfile(path):
                files[path] = None
    return patterns, tuple(files)


@attrs.frozen
class Reloaded:
    """What `reload` found: the new config (None when the file has problems), the problems,
    the sha256 of the text read, and whether it differs from the current config's."""

    config: Config | None
    problems: tuple[Problem, ...]
    sha256: str
    changed: bool

    @property
    def ok(self) -> bool:
        return self.config is not None


def reload(path: str, env: Mapping[str, str], current: Config | None = None) -> Reloaded:
    """Validate the file at `path` again for a hot reload; never raises for a bad file.

    The caller swaps to `config` when `ok` (and journals `ConfigLoaded(sha256, path)`), and
    otherwise keeps `current` and reports `problems`.
    """
    try:
        text = _read(path)
    except ConfigError as exc:
        return Reloaded(None, exc.problems, "", True)
    digest = sha256_of(text)
    changed = current is None or current.sha256 != digest
    try:
        config = load_text(text, filename=path, env=env)
    except ConfigError as exc:
        return Reloaded(None, exc.problems, digest, changed)
    return Reloaded(config, (), digest, changed)
