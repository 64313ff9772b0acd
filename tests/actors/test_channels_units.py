"""The pure parts: the breaker's transition table, the mailbox's rules, the outcome table, and
the channel events' journal round trip."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import httpx
import msgpack
import pytest
import trio

from tocsin.actors.channels import Breaker, BreakerSettings, CircuitState, Mailbox, Transition
from tocsin.adapters.channels.outcome import (
    Verdict,
    classify_api_error,
    classify_exception,
    classify_status,
    parse_retry_after,
)
from tocsin.core.codec import CODEC
from tocsin.core.events import (
    NotificationCoalesced,
    NotificationRerouted,
    NotificationSkipped,
    SlackMessagePosted,
)

T = datetime(2026, 3, 1, tzinfo=UTC)
S = timedelta(seconds=1)


def test_breaker_full_cycle_table():
    b = Breaker(BreakerSettings(consecutive_failures=3, open_for=30 * S, max_open_for=60 * S))
    assert [b.record(True, T) for _ in range(2)] == [None, None]
    assert b.record(False, T) is None  # a success resets the run
    assert [b.record(True, T) for _ in range(3)] == [None, None, Transition.OPENED]
    assert b.state is CircuitState.OPEN and b.retry_at() == T + 30 * S
    assert b.acquire(T + 29 * S) == (False, None)
    assert b.acquire(T + 30 * S) == (True, Transition.HALF_OPENED)
    assert b.acquire(T + 30 * S) == (False, None)  # one probe at a time
    assert b.record(True, T + 31 * S) is Transition.REOPENED
    assert b.retry_at() == T + 91 * S  # open_for doubled
    assert b.acquire(T + 91 * S) == (True, Transition.HALF_OPENED)
    assert b.record(False, T + 92 * S) is Transition.CLOSED
    assert b.state is CircuitState.CLOSED and b.acquire(T) == (True, None)
    assert b.open_for == 30 * S


def test_breaker_opens_on_failure_ratio():
    b = Breaker(BreakerSettings(consecutive_failures=100, ratio_window=10, ratio_min_calls=10))
    outcomes = [True, False] * 4 + [True]
    assert [b.record(f, T) for f in outcomes] == [None] * 9
    assert b.record(False, T) is None  # a success never opens it
    assert b.record(True, T) is Transition.OPENED  # 5 failures in the last 10: 50 %


class Item:
    def __init__(self, group_id: str, n: int) -> None:
        self.group_id, self.n = group_id, n


async def test_mailbox_coalesces_only_when_full_and_keeps_group_order():
    box: Mailbox[Item] = Mailbox(2)
    a1, b1, a2, a3 = Item("a", 1), Item("b", 1), Item("a", 2), Item("a", 3)
    assert box.put_nowait(a1) is None and box.put_nowait(b1) is None
    assert box.put_nowait(a2) is a1  # full: a's waiting one is replaced
    assert box.put_nowait(Item("c", 1)) is None  # full, c has none waiting: its slot
    first = await box.take()
    assert first is a2  # the replacement keeps a1's place in line
    box.put_nowait(a3)  # not full any more: queued behind, not coalesced
    second = await box.take()
    assert second is b1  # a3 waits: a2 of the same group is in flight
    third = await box.take()
    assert third.group_id == "c"
    with trio.move_on_after(0.01) as scope:
        await box.take()
    assert scope.cancelled_caught
    box.done(first)
    assert await box.take() is a3


@pytest.mark.parametrize(
    ("status", "verdict", "trips"),
    [
        (200, Verdict.DELIVERED, False),
        (202, Verdict.DELIVERED, False),
        (429, Verdict.RETRYABLE, False),
        (408, Verdict.RETRYABLE, True),
        (500, Verdict.RETRYABLE, True),
        (503, Verdict.RETRYABLE, True),
        (400, Verdict.PERMANENT, False),
        (401, Verdict.PERMANENT, False),
        (404, Verdict.PERMANENT, False),
        (410, Verdict.PERMANENT, False),
        (301, Verdict.PERMANENT, False),
    ],
)
def test_status_table(status, verdict, trips):
    o = classify_status(status)
    assert (o.verdict, o.trips_circuit) == (verdict, trips)


def test_api_errors_and_exceptions():
    assert classify_api_error(200, "ratelimited", 3).retry_after == 3
    assert classify_api_error(200, "channel_not_found").verdict is Verdict.PERMANENT
    assert classify_api_error(200, "internal_error").trips_circuit
    assert classify_exception(httpx.ConnectError("x")).verdict is Verdict.RETRYABLE
    assert classify_exception(httpx.ReadTimeout("x")).trips_circuit
    assert classify_exception(httpx.UnsupportedProtocol("x")).verdict is Verdict.PERMANENT
    assert classify_exception(smtplib.SMTPResponseException(451, b"later")).retryable
    assert not classify_exception(smtplib.SMTPResponseException(550, b"no")).retryable
    assert not classify_exception(smtplib.SMTPAuthenticationError(535, b"no")).retryable
    assert classify_exception(ConnectionRefusedError()).retryable
    secret = "https://hooks.slack.com/services/T/B/SECRET"
    assert "SECRET" not in classify_exception(ValueError(secret)).error


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7", T) == 7
    assert parse_retry_after("Sun, 01 Mar 2026 00:00:30 GMT", T) == 30
    assert parse_retry_after("garbage", T) is None and parse_retry_after(None, T) is None


@pytest.mark.parametrize(
    "ev",
    [
        NotificationCoalesced("g", "g-1-1", "r", "slack[0]", "g-1-2", T),
        NotificationSkipped("g", "g-1-1", "r", "email[0]", "send_resolved is false", T),
        NotificationRerouted("g", "g-1-1", "r", "pagerduty[0]", "fb", 5 * 60 * S, T),
        SlackMessagePosted("g", "r", "slack[0]", 3, "C1", "1700000000.000100", T),
    ],
    ids=lambda e: e.TYPE,
)
def test_channel_events_round_trip_through_the_journal_codec(ev):
    tag, version, payload = CODEC.encode(ev)
    packed = msgpack.packb(payload, use_bin_type=True)
    assert CODEC.decode(tag, version, msgpack.unpackb(packed, raw=False)) == ev
