"""`tocsin test escalation|storm|prometheus`: exercise a running daemon end to end.

- `escalation` fires a critical alert labelled `tocsin_test="escalation"` (route it to a
  short-delay policy, see docs/quickstart.md), prints each step of its group as the journal
  records it — read by polling `GET /api/v1/groups/{id}/history`, resumable by sequence number
  — acknowledges it once it reached `--ack-at-level`, checks escalation stops, and resolves it
  (the alert, and its group's episode by hand when the group holds only test alerts, so the
  next run opens a new episode). It prints only its own run's events, even in a group that
  earlier runs shared.
- `storm` posts `--alerts N` distinct alerts in batches, then reports the ingest rate, the
  groups and notifications that resulted, the grouping ratio, and whether every alert arrived.
- `prometheus` posts an Alertmanager webhook payload (version 4) to `/alerts/webhook` and shows
  the answer and the groups the alerts landed in.

Each alert carries `tocsin_test=<test>` and `tocsin_run=<random id>`, so runs never mix, and
everything fired is resolved at the end (unless `--keep`).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.cli.remote import (
    Api,
    CommandFailed,
    api_from_args,
    emit_json,
    print_table,
    remote_command,
    remote_options,
)

_POLL = 0.1


def add_parser(sub: Any) -> None:
    common = remote_options()
    p = sub.add_parser("test", help="exercise a running daemon: escalation, storm, prometheus")
    cmds = p.add_subparsers(dest="test_command", metavar="COMMAND", required=True)

    esc = cmds.add_parser(
        "escalation",
        parents=[common],
        help="fire a critical alert, follow its escalation, ack it, check escalation stops",
    )
    esc.add_argument(
        "--ack-at-level", type=int, default=1, help="acknowledge once this level is reached (1)"
    )
    esc.add_argument(
        "--quiet-for",
        type=float,
        default=None,
        help="seconds to watch for escalation after the ack (default: twice the longest gap "
        "between levels seen, at least 3)",
    )
    esc.add_argument(
        "--wait", type=float, default=120.0, help="give up after this many seconds (120)"
    )
    esc.add_argument("--keep", action="store_true", help="leave the alert firing")
    esc.set_defaults(func=cmd_escalation)

    storm = cmds.add_parser(
        "storm", parents=[common], help="an alert storm: ingest rate, grouping, nothing lost"
    )
    storm.add_argument("--alerts", type=int, default=10_000, help="how many alerts (10000)")
    storm.add_argument("--batch", type=int, default=500, help="alerts per request (500)")
    storm.add_argument("--names", type=int, default=10, help="distinct alertnames (10)")
    storm.add_argument("--services", type=int, default=20, help="distinct services (20)")
    storm.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for every alert (60)"
    )
    storm.add_argument("--keep", action="store_true", help="leave the alerts firing")
    storm.set_defaults(func=cmd_storm)

    prom = cmds.add_parser(
        "prometheus",
        parents=[common],
        help="post an Alertmanager webhook payload and show what Tocsin did with it",
    )
    prom.add_argument("--keep", action="store_true", help="leave the alerts firing")
    prom.set_defaults(func=cmd_prometheus)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _run_id() -> str:
    return secrets.token_hex(4)


def _post_alerts(api: Api, labels: list[dict[str, str]], resolve: bool, **extra: Any) -> None:
    now = datetime.now(UTC)
    ends = now if resolve else now + timedelta(hours=1)
    api.post(
        "/api/v2/alerts",
        json=[{"labels": ls, "endsAt": _iso(ends), **extra} for ls in labels],
    )


def _groups_of_run(api: Api, run: str) -> list[dict[str, Any]]:
    groups = api.get("/alerts/active")["groups"]
    return [g for g in groups if any(a["labels"].get("tocsin_run") == run for a in g["alerts"])]


def _wait_group(api: Api, run: str, deadline: float) -> dict[str, Any]:
    while True:
        groups = _groups_of_run(api, run)
        if groups:
            return groups[0]
        if time.monotonic() > deadline:
            raise CommandFailed("the test alert did not reach a live group in time")
        time.sleep(_POLL)


def _history(api: Api, group_id: str, since: int) -> Iterator[dict[str, Any]]:
    """The group's events after `since`, every page."""
    while True:
        page = api.get(f"/api/v1/groups/{group_id}/history", params={"since": since})
        yield from page["events"]
        if page["next_since"] is None:
            return
        since = page["next_since"]


