"""The dashboard's first layout of 1,000 groups, in real headless Chromium (Debian's).

    .venv/bin/python benchmarks/dashboard.py [--groups 1000] [--runs 3] [--chromium PATH]

Starts `tocsin run` on 127.0.0.1 and a free port in a temp dir (log-only receivers) and drives
Debian's chromium with Playwright through two scenarios, `runs` times each on a fresh page:

- load:  the groups already exist; open the page. Time from navigation to every row in the
         table and laid out, and the longest main-thread task on the way.
- storm: the page is live on a fresh daemon with no group; post the alerts through the API in batches of 100.
         Time from the first POST to every row laid out, and the longest task.

For each it prints the medians and, from Chromium's own counters (CDP Performance.getMetrics),
the main-thread time spent in script, style recalculation and layout. The longest task is what
a user feels as a freeze; the page's per-frame work is meant to keep it short.

Prints only, asserts nothing; every wait has a deadline; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.adapters.running_tocsin import RunningTocsin, running_tocsin, wait_for
from tests.integration.dashboard_page import CHROMIUM_ARGS, CONFIG, TOKEN

TIMEOUT = 60.0
BATCH = 100

# In the page, before its own scripts: collect long tasks (> 50 ms of main-thread work), and
# note when the first row enters the table.
OBSERVE = """
window.__long = [];
new PerformanceObserver(l => window.__long.push(...l.getEntries().map(e => e.duration)))
    .observe({type: 'longtask', buffered: true});
document.addEventListener('DOMContentLoaded', () => {
    const tbody = document.querySelector('#groups tbody');
    new MutationObserver((_, obs) => {
        if (tbody.firstElementChild) { window.__firstRow = performance.now(); obs.disconnect(); }
    }).observe(tbody, {childList: true});
});
"""
# When the response to the page's first GET /alerts/active had arrived.
LIST_ARRIVED = """() => {
    const e = performance.getEntriesByType('resource').find(r => r.name.endsWith('/alerts/active'));
    return e ? e.responseEnd : 0;
}"""
# In the page: once `n` rows are in the table, force the layout and return when it finished.
ROWS_LAID_OUT = """n => {
    if (document.querySelectorAll('#groups tbody tr').length !== n) return false;
    document.body.offsetHeight;
    return performance.now();
}"""


def _tocsin() -> AbstractContextManager[RunningTocsin]:
    """`tocsin run` on the dashboard test's config; checked to stop cleanly after."""
    return running_tocsin(CONFIG, token=TOKEN, ready_timeout=TIMEOUT, client_timeout=30.0)


def _alerts(tag: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "labels": {
                "alertname": f"{tag}{i:04d}",
                "severity": ("critical", "warning", "info")[i % 3],
                "service": f"s{i % 7}",
                "environment": ("prod", "staging")[i % 2],
            },
            "annotations": {"summary": f"{tag} number {i}"},
        }
        for i in range(n)
    ]


def _post(client: httpx.Client, alerts: list[dict[str, Any]]) -> None:
    for start in range(0, len(alerts), BATCH):
        r = client.post("/api/v2/alerts", json=alerts[start : start + BATCH])
        r.raise_for_status()


def _active(client: httpx.Client) -> int:
    return len(client.get("/alerts/active").json()["groups"])


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    keys = ("ScriptDuration", "RecalcStyleDuration", "LayoutDuration", "TaskDuration")
    return {k: (after.get(k, 0.0) - before.get(k, 0.0)) * 1000 for k in keys}


def _page(browser: Any, url: str) -> tuple[Any, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.add_init_script(f"localStorage.setItem('tocsin.token', '{TOKEN}');" + OBSERVE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp


def _load(browser: Any, url: str, groups: int) -> dict[str, float]:
    page, cdp = _page(browser, url)
    try:
        before = _metrics(cdp)
        page.goto(url + "/")
        done = page.wait_for_function(
            ROWS_LAID_OUT, arg=groups, polling="raf", timeout=TIMEOUT * 1000
        ).json_value()
        spent = _spent(before, _metrics(cdp))
        longest = page.evaluate("() => Math.max(0, ...window.__long)")
        arrived = page.evaluate(LIST_ARRIVED)
        first = page.evaluate("() => window.__firstRow")
        return {
            "total": done,
            "list": arrived,
            "first": first - arrived,
            "render": done - arrived,
            "longest": longest,
            **spent,
        }
    finally:
        page.close()


def _storm(
    browser: Any, url: str, client: httpx.Client, alerts: list[dict[str, Any]]
) -> dict[str, float]:
    page, cdp = _page(browser, url)
    try:
        # Live, and the (empty) list of active groups loaded: the storm starts from there.
        with page.expect_response(
            lambda r: r.url.endswith("/alerts/active"), timeout=TIMEOUT * 1000
        ):
            page.goto(url + "/")
        page.wait_for_selector('#conn[data-state="live"]', timeout=TIMEOUT * 1000)
        page.evaluate("() => { window.__long = []; }")
        before = _metrics(cdp)
        start = page.evaluate("() => performance.now()")
        _post(client, alerts)
        done = page.wait_for_function(
            ROWS_LAID_OUT, arg=len(alerts), polling="raf", timeout=TIMEOUT * 1000
        ).json_value()
        spent = _spent(before, _metrics(cdp))
        longest = page.evaluate("() => Math.max(0, ...window.__long)")
        return {"total": done - start, "longest": longest, **spent}
    finally:
        page.close()


def _report(name: str, runs: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"{name:<6} {len(runs)}-run medians: all rows laid out {med('total'):6.0f} ms after "
        + ("navigation" if name == "load" else "the first POST")
        + f"; longest task {med('longest'):5.0f} ms (runs: "
        + ", ".join(f"{r['longest']:.0f}" for r in runs)
        + ")"
    )
    if name == "load":
        print(
            f"{'':<6} GET /alerts/active answered at {med('list'):6.0f} ms; from there: "
            f"first row {med('first'):5.0f} ms, all rows laid out {med('render'):5.0f} ms"
        )
    print(
        f"{'':<6} main thread: script {med('ScriptDuration'):6.0f} ms, "
        f"style {med('RecalcStyleDuration'):6.0f} ms, layout {med('LayoutDuration'):6.0f} ms, "
        f"all tasks {med('TaskDuration'):6.0f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--groups", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = p.parse_args()
    if not os.path.exists(args.chromium):
        raise SystemExit("Debian's chromium is not installed: run scripts/system-deps.sh")
    from playwright.sync_api import sync_playwright

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            storms = []
            for run in range(args.runs):
                with _tocsin() as t:  # a fresh daemon each time: no group left over
                    alerts = _alerts(f"Storm{run}x", args.groups)
                    storms.append(_storm(browser, t.url, t.client, alerts))
            with _tocsin() as t:
                _post(t.client, _alerts("Standing", args.groups))
                wait_for(
                    lambda: _active(t.client) == args.groups,
                    TIMEOUT,
                    f"{args.groups} active groups",
                )
                loads = [_load(browser, t.url, args.groups) for _ in range(args.runs)]
        finally:
            browser.close()
    print(f"{args.groups} groups, headless chromium, {os.cpu_count()} cores")
    _report("load", loads)
    _report("storm", storms)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
