"""Alerts from the wire: Alertmanager's `postableAlerts` and its webhook payload (version 4).

Both parsers take the decoded JSON and return the valid alerts plus, for each invalid one, its
index and the field at fault (`alerts[2].labels["1x"]: invalid label name ...`). The caller
ingests the valid ones and answers 400 naming the invalid ones, as Alertmanager does
(api/v2/api.go `postAlertsHandler`: "make a best effort to insert all alerts that are valid").

Alertmanager's rules, kept here:

* labels with an empty value are dropped before anything else (`removeEmptyLabels`), so
  `{a="1", b=""}` is the alert `{a="1"}`, with that alert's fingerprint;
* no `startsAt`: now, or `endsAt` when only that is given; no `endsAt`: now + resolve_timeout
  (the alert stays alive while its source keeps re-sending it);
* Go's zero time (`0001-01-01T00:00:00Z`) means "not set";
* an alert needs at least one label; label *and annotation* names must be valid Prometheus
  label names; `endsAt` may not be before `startsAt`.

Alertmanager's webhook only re-sends a firing alert every `repeat_interval` (4h by default), so
a firing alert that arrives through the webhook lives `webhook_ttl` (default 4h + 5m) unless
refreshed or resolved; a resolved one is resolved at its `endsAt`. A retried delivery carries the
same alerts and changes nothing a second time.

Sizes are bounded before any work is done per alert: alerts per request, labels and
annotations per alert, and the length of names and values (`IngestLimits`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import orjson

from tocsin.adapters.http.errors import ApiError
from tocsin.core.events import AlertData
from tocsin.core.labels import EMPTY_LABELS, InvalidLabel, Labels, validate_label_name

__all__ = [
    "DEFAULT_WEBHOOK_TTL",
    "IngestLimits",
    "Invalid",
    "Parsed",
    "jtype",
    "parse_json",
    "parse_postable_alerts",
    "parse_webhook",
]

DEFAULT_WEBHOOK_TTL = timedelta(hours=4, minutes=5)


@attrs.frozen
class IngestLimits:
    """What one request may carry. Over a limit: 413 for the body, 400 for the rest."""

    max_request_bytes: int = 4 * 1024 * 1024
    max_alerts_per_request: int = 10_000
    max_labels_per_alert: int = 128
    max_annotations_per_alert: int = 128
    max_name_length: int = 1024
    max_label_value_length: int = 4096
    max_annotation_value_length: int = 65_536
    max_generator_url_length: int = 8192


@attrs.frozen
class Invalid:
    """One alert of a batch that was refused: its index, the field at fault, and why."""

    index: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"alerts[{self.index}]" + (f".{self.field}" if self.field else "")
        return f"{where}: {self.reason}"


@attrs.frozen
class Parsed:
    alerts: list[AlertData]
    invalid: list[Invalid]
    total: int
    firing: int = 0
    resolved: int = 0

    def problem(self, am_string: bool = False) -> ApiError:
        """The 400 answer for the invalid alerts (the valid ones were accepted)."""
        shown = "; ".join(str(i) for i in self.invalid[:20])
        more = len(self.invalid) - 20
        if more > 0:
            shown += f"; and {more} more"
        return ApiError(
            400,
            f"{len(self.invalid)} of {self.total} alerts invalid "
            f"({len(self.alerts)} valid ones accepted)",
            shown,
            am_string=am_string,
        )


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


def parse_json(body: bytes, am_string: bool = False) -> Any:
    """Decode a request body. Raises `ApiError` 400 naming where the JSON breaks."""
    if not body.strip():
        raise ApiError(400, "empty body", "expected a JSON document", am_string=am_string)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed JSON", str(exc), am_string=am_string) from None


def jtype(value: object) -> str:
    """The JSON type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _time(item: Mapping[str, Any], key: str) -> datetime | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(key, f"expected an RFC 3339 time string, got {jtype(value)}")
    try:
        t = datetime.fromisoformat(value)
        if t.tzinfo is None:
            raise _Bad(key, f"RFC 3339 time needs a zone (Z or +hh:mm): {value[:64]!r}")
        if t.year <= 1:
            return None  # Go's zero time: not set
        return t.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(key, f"not an RFC 3339 time: {value[:64]!r}") from None


