"""Durations exactly as Prometheus writes them (`model.ParseDuration`): `1h30m`, `90s`, `1d`, `0`.

Units, largest first, each at most once: `y` (365 days), `w`, `d`, `h`, `m`, `s`, `ms`. Counts
are whole decimal numbers. `0` alone needs no unit. Anything else is refused: `5x`, `1.5h`,
`30` (no unit), `30m1h` (units out of order), ` 5m` (space). Like Go's `time.Duration`, a
duration is at most 2^63-1 nanoseconds (about 292 years).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

__all__ = ["DurationError", "format_duration", "parse_duration"]

_DURATION_RE: Final = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?"
    r"(?:([0-9]+)ms)?\Z",
    re.ASCII,
)
_UNIT_MS: Final = (
    365 * 24 * 3600 * 1000,
    7 * 24 * 3600 * 1000,
    24 * 3600 * 1000,
    3600 * 1000,
    60 * 1000,
    1000,
    1,
)
_MAX_MS: Final = (2**63 - 1) // 1_000_000


class DurationError(ValueError):
    """Text that is not a Prometheus duration. `str()` is the message for a person."""


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus duration. Raises `DurationError`."""
    if text == "0":
        return timedelta(0)
    if text == "":
        raise DurationError('invalid duration "": empty')
    m = _DURATION_RE.match(text)
    if m is None:
        raise DurationError(f"invalid duration {_q(text)}")
    total = 0
    for count, unit in zip(m.groups(), _UNIT_MS, strict=True):
        if count is not None:
            total += int(count) * unit
    if total > _MAX_MS:
        raise DurationError(f"invalid duration {_q(text)}: out of range")
    return timedelta(milliseconds=total)


def format_duration(value: timedelta) -> str:
    """A timedelta as Prometheus prints durations (`model.Duration.String`): `1h30m`, `0s`."""
    ms = int(value / timedelta(milliseconds=1))
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _UNIT_MS, strict=True):
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
