"""Go's time.Time, time.Duration, time.Month and time.Weekday, as templates see them.

Theory of operation
-------------------
`GoTime` is an aware datetime plus the nanoseconds Python cannot hold and the zone name Go
would print. Go names a zone after its location: "UTC" for UTC (and for offset 0, which is
how Alertmanager running in UTC reads "+00:00"), the tz database abbreviation for a named zone
("CET"), and nothing for a fixed offset without a name, which Go then prints as "+0100".
`String()` is Go's `2006-01-02 15:04:05.999999999 -0700 MST`; the zero time is
`0001-01-01 00:00:00 +0000 UTC`, which is what Alertmanager shows as a firing alert's EndsAt.

`Format(layout)` is Go's reference-time layouts: the layout is split once into chunks (Go's
`nextStdChunk`, same precedence: "January" before "Jan" before "1", "2006" before "2",
"Z07:00" and "-0700" families, ".000"/".999" and ",000"/",999" fractions, "_2", "__2",
"002", "PM"/"pm", "MST") and cached; rendering walks the chunks.

`GoDuration` is an int of nanoseconds whose `String()` is Go's ("1h2m3.5s", "1.5ms", "0s");
arithmetic saturates at Go's minimum and maximum durations as `time.Sub` does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.adapters.gotemplate.values import STRING, GoFunc, GoStruct

__all__ = [
    "ZERO_TIME",
    "GoDuration",
    "GoMonth",
    "GoTime",
    "GoWeekday",
    "format_time",
    "load_location",
]

_MAX_DURATION: Final = (1 << 63) - 1
_MIN_DURATION: Final = -(1 << 63)
_NS_PER_SECOND: Final = 1_000_000_000
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class GoMonth(int):
    """time.Month: an int that prints as its English name."""

    __slots__ = ()
    go_type = "time.Month"

    def go_string(self) -> str:
        return _MONTHS[self - 1] if 1 <= self <= 12 else f"%!Month({int(self)})"


class GoWeekday(int):
    """time.Weekday: an int (Sunday = 0) that prints as its English name."""

    __slots__ = ()
    go_type = "time.Weekday"

    def go_string(self) -> str:
        return _DAYS[self] if 0 <= self <= 6 else f"%!Weekday({int(self)})"


def _saturate(ns: int) -> int:
    return max(_MIN_DURATION, min(_MAX_DURATION, ns))


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    frac = "." + "".join(reversed(digits)) if printed else ""
    return frac, v


class GoDuration(int):
    """time.Duration: nanoseconds, printed the way Go prints durations."""

    __slots__ = ()
    go_type = "time.Duration"
    go_methods: ClassVar[dict[str, GoFunc]]

    def go_string(self) -> str:
        u = abs(int(self))
        sign = "-" if self < 0 else ""
        if u == 0:
            return "0s"
        if u < _NS_PER_SECOND:
            if u < 1_000:
                return f"{sign}{u}ns"
            prec, unit = (3, "µs") if u < 1_000_000 else (6, "ms")
            frac, whole = _fmt_frac(u, prec)
            return f"{sign}{whole}{frac}{unit}"
        frac, u = _fmt_frac(u, 9)
        out = f"{u % 60}{frac}s"
        u //= 60
        if u:
            out = f"{u % 60}m{out}"
            u //= 60
            if u:
                out = f"{u}h{out}"
        return sign + out

    def seconds(self) -> float:
        return int(self) / 1e9

    def round_to(self, m: int) -> GoDuration:
        """Go's Duration.Round: to the nearest multiple of m, halves away from zero."""
        d = int(self)
        if m <= 0:
            return self
        r = _go_rem(d, m)
        if d < 0:
            r = -r
            if r + r < m:
                return GoDuration(d + r)
            return GoDuration(_saturate(d - m + r))
        if r + r < m:
            return GoDuration(d - r)
        return GoDuration(_saturate(d + m - r))

    def truncate_to(self, m: int) -> GoDuration:
        """Go's Duration.Truncate: toward zero to a multiple of m."""
        d = int(self)
        return self if m <= 0 else GoDuration(d - _go_rem(d, m))


