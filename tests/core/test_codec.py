"""Events to journal payloads and back; upcasters for old versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.codec import (
    CODEC,
    Codec,
    MalformedPayload,
    UnknownEventType,
    UnsupportedVersion,
    from_micros,
    to_jsonable,
    to_micros,
)
from tocsin.core.events import (
    EVENT_TYPES,
    ActorRestarted,
    AlertChange,
    AlertData,
    AlertReceived,
    CircuitClosed,
    CircuitOpened,
    ConfigLoaded,
    Event,
    FlushOutcome,
    GroupFlushed,
    Mute,
    MuteKind,
    NotificationFailed,
    SilenceCreated,
    SilenceData,
    SilenceExpired,
)
from tocsin.core.labels import Labels

T = datetime(2026, 3, 1, 3, 12, 7, 123456, tzinfo=UTC)


def _sample_events() -> list[Event]:
    a = AlertData(
        Labels.of({"alertname": "DiskFull", "severity": "critical", "env": "prod"}),
        Labels.of({"summary": "disk 99% full", "runbook_url": "https://runbooks/disk"}),
        T,
        None,
        "http://prometheus/graph",
    )
    return [
        AlertReceived("g", a, AlertChange.NEW, T),
        GroupFlushed(
            "g",
            FlushOutcome.ALL_MUTED,
            ("00000000000000ff",),
            (),
            (Mute("00000000000000ff", MuteKind.INHIBITED, "rule-1", "by ab12"),),
            T,
        ),
        NotificationFailed(
            "g",
            "g-1-1",
            "pd",
            "pagerduty[0]",
            3,
            429,
            "rate limited",
            False,
            timedelta(milliseconds=12),
            T,
        ),
        CircuitOpened("slack", "slack[0]", 5, "HTTP 503", T),
        CircuitClosed("slack", "slack[0]", T),
        SilenceCreated(
            SilenceData("s-1", (("alertname", "=~", "Disk.*"),), T, T + timedelta(hours=2), "ops"),
            T,
        ),
        SilenceExpired("s-1", "ops", T),
        ConfigLoaded("ab" * 32, "/etc/tocsin/alertmanager.yml", T),
        ActorRestarted("group g", "KeyError('x')", 2, timedelta(seconds=2), T),
    ]


@pytest.mark.parametrize("ev", _sample_events(), ids=lambda e: e.TYPE)
def test_round_trip_through_msgpack(ev):
    tag, version, payload = CODEC.encode(ev)
    assert (tag, version) == (ev.TYPE, ev.VERSION)
    packed = msgpack.packb(payload, use_bin_type=True)  # only msgpack's own types inside
    assert CODEC.decode(tag, version, msgpack.unpackb(packed, raw=False)) == ev


@pytest.mark.parametrize("change", list(AlertChange))
def test_the_hand_written_alert_received_payload_is_what_cattrs_builds(change):
    """`AlertReceived` is encoded by a hand-written hook on the ingest path; it must build the
    very payload the generic, field-by-field unstructuring does (same keys, same values)."""
    from cattrs.gen import make_dict_unstructure_fn

    generic = make_dict_unstructure_fn(AlertReceived, CODEC._conv)
    for ev in (ev for ev in _sample_events() if isinstance(ev, AlertReceived)):
        ev = attrs.evolve(ev, change=change)
        payload = CODEC.encode(ev)[2]
        assert payload == generic(ev)
        assert list(payload) == list(generic(ev))
        assert type(payload["change"]) is str


def test_every_event_class_has_a_unique_short_tag_and_a_version():
    assert len(EVENT_TYPES) == len({cls for cls in EVENT_TYPES.values()})
    for tag, cls in EVENT_TYPES.items():
        assert tag == cls.TYPE and 0 < len(tag) <= 32 and cls.VERSION >= 1
        assert attrs.has(cls) and cls.__setattr__ is not object.__setattr__  # frozen


@given(st.integers(min_value=0, max_value=4_102_444_800_000_000))  # up to year 2100
def test_microsecond_timestamps_are_exact(us):
    assert to_micros(from_micros(us)) == us
    t = from_micros(us)
    tag, version, payload = CODEC.encode(CircuitClosed("r", "i", t))
    assert CODEC.decode(tag, version, payload).at == t


def test_unknown_type_newer_version_and_bad_payload_are_errors():
    with pytest.raises(UnknownEventType):
        CODEC.decode("no.such.event", 1, {})
    with pytest.raises(UnsupportedVersion, match="newer than this Tocsin knows"):
        CODEC.decode("circuit.closed", 99, {})
    with pytest.raises(MalformedPayload, match=r"circuit\.closed"):
        CODEC.decode("circuit.closed", 1, {"receiver": "r"})


# --------------------------------------------------------------------------------- upcasting
@attrs.frozen
class _WidgetV1(Event):
    name: str
    at: datetime


@attrs.frozen
class _WidgetV2(Event):
    """Version 2 split `name` into `team` and `service` and added `priority`."""

    team: str
    service: str
    priority: int
    at: datetime


def test_old_versions_load_through_upcasters():
    old = Codec(types={})
    _WidgetV1.TYPE, _WidgetV1.VERSION = "test.widget", 1
    old.register(_WidgetV1)
    tag, version, payload = old.encode(_WidgetV1("payments/api", T))
    stored = msgpack.unpackb(msgpack.packb(payload), raw=False)

    new = Codec(types={})
    _WidgetV2.TYPE, _WidgetV2.VERSION = "test.widget", 2
    new.register(_WidgetV2)

    @new.upcaster("test.widget", 1)
    def _split_name(p):
        team, _, service = p.pop("name").partition("/")
        return {**p, "team": team, "service": service, "priority": 3}

    assert new.decode(tag, version, stored) == _WidgetV2("payments", "api", 3, T)
    # Current-version records are not touched by the upcaster.
    assert new.decode(*new.encode(_WidgetV2("a", "b", 1, T))) == _WidgetV2("a", "b", 1, T)
    # A gap in the chain is an error that says which step is missing.
    gap = Codec(types={})
    gap.register(_WidgetV2)
    with pytest.raises(UnsupportedVersion, match=r"no upcaster from test\.widget v1 to v2"):
        gap.decode(tag, version, stored)


def test_jsonable_form_uses_iso_times_and_seconds():
    data = to_jsonable(_sample_events()[2])
    assert data["at"] == "2026-03-01T03:12:07.123456Z"
    assert data["latency"] == 0.012
