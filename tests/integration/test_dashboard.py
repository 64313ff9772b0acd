"""The dashboard in real headless Chromium (Debian's), driven by Playwright, against `tocsin run`.

The page loads, asks for a token once, goes live on the stream; an alert posted through the
API appears without a reload within a second; Ack changes its state; the timeline shows the
group's events; a row moves up and down as its group's severity changes, and leaves once the
group's alerts all resolve, even when two answers about it cross, or when a reload of the whole
list stands in for the event that ended it; 1,000 groups render and filter. Every wait is a
condition with a deadline.

Set TOCSIN_DASHBOARD_SCREENSHOT=docs/dashboard.png to refresh the screenshot in the docs.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ..adapters.running_tocsin import RunningTocsin, running_tocsin, wait_for
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


@contextmanager
def _browser_page() -> Iterator[Any]:
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


@pytest.fixture
def page(tocsin: RunningTocsin) -> Iterator[Any]:
    with _browser_page() as p:
        yield p


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


class HeldWebhook:
    """A webhook receiver on 127.0.0.1 that answers 200 at once, or, after `hold()`, only
    once `release()` is called: a group whose resolution it holds stays `resolved`."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.gate = threading.Event()
        self.gate.set()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                hook.received.append(json.loads(body))
                hook.gate.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def webhook() -> Iterator[HeldWebhook]:
    hook = HeldWebhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release()
        hook.server.shutdown()
        hook.server.server_close()


@pytest.fixture
def held_page(webhook: HeldWebhook) -> Iterator[tuple[RunningTocsin, Any]]:
    """The page on a daemon that sends `team="held"` groups to `webhook`."""
    config = f"""\
route:
  receiver: ops-log
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['team="held"']
      receiver: held-webhook
receivers:
  - name: ops-log
  - name: held-webhook
    webhook_configs: [{{url: '{webhook.url}', send_resolved: true}}]
tocsin:
  auth:
    tokens:
      - {{name: alice, token: {TOKEN}, roles: [admin]}}
"""
    with running_tocsin(config, token=TOKEN) as t, _browser_page() as p:
        try:
            yield t, p
        finally:
            webhook.release()  # a held delivery must not hold up the daemon's exit


# While `holdGroups` is true, holds every request for GET /api/v1/groups/{id} before it is
# sent (so the page's six fetches stay busy and later dirty groups wait their turn); while
# `holdActive` is true, holds the answer to GET /alerts/active. Counts the requests for the
# whole list and the answers the page has been given.
_HELD_FETCHES = r"""
window.holdGroups = false;
window.holdActive = false;
window.heldGroups = 0;
window.groupFetches = 0;
window.activeAsked = 0;
window.activeAnswers = 0;
const realFetch = window.fetch.bind(window);
const until = (released) =>
  new Promise((resolve) => {
    const poll = () => (released() ? resolve() : setTimeout(poll, 10));
    poll();
  });
window.fetch = async (path, init) => {
  if (path === "/alerts/active") {
    window.activeAsked++;
    const response = await realFetch(path, init);
    await until(() => !window.holdActive);
    window.activeAnswers++;
    return response;
  }
  if (!/^\/api\/v1\/groups\/[^/?]+$/.test(path)) return realFetch(path, init);
  window.groupFetches++;
  try {
    if (window.holdGroups) {
      window.heldGroups++;
      await until(() => !window.holdGroups);
      window.heldGroups--;
    }
    return await realFetch(path, init);
  } finally {
    window.groupFetches--;
  }
};
"""

_NAMES_JS = "() => [...document.querySelectorAll('td.name a')].map(a => a.textContent)"


