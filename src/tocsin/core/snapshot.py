"""The world's snapshot payload, written by hand where it is big: the alerts.

A snapshot of 100,000 alerts through the generic codec was 35 MB of msgpack maps: every
alert repeated a dozen field names and every label name and shared value, and restart spent
most of its time decoding those strings and interning them again. Format 2 keeps the generic
codec for everything small (silences, group headers, pending notifications) and stores each
group's alerts as rows of numbers into one string table for the whole snapshot:

    {"format": 2, "strings": [str, ...], "groups": {id: {...group fields..., "alerts": [row]}},
     ...the other World fields...}

    row = [labels, fingerprint (16 hex digits), annotations, starts_at, ends_at, generator_url,
           received_at, ends_at (as tracked), resolved_at, resolve_reason]

`labels`/`annotations` are flat lists `[name, value, name, value, ...]` of string-table
indexes in name order, times are microseconds since the epoch (or None), `generator_url` is an
index, `resolve_reason` the enum's value or None. Each distinct string is decoded and interned
once. Format 1 (the generic codec throughout) is still read.

Equal worlds give byte-identical payloads: the table is built in traversal order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import attrs

from tocsin.core.codec import CODEC, to_micros
from tocsin.core.events import AlertData, ResolveReason
from tocsin.core.group_state import AlertState, GroupState
from tocsin.core.labels import Labels

__all__ = ["SNAPSHOT_FORMAT", "decode_world_fields", "encode_world_fields"]

SNAPSHOT_FORMAT = 2
_unstructure_shell, _shell_reader = CODEC.group_shell_hooks()
_fromtimestamp = datetime.fromtimestamp
_REASONS = ResolveReason._value2member_map_


class _StringTable(dict[str, int]):
    """string -> its index, numbering new strings as they come (lookups stay in C)."""

    def __missing__(self, s: str) -> int:
        i = self[s] = len(self)
        return i


class _Memo(dict[Any, Any]):
    """`fn(key)` computed once per distinct key, None for None: the alerts of a batch share
    their times, so each time is converted once (and, decoding, shares one datetime object:
    48 bytes each, four per alert)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__({None: None})
        self._fn = fn

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self._fn(key)
        return value


def _datetime_of(us: int) -> datetime:
    return _fromtimestamp(us / 1e6, UTC)


def encode_world_fields(world_fields: dict[str, Any], groups: dict[str, GroupState]) -> None:
    """Fill `world_fields` (the World's other fields, unstructured) with `groups` and the
    string table, in format 2."""
    table = _StringTable()
    sid = table.__getitem__
    us = _Memo(to_micros).__getitem__
    flat = chain.from_iterable
    out: dict[str, Any] = {}
    for gid, g in groups.items():
        d = _unstructure_shell(g)
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        for st in g.alerts.values():
            a = st.alert
            labels = a.labels
            reason = st.resolve_reason
            append(
                (  # tuples of atoms: the collector stops tracking them, lists it walks
                    tuple(map(sid, flat(labels.items()))),
                    labels.fingerprint_hex,
                    tuple(map(sid, flat(a.annotations.items()))),
                    us(a.starts_at),
                    us(a.ends_at),
                    sid(a.generator_url),
                    us(st.received_at),
                    us(st.ends_at),
                    us(st.resolved_at),
                    None if reason is None else reason.value,
                )
            )
        d["alerts"] = rows
        out[gid] = d
    world_fields["groups"] = out
    world_fields["strings"] = list(table)
    world_fields["format"] = SNAPSHOT_FORMAT


def decode_world_fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, GroupState]]:
    """Split a format-2 payload into the World's other fields and its groups (rebuilt).

    Raises `ValueError`/`KeyError`/`IndexError`/`TypeError` on a payload that does not fit."""
    strings = [sys.intern(s) for s in data["strings"]]
    at = strings.__getitem__
    rest = {k: v for k, v in data.items() if k not in ("format", "strings", "groups")}
    groups: dict[str, GroupState] = {}
    dt = _Memo(_datetime_of).__getitem__
    structure_shell = _shell_reader(dt)  # groups share their times with the alerts too

    new_alert_state: Callable[..., AlertState] = AlertState
    for gid, d in data["groups"].items():
        rows = d["alerts"]
        g = structure_shell(d)  # reads every field but "alerts"
        alerts = g.alerts
        for lab, fp, ann, starts, ends, url, received, tracked, resolved, reason in rows:
            it = map(at, lab)
            labels = Labels.from_sorted_dict(dict(zip(it, it, strict=True)), fp)
            it = map(at, ann)
            annotations = Labels.from_sorted_dict(dict(zip(it, it, strict=True)))
            alert = AlertData(labels, annotations, dt(starts), dt(ends), strings[url])
            alerts[fp] = new_alert_state(
                alert,
                dt(received),
                dt(tracked),
                dt(resolved),
                None if reason is None else _REASONS[reason],
            )
        groups[gid] = g
    return rest, groups


def _check_fields() -> None:
    # The row layout above names AlertState's fields in order; fail loudly at import if the
    # class changes under it.
    names = [f.name for f in attrs.fields(AlertState)]
    if names != ["alert", "received_at", "ends_at", "resolved_at", "resolve_reason"]:
        raise AssertionError(f"snapshot rows out of date with AlertState fields {names}")


_check_fields()
