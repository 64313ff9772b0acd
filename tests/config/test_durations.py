"""Durations exactly as Prometheus' model.ParseDuration reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.config.durations import DurationError, format_duration, parse_duration

MS = timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1y", timedelta(days=365)),
        ("1y2w3d4h5m6s7ms", timedelta(days=365 + 14 + 3, hours=4, minutes=5, seconds=6) + 7 * MS),
        ("10ms", 10 * MS),
        ("0010s", timedelta(seconds=10)),
        ("292y", timedelta(days=292 * 365)),
    ],
)
def test_valid(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5x", 'invalid duration "5x"'),
        ("1.5h", 'invalid duration "1.5h"'),
        ("30", 'invalid duration "30"'),
        ("30m1h", 'invalid duration "30m1h"'),
        ("1h1h", 'invalid duration "1h1h"'),
        (" 5m", 'invalid duration " 5m"'),
        ("-5m", 'invalid duration "-5m"'),
        ("5M", 'invalid duration "5M"'),
        ("", 'invalid duration "": empty'),
        ("293y", 'invalid duration "293y": out of range'),
        ('"q"', 'invalid duration "\\"q\\""'),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=8), "1w1d"),
        (timedelta(seconds=1.5), "1s500ms"),
    ],
)
def test_format_round_trips(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value