def _wait_names(page: Any, expected: list[str], what: str) -> None:
    """Wait until the page is done fetching and shows rows of exactly these names."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"exp => window.groupFetches === 0 && JSON.stringify(({_NAMES_JS})().sort())"
            " === JSON.stringify(exp)",
            arg=sorted(expected),
            timeout=10_000,
        )
    except PlaywrightTimeout:
        shown = sorted(page.evaluate(_NAMES_JS))
        pytest.fail(
            f"{what}: rows missing {sorted(set(expected) - set(shown))}, "
            f"rows extra {sorted(set(shown) - set(expected))}",
            pytrace=False,
        )


def test_a_resolved_rows_group_that_ended_leaves_when_a_whole_list_reload_stood_for_it(
    held_page: tuple[RunningTocsin, Any], webhook: HeldWebhook
):
    tocsin, page = held_page
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.add_init_script(_HELD_FETCHES)
    page.goto(tocsin.url + "/")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # A group resolved by hand whose resolution the webhook holds: the row shows `resolved`.
    labels = {"alertname": "Ending", "team": "held", "severity": "warning"}
    assert tocsin.client.post("/api/v2/alerts", json=[{"labels": labels}]).status_code == 200
    wait_for(lambda: webhook.received, 10, "the firing notification")
    webhook.hold()
    row = page.wait_for_selector('tr:has(td.name a:text-is("Ending"))', timeout=5_000)
    assert row is not None
    gid = row.get_attribute("data-id")
    r = tocsin.client.post(f"/api/v1/alerts/{gid}/resolve", json={})
    assert r.status_code == 200, r.text
    wait_for(lambda: len(webhook.received) >= 2, 10, "the resolution, held")
    page.wait_for_function(
        """() => {
            const a = [...document.querySelectorAll('td.name a')].find(a => a.textContent === 'Ending');
            return a && a.closest('tr').querySelector('td.state').textContent === 'resolved';
        }""",
        timeout=5_000,
    )
    page.wait_for_function("() => window.groupFetches === 0", timeout=5_000)
    # Its timeline, extended live, shows when the page has the event that ends the group.
    page.locator('td.name a:text-is("Ending")').click()
    page.wait_for_selector('#timeline li .type:text-is("group.resolved")', timeout=5_000)
    delivered = page.locator('#timeline li .type:text-is("notification.delivered")')
    assert delivered.count() == 1

    # Six groups keep the page's six fetches busy (held), so that event leaves the group dirty
    # but unfetched...
    page.evaluate("window.holdGroups = true")
    busy = [_alert(f"Busy{i}", severity="info") for i in range(6)]
    assert tocsin.client.post("/api/v2/alerts", json=busy).status_code == 200
    page.wait_for_function("() => window.heldGroups === 6", timeout=5_000)
    webhook.release()
    wait_for(lambda: tocsin.client.get(f"/api/v1/groups/{gid}").status_code == 404, 10, "the end")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#timeline li .type')]"
        ".filter(t => t.textContent === 'notification.delivered').length === 2",
        timeout=5_000,
    )
    # ...until fifty more groups make the page reload the whole list instead, which no longer
    # has the group.
    answers = page.evaluate("window.activeAnswers")
    storm = [_alert(f"Storm{i:02d}", severity="info") for i in range(50)]
    assert tocsin.client.post("/api/v2/alerts", json=storm).status_code == 200
    page.wait_for_function(f"() => window.activeAnswers > {answers}", timeout=5_000)
    page.evaluate("window.holdGroups = false")

    names = [a["labels"]["alertname"] for a in busy + storm]
    _wait_names(page, names, "the ended group's row gone, every other row there")
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"


def test_a_group_with_news_after_the_whole_list_was_asked_for_keeps_its_row(
    tocsin: RunningTocsin, page: Any
):
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}')")
    page.add_init_script(_HELD_FETCHES)
    page.goto(tocsin.url + "/")
    page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)
    quiet = [_alert(f"Quiet{i:02d}", severity="info") for i in range(47)]
    assert tocsin.client.post("/api/v2/alerts", json=quiet).status_code == 200
    names = [a["labels"]["alertname"] for a in quiet]
    _wait_names(page, names, "the first groups")
    ids = page.eval_on_selector_all("#groups tbody tr", "rows => rows.map(tr => tr.dataset.id)")

    # One event each (an ack) for 47 groups while the page's fetches are held: six fetches
    # busy, then 41 dirty groups make the page ask for the whole list, whose answer is held.
    page.evaluate("window.holdGroups = true; window.holdActive = true")
    asked = page.evaluate("window.activeAsked")
    for gid in ids:
        r = tocsin.client.post(f"/api/v1/alerts/{gid}/ack", json={})
        assert r.status_code == 200, r.text
    page.wait_for_function(f"() => window.activeAsked > {asked}", timeout=5_000)
    page.evaluate("window.holdGroups = false")

    # A group opens after the list was made: the page fetches it on its own and shows it...
    late = _alert("Late", severity="warning")
    assert tocsin.client.post("/api/v2/alerts", json=[late]).status_code == 200
    page.wait_for_function(
        """() => {
            const a = [...document.querySelectorAll('td.name a')].find(a => a.textContent === 'Late');
            return a && a.closest('tr').querySelector('td.state').textContent === 'firing';
        }""",
        timeout=5_000,
    )
    gid = page.locator('tr:has(td.name a:text-is("Late"))').get_attribute("data-id")

    def notified() -> bool:
        history = tocsin.client.get(f"/api/v1/groups/{gid}/history").json()["events"]
        return any(e["type"] == "notification.delivered" for e in history)

    wait_for(notified, 10, "Late's last event")  # no event for it will come after this
    page.wait_for_function("() => window.groupFetches === 0", timeout=5_000)
    # ...and the list, older than that, does not take its row away.
    answers = page.evaluate("window.activeAnswers")
    page.evaluate("window.holdActive = false")
    page.wait_for_function(f"() => window.activeAnswers > {answers}", timeout=5_000)
    _wait_names(page, [*names, "Late"], "every group's row, Late's too")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert sorted(page.evaluate(_NAMES_JS)) == sorted([*names, "Late"])
    acked = page.eval_on_selector_all(
        "#groups tbody tr", "rows => rows.filter(tr => tr.dataset.phase === 'acknowledged').length"
    )
    assert acked == 47


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
