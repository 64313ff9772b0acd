"""The routing tree: which routes an alert takes, with Alertmanager's exact semantics.

Theory of operation
-------------------
A configuration declares routes as `RouteSpec`s: what each node says, with `None` for "not
said, inherit". `RoutingTree.build` resolves the specs once, top-down, into immutable `Route`s
that carry their effective options (dispatch/route.go `NewRoute`):

* receiver, group_by, group_wait / group_interval / repeat_interval are inherited from the
  parent; the root starts from the defaults 30s / 5m / 4h and no grouping labels;
* `group_by: ['...']` groups by every label; an explicit list (even `[]`) replaces what was
  inherited, `['...']` included (as Alertmanager 0.31+ does; 0.25 ignored an empty list);
* mute_time_intervals / active_time_intervals are not inherited;
* Tocsin's extensions (escalation and its start level, suppress_duration, acknowledge,
  fallback) are inherited like the receiver.

Matching (`Route.Match`): a node matches when all its matchers do; the alert then descends
depth-first, left to right, into the children, stopping at the first matching child unless that
child has `continue`; when no child matches, the node itself is the result. The result is every
matched leaf-most route in tree order, duplicates kept - exactly what `amtool config routes
test` prints.

Speed. Deciding a route is on the ingest path for every new label set, so the work is done at
build time. Each route carries its matchers as `(label, test)` pairs, the test a C-level
callable (`str.__eq__`, a compiled regex's `match`), walked inline without a call per route.
Each node with four or more children indexes them on up to three labels: a child is *gated*
on a label when one of its matchers fixes that label's value (`service="db"`,
`team=~"a|b"`) or its start (`service=~"db-[0-9]+"` needs the prefix "db-"; the `^(?:...)$`
that `match_re` values carry is seen through). A decision looks up each index label's value
(and its prefixes) to find the gated children that can match, merges them in order with the
ungated ones, and tests only those. Order, `continue` and the result are unchanged by the
index: it only skips children whose test would fail. (benchmarks/routing.py: a few hundred
thousand decisions per second on 500-route trees.)

Identity. `Route.key` and `Route.id` are Alertmanager's `Route.Key()` (the matcher path,
`{}/{team="a"}`) and `Route.ID()` (the key plus the position among siblings). `Route.path` is
the node's position as config key path (`route.routes[1].routes[0]`). All three are functions of
the file, so reloading the same file gives the same ids. A group is identified by
`Route.group_key(labels)`: Alertmanager's `{route key}:{group labels}`; when two routes of the
tree share a key (identical matcher paths, which Alertmanager lets collide) the later ones get a
`#n` suffix on the route part so that every route's groups stay distinct.

Exceptions::

    ValueError
     └── RoutingError    a spec that cannot be built (unknown escalation policy, bad start level)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Final

import attrs

from tocsin.core.events import EscalationPolicy, GroupPolicy
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matcher, Matchers, MatchOp
from tocsin.core.re2 import compile_anchored

__all__ = [
    "DEFAULT_GROUP_INTERVAL",
    "DEFAULT_GROUP_WAIT",
    "DEFAULT_REPEAT_INTERVAL",
    "GROUP_BY_ALL",
    "Route",
    "RouteSpec",
    "RoutingError",
    "RoutingTree",
    "go_quote",
    "labels_string",
    "sort_matchers",
]

DEFAULT_GROUP_WAIT: Final = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL: Final = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL: Final = timedelta(hours=4)
GROUP_BY_ALL: Final = "..."


class RoutingError(ValueError):
    """A route spec that cannot be built into a tree. `path` names the route."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@attrs.frozen
class RouteSpec:
    """One route as a configuration declares it. `None` means "not set here: inherit".

    `matchers` already holds every matcher of the node (legacy `match` / `match_re` included).
    `escalation` names a policy; "" turns off an inherited one.
    """

    receiver: str | None = None
    group_by: tuple[str, ...] | None = None
    group_wait: timedelta | None = None
    group_interval: timedelta | None = None
    repeat_interval: timedelta | None = None
    matchers: Matchers = attrs.field(factory=Matchers)
    continue_: bool = False
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    escalation: str | None = None
    escalation_start_level: int | None = None
    suppress_duration: timedelta | None = None
    acknowledge: bool | None = None
    fallback: str | None = None