def _run_start(api: Api, group_id: str, run: str) -> int:
    """The seq after which the group's history is this run's: the group may hold earlier
    runs' events (it is the route's group_by that decides, and it rarely names `tocsin_run`).
    This run begins with its alert's arrival, or with the `group.opened` written with it."""
    previous: dict[str, Any] | None = None
    for ev in _history(api, group_id, 0):
        data = ev.get("data") or {}
        labels = (data.get("alert") or {}).get("labels") or {}
        if ev["type"] == "alert.received" and labels.get("tocsin_run") == run:
            if (
                previous is not None
                and previous["type"] == "group.opened"
                and previous["ts"] == ev["ts"]  # one append: the same journal timestamp
            ):
                return int(previous["seq"]) - 1
            return int(ev["seq"]) - 1
        previous = ev
    return 0


def _end_episode(api: Api, group_id: str) -> None:
    """End the test's episode at once, as the next run expects, rather than at the group's next
    flush (group_interval later) — when the group holds nothing but test alerts."""
    with contextlib.suppress(CommandFailed):  # gone, or ended meanwhile: nothing to do
        groups = api.get("/alerts/active")["groups"]
        group = next((g for g in groups if g["id"] == group_id), None)
        if group is None or not all("tocsin_test" in a["labels"] for a in group["alerts"]):
            return
        api.post(
            f"/api/v1/alerts/{group_id}/resolve",
            json={"by": "tocsin test escalation", "comment": "end of the escalation test"},
        )


def describe(ev: dict[str, Any]) -> str | None:
    """One line for the events a person follows; None for the bookkeeping ones."""
    d = ev.get("data") or {}
    t = ev["type"]
    if t == "group.opened":
        policy = d.get("policy") or {}
        esc = (policy.get("escalation") or {}).get("name") or "none"
        return f"group opened (receiver {policy.get('receiver')}, escalation policy {esc})"
    if t == "notification.requested":
        return f"notify {d.get('receiver')} (level {d.get('level')}, {d.get('reason')})"
    if t == "notification.delivered":
        return f"delivered to {d.get('receiver')} via {d.get('integration')}"
    if t == "notification.failed":
        return (
            f"delivery to {d.get('receiver')} via {d.get('integration')} failed: {d.get('error')}"
        )
    if t == "group.escalated":
        return f"ESCALATED to level {d.get('level')}: {', '.join(d.get('receivers') or [])}"
    if t == "group.acknowledged":
        return f"acknowledged by {d.get('by')}"
    if t == "group.resolved":
        return f"group resolved ({d.get('reason')})"
    return None


