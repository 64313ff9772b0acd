"""`route:`: the routing tree as written, checked the way Alertmanager checks it, as `RouteSpec`s.

Checks (config.go `Route.UnmarshalYAML` and `Config.UnmarshalYAML`): label names in `match`,
`match_re` and `group_by`; regexes and matcher strings; `...` alone in group_by; no duplicate
group_by labels; non-zero group_interval and repeat_interval; a root route with a receiver and
without matchers, time intervals or `continue`. Tocsin's keys: `escalation` (a policy name,
"" to turn an inherited one off), `escalation_start_level`, `suppress_duration` (0 turns it
off), `acknowledge: allowed|forbidden`, `fallback` (a receiver).

Names this section refers to (receivers, time intervals, policies) are returned as
`Reference`s; the loader checks them once every section is read.
"""

from __future__ import annotations

from typing import Final

import attrs
import yaml

from tocsin.config.errors import q
from tocsin.config.yaml_nodes import MapView, Reader
from tocsin.core.labels import InvalidLabel, validate_label_name
from tocsin.core.matchers import (
    InvalidRegex,
    Matcher,
    MatcherParseError,
    Matchers,
    parse_matchers,
)
from tocsin.core.routing import GROUP_BY_ALL, RouteSpec

__all__ = ["Reference", "read_matchers", "read_route"]

_ROUTE_KEYS: Final = frozenset(
    {
        "receiver",
        "group_by",
        "match",
        "match_re",
        "matchers",
        "mute_time_intervals",
        "active_time_intervals",
        "continue",
        "routes",
        "group_wait",
        "group_interval",
        "repeat_interval",
        # Tocsin's
        "escalation",
        "escalation_start_level",
        "suppress_duration",
        "acknowledge",
        "fallback",
    }
)
_ACK: Final = {"allowed": True, "forbidden": False}


@attrs.frozen
class Reference:
    """A name one section uses and another must define: `kind` is "receiver",
    "time interval" or "escalation policy"."""

    kind: str
    name: str
    node: yaml.Node | None
    path: str


def read_route(reader: Reader, root: MapView, refs: list[Reference]) -> RouteSpec | None:
    """The root route's spec; None when it is missing or broken beyond use (reported)."""
    if "route" not in root or root.is_null("route"):
        reader.error(root.node, "route", "no route provided in config")
        return None
    view = reader.map(root.value_node("route"), "route", _ROUTE_KEYS)
    if view is None:
        return None
    if not view.string("receiver"):
        reader.error(
            view.key_node("receiver") or view.node,
            "route.receiver",
            "root route must specify a default receiver",
        )
    for key in ("match", "match_re", "matchers"):
        if key in view and not view.is_null(key):
            view.error(key, "root route must not have any matchers")
    for key in ("mute_time_intervals", "active_time_intervals"):
        if key in view and not view.is_null(key):
            view.error(key, f"root route must not have any {key.replace('_', ' ')[:-1]}s")
    if view.boolean("continue"):
        view.error("continue", "cannot have continue in root route")
    return _read(reader, view, refs)


def _read(reader: Reader, view: MapView, refs: list[Reference]) -> RouteSpec:
    receiver = view.string("receiver")
    if receiver:
        refs.append(
            Reference("receiver", receiver, view.key_node("receiver"), view.sub("receiver"))
        )
    fallback = view.string("fallback")
    if fallback:
        refs.append(
            Reference("receiver", fallback, view.key_node("fallback"), view.sub("fallback"))
        )
    escalation = view.string("escalation")
    if escalation:
        refs.append(
            Reference(
                "escalation policy",
                escalation,
                view.key_node("escalation"),
                view.sub("escalation"),
            )
        )
    intervals: dict[str, tuple[str, ...]] = {}
    for key in ("mute_time_intervals", "active_time_intervals"):
        items = view.string_items(key)
        for name, node, path in items:
            refs.append(Reference("time interval", name, node, path))
        intervals[key] = tuple(name for name, _, _ in items)
    acknowledge = None
    if (ack := view.string("acknowledge")) is not None:
        acknowledge = _ACK.get(ack)
        if acknowledge is None:
            view.error("acknowledge", f"acknowledge must be allowed or forbidden, got {q(ack)}")
    group_interval = view.duration("group_interval")
    if group_interval is not None and not group_interval:
        view.error("group_interval", "group_interval cannot be zero")
    repeat_interval = view.duration("repeat_interval")
    if repeat_interval is not None and not repeat_interval:
        view.error("repeat_interval", "repeat_interval cannot be zero")
    children = []
    for node, path in view.seq("routes"):
        child = reader.map(node, path, _ROUTE_KEYS)
        if child is not None:
            children.append(_read(reader, child, refs))
    return RouteSpec(
        receiver=receiver or None,
        group_by=_group_by(view),
        group_wait=view.duration("group_wait"),
        group_interval=group_interval or None,
        repeat_interval=repeat_interval or None,
        matchers=_matchers(view),
        continue_=bool(view.boolean("continue")),
        mute_time_intervals=intervals["mute_time_intervals"],
        active_time_intervals=intervals["active_time_intervals"],
        routes=tuple(children),
        escalation=escalation,
        escalation_start_level=view.integer("escalation_start_level", minimum=0),
        suppress_duration=view.duration("suppress_duration"),
        acknowledge=acknowledge,
        fallback=fallback,
    )


def _group_by(view: MapView) -> tuple[str, ...] | None:
    names = view.strings("group_by")
    if names is None:
        return None
    seen: set[str] = set()
    for name in names:
        if name == GROUP_BY_ALL:
            continue
        try:
            validate_label_name(name)
        except InvalidLabel:
            view.error("group_by", f"invalid label name {q(name)} in group_by list")
            continue
        if name in seen:
            view.error("group_by", f"duplicated label {q(name)} in group_by")
        seen.add(name)
    if GROUP_BY_ALL in names and len(names) > 1:
        view.error(
            "group_by", "cannot have wildcard group_by (`...`) and other labels at the same time"
        )
    return names


def read_matchers(
    view: MapView, *, equal_key: str, regex_key: str, matchers_key: str
) -> list[Matcher]:
    """The legacy `equal_key` / `regex_key` maps and the `matchers_key` list, as matchers.

    A `match_re` value becomes `^(?:value)$`, as Alertmanager stores it (its route keys and
    `amtool` show it so).
    """
    out: list[Matcher] = []
    for key, regex in ((equal_key, False), (regex_key, True)):
        for name, value in (view.string_map(key) or {}).items():
            try:
                validate_label_name(name)
            except InvalidLabel:
                view.error(key, f"invalid label name {q(name)}")
                continue
            if not regex:
                out.append(Matcher.equal(name, value))
                continue
            try:
                out.append(Matcher.regex(name, f"^(?:{value})$"))
            except InvalidRegex as exc:
                view.error(key, f"invalid regular expression for {q(name)}: {exc.reason}")
    for text, node, path in view.string_items(matchers_key):
        try:
            out.extend(parse_matchers(text))
        except MatcherParseError as exc:
            view.r.error(node, path, exc.message)
    return out


def _matchers(view: MapView) -> Matchers:
    return Matchers(
        read_matchers(view, equal_key="match", regex_key="match_re", matchers_key="matchers")
    )