# Alertmanager sorts a route's matchers (labels.Matchers.Less): name, then value, then type.
_OP_ORDER: Final = {MatchOp.EQUAL: 0, MatchOp.NOT_EQUAL: 1, MatchOp.REGEX: 2, MatchOp.NOT_REGEX: 3}


def sort_matchers(matchers: Sequence[Matcher]) -> Matchers:
    """`matchers` in Alertmanager's order (name, value, then =, !=, =~, !~)."""
    return Matchers(sorted(matchers, key=lambda m: (m.name, m.value, _OP_ORDER[m.op])))


_GO_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(value: str) -> str:
    """`value` as Go's `%q` (strconv.Quote) writes it, quotes included."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    out = ['"']
    for ch in value:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch.isprintable():
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x80:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def labels_string(labels: Labels) -> str:
    """A label set as Alertmanager 0.25 prints it (`model.LabelSet.String`): `{a="1", b="2"}`.

    Its `name="value"` items are sorted as strings, as Go's `sort.Strings` sorts them.
    """
    return "{" + ", ".join(sorted(f"{n}={go_quote(v)}" for n, v in labels.pairs)) + "}"


# -- matching, compiled ------------------------------------------------------------------------

_Test = Callable[[str], object]
_Get = Callable[[str], str]

# A regex that is only literal alternatives (`a|b|`) matches exactly those values.
_LITERAL_ALTERNATION: Final = re.compile(r"[A-Za-z0-9_\-]*(?:\|[A-Za-z0-9_\-]*)*\Z")
_REGEX_META: Final = frozenset("\\.+*?()[]{}|^$")


def _check(matcher: Matcher) -> tuple[str, _Test]:
    """`(label, test)`: the test takes the label's value ("" when missing); truthy = match."""
    value = matcher.value
    if matcher.op is MatchOp.EQUAL:
        return matcher.name, value.__eq__
    if matcher.op is MatchOp.NOT_EQUAL:
        return matcher.name, value.__ne__
    match = compile_anchored(value)  # already validated: the Matcher compiled it
    if matcher.op is MatchOp.REGEX:
        return matcher.name, match
    return matcher.name, lambda v: match(v) is None


def _gate(matcher: Matcher) -> frozenset[str] | str | None:
    """What a value must be for `matcher` to accept it: one of a set of values, or a string it
    must start with; None when nothing that simple is known."""
    if matcher.op is MatchOp.EQUAL:
        return frozenset((matcher.value,))
    if matcher.op is not MatchOp.REGEX:
        return None
    if _LITERAL_ALTERNATION.match(matcher.value):
        return frozenset(matcher.value.split("|"))
    return _literal_prefix(matcher.value) or None


def _top_level_alternation(p: str) -> bool:
    depth, i = 0, 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # skip a class: `]` first (or after ^) is literal
            i += 2 if p.startswith(("[^]", "[]"), i) else 1
            i = p.find("]", i + 1)
            if i < 0:
                return True  # malformed: claim nothing
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def _literal_prefix(pattern: str) -> str:
    """A string every value the anchored RE2 `pattern` matches starts with ("" if unknown).

    Conservative: leading `^` anchors and one enclosing `(?:...)` (how `match_re` values are
    stored) are peeled; a top-level `|`, a flag group or any metacharacter ends the prefix, and
    a quantifier takes back the character it applies to.
    """
    p = pattern
    while True:
        if _top_level_alternation(p):
            return ""
        if p.startswith("^"):
            p = p[1:]
            continue
        if p.startswith("(?:"):
            inner = p[3:].removesuffix("$").removesuffix(")") if p.endswith((")", ")$")) else None
            if inner is not None and not _top_level_alternation(inner) and _balanced(inner):
                p = inner
                continue
        break
    end = 0
    while end < len(p) and p[end] not in _REGEX_META:
        end += 1
    if end < len(p) and p[end] in "*?{":
        end -= 1
    return p[:end]


def _balanced(p: str) -> bool:
    depth, i = 0, 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 1
        elif c == "[":
            i = p.find("]", i + 2)
            if i < 0:
                return False
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


