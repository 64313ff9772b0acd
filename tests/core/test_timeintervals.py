"""Time intervals: Alertmanager's conformance instants and invalid definitions, then zones and DST.

time_interval_cases.yaml (from ../shared) has 85 instants over 18 definitions and 18 invalid
definitions with the message `amtool check-config` gives; each definition is loaded through
the configuration loader, as a user's file would be.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from tocsin.config import ConfigError, load_text
from tocsin.core.timeintervals import (
    InclusiveRange,
    TimeInterval,
    TimeIntervalError,
    TimeIntervalSpec,
    TimeRange,
    parse_day_of_month_range,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)

from ..config.conformance import load_cases, missing_param, skip_if_missing


def interval(specs: list[dict[str, Any]], env: dict[str, str] | None = None) -> TimeInterval:
    """The named interval `ti` with these specs, loaded as part of a whole configuration."""
    doc = {
        "route": {"receiver": "r"},
        "receivers": [{"name": "r"}],
        "time_intervals": [{"name": "ti", "time_intervals": specs}],
    }
    return load_text(yaml.safe_dump(doc), env=env or {}).time_intervals["ti"]


def _params(kind: str) -> list[Any]:
    data = load_cases("time_interval_cases.yaml")
    if data is None:
        return [missing_param()]
    if kind == "valid":
        return [
            pytest.param((s, c), id=f"{s['name']}-{c['at']}")
            for s in data["intervals"]
            for c in s["cases"]
        ]
    return [pytest.param(s, id=s["name"]) for s in data["invalid_definitions"]]


@pytest.mark.parametrize("data", _params("valid"))
def test_alertmanager_time_interval_conformance(data: Any) -> None:
    skip_if_missing(data)
    suite, case = data
    at = datetime.fromisoformat(case["at"])
    assert interval(suite["time_intervals"]).contains(at) is case["active"]


@pytest.mark.parametrize("data", _params("invalid"))
def test_alertmanager_rejects_these_definitions_and_so_do_we(data: Any) -> None:
    skip_if_missing(data)
    with pytest.raises(ConfigError) as info:
        interval(data["time_intervals"])
    assert data["error_contains"] in str(info.value)


# -- zones and DST ------------------------------------------------------------------------------


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


DST_TABLE = [
    # Berlin springs forward 2024-03-31 02:00 -> 03:00: 02:xx local never happens that day.
    ({"times": [{"start_time": "02:00", "end_time": "03:00"}], "location": "Europe/Berlin"},
     [("2024-03-31T00:59:00Z", False), ("2024-03-31T01:00:00Z", False),
      ("2024-03-30T01:30:00Z", True)]),
    # ... and falls back 2024-10-27 03:00 -> 02:00: 02:30 local happens twice, both count.
    ({"times": [{"start_time": "02:00", "end_time": "03:00"}], "location": "Europe/Berlin"},
     [("2024-10-27T00:30:00Z", True), ("2024-10-27T01:30:00Z", True),
      ("2024-10-27T02:00:00Z", False)]),
    # New York business hours move in UTC when DST starts (2024-03-10).
    ({"times": [{"start_time": "09:00", "end_time": "17:00"}], "location": "America/New_York"},
     [("2024-03-08T14:00:00Z", True), ("2024-03-08T13:59:00Z", False),
      ("2024-03-11T13:00:00Z", True), ("2024-03-11T12:59:00Z", False),
      ("2024-03-11T21:00:00Z", False), ("2024-03-08T21:59:00Z", True)]),
    # Half-hour offsets.
    ({"times": [{"start_time": "09:00", "end_time": "09:30"}], "location": "Asia/Kolkata"},
     [("2024-06-01T03:30:00Z", True), ("2024-06-01T03:29:00Z", False),
      ("2024-06-01T03:59:00Z", True), ("2024-06-01T04:00:00Z", False)]),
    # The weekday is the local one: Saturday starts 11 hours early in Auckland (NZDT).
    ({"weekdays": ["saturday"], "location": "Pacific/Auckland"},
     [("2024-03-08T11:00:00Z", True), ("2024-03-08T10:59:00Z", False)]),
    # The month is the local one too.
    ({"months": ["january"], "location": "America/Los_Angeles"},
     [("2024-02-01T07:59:00Z", True), ("2024-02-01T08:00:00Z", False)]),
    # Negative days count from the month's end, leap years included.
    ({"days_of_month": ["-1"]},
     [("2024-02-29T12:00:00Z", True), ("2024-02-28T12:00:00Z", False),
      ("2023-02-28T12:00:00Z", True), ("2024-12-31T23:59:00Z", True)]),
    # A range starting after the month's end is skipped; a long one is clamped.
    ({"days_of_month": ["29:31"]},
     [("2023-02-28T12:00:00Z", False), ("2024-02-29T12:00:00Z", True),
      ("2024-04-30T12:00:00Z", True)]),
    # An instant given with an offset is the same instant.
    ({"times": [{"start_time": "00:00", "end_time": "01:00"}]},
     [("2024-01-01T05:30:00+05:30", True), ("2024-01-01T01:00:00+01:00", True),
      ("2024-01-01T00:00:00-01:00", False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "at", "active"),
    [(spec, at, active) for spec, cases in DST_TABLE for at, active in cases],
)
def test_zones_and_dst(spec: dict[str, Any], at: str, active: bool) -> None:
    assert interval([spec]).contains(z(at)) is active


def test_local_is_the_zone_the_environment_names() -> None:
    ti = interval([{"times": [{"start_time": "09:00", "end_time": "10:00"}], "location": "Local"}],
                  env={"TZ": "Asia/Tokyo"})  # fmt: skip
    assert ti.contains(z("2024-01-01T00:30:00Z"))
    assert not ti.contains(z("2024-01-01T09:30:00Z"))
    utc = interval([{"times": [{"start_time": "09:00", "end_time": "10:00"}], "location": "UTC"}])
    assert utc.contains(z("2024-01-01T09:30:00Z"))


def test_empty_spec_always_and_empty_lists_never() -> None:
    at = datetime(2024, 5, 5, 5, 5, tzinfo=UTC)
    assert TimeIntervalSpec().contains(at)
    assert not TimeIntervalSpec(times=()).contains(at)  # Go: a non-nil empty slice
    assert not TimeInterval("none", ()).contains(at)
    assert interval([{"weekdays": []}]).contains(at) is False


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeIntervalSpec().contains(datetime(2024, 1, 1))


def test_any_spec_of_a_named_interval_is_enough() -> None:
    ti = TimeInterval(
        "evenings-or-weekends",
        (
            TimeIntervalSpec(times=(TimeRange(17 * 60, 24 * 60),)),
            TimeIntervalSpec(weekdays=(InclusiveRange(0, 0), InclusiveRange(6, 6))),
        ),
    )
    tz = timezone(timedelta(0))
    assert ti.contains(datetime(2024, 3, 4, 18, 0, tzinfo=tz))  # Monday evening
    assert ti.contains(datetime(2024, 3, 9, 10, 0, tzinfo=tz))  # Saturday morning
    assert not ti.contains(datetime(2024, 3, 4, 10, 0, tzinfo=tz))


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_weekday_range, "Monday:FRIDAY", InclusiveRange(1, 5)),
        (parse_weekday_range, "sunday", InclusiveRange(0, 0)),
        (parse_day_of_month_range, "-7:-1", InclusiveRange(-7, -1)),
        (parse_day_of_month_range, "20:-1", InclusiveRange(20, -1)),
        (parse_day_of_month_range, "+5", InclusiveRange(5, 5)),
        (parse_month_range, "May:june", InclusiveRange(5, 6)),
        (parse_month_range, "1:3", InclusiveRange(1, 3)),
        (parse_year_range, "2020:2025", InclusiveRange(2020, 2025)),
    ],
)
def test_ranges_parse(parse: Any, text: str, expected: InclusiveRange) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_weekday_range, "saturday:sunday", "start day cannot be before end day"),
        (parse_weekday_range, "1", "1 is not a valid weekday"),
        (parse_weekday_range, "tuesday:", " is not a valid weekday"),
        (parse_day_of_month_range, "1:2:3", "couldn't parse range 1:2:3, invalid format"),
        (parse_day_of_month_range, " 5", 'strconv.Atoi: parsing " 5": invalid syntax'),
        (parse_day_of_month_range, "0", "0 is not a valid day of the month: out of range"),
        (parse_day_of_month_range, "-3:-5", "end day -5 is always before start day -3"),
        (parse_day_of_month_range, "-15:5", "end day must be negative if start day is negative"),
        (parse_month_range, "martius", "martius is not a valid month"),
        (parse_month_range, "13", "13 is not a valid month: out of range"),  # stricter than 0.25
        (parse_month_range, "december:january", "end month january is before start month december"),
        (parse_year_range, "2022:2020", "end year 2020 is before start year 2022"),
        (
            parse_year_range,
            "99999999999999999999",
            'strconv.Atoi: parsing "99999999999999999999": value out of range',
        ),
    ],
)
def test_range_errors_read_as_alertmanagers(parse: Any, text: str, message: str) -> None:
    with pytest.raises(TimeIntervalError) as info:
        parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("1:00", "2:00", "couldn't parse timestamp 1:00, invalid format"),
        ("12:30", "24:01", "couldn't parse timestamp 24:01, invalid format"),
        ("10:00", "09:00", "start time cannot be equal or greater than end time"),
        ("10:00", None, "both start and end times must be provided"),
    ],
)
def test_time_range_errors(start: str, end: str | None, message: str) -> None:
    with pytest.raises(TimeIntervalError, match=message):
        parse_time_range(start, end)
    assert parse_time_range("00:00", "24:00") == TimeRange(0, 1440)


def test_errors_in_a_file_point_at_the_value() -> None:
    text = """\
route: {receiver: r}
receivers: [{name: r}]
time_intervals:
- name: ti
  time_intervals:
  - weekdays: [monday, 'friday:monday']
    location: Mars/Olympus_Mons
"""
    with pytest.raises(ConfigError) as info:
        load_text(text, filename="am.yml")
    assert [str(p) for p in info.value.problems] == [
        "am.yml:6:24: time_intervals[0].time_intervals[0].weekdays[1]: "
        "start day cannot be before end day",
        "am.yml:7:5: time_intervals[0].time_intervals[0].location: "
        "unknown time zone Mars/Olympus_Mons",
    ]
