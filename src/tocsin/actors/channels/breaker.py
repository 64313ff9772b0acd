"""A circuit breaker per destination: closed → open → half-open → closed.

Theory of operation
-------------------
The breaker is a small state machine with no I/O and no clock: every call takes `now`. The
channel actor asks `acquire(now)` before an attempt and reports the attempt with
`record(outcome_trips, now)`; both return the `Transition` that happened (if any) so the actor
can journal `CircuitOpened` / `CircuitClosed`.

    state      acquire(now)                          record(failure)        record(success)
    closed     allowed                               count; maybe → open    reset counts
    open       until open_until: refused;            -                      -
               then → half_open, this call probes
    half_open  refused while the probe is out        → open (longer)        → closed

"Failure" is an outcome that says the destination is unwell (`Outcome.trips_circuit`: 5xx,
timeouts, refused connections). A 429 or a 400 means the destination answered: for the
breaker that is a success.
"""

from __future__ import annotations

import enum
from collections import deque
from datetime import datetime, timedelta

from tocsin.actors.channels.settings import BreakerSettings

__all__ = ["Breaker", "CircuitState", "Transition"]


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Transition(enum.StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"  # a half-open probe failed
    HALF_OPENED = "half_opened"
    CLOSED = "closed"


class Breaker:
    def __init__(self, settings: BreakerSettings | None = None) -> None:
        self.settings = settings = settings or BreakerSettings()
        self.state = CircuitState.CLOSED
        self.consecutive = 0
        self.recent: deque[bool] = deque(maxlen=settings.ratio_window)  # True = failure
        self.open_until: datetime | None = None
        self.opened_at: datetime | None = None
        self.open_for = settings.open_for
        self.probing = False
        self.last_error = ""
        self.version = 0  # bumped on every transition: waiters re-check

    def acquire(self, now: datetime) -> tuple[bool, Transition | None]:
        """May an attempt go now? A half-open breaker lets exactly one probe through."""
        if self.state is CircuitState.CLOSED:
            return True, None
        if self.state is CircuitState.OPEN:
            assert self.open_until is not None
            if now < self.open_until:
                return False, None
            self.state = CircuitState.HALF_OPEN
            self.probing = True
            self.version += 1
            return True, Transition.HALF_OPENED
        if self.probing:
            return False, None
        self.probing = True
        return True, None

    def release(self) -> None:
        """An acquired attempt ended without a verdict (cancelled): let another probe go."""
        if self.state is CircuitState.HALF_OPEN and self.probing:
            self.probing = False
            self.version += 1

    def record(self, failed: bool, now: datetime, error: str = "") -> Transition | None:
        if self.state is CircuitState.HALF_OPEN:
            self.probing = False
            if failed:
                self.open_for = min(self.open_for * 2, self.settings.max_open_for)
                self._open(now, error)
                return Transition.REOPENED
            self._close()
            return Transition.CLOSED
        if self.state is CircuitState.OPEN:
            return None  # an attempt that started before it opened
        self.recent.append(failed)
        if not failed:
            self.consecutive = 0
            return None
        self.consecutive += 1
        s = self.settings
        ratio_tripped = (
            len(self.recent) >= s.ratio_min_calls
            and sum(self.recent) / len(self.recent) >= s.failure_ratio
        )
        if self.consecutive >= s.consecutive_failures or ratio_tripped:
            self._open(now, error)
            return Transition.OPENED
        return None

    def _open(self, now: datetime, error: str) -> None:
        self.state = CircuitState.OPEN
        if self.opened_at is None:
            self.opened_at = now
        self.open_until = now + self.open_for
        self.last_error = error
        self.version += 1

    def _close(self) -> None:
        self.state = CircuitState.CLOSED
        self.consecutive = 0
        self.recent.clear()
        self.open_until = None
        self.opened_at = None
        self.open_for = self.settings.open_for
        self.version += 1

    def retry_at(self) -> datetime | None:
        """When an open circuit will let a probe through."""
        return self.open_until if self.state is CircuitState.OPEN else None

    def open_duration(self, now: datetime) -> timedelta:
        return now - self.opened_at if self.opened_at is not None else timedelta(0)