class Route:
    """One resolved node of the routing tree. Immutable once built; build with `RoutingTree`.

    Attributes are the node's effective options (after inheritance): `receiver`, `group_by`
    (sorted names; empty with `group_by_all`), `group_by_all`, `group_wait`, `group_interval`,
    `repeat_interval`, `matchers` (in Alertmanager's order), `continue_`,
    `mute_time_intervals`, `active_time_intervals`, `escalation` (resolved policy, with the
    route's start level), `suppress_duration`, `acknowledge`, `fallback`, `routes`; and its
    identity: `key`, `id`, `path`, `index` (depth-first position in the tree).
    """

    __slots__ = (
        "_checks",
        "_group_key_prefix",
        "_index",
        "acknowledge",
        "active_time_intervals",
        "continue_",
        "escalation",
        "fallback",
        "group_by",
        "group_by_all",
        "group_interval",
        "group_wait",
        "id",
        "index",
        "key",
        "matchers",
        "mute_time_intervals",
        "path",
        "receiver",
        "repeat_interval",
        "routes",
        "suppress_duration",
    )

    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    matchers: Matchers
    continue_: bool
    mute_time_intervals: tuple[str, ...]
    active_time_intervals: tuple[str, ...]
    escalation: EscalationPolicy | None
    suppress_duration: timedelta | None
    acknowledge: bool
    fallback: str | None
    routes: tuple[Route, ...]
    key: str
    id: str
    path: str
    index: int
    _group_key_prefix: str
    _checks: tuple[tuple[str, _Test], ...]
    _index: _ChildIndex | None

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    # -- matching ------------------------------------------------------------------------
    def matches(self, labels: Labels) -> bool:
        """Whether this node's own matchers accept `labels` (children not considered)."""
        return self.matchers.matches(labels)

    def match(self, labels: Labels) -> tuple[Route, ...]:
        """The routes `labels` ends up on below (and including) this node, in tree order.

        Empty when this node's matchers do not match. Alertmanager's `Route.Match`.
        """
        get = labels.get_or_empty
        for name, test in self._checks:
            if not test(get(name)):
                return ()
        return self._descend(get)

    def _descend(self, get: _Get) -> tuple[Route, ...]:
        found: tuple[Route, ...] = ()
        index = self._index
        for child in self.routes if index is None else index.candidates(get):
            for name, test in child._checks:
                if not test(get(name)):
                    break
            else:
                found += child._descend(get)
                if not child.continue_:
                    break
        return found or (self,)

    # -- groups --------------------------------------------------------------------------
    def group_labels(self, labels: Labels) -> Labels:
        """The labels of `labels` this route groups by (dispatch.go `getGroupLabels`)."""
        if self.group_by_all:
            return labels
        return labels.subset(self.group_by)

    def group_key(self, labels: Labels) -> str:
        """The key of the group `labels` (an alert's labels) joins on this route.

        Alertmanager's `{route key}:{group labels}`; see the module docstring for the `#n`
        suffix on routes whose key is not unique in the tree.
        """
        return self._group_key_prefix + ":" + labels_string(self.group_labels(labels))

    def policy(self) -> GroupPolicy:
        """The settings a group on this route runs with (copied into its journal).

        `route_id` is the route's `path`, which names it in the configuration file.
        """
        return GroupPolicy(
            receiver=self.receiver,
            group_wait=self.group_wait,
            group_interval=self.group_interval,
            repeat_interval=self.repeat_interval,
            escalation=self.escalation,
            acknowledge=self.acknowledge,
            route_id=self.path,
            suppress_duration=self.suppress_duration,
        )

    # -- traversal -----------------------------------------------------------------------
    def walk(self) -> Iterator[Route]:
        """This node and every node below it, depth-first (Alertmanager's `Route.Walk`)."""
        yield self
        for child in self.routes:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"<Route {self.path} {self.matchers} receiver={self.receiver!r}>"


_route_set = object.__setattr__


