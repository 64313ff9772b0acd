"""Go's time.Time and time.Duration: String, reference-time layouts, arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tocsin.adapters.gotemplate import GoDuration, GoTime
from tocsin.adapters.gotemplate.data import parse_go_time
from tocsin.adapters.gotemplate.gotime import ZERO_TIME, format_time

T = parse_go_time("2026-03-01T09:05:07.012345678+01:00")


@pytest.mark.parametrize(
    ("t", "out"),
    [
        (ZERO_TIME, "0001-01-01 00:00:00 +0000 UTC"),
        (parse_go_time("2026-03-01T12:00:00Z"), "2026-03-01 12:00:00 +0000 UTC"),
        (parse_go_time("2026-03-01T12:00:00.5Z"), "2026-03-01 12:00:00.5 +0000 UTC"),
        (T, "2026-03-01 09:05:07.012345678 +0100 +0100"),
        (
            GoTime(datetime(2026, 7, 1, 14, tzinfo=ZoneInfo("Europe/Paris"))),
            "2026-07-01 14:00:00 +0200 CEST",
        ),
        (
            GoTime(datetime(2026, 7, 1, 14, tzinfo=timezone(timedelta(0)))),
            "2026-07-01 14:00:00 +0000 UTC",
        ),
    ],
)
def test_string_is_gos(t, out):
    assert t.go_string() == out


@pytest.mark.parametrize(
    ("layout", "out"),
    [
        ("2006-01-02 15:04:05 MST", "2026-03-01 09:05:07 +0100"),
        ("Mon Jan _2 15:04:05 2006", "Sun Mar  1 09:05:07 2026"),
        ("Monday, January 2, 2006 3:04:05 PM", "Sunday, March 1, 2026 9:05:07 AM"),
        ("02/01/06 03:04pm", "01/03/26 09:05am"),
        ("2006-01-02T15:04:05Z07:00", "2026-03-01T09:05:07+01:00"),
        ("2006-01-02T15:04:05.999999999Z07:00", "2026-03-01T09:05:07.012345678+01:00"),
        (".000 .000000 ,999 .9 .999999999", ".012 .012345 ,012  .012345678"),
        ("-0700 -07:00 -07 Z0700 Z07 -07:00:00", "+0100 +01:00 +01 +0100 +01 +01:00:00"),
        ("__2 002 1 2 3 4 5", " 60 060 3 1 9 5 7"),
        ("Janx Mondays January", "Janx Sundays March"),
        ("{literal} 'quotes' \\ \"", "{literal} 'quotes' \\ \""),
    ],
)
def test_format_layouts(layout, out):
    assert format_time(T, layout) == out


def test_iso_layouts_write_z_for_utc():
    t = parse_go_time("2026-03-01T12:00:00Z")
    assert format_time(t, "2006-01-02T15:04:05Z07:00") == "2026-03-01T12:00:00Z"


@pytest.mark.parametrize(
    ("ns", "out"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (1_500_000, "1.5ms"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-90 * 10**9, "-1m30s"),
        ((1 << 63) - 1, "2562047h47m16.854775807s"),
    ],
)
def test_duration_string(ns, out):
    assert GoDuration(ns).go_string() == out


def test_duration_round_and_truncate():
    d = GoDuration(1_750_000_000)
    assert d.round_to(10**9) == 2 * 10**9
    assert d.truncate_to(10**9) == 10**9
    assert GoDuration(-1_500_000_000).round_to(10**9) == -2 * 10**9


def test_sub_saturates_and_add_keeps_the_zone():
    now = GoTime(datetime(2026, 3, 1, tzinfo=UTC))
    assert now.sub(ZERO_TIME) == (1 << 63) - 1  # as time.Since(zero) in Go
    later = T.add(GoDuration(90 * 10**9))
    assert later.go_string() == "2026-03-01 09:06:37.012345678 +0100 +0100"
