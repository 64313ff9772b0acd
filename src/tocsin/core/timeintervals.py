"""Alertmanager's time intervals: when a route is muted (or active), decided for an instant.

Theory of operation
-------------------
A named time interval is a list of specs; it contains an instant when any spec does. A spec
(`timeinterval.go` `TimeInterval.ContainsTime`) converts the instant to its location (UTC
when it has none) and then requires every field it sets to match, each field being a list of
ranges of which one must match:

* `times`: `[start, end)` in minutes of the day, `HH:MM` with `24:00` allowed as an end;
* `weekdays`: inclusive ranges of sunday..saturday (a range may not wrap: `saturday:sunday` is
  an error, write `saturday`, `sunday`);
* `days_of_month`: inclusive; negative days count from the month's end (-1 is the last day).
  A range whose start falls after the end of this month is skipped, otherwise both ends are
  clamped to the month. Month length is the calendar's (DST does not shorten a month, as it
  did before Alertmanager's fix #5447);
* `months`: inclusive ranges of january..december or 1..12; `years`: inclusive ranges.

A field that is absent matches everything; a field given as an empty list matches nothing
(Go decodes `[]` to a non-nil empty slice), as in Alertmanager. Names are case-insensitive.

Parsing is here too (`parse_*`), with Alertmanager's error messages, so a configuration error
reads the same as `amtool check-config` says it. Time zones are resolved by the caller (the
configuration layer reads the zone database; `core` does no I/O) and arrive as `tzinfo`.

This module is pure: `contains(instant)` takes the instant; nothing here reads a clock.

Exceptions::

    ValueError
     └── TimeIntervalError    a time interval definition Alertmanager would reject
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import Final

import attrs

__all__ = [
    "InclusiveRange",
    "TimeInterval",
    "TimeIntervalError",
    "TimeIntervalSpec",
    "TimeRange",
    "parse_day_of_month_range",
    "parse_month_range",
    "parse_time_range",
    "parse_weekday_range",
    "parse_year_range",
]


class TimeIntervalError(ValueError):
    """A time interval definition Alertmanager would reject; `str()` is its message."""


WEEKDAYS: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAY_NUM: Final = {name: i for i, name in enumerate(WEEKDAYS)}
_MONTH_NUM: Final = {name: i + 1 for i, name in enumerate(MONTHS)}
_VALID_TIME: Final = re.compile(r"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)\Z")
_ATOI: Final = re.compile(r"[-+]?[0-9]+\Z")
_INT64_MAX: Final = 2**63 - 1


@attrs.frozen
class TimeRange:
    """`[start_minute, end_minute)` within a day of 1440 minutes."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


@attrs.frozen
class InclusiveRange:
    """`begin..end`, both included (weekdays: 0 = sunday; months: 1 = january)."""

    begin: int
    end: int


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _atoi(text: str) -> int:
    # Go's strconv.Atoi: an optional sign and ASCII digits, nothing else, within int64.
    if not _ATOI.match(text):
        raise TimeIntervalError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise TimeIntervalError(f'strconv.Atoi: parsing "{text}": value out of range')
    return value


def _split_range(text: str, member: Callable[[str], int]) -> InclusiveRange:
    text = text.lower()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise TimeIntervalError(f"couldn't parse range {text}, invalid format")
        return InclusiveRange(member(parts[0]), member(parts[1]))
    value = member(text)
    return InclusiveRange(value, value)


def _weekday(text: str) -> int:
    if text not in _WEEKDAY_NUM:
        raise TimeIntervalError(f"{text} is not a valid weekday")
    return _WEEKDAY_NUM[text]


def _month(text: str) -> int:
    if text in _MONTH_NUM:
        return _MONTH_NUM[text]
    try:
        return _atoi(text)
    except TimeIntervalError:
        raise TimeIntervalError(f"{text} is not a valid month") from None


def parse_time_range(start: str | None, end: str | None) -> TimeRange:
    """`start_time`/`end_time` (`HH:MM`, `24:00` allowed). Raises `TimeIntervalError`."""
    if not start or not end:
        raise TimeIntervalError("both start and end times must be provided")
    begin, finish = _minutes(start), _minutes(end)
    if begin >= finish:
        raise TimeIntervalError("start time cannot be equal or greater than end time")
    return TimeRange(begin, finish)


