"""`tocsin simulate`: what would another configuration have done over the recorded past?

Reads the journal's recorded alert inputs, replays them through `--config` on a simulated clock
(channels stubbed), and compares, per receiver, the notifications and pages it would have sent
with what was actually sent; it also lists the groups that split or merged under the new
routing. `--fail-if-more-pages N` makes it a CI gate for configuration changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from tocsin.actors.runtime import Rules
from tocsin.actors.simulate import Simulator, inputs_from_events
from tocsin.cli.audit import events_until
from tocsin.cli.journal_cmd import time_arg
from tocsin.core.codec import from_micros
from tocsin.core.events import AlertReceived, NotificationRequested
from tocsin.journal import JournalError, open_journal_reader


def add_parser(sub: Any, default_data_dir: str) -> None:
    p = sub.add_parser(
        "simulate",
        help="what another config would have done over the recorded past",
        description="Replay the journal's recorded alerts through --config on a simulated "
        "clock with channels stubbed; print per receiver the notifications and pages it "
        "would have sent against what was sent, and the groups that split or merged.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="the configuration to try")
    p.add_argument("--data-dir", default=default_data_dir, help="journal directory")
    p.add_argument("--since", metavar="TIME", help="compare from this time (default: start)")
    p.add_argument("--until", metavar="TIME", help="compare up to this time (default: end)")
    p.add_argument(
        "--fail-if-more-pages",
        type=int,
        metavar="N",
        help="exit 1 if the new config would have paged more than N times more than the old",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from tocsin.config import ConfigError, load

    try:
        since_us, until_us = time_arg(args.since), time_arg(args.until)
    except argparse.ArgumentTypeError as exc:
        print(f"tocsin simulate: {exc}", file=sys.stderr)
        return 2
    try:
        config = load(args.config, os.environ)
    except ConfigError as exc:
        print(f"tocsin simulate: {args.config} does not load:\n{exc}", file=sys.stderr)
        return 1
    pagers = {r.name for r in config.receivers.values() if r.of_kind("pagerduty")}
    started = time.perf_counter()
    try:
        with open_journal_reader(args.data_dir) as reader:
            recorded = [
                (from_micros(rec.ts), ev) for rec, ev in events_until(reader.read(), until_us)
            ]
    except JournalError as exc:
        print(f"tocsin simulate: {exc}", file=sys.stderr)
        return 1
    if not recorded:
        print("tocsin simulate: the journal holds no events in that range", file=sys.stderr)
        return 1
    since = from_micros(since_us) if since_us is not None else recorded[0][0]
    until = from_micros(until_us) if until_us is not None else recorded[-1][0]

    actual: Counter[str] = Counter()
    actual_groups: dict[str, set[str]] = defaultdict(set)
    for at, ev in recorded:
        if isinstance(ev, NotificationRequested) and since <= at <= until:
            actual[ev.receiver] += 1
        elif isinstance(ev, AlertReceived):
            actual_groups[ev.alert.fingerprint].add(ev.group_id)

    rules = Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))
    result = Simulator(rules, count_from=since).run(inputs_from_events(recorded), until)
    elapsed = time.perf_counter() - started

    report = _compare(actual, result.notifications, pagers, actual_groups, result.groups_of)
    report.update(
        since=since.isoformat(),
        until=until.isoformat(),
        config=args.config,
        inputs=result.inputs,
        decisions=result.decisions,
        seconds=round(elapsed, 3),
    )
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(_render(report))
    more = report["pages"]["simulated"] - report["pages"]["actual"]
    if args.fail_if_more_pages is not None and more > args.fail_if_more_pages:
        print(
            f"tocsin simulate: the new config would have paged {more} more times "
            f"(limit {args.fail_if_more_pages})",
            file=sys.stderr,
        )
        return 1
    return 0


def _compare(
    actual: Counter[str],
    simulated: Counter[str],
    pagers: set[str],
    actual_groups: dict[str, set[str]],
    sim_groups: dict[str, set[str]],
) -> dict[str, Any]:
    receivers = sorted(set(actual) | set(simulated))
    rows = [
        {
            "receiver": r,
            "actual": actual[r],
            "simulated": simulated[r],
            "pages": r in pagers,
        }
        for r in receivers
    ]
    # An old group whose alerts land in several new groups split; a new group fed by several
    # old groups merged.
    old_to_new: dict[str, set[str]] = defaultdict(set)
    new_to_old: dict[str, set[str]] = defaultdict(set)
    for fp, olds in actual_groups.items():
        for old in olds:
            old_to_new[old] |= sim_groups.get(fp, set())
        for new in sim_groups.get(fp, set()):
            new_to_old[new] |= olds
    return {
        "receivers": rows,
        "total": {"actual": sum(actual.values()), "simulated": sum(simulated.values())},
        "pages": {
            "actual": sum(actual[r] for r in pagers),
            "simulated": sum(simulated[r] for r in pagers),
        },
        "groups": {
            "actual": len(old_to_new),
            "simulated": len(new_to_old),
            "split": sorted(g for g, news in old_to_new.items() if len(news) > 1),
            "merged": sorted(g for g, olds in new_to_old.items() if len(olds) > 1),
        },
    }


def _render(report: dict[str, Any]) -> str:
    lines = [
        f"simulated {report['config']} over {report['since']} .. {report['until']} "
        f"({report['inputs']} inputs, {report['decisions']} decisions, {report['seconds']} s)",
        "",
        f"{'RECEIVER':<28} {'ACTUAL':>8} {'SIMULATED':>10} {'CHANGE':>8}",
    ]
    for row in report["receivers"]:
        change = row["simulated"] - row["actual"]
        page = "  (pages)" if row["pages"] else ""
        lines.append(
            f"{row['receiver']:<28} {row['actual']:>8} {row['simulated']:>10} {change:>+8}{page}"
        )
    t, p, g = report["total"], report["pages"], report["groups"]
    lines += [
        f"{'total notifications':<28} {t['actual']:>8} {t['simulated']:>10} "
        f"{t['simulated'] - t['actual']:>+8}",
        f"{'pages':<28} {p['actual']:>8} {p['simulated']:>10} {p['simulated'] - p['actual']:>+8}",
        "",
        f"groups: {g['actual']} actual, {g['simulated']} simulated; "
        f"{len(g['split'])} split, {len(g['merged'])} merged",
    ]
    for gid in g["split"][:10]:
        lines.append(f"  split:  {gid}")
    for gid in g["merged"][:10]:
        lines.append(f"  merged: {gid}")
    return "\n".join(lines)