def _go_rem(a: int, b: int) -> int:
    """Go's `%`: the remainder takes the sign of the dividend."""
    r = abs(a) % abs(b)
    return -r if a < 0 else r


GoDuration.go_methods = {
    "String": GoFunc("String", GoDuration.go_string),
    "Seconds": GoFunc("Seconds", GoDuration.seconds),
    "Minutes": GoFunc("Minutes", lambda d: int(d) / 6e10),
    "Hours": GoFunc("Hours", lambda d: int(d) / 3.6e12),
    "Milliseconds": GoFunc("Milliseconds", lambda d: GoInt64(int(d / 1_000_000))),
    "Microseconds": GoFunc("Microseconds", lambda d: GoInt64(int(d / 1_000))),
    "Nanoseconds": GoFunc("Nanoseconds", lambda d: GoInt64(int(d))),
    "Round": GoFunc("Round", GoDuration.round_to, ("time.Duration",)),
    "Truncate": GoFunc("Truncate", GoDuration.truncate_to, ("time.Duration",)),
}


class GoInt64(int):
    """An int64 (what Unix() and friends return): prints and compares like an int."""

    __slots__ = ()
    go_type = "int64"


def _zone_name(dt: datetime) -> str:
    tz = dt.tzinfo
    if tz is None or tz is UTC:
        return "UTC"
    if isinstance(tz, ZoneInfo):
        return tz.tzname(dt) or ""
    offset = dt.utcoffset()
    if offset == timedelta(0):
        return "UTC"
    if isinstance(tz, timezone):
        return ""  # a fixed offset without a name: Go prints it as "+0100"
    return tz.tzname(dt) or ""


class GoLocation(GoStruct):
    """*time.Location: only its name is visible to templates (`String`)."""

    __slots__ = ("name",)
    go_type = "*time.Location"
    go_fields = ()

    def __init__(self, name: str) -> None:
        self.name = name

    def go_string(self) -> str:
        return self.name


GoLocation.go_methods = {"String": GoFunc("String", GoLocation.go_string)}


def _location_name(tz: tzinfo | None) -> str:
    if tz is None or tz is UTC:
        return "UTC"
    if isinstance(tz, ZoneInfo):
        return tz.key
    return ""