class RoutingTree:
    """A built routing tree: its root, every route in depth-first order, and route lookup.

    `RoutingTree.build(spec, escalation_policies)` raises `RoutingError` for a route naming an
    escalation policy not in `escalation_policies`, or a start level the policy does not have.
    """

    __slots__ = ("by_id", "by_path", "root", "routes")

    root: Route
    routes: tuple[Route, ...]
    by_path: Mapping[str, Route]
    by_id: Mapping[str, Route]

    def __init__(self, root: Route) -> None:
        self.root = root
        self.routes = tuple(root.walk())
        self.by_path = {r.path: r for r in self.routes}
        self.by_id = {}
        for r in self.routes:
            self.by_id.setdefault(r.id, r)

    @classmethod
    def build(
        cls, spec: RouteSpec, escalation_policies: Mapping[str, EscalationPolicy] | None = None
    ) -> RoutingTree:
        builder = _Builder(escalation_policies or {})
        root = builder.build(spec, None, "route", None)
        builder.assign_group_prefixes(root)
        return cls(root)

    def match(self, labels: Labels) -> tuple[Route, ...]:
        """The routes `labels` takes, in tree order, duplicates kept.

        Never empty for a tree from a valid configuration: its root has no matchers.
        """
        return self.root.match(labels)

    def receivers(self, labels: Labels) -> list[str]:
        """The receivers `labels` reaches, as `amtool config routes test` lists them."""
        return [r.receiver for r in self.root.match(labels)]


class _Builder:
    def __init__(self, policies: Mapping[str, EscalationPolicy]) -> None:
        self.policies = policies
        self.count = 0

    def build(
        self, spec: RouteSpec, parent: Route | None, path: str, position: int | None
    ) -> Route:
        r = Route.__new__(Route)
        s = _route_set
        group_by: tuple[str, ...]
        fallback: str | None
        if parent is None:
            receiver, group_by, group_by_all = "", (), False
            gw, gi, ri = DEFAULT_GROUP_WAIT, DEFAULT_GROUP_INTERVAL, DEFAULT_REPEAT_INTERVAL
            escalation: EscalationPolicy | None = None
            suppress: timedelta | None = None
            acknowledge, fallback = True, None
        else:
            receiver, group_by, group_by_all = parent.receiver, parent.group_by, parent.group_by_all
            gw, gi, ri = parent.group_wait, parent.group_interval, parent.repeat_interval
            escalation, suppress = parent.escalation, parent.suppress_duration
            acknowledge, fallback = parent.acknowledge, parent.fallback
        if spec.receiver:
            receiver = spec.receiver
        if spec.group_by is not None:
            group_by_all = GROUP_BY_ALL in spec.group_by
            group_by = () if group_by_all else tuple(sorted(set(spec.group_by)))
        gw = gw if spec.group_wait is None else spec.group_wait
        gi = gi if spec.group_interval is None else spec.group_interval
        ri = ri if spec.repeat_interval is None else spec.repeat_interval
        if spec.escalation is not None:
            if spec.escalation == "":
                escalation = None
            else:
                found = self.policies.get(spec.escalation)
                if found is None:
                    raise RoutingError(path, f'undefined escalation policy "{spec.escalation}"')
                escalation = found
        if spec.escalation_start_level is not None and escalation is not None:
            escalation = attrs.evolve(escalation, start_level=spec.escalation_start_level)
        if escalation is not None and not 0 <= escalation.start_level < max(
            1, len(escalation.levels)
        ):
            raise RoutingError(
                path,
                f"escalation start level {escalation.start_level} is not a level of policy "
                f'"{escalation.name}" (it has {len(escalation.levels)})',
            )
        if spec.suppress_duration is not None:
            suppress = spec.suppress_duration or None
        if spec.acknowledge is not None:
            acknowledge = spec.acknowledge
        if spec.fallback is not None:
            fallback = spec.fallback or None

        matchers = sort_matchers(spec.matchers)
        key = str(matchers) if parent is None else f"{parent.key}/{matchers}"
        s(r, "receiver", receiver)
        s(r, "group_by", group_by)
        s(r, "group_by_all", group_by_all)
        s(r, "group_wait", gw)
        s(r, "group_interval", gi)
        s(r, "repeat_interval", ri)
        s(r, "matchers", matchers)
        s(r, "continue_", spec.continue_)
        s(r, "mute_time_intervals", spec.mute_time_intervals)
        s(r, "active_time_intervals", spec.active_time_intervals)
        s(r, "escalation", escalation)
        s(r, "suppress_duration", suppress)
        s(r, "acknowledge", acknowledge)
        s(r, "fallback", fallback)
        s(r, "key", key)
        s(r, "id", key if position is None else f"{key}/{position}")
        s(r, "path", path)
        s(r, "index", self.count)
        s(r, "_checks", tuple(_check(m) for m in matchers))
        self.count += 1
        children = tuple(
            self.build(child, r, f"{path}.routes[{i}]", i) for i, child in enumerate(spec.routes)
        )
        s(r, "routes", children)
        _index_children(r)
        return r

    def assign_group_prefixes(self, root: Route) -> None:
        seen: Counter[str] = Counter()
        for r in root.walk():
            n = seen[r.key]
            seen[r.key] += 1
            _route_set(r, "_group_key_prefix", r.key if n == 0 else f"{r.key}#{n}")


