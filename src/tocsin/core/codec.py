"""Events to and from journal payloads, with upcasters for old schema versions.

The journal stores `(type, version, payload)`; `payload` is a msgpack-ready dict made by cattrs.
Datetimes and timedeltas are stored as integer microseconds (exact, compact, fast to decode),
label sets as name-sorted maps, enums by value.

When an event class changes shape its `VERSION` goes up and an upcaster is registered for the
old version: a function from the version-N payload to the version-N+1 payload. Decoding a
record runs the chain of upcasters up to the current version, then structures it. Records are
never rewritten.

Errors (all `CodecError`, a `ValueError`):
    CodecError
    ├── UnknownEventType      the tag names no event class
    ├── UnsupportedVersion    newer than this code knows, or no upcaster path
    └── MalformedPayload      the payload does not fit the class (names the record's tag)
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from tocsin.core.events import (
    EVENT_TYPES,
    AlertData,
    AlertReceived,
    Event,
    GroupPolicy,
    Mute,
    NotificationRequested,
    NotifyReason,
)
from tocsin.core.group_state import AckInfo, GroupState, Phase
from tocsin.core.labels import EMPTY_LABELS, Labels

__all__ = [
    "CODEC",
    "Codec",
    "CodecError",
    "MalformedPayload",
    "UnknownEventType",
    "UnsupportedVersion",
    "from_micros",
    "to_jsonable",
    "to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_intern = sys.intern

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]
DatetimeOf = Callable[[Any], Any]  # microseconds or None -> datetime or None
ShellReader = Callable[[dict[str, Any]], GroupState]


class CodecError(ValueError):
    pass


class UnknownEventType(CodecError):
    pass


class UnsupportedVersion(CodecError):
    pass


class MalformedPayload(CodecError):
    pass


_MICROS_MEMO: dict[datetime, int] = {}


def to_micros(t: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime.

    Memoised (a few thousand entries, then started afresh): the alerts of a batch share their
    times, and the subtraction and floor division cost ~5% of ingest (py-spy)."""
    us = _MICROS_MEMO.get(t)
    if us is None:
        if len(_MICROS_MEMO) >= 4096:
            _MICROS_MEMO.clear()
        us = _MICROS_MEMO[t] = (t - _EPOCH) // _MICRO
    return us