def _minutes(text: str) -> int:
    if not _VALID_TIME.match(text):
        raise TimeIntervalError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_weekday_range(text: str) -> InclusiveRange:
    """`monday`, `monday:friday` (no numbers). Raises `TimeIntervalError`."""
    r = _split_range(text, _weekday)
    if r.begin > r.end:
        raise TimeIntervalError("start day cannot be before end day")
    return r


def parse_day_of_month_range(text: str) -> InclusiveRange:
    """`1`, `1:15`, `-1`, `-7:-1`, `20:-1`. Raises `TimeIntervalError`."""
    r = _split_range(text, _atoi)
    for day in (r.begin, r.end):
        if day == 0 or day < -31 or day > 31:
            raise TimeIntervalError(f"{day} is not a valid day of the month: out of range")
    if r.begin < 0 < r.end:
        raise TimeIntervalError("end day must be negative if start day is negative")
    # With negative days the real order depends on the month; 28 days catches the sure cases.
    check_begin = 28 + r.begin if r.begin < 0 else r.begin
    check_end = 28 + r.end if r.end < 0 else r.end
    if check_begin > check_end:
        raise TimeIntervalError(f"end day {r.end} is always before start day {r.begin}")
    return r


def parse_month_range(text: str) -> InclusiveRange:
    """`may`, `january:march`, `1:3`. Raises `TimeIntervalError`.

    Stricter than Alertmanager 0.25, which accepts month numbers outside 1..12 and then never
    matches them: those are refused here.
    """
    r = _split_range(text, _month)
    for month in (r.begin, r.end):
        if not 1 <= month <= 12:
            raise TimeIntervalError(f"{month} is not a valid month: out of range")
    if r.begin > r.end:
        raise TimeIntervalError(
            f"end month {MONTHS[r.end - 1]} is before start month {MONTHS[r.begin - 1]}"
        )
    return r


def parse_year_range(text: str) -> InclusiveRange:
    """`2024`, `2020:2025`. Raises `TimeIntervalError`."""
    r = _split_range(text, _atoi)
    if r.begin > r.end:
        raise TimeIntervalError(f"end year {r.end} is before start year {r.begin}")
    return r


@attrs.frozen
class TimeIntervalSpec:
    """One `<time_interval_spec>`. A field that is `None` was not given and matches anything.

    `location` is the zone the instant is read in (UTC when None); `location_name` is how the
    configuration named it.
    """

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[InclusiveRange, ...] | None = None
    days_of_month: tuple[InclusiveRange, ...] | None = None
    months: tuple[InclusiveRange, ...] | None = None
    years: tuple[InclusiveRange, ...] | None = None
    location: tzinfo | None = attrs.field(default=None, eq=False)
    location_name: str | None = None

    def contains(self, instant: datetime) -> bool:
        """Whether `instant` (timezone-aware) falls in this spec. Raises ValueError if naive."""
        if instant.tzinfo is None:
            raise ValueError("contains() needs a timezone-aware datetime")
        t = instant.astimezone(self.location or UTC)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(r.start_minute <= minute < r.end_minute for r in self.times):
                return False
        if self.days_of_month is not None and not _day_matches(self.days_of_month, t):
            return False
        if self.months is not None and not any(r.begin <= t.month <= r.end for r in self.months):
            return False
        if self.weekdays is not None:
            weekday = (t.weekday() + 1) % 7  # Go counts from sunday = 0
            if not any(r.begin <= weekday <= r.end for r in self.weekdays):
                return False
        return self.years is None or any(r.begin <= t.year <= r.end for r in self.years)


def _day_matches(ranges: Iterable[InclusiveRange], t: datetime) -> bool:
    days = calendar.monthrange(t.year, t.month)[1]
    for r in ranges:
        begin = days + r.begin + 1 if r.begin < 0 else r.begin
        end = days + r.end + 1 if r.end < 0 else r.end
        if begin > days:
            continue  # the range starts after this month ends
        begin = min(max(begin, -days), days)
        end = min(max(end, -days), days)
        if begin <= t.day <= end:
            return True
    return False


@attrs.frozen
class TimeInterval:
    """A named list of specs (`time_intervals[].name` / `.time_intervals`)."""

    name: str
    specs: tuple[TimeIntervalSpec, ...]

    def contains(self, instant: datetime) -> bool:
        """Whether any spec contains `instant` (timezone-aware)."""
        return any(spec.contains(instant) for spec in self.specs)
