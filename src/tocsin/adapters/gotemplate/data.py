"""Alertmanager's template data (template/template.go in 0.25), and how to build it.

Theory of operation
-------------------
A template's dot is `*Data`; `.Alerts` is `Alerts` (with `Firing` and `Resolved`, which return
plain `[]Alert`), each `Alert` has `Labels`/`Annotations` as `KV` (a `map[string]string` with
`SortedPairs`, `Remove`, `Names`, `Values`; in 0.25 neither KV nor Pairs has a `String`
method, so `{{ .Labels }}` prints `map[a:b]`), `StartsAt`/`EndsAt` as Go times. Methods win
over map keys, as in Go: `.Labels.Names` is the method, never a label called "Names".

`SortedPairs` puts `alertname` first and sorts the rest; `Names`/`Values` follow that order.

Two ways in:

* `template_data(receiver, status, alerts, group_labels, external_url, now=…)` from Tocsin's
  objects (anything with `labels`, `annotations`, `starts_at`, `ends_at`, `generator_url`;
  `fingerprint` if it has one). As Alertmanager does: the receiver name goes through
  `regexp.QuoteMeta`; an alert is resolved when its end time is set and not after `now`; a
  firing alert's `EndsAt` is the zero time; common labels and annotations are those every
  alert shares; the status is "firing" when any alert fires, unless given.
* `Data.from_json(payload)` from the JSON Alertmanager sends to webhooks (and that
  `amtool template render --template.data` reads): receiver as written there (already quoted),
  times with their offsets kept.

`sort_alerts` orders alerts as Alertmanager's dispatcher does before notifying (by `job`, then
`instance`, then label sets), for callers that want identical output for multi-alert groups.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, Final, Protocol, TypeVar

from tocsin.adapters.gotemplate.gotime import ZERO_TIME, GoTime
from tocsin.adapters.gotemplate.values import STRINGS, GoFunc, GoStrings, GoStruct
from tocsin.core.labels import Labels

__all__ = [
    "KV",
    "Alert",
    "AlertLike",
    "AlertSlice",
    "Alerts",
    "Data",
    "Pair",
    "Pairs",
    "parse_go_time",
    "quote_meta",
    "sort_alerts",
    "template_data",
]


class KV(dict[str, str]):
    """template.KV: map[string]string with Alertmanager's methods. A missing key reads ""."""

    __slots__ = ()
    go_type = "template.KV"
    go_zero = ""
    go_methods: ClassVar[dict[str, GoFunc]]

    def sorted_pairs(self) -> Pairs:
        keys = sorted(self)
        if "alertname" in self:
            keys.remove("alertname")
            keys.insert(0, "alertname")
        return Pairs([Pair(k, self[k]) for k in keys])

    def remove(self, keys: Iterable[str]) -> KV:
        drop = set(keys)
        return KV((k, v) for k, v in self.items() if k not in drop)

    def names(self) -> GoStrings:
        return self.sorted_pairs().names()

    def values_(self) -> GoStrings:
        return self.sorted_pairs().values_()


class Pair(GoStruct):
    """template.Pair."""

    __slots__ = ("Name", "Value")
    go_type = "template.Pair"
    go_fields = ("Name", "Value")

    def __init__(self, name: str, value: str) -> None:
        self.Name = name
        self.Value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pair) and (self.Name, self.Value) == (other.Name, other.Value)

    def __hash__(self) -> int:
        return hash((self.Name, self.Value))

    def __repr__(self) -> str:
        return f"Pair({self.Name!r}, {self.Value!r})"


class Pairs(list[Pair]):
    """template.Pairs."""

    __slots__ = ()
    go_type = "template.Pairs"
    go_methods: ClassVar[dict[str, GoFunc]]

    def names(self) -> GoStrings:
        return GoStrings(p.Name for p in self)

    def values_(self) -> GoStrings:
        return GoStrings(p.Value for p in self)


class Alert(GoStruct):
    """template.Alert."""

    __slots__ = (
        "Annotations",
        "EndsAt",
        "Fingerprint",
        "GeneratorURL",
        "Labels",
        "StartsAt",
        "Status",
    )
    go_type = "template.Alert"
    json_names: ClassVar[dict[str, str]] = {
        "Status": "status",
        "Labels": "labels",
        "Annotations": "annotations",
        "StartsAt": "startsAt",
        "EndsAt": "endsAt",
        "GeneratorURL": "generatorURL",
        "Fingerprint": "fingerprint",
    }
    go_fields = (
        "Status",
        "Labels",
        "Annotations",
        "StartsAt",
        "EndsAt",
        "GeneratorURL",
        "Fingerprint",
    )

    def __init__(
        self,
        status: str,
        labels: KV,
        annotations: KV,
        starts_at: GoTime,
        ends_at: GoTime,
        generator_url: str,
        fingerprint: str,
    ) -> None:
        self.Status = status
        self.Labels = labels
        self.Annotations = annotations
        self.StartsAt = starts_at
        self.EndsAt = ends_at
        self.GeneratorURL = generator_url
        self.Fingerprint = fingerprint

    def __repr__(self) -> str:
        return f"Alert({self.Status!r}, {dict(self.Labels)!r})"


