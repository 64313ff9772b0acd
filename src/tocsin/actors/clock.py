"""The daemon's one clock: wall-clock UTC for decisions, trio time for sleeping.

`core` never reads a clock; the actors ask this object. In production `SystemClock` reads the
system's UTC time. In tests `TrioClock` ties wall time to trio's clock (`epoch +
trio.current_time()`), so under pytest-trio's `autojump_clock` hours of grouping and escalation
pass in milliseconds, deterministically, and journal timestamps move with them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import trio

__all__ = ["Clock", "SystemClock", "TrioClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def deadline(self, when: datetime) -> float:
        """The trio time at which wall-clock `when` comes (for `move_on_at`, `sleep_until`)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def deadline(self, when: datetime) -> float:
        return trio.current_time() + (when - self.now()).total_seconds()


class TrioClock:
    """Wall time = `epoch` + trio's clock. Use with trio's MockClock in tests."""

    def __init__(self, epoch: datetime) -> None:
        self.epoch = epoch

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=trio.current_time())

    def deadline(self, when: datetime) -> float:
        return (when - self.epoch).total_seconds()