class GoTime(GoStruct):
    """time.Time: an aware datetime, nanoseconds within the second, and Go's zone name."""

    __slots__ = ("dt", "location", "nsec", "zone")
    go_type = "time.Time"

    def __init__(
        self,
        dt: datetime,
        nsec: int | None = None,
        zone: str | None = None,
        location: str | None = None,
    ) -> None:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        self.dt = dt
        self.nsec = dt.microsecond * 1000 if nsec is None else nsec
        self.zone = _zone_name(dt) if zone is None else zone
        self.location = _location_name(dt.tzinfo) if location is None else location

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GoTime)
            and self.dt == other.dt
            and self.nsec == other.nsec
            and self.dt.utcoffset() == other.dt.utcoffset()
        )

    def __hash__(self) -> int:
        return hash((self.dt, self.nsec))

    def __repr__(self) -> str:
        return f"GoTime({self.go_string()!r})"

    # -- what Go's methods compute ------------------------------------------------------------
    def offset_seconds(self) -> int:
        off = self.dt.utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def unix_nano_big(self) -> int:
        """Nanoseconds since the epoch, unbounded (Go's UnixNano overflows; Sub saturates)."""
        delta = self.dt.replace(microsecond=0) - _EPOCH
        return (delta.days * 86400 + delta.seconds) * _NS_PER_SECOND + self.nsec

    def is_zero(self) -> bool:
        return self.dt.astimezone(UTC).replace(tzinfo=None) == datetime(1, 1, 1) and self.nsec == 0

    def go_string(self) -> str:
        return format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")

    def in_zone(self, tz: tzinfo, location: str | None = None) -> GoTime:
        try:
            return GoTime(self.dt.astimezone(tz), self.nsec, location=location)
        except OverflowError:  # the zero time west of UTC falls before year 1
            return GoTime(self.dt, self.nsec, location=location)

    def add(self, d: int) -> GoTime:
        total = self.nsec + int(d)
        secs, nsec = divmod(total, _NS_PER_SECOND)
        dt = self.dt.replace(microsecond=0) + timedelta(seconds=secs)
        return GoTime(dt.replace(microsecond=nsec // 1000), nsec, self.zone, self.location)

    def sub(self, other: GoTime) -> GoDuration:
        return GoDuration(_saturate(self.unix_nano_big() - other.unix_nano_big()))


def _unix(t: GoTime) -> GoInt64:
    return GoInt64(t.unix_nano_big() // _NS_PER_SECOND)


GoTime.go_methods = {
    "String": GoFunc("String", GoTime.go_string),
    "Format": GoFunc("Format", lambda t, layout: format_time(t, layout), (STRING,)),
    "UTC": GoFunc("UTC", lambda t: t.in_zone(UTC)),
    "Local": GoFunc("Local", lambda t: t.in_zone(_local_zone(), "Local")),
    "Unix": GoFunc("Unix", _unix),
    "UnixMilli": GoFunc("UnixMilli", lambda t: GoInt64(t.unix_nano_big() // 1_000_000)),
    "UnixMicro": GoFunc("UnixMicro", lambda t: GoInt64(t.unix_nano_big() // 1_000)),
    "UnixNano": GoFunc("UnixNano", lambda t: GoInt64(_saturate(t.unix_nano_big()))),
    "IsZero": GoFunc("IsZero", GoTime.is_zero),
    "Year": GoFunc("Year", lambda t: t.dt.year),
    "Month": GoFunc("Month", lambda t: GoMonth(t.dt.month)),
    "Day": GoFunc("Day", lambda t: t.dt.day),
    "Hour": GoFunc("Hour", lambda t: t.dt.hour),
    "Minute": GoFunc("Minute", lambda t: t.dt.minute),
    "Second": GoFunc("Second", lambda t: t.dt.second),
    "Nanosecond": GoFunc("Nanosecond", lambda t: t.nsec),
    "YearDay": GoFunc("YearDay", lambda t: t.dt.timetuple().tm_yday),
    "Weekday": GoFunc("Weekday", lambda t: GoWeekday((t.dt.weekday() + 1) % 7)),
    "Location": GoFunc("Location", lambda t: GoLocation(t.location)),
    "Add": GoFunc("Add", GoTime.add, ("time.Duration",)),
    "Sub": GoFunc("Sub", GoTime.sub, ("time.Time",)),
    "Before": GoFunc("Before", lambda t, u: t.unix_nano_big() < u.unix_nano_big(), ("time.Time",)),
    "After": GoFunc("After", lambda t, u: t.unix_nano_big() > u.unix_nano_big(), ("time.Time",)),
    "Equal": GoFunc("Equal", lambda t, u: t.unix_nano_big() == u.unix_nano_big(), ("time.Time",)),
}

ZERO_TIME: Final = GoTime(datetime(1, 1, 1, tzinfo=UTC), 0, "UTC")


def _local_zone() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def load_location(name: str) -> tzinfo:
    """Go's time.LoadLocation: "" and "UTC" are UTC, "Local" the local zone, else the tz
    database. Raises ValueError("unknown time zone NAME")."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return _local_zone()  # (its Location() reads as the zone's name, not "Local")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name}") from None


# -- layouts ------------------------------------------------------------------------------------
# Chunk codes.
_LONG_MONTH, _MONTH, _NUM_MONTH, _ZERO_MONTH = "January", "Jan", "1", "01"
_LONG_WEEKDAY, _WEEKDAY = "Monday", "Mon"
_DAY, _UNDER_DAY, _ZERO_DAY = "2", "_2", "02"
_UNDER_YEARDAY, _ZERO_YEARDAY = "__2", "002"
_HOUR, _HOUR12, _ZERO_HOUR12 = "15", "3", "03"
_MINUTE, _ZERO_MINUTE, _SECOND, _ZERO_SECOND = "4", "04", "5", "05"
_LONG_YEAR, _YEAR = "2006", "06"
_PM, _PM_LOWER, _TZ = "PM", "pm", "MST"
_ZERO_X: Final = {"1": _ZERO_MONTH, "2": _ZERO_DAY, "3": _ZERO_HOUR12, "4": _ZERO_MINUTE}
_ZERO_X.update({"5": _ZERO_SECOND, "6": _YEAR})
_NUM_TZ: Final = ("-070000", "-07:00:00", "-0700", "-07:00", "-07")
_ISO_TZ: Final = ("Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07")

Chunk = tuple[str, Any]  # ("lit", text) | (code, None) | ("frac", (sep, digits, trim))


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _next_chunk(layout: str) -> tuple[str, Chunk | None, str]:
    """Go's nextStdChunk: (prefix, the chunk, suffix)."""
    n = len(layout)
    for i, c in enumerate(layout):
        rest = layout[i:]
        if c == "J" and rest.startswith("Jan"):
            if rest.startswith("January"):
                return layout[:i], (_LONG_MONTH, None), layout[i + 7 :]
            if not _starts_lower(layout[i + 3 :]):
                return layout[:i], (_MONTH, None), layout[i + 3 :]
        elif c == "M" and n >= i + 3:
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    return layout[:i], (_LONG_WEEKDAY, None), layout[i + 6 :]
                if not _starts_lower(layout[i + 3 :]):
                    return layout[:i], (_WEEKDAY, None), layout[i + 3 :]
            if rest.startswith("MST"):
                return layout[:i], (_TZ, None), layout[i + 3 :]
        elif c == "0":
            if n >= i + 2 and "1" <= layout[i + 1] <= "6":
                return layout[:i], (_ZERO_X[layout[i + 1]], None), layout[i + 2 :]
            if rest.startswith("002"):
                return layout[:i], (_ZERO_YEARDAY, None), layout[i + 3 :]
        elif c == "1":
            if rest.startswith("15"):
                return layout[:i], (_HOUR, None), layout[i + 2 :]
            return layout[:i], (_NUM_MONTH, None), layout[i + 1 :]
        elif c == "2":
            if rest.startswith("2006"):
                return layout[:i], (_LONG_YEAR, None), layout[i + 4 :]
            return layout[:i], (_DAY, None), layout[i + 1 :]
        elif c == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    return layout[: i + 1], (_LONG_YEAR, None), layout[i + 5 :]
                return layout[:i], (_UNDER_DAY, None), layout[i + 2 :]
            if rest.startswith("__2"):
                return layout[:i], (_UNDER_YEARDAY, None), layout[i + 3 :]
        elif c == "3":
            return layout[:i], (_HOUR12, None), layout[i + 1 :]
        elif c == "4":
            return layout[:i], (_MINUTE, None), layout[i + 1 :]
        elif c == "5":
            return layout[:i], (_SECOND, None), layout[i + 1 :]
        elif c == "P" and rest.startswith("PM"):
            return layout[:i], (_PM, None), layout[i + 2 :]
        elif c == "p" and rest.startswith("pm"):
            return layout[:i], (_PM_LOWER, None), layout[i + 2 :]
        elif c == "-":
            for code in _NUM_TZ:
                if rest.startswith(code):
                    return layout[:i], (code, None), layout[i + len(code) :]
        elif c == "Z":
            for code in _ISO_TZ:
                if rest.startswith(code):
                    return layout[:i], (code, None), layout[i + len(code) :]
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and layout[j].isdigit()):
                return layout[:i], ("frac", (c, j - (i + 1), ch == "9")), layout[j:]
    return layout, None, ""


@lru_cache(maxsize=256)
def _chunks(layout: str) -> tuple[Chunk, ...]:
    out: list[Chunk] = []
    while layout:
        prefix, chunk, layout = _next_chunk(layout)
        if prefix:
            out.append(("lit", prefix))
        if chunk is None:
            break
        out.append(chunk)
    return tuple(out)


def _tz_offset(code: str, offset: int) -> str:
    if code.startswith("Z") and offset == 0:
        return "Z"
    zone = offset // 60
    absoffset = abs(offset)
    sign = "-" if zone < 0 else "+"
    zone = abs(zone)
    out = f"{sign}{zone // 60:02d}"
    colon = ":" in code
    if code not in ("-07", "Z07"):
        out += (":" if colon else "") + f"{zone % 60:02d}"
    if code in ("-070000", "-07:00:00", "Z070000", "Z07:00:00"):
        out += (":" if colon else "") + f"{absoffset % 60:02d}"
    return out


# Each chunk as an f-string replacement field over `t` (a GoTime) and `dt` (its datetime).
_FIELDS: Final = {
    _LONG_YEAR: "{dt.year:04d}",
    _YEAR: "{dt.year % 100:02d}",
    _LONG_MONTH: "{_MONTHS[dt.month - 1]}",
    _MONTH: "{_MONTHS[dt.month - 1][:3]}",
    _NUM_MONTH: "{dt.month}",
    _ZERO_MONTH: "{dt.month:02d}",
    _LONG_WEEKDAY: "{_DAYS[(dt.weekday() + 1) % 7]}",
    _WEEKDAY: "{_DAYS[(dt.weekday() + 1) % 7][:3]}",
    _DAY: "{dt.day}",
    _UNDER_DAY: "{dt.day:2d}",
    _ZERO_DAY: "{dt.day:02d}",
    _UNDER_YEARDAY: "{dt.timetuple().tm_yday:3d}",
    _ZERO_YEARDAY: "{dt.timetuple().tm_yday:03d}",
    _HOUR: "{dt.hour:02d}",
    _HOUR12: "{dt.hour % 12 or 12}",
    _ZERO_HOUR12: "{dt.hour % 12 or 12:02d}",
    _MINUTE: "{dt.minute}",
    _ZERO_MINUTE: "{dt.minute:02d}",
    _SECOND: "{dt.second}",
    _ZERO_SECOND: "{dt.second:02d}",
    _PM: "{_AM_PM[dt.hour >= 12]}",
    _PM_LOWER: "{_am_pm[dt.hour >= 12]}",
    _TZ: "{_zone_abbrev(t)}",
}


def _zone_abbrev(t: GoTime) -> str:
    if t.zone:
        return t.zone
    zone = t.offset_seconds() // 60
    sign = "-" if zone < 0 else "+"
    zone = abs(zone)
    return f"{sign}{zone // 60:02d}{zone % 60:02d}"


def _frac(t: GoTime, spec: tuple[str, int, bool]) -> str:
    sep, digits, trim = spec
    frac = f"{t.nsec:09d}"[:digits]
    if trim:
        frac = frac.rstrip("0")
        return sep + frac if frac else ""
    return sep + frac


@lru_cache(maxsize=256)
def _formatter(layout: str) -> Callable[[GoTime], str]:
    """`layout` compiled to one function: the chunks become one f-string. Literal text and
    arguments reach the generated code as values (`_L0`, `_L1`, …), never as source."""
    names: dict[str, Any] = {
        "_MONTHS": _MONTHS,
        "_DAYS": _DAYS,
        "_AM_PM": ("AM", "PM"),
        "_am_pm": ("am", "pm"),
        "_zone_abbrev": _zone_abbrev,
        "_tz_offset": _tz_offset,
        "_frac": _frac,
    }
    fields: list[str] = []
    for code, arg in _chunks(layout):
        if code == "lit" or code == "frac" or code in _NUM_TZ or code in _ISO_TZ:
            name = f"_L{len(names)}"
            names[name] = code if code in _NUM_TZ or code in _ISO_TZ else arg
            if code == "lit":
                fields.append("{" + name + "}")
            elif code == "frac":
                fields.append("{_frac(t, " + name + ")}")
            else:
                fields.append("{_tz_offset(" + name + ", t.offset_seconds())}")
        else:
            fields.append(_FIELDS[code])
    source = 'def format_with(t):\n    dt = t.dt\n    return f"' + "".join(fields) + '"\n'
    exec(compile(source, f"<Go layout {layout!r}>", "exec"), names)
    formatter: Callable[[GoTime], str] = names["format_with"]
    return formatter


def format_time(t: GoTime, layout: str) -> str:
    """Go's `t.Format(layout)`."""
    return _formatter(layout)(t)