class AlertSlice(list[Alert]):
    """[]template.Alert: what Alerts.Firing and Alerts.Resolved return (no methods)."""

    __slots__ = ()
    go_type = "[]template.Alert"


class Alerts(list[Alert]):
    """template.Alerts."""

    __slots__ = ()
    go_type = "template.Alerts"
    go_methods: ClassVar[dict[str, GoFunc]]

    def firing(self) -> AlertSlice:
        return AlertSlice(a for a in self if a.Status == "firing")

    def resolved(self) -> AlertSlice:
        return AlertSlice(a for a in self if a.Status == "resolved")


KV.go_methods = {
    "SortedPairs": GoFunc("SortedPairs", KV.sorted_pairs),
    "Remove": GoFunc("Remove", KV.remove, (STRINGS,)),
    "Names": GoFunc("Names", KV.names),
    "Values": GoFunc("Values", KV.values_),
}
Pairs.go_methods = {
    "Names": GoFunc("Names", Pairs.names),
    "Values": GoFunc("Values", Pairs.values_),
}
Alerts.go_methods = {
    "Firing": GoFunc("Firing", Alerts.firing),
    "Resolved": GoFunc("Resolved", Alerts.resolved),
}


class Data(GoStruct):
    """template.Data, passed by pointer as Alertmanager does (`%T` is `*template.Data`)."""

    __slots__ = (
        "Alerts",
        "CommonAnnotations",
        "CommonLabels",
        "ExternalURL",
        "GroupLabels",
        "Receiver",
        "Status",
        "now",
    )
    go_type = "*template.Data"
    go_pointer = True
    json_names: ClassVar[dict[str, str]] = {
        "Receiver": "receiver",
        "Status": "status",
        "Alerts": "alerts",
        "GroupLabels": "groupLabels",
        "CommonLabels": "commonLabels",
        "CommonAnnotations": "commonAnnotations",
        "ExternalURL": "externalURL",
    }
    go_fields = (
        "Receiver",
        "Status",
        "Alerts",
        "GroupLabels",
        "CommonLabels",
        "CommonAnnotations",
        "ExternalURL",
    )

    def __init__(
        self,
        receiver: str,
        status: str,
        alerts: Alerts,
        group_labels: KV,
        common_labels: KV,
        common_annotations: KV,
        external_url: str,
        now: datetime | None = None,
    ) -> None:
        self.Receiver = receiver
        self.Status = status
        self.Alerts = alerts
        self.GroupLabels = group_labels
        self.CommonLabels = common_labels
        self.CommonAnnotations = common_annotations
        self.ExternalURL = external_url
        self.now = now  # when the data was made: what `since` measures from

    def __repr__(self) -> str:
        return f"Data({self.Receiver!r}, {self.Status!r}, {len(self.Alerts)} alerts)"

    @classmethod
    def from_json(cls, payload: Mapping[str, Any], *, now: datetime | None = None) -> Data:
        """Data from Alertmanager's webhook JSON (or amtool's --template.data file).

        Raises ValueError for a malformed time.
        """
        alerts = Alerts(
            Alert(
                str(a.get("status", "")),
                KV(a.get("labels") or {}),
                KV(a.get("annotations") or {}),
                parse_go_time(a.get("startsAt") or ""),
                parse_go_time(a.get("endsAt") or ""),
                str(a.get("generatorURL", "")),
                str(a.get("fingerprint", "")),
            )
            for a in payload.get("alerts") or ()
        )
        return cls(
            str(payload.get("receiver", "")),
            str(payload.get("status", "")),
            alerts,
            KV(payload.get("groupLabels") or {}),
            KV(payload.get("commonLabels") or {}),
            KV(payload.get("commonAnnotations") or {}),
            str(payload.get("externalURL", "")),
            now,
        )


_TIME_RE: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z"
)