class _KnownSets:
    """Label sets already validated, by their raw `(name, value)` items as received.

    Prometheus re-sends every firing alert about once a minute with the same labels and
    annotations in the same order; recognising them costs one tuple and one dict lookup
    instead of validating, sorting and interning again. Bounded (cleared when full) and
    emptied when the limits change, since a set is only known under the limits it passed.
    """

    MAX = 250_000

    def __init__(self) -> None:
        self.limits: IngestLimits | None = None
        self.sets: tuple[dict[tuple[Any, ...], Labels], dict[tuple[Any, ...], Labels]] = ({}, {})

    def table(self, limits: IngestLimits, annotations: bool) -> dict[tuple[Any, ...], Labels]:
        if limits is not self.limits:
            self.limits = limits
            self.sets = ({}, {})
        table = self.sets[annotations]
        if len(table) >= self.MAX:
            table.clear()
        return table


_KNOWN = _KnownSets()


def _label_set(
    item: Mapping[str, Any], key: str, limits: IngestLimits, *, annotations: bool
) -> Labels:
    raw = item.get(key)
    if raw is None:
        if annotations:
            return EMPTY_LABELS
        raise _Bad(key, "required: an object of label names to string values")
    if not isinstance(raw, dict):
        raise _Bad(key, f"expected an object of names to string values, got {jtype(raw)}")
    known = _KNOWN.table(limits, annotations)
    try:
        raw_key = tuple(raw.items())
        found = known.get(raw_key)
    except TypeError:  # an unhashable value: not a valid set, the checks below say why
        raw_key, found = None, None
    if found is not None:
        return found
    labels = _check_label_set(raw, key, limits, annotations=annotations)
    if raw_key is not None:
        known[raw_key] = labels
    return labels


def _check_label_set(
    raw: dict[str, Any], key: str, limits: IngestLimits, *, annotations: bool
) -> Labels:
    """What `Labels.of` checks and more (the limits), in one pass, building the name-sorted,
    interned set directly: every alert of a storm of new alerts comes through here, so the
    names seen valid are remembered (a handful recur in every alert), the UTF-8 test runs
    only for values that are not ASCII, and the set is built with C-level map/zip calls."""
    most = limits.max_annotations_per_alert if annotations else limits.max_labels_per_alert
    if len(raw) > most:
        raise _Bad(key, f"{len(raw)} entries, at most {most} are allowed")
    longest = limits.max_annotation_value_length if annotations else limits.max_label_value_length
    max_name = limits.max_name_length
    names_ok = _NAMES_OK
    kept: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise _Bad(f"{key}[{_q(name)}]", f"expected a string value, got {jtype(value)}")
        if len(name) > max_name:
            raise _Bad(
                f"{key}[{_q(name[:40])}...]", f"name is {len(name)} characters, at most {max_name}"
            )
        if len(value) > longest:
            raise _Bad(f"{key}[{_q(name)}]", f"value is {len(value)} characters, at most {longest}")
        if not value and not annotations:
            continue  # dropped before anything else, name and all, as Alertmanager's API does
        if name not in names_ok:
            try:
                validate_label_name(name)
            except InvalidLabel as exc:
                raise _Bad(f"{key}[{_q(name)}]", exc.reason) from None
            if len(names_ok) < _NAMES_OK_MAX:
                names_ok.add(name)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Bad(f"{key}[{_q(name)}]", "label value is not valid UTF-8") from None
        kept[name] = value
    names = sorted(kept)
    values = map(_intern, map(kept.__getitem__, names))
    return Labels.from_sorted_dict(dict(zip(map(_intern, names), values, strict=True)))


_NAMES_OK: set[str] = set()  # label and annotation names known valid
_NAMES_OK_MAX = 10_000
_intern = sys.intern


def _q(name: str) -> str:
    return orjson.dumps(name).decode()