@remote_command
def cmd_escalation(args: argparse.Namespace) -> int:
    run = _run_id()
    labels = {
        "alertname": "TocsinEscalationTest",
        "severity": "critical",
        "tocsin_test": "escalation",
        "tocsin_run": run,
    }
    out: list[dict[str, Any]] = []
    as_json = args.output == "json"

    def show(ev: dict[str, Any], started: float) -> None:
        line = describe(ev)
        if line is not None:
            out.append({"t": round(time.monotonic() - started, 2), **ev})
            if not as_json:
                print(f"  +{time.monotonic() - started:6.1f}s  {line}", flush=True)

    with api_from_args(args) as api:
        started = time.monotonic()
        deadline = started + args.wait
        _post_alerts(api, [labels], resolve=False, annotations={"summary": "escalation test"})
        group = _wait_group(api, run, deadline)
        gid = group["id"]
        if group.get("ack"):
            raise CommandFailed(
                f"the test alert joined group {gid}, whose episode is already acknowledged "
                f"(an earlier run kept with --keep?): end it with `tocsin alerts resolve {gid}` "
                "and run again"
            )
        if not as_json:
            print(f"fired TocsinEscalationTest (tocsin_run={run}) → group {gid}", flush=True)
        since, level, level_times = _run_start(api, gid, run), -1, [started]
        try:
            while level < args.ack_at_level:
                for ev in _history(api, gid, since):
                    since = ev["seq"]
                    show(ev, started)
                    if ev["type"] == "group.escalated":
                        level = ev["data"]["level"]
                        level_times.append(time.monotonic())
                if time.monotonic() > deadline:
                    raise CommandFailed(
                        f"group {gid} reached escalation level {level}, not "
                        f"{args.ack_at_level}, within {args.wait:g}s: does a route send "
                        'tocsin_test="escalation" to a short-delay escalation policy?'
                    )
                time.sleep(_POLL)
            api.post(
                f"/api/v1/alerts/{gid}/ack",
                json={"by": "tocsin test escalation", "comment": "escalation test"},
            )
            gaps = [b - a for a, b in itertools.pairwise(level_times)]
            quiet = args.quiet_for if args.quiet_for is not None else max(3.0, 2 * max(gaps))
            if not as_json:
                print(f"  watching {quiet:.0f}s for escalation after the ack ...", flush=True)
            stop = time.monotonic() + quiet
            escalated_after = []
            while time.monotonic() < stop:
                for ev in _history(api, gid, since):
                    since = ev["seq"]
                    show(ev, started)
                    if ev["type"] == "group.escalated":
                        escalated_after.append(ev)
                time.sleep(_POLL)
        finally:
            if not args.keep:
                _post_alerts(api, [labels], resolve=True)
                _end_episode(api, gid)
    ok = not escalated_after
    if as_json:
        emit_json({"group": gid, "run": run, "ok": ok, "events": out})
    elif ok:
        print(f"ok: escalated to level {level}, acknowledged, and escalation stopped")
    if not ok:
        raise CommandFailed(f"group {gid} escalated again after it was acknowledged")
    return 0


@remote_command
def cmd_storm(args: argparse.Namespace) -> int:
    if args.alerts < 1 or args.batch < 1:
        raise CommandFailed("--alerts and --batch must be at least 1")
    run = _run_id()
    labels = [
        {
            "alertname": f"TocsinStorm{i % max(1, args.names)}",
            "service": f"storm-svc-{i % max(1, args.services)}",
            "severity": "warning",
            "instance": f"storm-{i}",
            "tocsin_test": "storm",
            "tocsin_run": run,
        }
        for i in range(args.alerts)
    ]
    as_json = args.output == "json"
    with api_from_args(args) as api:
        started = time.perf_counter()
        for i in range(0, len(labels), args.batch):
            _post_alerts(api, labels[i : i + args.batch], resolve=False)
        elapsed = time.perf_counter() - started
        rate = len(labels) / elapsed if elapsed > 0 else float("inf")
        if not as_json:
            print(f"posted {len(labels)} alerts in {elapsed:.2f}s: {rate:,.0f} alerts/s")
        deadline = time.monotonic() + args.wait
        while True:
            groups = _groups_of_run(api, run)
            held = {
                a["fingerprint"]
                for g in groups
                for a in g["alerts"]
                if a["labels"].get("tocsin_run") == run and a.get("firing", True)
            }
            if len(held) >= len(labels) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        notifications = sum(
            1
            for g in groups
            for ev in _history(api, g["id"], 0)
            if ev["type"] == "notification.requested"
        )
        if not args.keep:
            for i in range(0, len(labels), args.batch):
                _post_alerts(api, labels[i : i + args.batch], resolve=True)
    report = {
        "alerts": len(labels),
        "seconds": round(elapsed, 3),
        "alerts_per_second": round(rate),
        "alerts_held": len(held),
        "groups": len(groups),
        "grouping_ratio": round(len(held) / len(groups), 1) if groups else 0,
        "notifications_requested": notifications,
        "lost": len(labels) - len(held),
    }
    if as_json:
        emit_json(report)
    else:
        print_table([[k.replace("_", " "), v] for k, v in report.items()], ["", "VALUE"], empty="")
    if len(held) < len(labels):
        raise CommandFailed(
            f"{len(labels) - len(held)} of {len(labels)} alerts are not in any live group "
            f"after {args.wait:g}s"
        )
    if not as_json:
        print("ok: every alert is held")
    return 0


