"""The dashboard in real headless Chromium (Debian's), driven by Playwright, against `tocsin run`.

The page loads, asks for a token once, goes live on the stream; an alert posted through the
API appears without a reload within a second; Ack changes its state; the timeline shows the
group's events; a row moves up and down as its group's severity changes, and leaves once the
group's alerts all resolve, even when two answers about it cross; 1,000 groups render and
filter. Every wait is a condition with a deadline.

Set TOCSIN_DASHBOARD_SCREENSHOT=docs/dashboard.png to refresh the screenshot in the docs.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ..adapters.running_tocsin import RunningTocsin, running_tocsin
from .dashboard_page import CHROMIUM, CHROMIUM_ARGS, CONFIG, TOKEN

pytestmark = pytest.mark.slow


def _chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed: run scripts/system-deps.sh (make test does)",
            pytrace=False,
        )
    return path


@pytest.fixture
def tocsin() -> Iterator[RunningTocsin]:
    with running_tocsin(CONFIG, token=TOKEN) as t:
        yield t


@pytest.fixture
def page(tocsin: RunningTocsin) -> Iterator[Any]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def _alert(name: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} on {labels.get('service', 'somewhere')}"},
    }


def _state(page: Any, name: str) -> str:
    text: str = page.locator(f'tr:has(td.name a:text-is("{name}")) td.state').inner_text()
    return text


def test_live_groups_ack_and_timeline(tocsin: RunningTocsin, page: Any):
    page.on("dialog", lambda dialog: dialog.accept(TOKEN))
    page.goto(tocsin.url + "/")
    # No token yet: the stream refuses it, and the page says so.
    page.wait_for_selector('#conn[data-state="unauthorized"]', timeout=10_000)
    page.click("#token-button")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)

    r = tocsin.client.post(
        "/api/v2/alerts",
        json=[_alert("DiskFull", severity="critical", service="db", environment="prod")],
    )
    assert r.status_code == 200
    posted = time.monotonic()
    page.wait_for_selector('td.name a:text-is("DiskFull")', timeout=1_000)  # live, no reload
    assert time.monotonic() - posted < 1.0
    row = page.locator('tr:has(td.name a:text-is("DiskFull"))')
    assert row.get_attribute("data-severity") == "critical"
    assert "oncall-log" in row.locator("td.receivers").inner_text()
    assert row.locator("td.count").inner_text() == "1"
    page.wait_for_function(
        """() => [...document.querySelectorAll('td.state')].some(td => td.textContent === 'firing')""",
        timeout=5_000,
    )

    row.locator('button[data-action="ack"]').click()
    page.wait_for_function(
        """() => {
            const a = [...document.querySelectorAll('td.name a')].find(a => a.textContent === 'DiskFull');
            return a && a.closest('tr').querySelector('td.state').textContent.startsWith('acknowledged');
        }""",
        timeout=5_000,
    )
    assert _state(page, "DiskFull") == "acknowledged (alice)"

    row.locator("td.name a").click()
    page.wait_for_selector('#timeline li .type:text-is("group.acknowledged")', timeout=5_000)
    types = page.locator("#timeline li .type").all_inner_texts()
    assert types[:2] == ["group.opened", "alert.received"]
    assert "notification.requested" in types

    # A few more groups, for the filters and the screenshot.
    more = [
        _alert("HighLatency", severity="warning", service="api", environment="prod"),
        _alert("CertExpiring", severity="info", service="edge", environment="staging"),
        _alert("ErrorBudgetBurn", severity="high", service="checkout", environment="prod"),
        _alert("QueueBacklog", severity="warning", service="worker", environment="staging"),
    ]
    assert tocsin.client.post("/api/v2/alerts", json=more).status_code == 200
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr').length === 5", timeout=5_000
    )
    page.select_option('select[name="severity"]', "warning")
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr:not([hidden])').length === 2",
        timeout=2_000,
    )
    page.select_option('select[name="severity"]', "")
    page.fill('input[name="environment"]', "staging")
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr:not([hidden])').length === 2",
        timeout=2_000,
    )
    page.fill('input[name="environment"]', "")
    page.fill('input[name="text"]', "checkout")
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr:not([hidden])').length === 1",
        timeout=2_000,
    )
    page.fill('input[name="text"]', "")
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr:not([hidden])').length === 5",
        timeout=2_000,
    )

    shot = os.environ.get("TOCSIN_DASHBOARD_SCREENSHOT")
    if shot:
        page.wait_for_selector('#timeline li .type:text-is("notification.requested")')
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot)

    # A token survives a reload (localStorage): the page goes live without asking again.
    page.reload()
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    page.wait_for_selector('td.name a:text-is("DiskFull")', timeout=5_000)


def _rows(page: Any) -> list[list[str]]:
    """[name, severity, severity dot's title, alerts count] of every row, top to bottom."""
    rows: list[list[str]] = page.eval_on_selector_all("#groups tbody tr", _ROWS_JS)
    return rows


_ROWS_JS = """rows => rows.map(tr => [
    tr.querySelector('td.name a').textContent,
    tr.dataset.severity,
    tr.querySelector('td.sev').title,
    tr.querySelector('td.count').textContent,
])"""


def _wait_rows(page: Any, expected: list[list[str]], what: str) -> None:
    """Wait until the table shows exactly `expected` (see `_rows`), or fail saying what it shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"exp => JSON.stringify(({_ROWS_JS})([...document.querySelectorAll('#groups tbody tr')]))"
            " === JSON.stringify(exp)",
            arg=expected,
            timeout=5_000,
        )
    except PlaywrightTimeout:
        pytest.fail(f"{what}: wanted rows {expected}, the page shows {_rows(page)}", pytrace=False)


def _dot_colour(page: Any, name: str) -> str:
    colour: str = page.locator(f'tr:has(td.name a:text-is("{name}")) td.sev span').evaluate(
        "span => getComputedStyle(span).backgroundColor"
    )
    return colour


def _resolved(labels: dict[str, str]) -> dict[str, Any]:
    """The alert with these labels, resolved a second ago."""
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "startsAt": (now - timedelta(minutes=5)).isoformat(),
        "endsAt": (now - timedelta(seconds=1)).isoformat(),
    }


def test_a_row_follows_its_groups_severity_and_leaves_once_resolved(
    tocsin: RunningTocsin, page: Any
):
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.goto(tocsin.url + "/")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # `team="payments"` routes before severity (see CONFIG), so Paging's alerts share one group
    # whatever their severity, flushed every second. One group per POST, each awaited: opening
    # times strictly increase, and the order within a severity (newest first) is known.
    warning = {"alertname": "Paging", "team": "payments", "severity": "warning", "instance": "a"}
    critical = {**warning, "severity": "critical", "instance": "b"}
    posts = [
        {"labels": warning},
        _alert("HighLatency", severity="warning", service="api"),
        _alert("QueueBacklog", severity="warning", service="worker"),
        _alert("CertExpiring", severity="info", service="edge"),
        _alert("DiskFull", severity="critical", service="db"),
    ]
    for n, alert in enumerate(posts, 1):
        assert tocsin.client.post("/api/v2/alerts", json=[alert]).status_code == 200
        page.wait_for_function(
            f"() => document.querySelectorAll('#groups tbody tr').length === {n}", timeout=5_000
        )
    before = [
        ["DiskFull", "critical", "critical", "1"],
        ["QueueBacklog", "warning", "warning", "1"],
        ["HighLatency", "warning", "warning", "1"],
        ["Paging", "warning", "warning", "1"],
        ["CertExpiring", "info", "info", "1"],
    ]
    _wait_rows(page, before, "five groups, most severe first, then newest")
    warning_colour = _dot_colour(page, "Paging")
    critical_colour = _dot_colour(page, "DiskFull")
    assert warning_colour != critical_colour

    # A critical alert joins Paging's group: the row climbs above every warning group (below
    # DiskFull, a newer critical group), red now.
    assert tocsin.client.post("/api/v2/alerts", json=[{"labels": critical}]).status_code == 200
    _wait_rows(
        page,
        [
            ["DiskFull", "critical", "critical", "1"],
            ["Paging", "critical", "critical", "2"],
            ["QueueBacklog", "warning", "warning", "1"],
            ["HighLatency", "warning", "warning", "1"],
            ["CertExpiring", "info", "info", "1"],
        ],
        "Paging, critical now, above the warning groups",
    )
    assert _dot_colour(page, "Paging") == critical_colour

    # The critical alert resolves (endsAt in the past): the group is warning again, and so is
    # its row, back in its old place. (It counts 1/2 until the next flush notifies the
    # resolution and drops the resolved alert from the group, then 1: the wait ends there.)
    assert tocsin.client.post("/api/v2/alerts", json=[_resolved(critical)]).status_code == 200
    _wait_rows(
        page, before, "Paging back among the warning groups once its critical alert resolved"
    )
    assert _dot_colour(page, "Paging") == warning_colour

    # Its last alert resolves: once that is notified the group ends, and its row leaves.
    assert tocsin.client.post("/api/v2/alerts", json=[_resolved(warning)]).status_code == 200
    _wait_rows(
        page, [row for row in before if row[0] != "Paging"], "Paging gone once every alert resolved"
    )
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"


# Holds the page's next answer to GET /api/v1/groups/{id} (once the test sets holdNextGroup)
# until the group's row has left the table, or 3 s have passed: answers that cross. `consumed`
# turns true once the page has read the held answer (and so run what it does with it).
_CROSSING_ANSWERS = r"""
window.groupFetches = 0;
window.held = null;
const realFetch = window.fetch.bind(window);
window.fetch = async (path, init) => {
  if (!/^\/api\/v1\/groups\/[^/]+$/.test(path)) return realFetch(path, init);
  window.groupFetches++;
  try {
    const response = await realFetch(path, init);
    if (!window.holdNextGroup) return response;
    window.holdNextGroup = false;
    const held = (window.held = { status: response.status, consumed: false });
    const body = await response.text();
    await new Promise((resolve) => {
      setTimeout(resolve, 3000);
      const poll = () =>
        document.querySelector("#groups tbody tr") ? requestAnimationFrame(poll) : resolve();
      poll();
    });
    const late = new Response(body, { status: response.status, headers: response.headers });
    const text = late.text.bind(late);
    late.text = async () => {
      const t = await text();
      setTimeout(() => (held.consumed = true));
      return t;
    };
    return late;
  } finally {
    window.groupFetches--;
  }
};
"""


def test_an_ended_groups_row_stays_gone_when_answers_cross(tocsin: RunningTocsin, page: Any):
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.add_init_script(_CROSSING_ANSWERS)
    page.goto(tocsin.url + "/")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    labels = {"alertname": "Ended", "team": "payments", "severity": "warning"}
    assert tocsin.client.post("/api/v2/alerts", json=[{"labels": labels}]).status_code == 200
    page.wait_for_selector('td.name a:text-is("Ended")', timeout=5_000)
    page.wait_for_function("() => window.groupFetches === 0", timeout=5_000)

    # A new summary (an event) makes the page fetch the group; that answer (still firing) is
    # held while the alert resolves and the group ends, so a later fetch answers 404 first.
    page.evaluate("window.holdNextGroup = true")
    again = {"labels": labels, "annotations": {"summary": "still full"}}
    assert tocsin.client.post("/api/v2/alerts", json=[again]).status_code == 200
    page.wait_for_function("() => window.held !== null", timeout=5_000)
    assert tocsin.client.post("/api/v2/alerts", json=[_resolved(labels)]).status_code == 200
    page.wait_for_function(
        "() => window.held.consumed && window.groupFetches === 0"
        " && !document.querySelector('#groups tbody tr')",
        timeout=10_000,
    )
    assert page.evaluate("window.held.status") == 200, "the held answer must be the stale one"
    # Two frames on, a stale answer taken for news would have brought the row back.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert _rows(page) == []


def test_a_thousand_groups_render_and_filter(tocsin: RunningTocsin, page: Any):
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.goto(tocsin.url + "/")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    alerts = [
        _alert(
            f"Storm{i:04d}", severity=("critical", "warning", "info")[i % 3], service=f"s{i % 7}"
        )
        for i in range(1000)
    ]
    for start in range(0, 1000, 100):
        r = tocsin.client.post("/api/v2/alerts", json=alerts[start : start + 100])
        assert r.status_code == 200
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr').length === 1000", timeout=30_000
    )
    # Rows arrive in batches and are merged into place: the table ends up most severe first.
    severities = page.eval_on_selector_all(
        "#groups tbody tr", "rows => rows.map(tr => tr.dataset.severity)"
    )
    assert severities == ["critical"] * 334 + ["warning"] * 333 + ["info"] * 333
    page.fill('input[name="text"]', "storm0042")
    page.wait_for_function(
        "() => document.querySelectorAll('#groups tbody tr:not([hidden])').length === 1",
        timeout=2_000,
    )
    # How smooth it stays is measured by benchmarks/dashboard.py, never gated here.


def test_heartbeats_show_in_the_header(tocsin: RunningTocsin, page: Any):
    r = tocsin.client.post(
        "/api/v1/heartbeats/nightly-backup",
        json={"interval": "1h"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 200, r.text
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.goto(tocsin.url + "/")
    badge = page.wait_for_selector(
        '#heartbeats .heartbeat[data-name="nightly-backup"]', timeout=10_000
    )
    assert badge is not None
    assert badge.get_attribute("data-missing") == "false"
    assert "nightly-backup" in badge.inner_text()


def test_a_missing_heartbeat_turns_red(tocsin: RunningTocsin, page: Any):
    r = tocsin.client.post(
        "/api/v1/heartbeats/cron-job",
        json={"interval": "1s"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 200, r.text
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.goto(tocsin.url + "/")
    # No beat after the first: within a poll or two the badge says it is missing.
    page.wait_for_selector(
        '#heartbeats .heartbeat[data-name="cron-job"][data-missing="true"]', timeout=15_000
    )