def _alert(
    item: Any, now: datetime, limits: IngestLimits
) -> tuple[Labels, Labels, datetime | None, datetime | None, str]:
    if not isinstance(item, dict):
        raise _Bad("", f"expected an alert object, got {jtype(item)}")
    labels = _label_set(item, "labels", limits, annotations=False)
    if not labels:
        raise _Bad("labels", "at least one label with a non-empty value is required")
    annotations = _label_set(item, "annotations", limits, annotations=True)
    starts = _time(item, "startsAt")
    ends = _time(item, "endsAt")
    url = item.get("generatorURL", "")
    if url is None:
        url = ""
    if not isinstance(url, str):
        raise _Bad("generatorURL", f"expected a string, got {jtype(url)}")
    if len(url) > limits.max_generator_url_length:
        raise _Bad(
            "generatorURL", f"{len(url)} characters, at most {limits.max_generator_url_length}"
        )
    return labels, annotations, starts, ends, url


def _check_batch(data: Any, limits: IngestLimits, am_string: bool, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise ApiError(
            400,
            "invalid alerts",
            f"{what}: expected a JSON array of alerts, got {jtype(data)}",
            am_string=am_string,
        )
    if len(data) > limits.max_alerts_per_request:
        raise ApiError(
            400,
            "too many alerts",
            f"{what}: {len(data)} alerts in one request, at most "
            f"{limits.max_alerts_per_request} are allowed (split the batch)",
            am_string=am_string,
        )
    return data


def parse_postable_alerts(
    data: Any, now: datetime, resolve_timeout: timedelta, limits: IngestLimits
) -> Parsed:
    """Alertmanager API v2 `postableAlerts`. Raises `ApiError` 400 when the body is not an
    array or holds too many alerts; single bad alerts are returned in `invalid`."""
    items = _check_batch(data, limits, True, "body")
    alerts: list[AlertData] = []
    invalid: list[Invalid] = []
    firing = 0
    default_end = now + resolve_timeout
    for index, item in enumerate(items):
        try:
            labels, annotations, starts, ends, url = _alert(item, now, limits)
            if starts is None:
                starts = ends if ends is not None else now
            if ends is None:
                ends = default_end
            elif ends < starts:
                raise _Bad("endsAt", "the end time must not be before startsAt")
        except _Bad as bad:
            invalid.append(Invalid(index, bad.field, bad.reason))
            continue
        if ends > now:
            firing += 1
        alerts.append(AlertData(labels, annotations, starts, ends, url))
    return Parsed(alerts, invalid, len(items), firing, len(alerts) - firing)


def parse_webhook(
    data: Any, now: datetime, ttl: timedelta, limits: IngestLimits
) -> tuple[Parsed, str]:
    """Alertmanager's webhook payload, version "4". Returns the alerts and the sender's
    `groupKey`. Raises `ApiError` 400 for a payload that is not one."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid webhook payload", f"expected an object, got {jtype(data)}")
    version = data.get("version")
    if version != "4":
        raise ApiError(
            400,
            "invalid webhook payload",
            (
                'version: expected "4" (Alertmanager\'s webhook format), got '
                + (_q(version) if isinstance(version, str) else f"{jtype(version)} {version!r}")
            )
            if version is not None
            else 'version: required ("4")',
        )
    items = _check_batch(data.get("alerts"), limits, False, "alerts")
    group_key = data.get("groupKey")
    alerts: list[AlertData] = []
    invalid: list[Invalid] = []
    firing = 0
    for index, item in enumerate(items):
        try:
            labels, annotations, starts, ends, url = _alert(item, now, limits)
            status = item.get("status")
            if status is None:
                status = "resolved" if ends is not None and ends <= now else "firing"
            if status == "firing":
                ends = now + ttl
                firing += 1
            elif status == "resolved":
                if ends is None or ends > now:
                    ends = now
            else:
                raise _Bad("status", f'expected "firing" or "resolved", got {_q(str(status))}')
            if starts is None or starts > ends:
                starts = min(now, ends)
        except _Bad as bad:
            invalid.append(Invalid(index, bad.field, bad.reason))
            continue
        alerts.append(AlertData(labels, annotations, starts, ends, url))
    parsed = Parsed(alerts, invalid, len(items), firing, len(alerts) - firing)
    return parsed, group_key if isinstance(group_key, str) else ""