def from_micros(us: int) -> datetime:
    """The aware UTC datetime `us` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=us)


def _labels_from_map(value: Any, _type: Any) -> Labels:
    # Our own payloads hold valid, name-sorted maps; skip validation on the replay hot path.
    return Labels.from_trusted_map(value)


def _datetime_from_micros(value: Any, _type: Any) -> datetime:
    # fromtimestamp rounds to the nearest microsecond, so the float detour is exact for
    # integer microseconds (tested) and twice as fast as adding a timedelta.
    return datetime.fromtimestamp(value / 1e6, UTC)


def _optional_datetime(value: Any, _type: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1e6, UTC)


def _unstructure_alert(a: AlertData) -> dict[str, Any]:
    return {
        "labels": a.labels.to_dict(),
        "fingerprint": a.labels.fingerprint,
        "annotations": a.annotations.to_dict(),
        "starts_at": None if a.starts_at is None else to_micros(a.starts_at),
        "ends_at": None if a.ends_at is None else to_micros(a.ends_at),
        "generator_url": a.generator_url,
    }


def _unstructure_received(ev: AlertReceived) -> dict[str, Any]:
    # By hand, the payload cattrs would build (tested equal): one per new alert on the ingest
    # path, where the generated function's per-field hook calls cost ~2 µs more.
    return {
        "group_id": ev.group_id,
        "alert": _unstructure_alert(ev.alert),
        "change": str.__str__(ev.change),
        "at": to_micros(ev.at),
    }


def _structure_alert(d: Any, _type: Any) -> AlertData:
    # By hand: AlertData is most of what a journal holds, and this is replay's hot path.
    # The recorded fingerprint spares an FNV pass over every label set.
    starts, ends = d.get("starts_at"), d.get("ends_at")
    return AlertData(
        Labels.from_trusted_map(d["labels"], d.get("fingerprint")),
        Labels.from_trusted_map(d.get("annotations") or {}),
        None if starts is None else _fromtimestamp(starts / 1e6, UTC),
        None if ends is None else _fromtimestamp(ends / 1e6, UTC),
        d.get("generator_url", ""),
    )


_fromtimestamp = datetime.fromtimestamp


def _enum_structure_hook(cls: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    members = cls._value2member_map_

    def structure(value: Any, _type: Any) -> enum.Enum:
        return members[value]

    return structure


def _make_converter() -> cattrs.Converter:
    # Sets (state snapshots hold frozensets) become sorted lists: msgpack has no set type,
    # and sorting keeps snapshots of equal states byte-identical.
    conv = cattrs.Converter(
        detailed_validation=False, unstruct_collection_overrides={AbstractSet: sorted}
    )
    conv.register_unstructure_hook(datetime, to_micros)
    conv.register_structure_hook(datetime, _datetime_from_micros)
    conv.register_structure_hook(datetime | None, _optional_datetime)
    conv.register_unstructure_hook(timedelta, lambda d: d // _MICRO)
    conv.register_structure_hook(timedelta, lambda v, _t: timedelta(microseconds=v))
    conv.register_unstructure_hook(Labels, Labels.to_dict)
    conv.register_structure_hook(Labels, _labels_from_map)
    # StrEnum members are str subclasses; store the plain value so payloads hold only
    # msgpack's own types.
    conv.register_unstructure_hook(enum.StrEnum, str)
    # Enum(value) goes through EnumMeta.__call__ (slow Python); the value map is one dict
    # lookup, and an unknown value still raises (KeyError -> MalformedPayload).
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_structure_hook
    )
    conv.register_unstructure_hook(AlertData, _unstructure_alert)
    conv.register_structure_hook(AlertData, _structure_alert)
    conv.register_unstructure_hook(AlertReceived, _unstructure_received)
    # A group's caches are derived from its alerts: never stored, rebuilt on first use.
    skip = override(omit=True)
    conv.register_unstructure_hook(
        GroupState, make_dict_unstructure_fn(GroupState, conv, derived=skip)
    )
    conv.register_structure_hook(GroupState, make_dict_structure_fn(GroupState, conv, derived=skip))
    return conv


def _make_json_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(datetime, lambda t: t.isoformat().replace("+00:00", "Z"))
    conv.register_unstructure_hook(timedelta, lambda d: d.total_seconds())
    conv.register_unstructure_hook(Labels, Labels.to_dict)
    return conv


def _bind(hook: Callable[[Any, Any], Any], cls: type[Event]) -> Callable[[Any], Event]:
    def structure(payload: Any) -> Event:
        ev: Event = hook(payload, cls)
        return ev

    return structure


class Codec:
    """Maps event classes to `(type, version, payload)` and back.

    One instance, `CODEC`, serves the daemon; tests build their own to register test-only
    event versions and upcasters without touching the global catalogue.
    """

    def __init__(self, types: Mapping[str, type[Event]] | None = None) -> None:
        self._types: dict[str, type[Event]] = dict(EVENT_TYPES if types is None else types)
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._conv = _make_converter()
        # Prebuilt per-class functions: the replay hot path does one dict lookup per record.
        self._structure: dict[str, Callable[[Any], Event]] = {}
        self._unstructure: dict[type[Event], Callable[[Any], Payload]] = {}

    def register(self, cls: type[Event]) -> None:
        """Add an event class (its `TYPE`/`VERSION` set) to this codec."""
        self._types[cls.TYPE] = cls
        self._structure.pop(cls.TYPE, None)

    def register_upcaster(self, tag: str, from_version: int, fn: Upcaster) -> None:
        """Register `fn`, turning a `tag` payload of `from_version` into `from_version + 1`."""
        key = (tag, from_version)
        if key in self._upcasters:
            raise ValueError(f"upcaster for {tag} v{from_version} registered twice")
        self._upcasters[key] = fn

    def upcaster(self, tag: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of `register_upcaster`."""

        def deco(fn: Upcaster) -> Upcaster:
            self.register_upcaster(tag, from_version, fn)
            return fn

        return deco

    def encode(self, ev: Event) -> tuple[str, int, Payload]:
        """`(type, version, payload)` for the journal."""
        cls = type(ev)
        fn = self._unstructure.get(cls)
        if fn is None:
            if self._types.get(cls.TYPE) is not cls:
                raise UnknownEventType(f"{cls.__name__} is not registered with this codec")
            fn = self._unstructure[cls] = self._conv.get_unstructure_hook(cls)
        return cls.TYPE, cls.VERSION, fn(ev)

    def decode(self, tag: str, version: int, payload: Payload) -> Event:
        """The event a journal record holds, upcast to the current version.

        Raises `UnknownEventType`, `UnsupportedVersion` or `MalformedPayload`.
        """
        cls = self._types.get(tag)
        if cls is None:
            raise UnknownEventType(f"unknown event type {tag!r}")
        if version != cls.VERSION:
            payload = self._upcast(tag, version, cls.VERSION, payload)
        fn = self._structure.get(tag)
        if fn is None:
            fn = self._structure[tag] = _bind(self._conv.get_structure_hook(cls), cls)
        try:
            return fn(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedPayload(f"{tag} v{version}: payload does not fit: {exc!r}") from exc

    def _upcast(self, tag: str, version: int, current: int, payload: Payload) -> Payload:
        if version > current:
            raise UnsupportedVersion(
                f"{tag} v{version} is newer than this Tocsin knows (v{current}); upgrade Tocsin"
            )
        while version < current:
            fn = self._upcasters.get((tag, version))
            if fn is None:
                raise UnsupportedVersion(f"no upcaster from {tag} v{version} to v{version + 1}")
            payload = fn(dict(payload))
            version += 1
        return payload

    def unstructure(self, obj: Any) -> Any:
        """Any value this codec knows (events, value objects, state) as msgpack-ready data."""
        return self._conv.unstructure(obj)

    def structure(self, data: Any, cls: Any) -> Any:
        return self._conv.structure(data, cls)

    def group_shell_hooks(
        self,
    ) -> tuple[Callable[[GroupState], dict[str, Any]], Callable[[DatetimeOf], ShellReader]]:
        """How a snapshot stores a `GroupState` without its alerts (`core.snapshot` stores
        those itself, compactly): the unstructure function, and a factory of shell readers.

        A reader (one per snapshot load; `datetime_of` maps microseconds or None to a datetime
        or None, and may share equal times) rebuilds shells by hand rather than through the
        generated cattrs function: with a group per alert the generated one, a hook call per
        field, was ~40 µs a group, most of a 100k-group restart (py-spy). A reader also gives
        equal route policies one shared (frozen) `GroupPolicy`. It reads exactly what the
        generated function reads (`generic_shell_reader`, tested equal); a field missing from
        the payload gets its default."""
        conv = self._conv
        skip = override(omit=True)
        unstructure = make_dict_unstructure_fn(GroupState, conv, derived=skip, alerts=skip)
        policy_hook = conv.get_structure_hook(GroupPolicy)
        ack_hook = conv.get_structure_hook(AckInfo)
        mutes_hook = conv.get_structure_hook(tuple[Mute, ...])
        phases = Phase._value2member_map_
        reasons = NotifyReason._value2member_map_

        def new_reader(dt: DatetimeOf) -> ShellReader:
            policies: dict[Any, GroupPolicy] = {}

            def policy_of(p: Any) -> GroupPolicy | None:
                if p is None:
                    return None
                key: Any = tuple(p.items())
                try:
                    policy = policies.get(key)
                except TypeError:  # nested (an escalation policy): freeze it all
                    key = _frozen(p)
                    policy = policies.get(key)
                if policy is None:
                    policy = policies[key] = policy_hook(p, GroupPolicy)
                return policy

            def pending_of(p: dict[str, Any]) -> NotificationRequested:
                # A group per alert means a requested notification per group after a burst.
                return NotificationRequested(
                    group_id=p["group_id"],
                    notification_id=p["notification_id"],
                    receiver=p["receiver"],
                    reason=reasons[p["reason"]],  # type: ignore[arg-type]
                    level=p["level"],
                    episode=p["episode"],
                    firing=tuple(p["firing"]),
                    resolved=tuple(p["resolved"]),
                    dedup_key=p["dedup_key"],
                    at=dt(p["at"]),
                )

            def read(d: dict[str, Any]) -> GroupState:
                get = d.get
                labels = get("group_labels")
                ack = get("ack")
                mutes = get("last_mutes")
                pending = get("pending")
                return GroupState(
                    group_id=d["group_id"],
                    group_key=get("group_key", ""),
                    group_labels=EMPTY_LABELS if labels is None else _trusted_labels(labels),
                    policy=policy_of(get("policy")),
                    phase=phases[get("phase", "empty")],  # type: ignore[arg-type]
                    episode=get("episode", 0),
                    opened_at=dt(get("opened_at")),
                    flushed_at=dt(get("flushed_at")),
                    last_eval_at=dt(get("last_eval_at")),
                    dirty_since=dt(get("dirty_since")),
                    quiet=get("quiet", False),
                    last_mutes=mutes_hook(mutes, tuple[Mute, ...]) if mutes else (),
                    notified_at=dt(get("notified_at")),
                    notified_firing=frozenset(get("notified_firing", ())),
                    notified_resolved=frozenset(get("notified_resolved", ())),
                    repeat_base=dt(get("repeat_base")),
                    notified_receivers=tuple(get("notified_receivers", ())),
                    recent=tuple(
                        (dt(at), tuple(firing), tuple(resolved))
                        for at, firing, resolved in get("recent", ())
                    ),
                    first_notified_at=dt(get("first_notified_at")),
                    level=get("level", -1),
                    escalation_anchor=dt(get("escalation_anchor")),
                    ack=None if ack is None else ack_hook(ack, AckInfo),
                    pending={} if not pending else {n: pending_of(p) for n, p in pending.items()},
                    notification_seq=get("notification_seq", 0),
                )

            return read

        return unstructure, new_reader

    def generic_shell_reader(self) -> ShellReader:
        """The generated cattrs function `group_shell_hooks`' readers stand in for (tests)."""
        skip = override(omit=True)
        structure = make_dict_structure_fn(GroupState, self._conv, derived=skip, alerts=skip)

        def read(d: dict[str, Any]) -> GroupState:
            g: GroupState = structure(d, GroupState)
            return g

        return read


def _trusted_labels(m: dict[str, str]) -> Labels:
    return Labels.from_trusted_map(m)


def _frozen(v: Any) -> Any:
    """A hashable key for msgpack data (maps keep their order: equal encoders, equal keys)."""
    if isinstance(v, dict):
        return (dict, tuple([(k, _frozen(x)) for k, x in v.items()]))
    if isinstance(v, list):
        return (list, tuple(map(_frozen, v)))
    return v


# What the shell readers fill by hand; anything else on GroupState fails at import, not later.
_SHELL_FIELDS = [
    "group_id",
    "group_key",
    "group_labels",
    "policy",
    "phase",
    "episode",
    "opened_at",
    "alerts",
    "flushed_at",
    "last_eval_at",
    "dirty_since",
    "quiet",
    "last_mutes",
    "notified_at",
    "notified_firing",
    "notified_resolved",
    "repeat_base",
    "notified_receivers",
    "recent",
    "first_notified_at",
    "level",
    "escalation_anchor",
    "ack",
    "pending",
    "notification_seq",
    "derived",
]
_PENDING_FIELDS = [
    "group_id",
    "notification_id",
    "receiver",
    "reason",
    "level",
    "episode",
    "firing",
    "resolved",
    "dedup_key",
    "at",
]
if [f.name for f in attrs.fields(GroupState)] != _SHELL_FIELDS or [
    f.name for f in attrs.fields(NotificationRequested)
] != _PENDING_FIELDS:
    raise AssertionError("codec's group shell readers are out of date with the state's fields")


CODEC = Codec()
_JSON = _make_json_converter()


def to_jsonable(ev: Event) -> dict[str, Any]:
    """An event's fields as JSON-ready data: ISO-8601 times, durations in seconds."""
    data: dict[str, Any] = _JSON.unstructure(ev)
    return data