class _LabelGate:
    """The children of a node that need one label to have one of some values, or a prefix."""

    __slots__ = ("by_value", "label", "lengths", "prefixes")

    def __init__(self, label: str) -> None:
        self.label = label
        self.by_value: dict[str, tuple[int, ...]] = {}
        self.prefixes: dict[str, tuple[int, ...]] = {}
        self.lengths: tuple[int, ...] = ()


class _ChildIndex:
    """Which children of a node can match a label set, in order (module docstring, "Speed").

    Each child is either gated on one of up to three labels (it can only match when that label
    has one of its values, or starts with its prefix) or always a candidate.
    """

    __slots__ = ("always", "always_at", "children", "fast", "gates", "plain")

    def __init__(self, children: tuple[Route, ...], gates: list[_LabelGate], always: list[int]):
        self.children = children
        self.gates = tuple(gates)
        self.always_at = tuple(always)
        self.always = tuple(children[i] for i in always)
        # The gates as plain tuples: unpacking them is cheaper than attribute lookups.
        self.plain = tuple((g.label, g.by_value, g.lengths, g.prefixes) for g in gates)
        # One gate with exact values only: precompute each value's merged candidate list.
        self.fast: dict[str, tuple[Route, ...]] | None = None
        if len(gates) == 1 and not gates[0].prefixes:
            self.fast = {
                value: tuple(children[i] for i in sorted(at + self.always_at))
                for value, at in gates[0].by_value.items()
            }

    def candidates(self, get: _Get) -> Sequence[Route]:
        if self.fast is not None:
            return self.fast.get(get(self.gates[0].label), self.always)
        hits: tuple[int, ...] = ()
        for label, by_value, lengths, prefixes in self.plain:
            value = get(label)
            found = by_value.get(value)
            if found:
                hits += found
            for n in lengths:
                found = prefixes.get(value[:n])
                if found:
                    hits += found
        if not hits:
            return self.always
        children = self.children
        return [children[i] for i in sorted(hits + self.always_at)]


_MAX_GATE_LABELS: Final = 3


def _index_children(route: Route) -> None:
    """Build `route`'s child index, or none when it has too few children to gain from one."""
    children = route.routes
    per_child: list[dict[str, frozenset[str] | str]] = []
    for child in children:
        found: dict[str, frozenset[str] | str] = {}
        for m in child.matchers:
            gate = _gate(m)
            if gate is None:
                continue
            known = found.get(m.name)
            if isinstance(gate, frozenset):
                # Several value sets on one label: the value must be in all of them.
                found[m.name] = gate & known if isinstance(known, frozenset) else gate
            elif known is None or (isinstance(known, str) and len(gate) > len(known)):
                found[m.name] = gate  # the longest required prefix
        per_child.append(found)
    remaining = list(range(len(children)))
    gates: list[_LabelGate] = []
    while len(children) >= 4 and len(gates) < _MAX_GATE_LABELS:
        votes = Counter(label for i in remaining for label in per_child[i])
        if not votes or votes.most_common(1)[0][1] < 2:
            break
        label_gate = _LabelGate(votes.most_common(1)[0][0])
        by_value: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        for i in [i for i in remaining if label_gate.label in per_child[i]]:
            remaining.remove(i)
            condition = per_child[i][label_gate.label]
            if isinstance(condition, str):
                prefixes.setdefault(condition, []).append(i)
            else:
                for value in condition:
                    by_value.setdefault(value, []).append(i)
        label_gate.by_value = {v: tuple(at) for v, at in by_value.items()}
        label_gate.prefixes = {p: tuple(at) for p, at in prefixes.items()}
        label_gate.lengths = tuple(sorted({len(p) for p in prefixes}))
        gates.append(label_gate)
    _route_set(route, "_index", _ChildIndex(children, gates, remaining) if gates else None)
