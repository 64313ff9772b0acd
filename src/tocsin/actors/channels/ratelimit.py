"""Per-destination pacing: at most one request every `interval` seconds to one destination.

Slack allows about one message per second per channel, PagerDuty about two events per second
per routing key. Waiting here is cheaper than a 429 and its Retry-After.
"""

from __future__ import annotations

import trio

__all__ = ["Pacer"]


class Pacer:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = -float("inf")

    async def wait(self) -> None:
        """Wait for this destination's next slot (and take it)."""
        if self.interval <= 0:
            await trio.lowlevel.checkpoint()
            return
        now = trio.current_time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await trio.sleep_until(slot)
        else:
            await trio.lowlevel.checkpoint()

    def push_back(self, seconds: float) -> None:
        """The destination asked us to wait (429 Retry-After): nobody goes before then."""
        self._next = max(self._next, trio.current_time() + seconds)