def webhook_payload(run: str, status: str) -> dict[str, Any]:
    """An Alertmanager 0.25 webhook (version 4) as a Prometheus-fed Alertmanager sends it."""
    now = datetime.now(UTC)
    ends = _iso(now) if status == "resolved" else "0001-01-01T00:00:00Z"
    common = {"alertname": "KubePodCrashLooping", "namespace": "shop", "severity": "high",
              "tocsin_test": "prometheus", "tocsin_run": run}  # fmt: skip
    alerts = [
        {
            "status": status,
            "labels": {**common, "pod": pod, "container": "app"},
            "annotations": {
                "summary": f"pod shop/{pod} is crash looping",
                "description": f"pod shop/{pod} restarted {n} times in 10 minutes",
                "runbook_url": "https://runbooks.example.com/KubePodCrashLooping",
            },
            "startsAt": _iso(now - timedelta(minutes=3)),
            "endsAt": ends,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=kube_pod_container_status_restarts_total",
            "fingerprint": secrets.token_hex(8),
        }
        for pod, n in (("checkout-7d9f-abcde", 6), ("checkout-7d9f-fghij", 4))
    ]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodCrashLooping"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "tocsin",
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


@remote_command
def cmd_prometheus(args: argparse.Namespace) -> int:
    run = _run_id()
    payload = webhook_payload(run, "firing")
    as_json = args.output == "json"
    with api_from_args(args) as api:
        answer = api.post("/alerts/webhook", json=payload)
        deadline = time.monotonic() + 5
        groups: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            groups = _groups_of_run(api, run)
            held = sum(
                1 for g in groups for a in g["alerts"] if a["labels"].get("tocsin_run") == run
            )
            if held >= len(payload["alerts"]):
                break
            time.sleep(_POLL)
        history = {g["id"]: list(_history(api, g["id"], 0)) for g in groups}
        resolved = None
        if not args.keep:
            resolved = api.post("/alerts/webhook", json=webhook_payload(run, "resolved"))
    if as_json:
        emit_json(
            {"sent": payload, "answer": answer, "groups": groups, "history": history,
             "resolved": resolved}
        )  # fmt: skip
        return 0
    print(
        f"POST /alerts/webhook: {len(payload['alerts'])} alerts of {payload['groupKey']} "
        f"→ accepted {answer.get('accepted')}, firing {answer.get('firing')}, "
        f"resolved {answer.get('resolved')}"
    )
    print()
    print_table(
        [[g["id"], g["receiver"], g["route"], g["phase"], len(g["alerts"])] for g in groups],
        ["GROUP", "RECEIVER", "ROUTE", "PHASE", "ALERTS"],
        empty="(in no live group: check the routing with `tocsin config routes test`)",
    )
    for gid, events in history.items():
        print(f"\ngroup {gid}:")
        for ev in events:
            line = describe(ev)
            if line is not None:
                print(f"  {ev['ts']}  {line}")
    if resolved is not None:
        print(f"\nresolved them again (accepted {resolved.get('accepted')}); --keep leaves them")
    if not groups:
        raise CommandFailed("the webhook's alerts reached no live group")
    return 0