def parse_go_time(text: str) -> GoTime:
    """An RFC 3339 time as Go's JSON decoding reads it; "" is the zero time.

    Raises ValueError.
    """
    if not text:
        return ZERO_TIME
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    nsec = int((m[7] or "").ljust(9, "0"))
    if m[8]:
        tz: timezone = UTC
    else:
        offset = timedelta(hours=int(m[10]), minutes=int(m[11]))
        tz = UTC if not offset else timezone(-offset if m[9] == "-" else offset)
    dt = datetime(year, month, day, hour, minute, second, nsec // 1000, tzinfo=tz)
    return GoTime(dt, nsec)


_META: Final = frozenset("\\.+*?()|[]{}^$")


def quote_meta(s: str) -> str:
    """Go's regexp.QuoteMeta, which Alertmanager applies to the receiver name."""
    return "".join("\\" + c if c in _META else c for c in s)


class AlertLike(Protocol):
    """What `template_data` reads from an alert (tocsin.core.events.AlertData fits)."""

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def annotations(self) -> Mapping[str, str]: ...

    @property
    def starts_at(self) -> datetime | None: ...

    @property
    def ends_at(self) -> datetime | None: ...

    @property
    def generator_url(self) -> str: ...


_A = TypeVar("_A", bound=AlertLike)


def _fingerprint(alert: AlertLike) -> str:
    fp = getattr(alert, "fingerprint", None)
    if isinstance(fp, str):
        return fp
    labels = alert.labels
    if not isinstance(labels, Labels):
        labels = Labels.of(labels, validate=False)
    return labels.fingerprint_hex


def _common(maps: Sequence[Mapping[str, str]]) -> KV:
    if not maps:
        return KV()
    common = dict(maps[0])
    for m in maps[1:]:
        if not common:
            break
        common = {k: v for k, v in common.items() if m.get(k) == v}
    return KV(common)


def _status_and_end(item: Any, alert: AlertLike, now: datetime) -> tuple[bool, datetime | None]:
    """(resolved, the end time to show) of one alert, Alertmanager's way unless told."""
    firing = getattr(item, "firing", None)
    if isinstance(firing, bool):  # the caller knows (a resolve can come from Tocsin itself)
        if firing:
            return False, None
        return True, getattr(item, "resolved_at", None) or alert.ends_at or now
    ends = alert.ends_at
    resolved = ends is not None and ends <= now
    return resolved, ends if resolved else None


def template_data(
    receiver: str,
    status: str | None,
    alerts: Sequence[Any],
    group_labels: Mapping[str, str],
    external_url: str,
    *,
    now: datetime,
) -> Data:
    """Alertmanager's template data for a notification of `alerts` to `receiver`.

    Each alert is an `AlertLike` (tocsin.core.events.AlertData fits), or a view of one: an
    object whose `alert` is AlertLike, with optional `firing` (bool), `resolved_at` and
    `fingerprint` (the channels' AlertView fits). Without `firing`, an alert is resolved when
    its end time is set and not after `now`, as in Alertmanager. `status` is the group's
    ("firing"/"resolved"); None derives it from the alerts as Alertmanager does. `now`
    (aware) is also what `since` measures from. Alerts are taken in the order given (see
    `sort_alerts`).
    """
    built = Alerts()
    plain: list[AlertLike] = []
    for item in alerts:
        a: AlertLike = getattr(item, "alert", item)
        plain.append(a)
        resolved, ends = _status_and_end(item, a, now)
        fingerprint = getattr(item, "fingerprint", None)
        built.append(
            Alert(
                "resolved" if resolved else "firing",
                KV(a.labels),
                KV(a.annotations),
                GoTime(a.starts_at) if a.starts_at is not None else ZERO_TIME,
                GoTime(ends) if ends is not None else ZERO_TIME,
                a.generator_url,
                fingerprint if isinstance(fingerprint, str) else _fingerprint(a),
            )
        )
    if status is None:
        status = "firing" if any(a.Status == "firing" for a in built) else "resolved"
    return Data(
        quote_meta(receiver),
        status,
        built,
        KV(group_labels),
        _common([a.labels for a in plain]),
        _common([a.annotations for a in plain]),
        external_url,
        now,
    )


def _label_set_before(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Prometheus' LabelSet.Before."""
    if len(a) != len(b):
        return len(a) < len(b)
    for name in sorted({*a, *b}):
        if name not in a:
            return True
        if name not in b:
            return False
        if a[name] != b[name]:
            return a[name] < b[name]
    return False


def _compare(x: AlertLike, y: AlertLike) -> int:
    for key in ("job", "instance"):
        xv, yv = x.labels.get(key), y.labels.get(key)
        if xv is None and yv is None:
            continue
        if xv is None:
            return 1
        if yv is None:
            return -1
        if xv != yv:
            return -1 if xv < yv else 1
    if _label_set_before(x.labels, y.labels):
        return -1
    if _label_set_before(y.labels, x.labels):
        return 1
    return 0


def sort_alerts(alerts: Iterable[_A]) -> list[_A]:
    """`alerts` in the order Alertmanager's dispatcher notifies them (a stable sort)."""
    return sorted(alerts, key=functools.cmp_to_key(_compare))
