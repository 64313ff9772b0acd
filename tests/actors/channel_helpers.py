"""Helpers for channel-actor tests: an in-memory channel (our own seam), journal readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.channels.outcome import DeliveryFailed, Outcome, Verdict
from tocsin.core.codec import CODEC


class ScriptedChannel:
    """A channel whose answers a test scripts: each call pops the next outcome (None:
    delivered). `gate` holds deliveries until the test opens it."""

    def __init__(
        self,
        name: str = "test[0]",
        kind: str = "test",
        destination: str = "dest",
        send_resolved: bool = True,
    ) -> None:
        self.kind = kind
        self.name = name
        self.destination = destination
        self.send_resolved = send_resolved
        self.script: list[Outcome | None] = []
        self.sent: list[tuple[float, Notification]] = []
        self.gate: trio.Event | None = None
        self.on_send: Callable[[Notification], Any] | None = None

    async def deliver(self, n: Notification) -> Receipt:
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append((trio.current_time(), n))
        await trio.lowlevel.checkpoint()
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None and outcome.verdict is not Verdict.DELIVERED:
            raise DeliveryFailed(outcome)
        return Receipt(200)


def retryable(status: int = 503, retry_after: float | None = None) -> Outcome:
    trips = status != 429
    return Outcome(Verdict.RETRYABLE, status, f"HTTP {status}", retry_after, trips)


def permanent(status: int = 400) -> Outcome:
    return Outcome(Verdict.PERMANENT, status, f"HTTP {status}")


def journal_events(store: Any) -> list[Any]:
    import msgpack

    out = []
    for body in store.bodies:
        _seq, _ts, tag, version, payload = msgpack.unpackb(body, raw=False, strict_map_key=False)
        out.append(CODEC.decode(tag, version, payload))
    return out


def of_type(store: Any, cls: type) -> list[Any]:
    return [e for e in journal_events(store) if isinstance(e, cls)]
