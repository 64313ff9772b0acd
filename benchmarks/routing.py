"""Routing figures: decisions per second on 500-route trees with regex matchers, and load time.

    python benchmarks/routing.py [--labels N] [--seconds S]

Two trees of 500 routes each, written as alertmanager.yml and loaded through the normal loader:

- "teams": 25 team routes (`team="..."` plus a regex on env), each with 19 children mixing
  exact matchers and regexes (`service=~"svc-7-(api|worker)"`, `alertname=~"(?i)disk.*"`,
  `instance=~"db-[0-9]+\\.example\\.com(:[0-9]+)?"`, `severity!~"info|debug"`, ...), some with
  `continue`. The shape most real configurations have.
- "flat": 500 sibling routes, each only a regex on `service` (`service=~"svc-N-(a|b).*"`):
  nothing to index, every decision walks siblings until one matches - the worst case.

A decision is `RoutingTree.match(labels)` for a label set it has not seen (the ingest path
routes a label set once; known alerts reuse their cached route). Label sets are generated so
that they land all over the tree, including on the root. Prints decisions per CPU second (so
other work on a shared machine does not count) for each tree,
the average number of routes an alert lands on, and the time to load each file (read, parse,
validate, build the tree). Target (issue 4): >= 200,000 decisions/s on the 500-route tree.
Nothing here asserts; it prints what it measured.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tocsin.config import load_text
from tocsin.core.labels import Labels
from tocsin.core.routing import RoutingTree

TEAMS = 25
CHILDREN = 19  # 1 root + 25 teams + 25 * 19 children = 501 routes
SEVERITIES = ["critical", "high", "warning", "info"]
ALERTNAMES = ["DiskFull", "diskPressure", "HighLatency", "ErrorRate", "InstanceDown", "OOMKilled"]


def teams_yaml() -> str:
    lines = [
        "route:",
        "  receiver: default",
        "  group_by: [alertname, service]",
        "  routes:",
    ]
    receivers = {"default"}
    for t in range(TEAMS):
        team = f"team-{t}"
        receivers.add(team)
        lines += [
            f"  - matchers: ['team=\"{team}\"', 'env=~\"prod|staging|prod-.+\"']",
            f"    receiver: {team}",
            "    routes:",
        ]
        for c in range(CHILDREN):
            kind = c % 6
            if kind == 0:
                m = f"'service=~\"svc-{t}-{c}-(api|worker)\"'"
            elif kind == 1:
                m = f"'service=\"svc-{t}-{c}\"', 'severity=~\"critical|high\"'"
            elif kind == 2:
                m = f"'alertname=~\"(?i)disk.*\"', 'service=~\"svc-{t}-{c}.*\"'"
            elif kind == 3:
                m = f"'instance=~\"db-{c}[0-9]*\\\\.example\\\\.com(:[0-9]+)?\"'"
            elif kind == 4:
                m = f"'service=\"svc-{t}-{c}\"', 'severity!~\"info|debug\"'"
            else:
                m = f"'alertname=~\"{ALERTNAMES[c % len(ALERTNAMES)]}|Other{c}\"'"
            receiver = f"{team}-{c}"
            receivers.add(receiver)
            lines += [f"    - matchers: [{m}]", f"      receiver: {receiver}"]
            if c % 5 == 0:
                lines.append("      continue: true")
    lines.append("receivers:")
    lines += [f"- name: {r}" for r in sorted(receivers)]
    return "\n".join(lines) + "\n"


def flat_yaml() -> str:
    lines = ["route:", "  receiver: default", "  routes:"]
    receivers = ["default"]
    for i in range(500):
        lines += [f"  - matchers: ['service=~\"svc-{i}-(a|b).*\"']", f"    receiver: r{i}"]
        receivers.append(f"r{i}")
    lines.append("receivers:")
    lines += [f"- name: {r}" for r in receivers]
    return "\n".join(lines) + "\n"


def team_labels(n: int, rng: random.Random) -> list[Labels]:
    out = []
    for i in range(n):
        t, c = rng.randrange(TEAMS + 3), rng.randrange(CHILDREN + 2)  # some miss everything
        out.append(
            Labels.of(
                {
                    "alertname": rng.choice(ALERTNAMES),
                    "team": f"team-{t}",
                    "env": rng.choice(["prod", "staging", "prod-eu", "dev"]),
                    "service": f"svc-{t}-{c}" + rng.choice(["", "-api", "-worker", "x"]),
                    "severity": rng.choice(SEVERITIES),
                    "instance": f"db-{c}{rng.randrange(100)}.example.com:9100",
                    "pod": f"pod-{i}",  # every label set is new
                }
            )
        )
    return out


def flat_labels(n: int, rng: random.Random) -> list[Labels]:
    return [
        Labels.of(
            {
                "alertname": rng.choice(ALERTNAMES),
                "service": f"svc-{rng.randrange(520)}-{rng.choice('abc')}{i}",
                "instance": f"host-{i}",
            }
        )
        for i in range(n)
    ]


def measure(
    tree: RoutingTree, label_sets: list[Labels], seconds: float
) -> tuple[float, float, float]:
    """Decisions per CPU second (best and median of several rounds), routes per decision."""
    match = tree.match
    routes = sum(len(match(ls)) for ls in label_sets)
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 3:
        # CPU time of this process: other work on a shared machine does not count against us.
        start = time.process_time()
        for ls in label_sets:
            match(ls)
        rates.append(len(label_sets) / (time.process_time() - start))
    return max(rates), routes / len(label_sets), statistics.median(rates)


def load_time(text: str, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        load_text(text, filename="bench.yml")
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=int, default=20_000, help="label sets per round")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per tree")
    args = parser.parse_args()
    rng = random.Random(4)
    for name, text, make in (
        ("teams", teams_yaml(), team_labels),
        ("flat", flat_yaml(), flat_labels),
    ):
        config = load_text(text, filename=f"{name}.yml")
        tree = config.routing
        label_sets = make(args.labels, rng)
        best, per, median = measure(tree, label_sets, args.seconds)
        print(
            f"{name:5}  {len(tree.routes)} routes  "
            f"{best:>10,.0f} decisions/s (best; median {median:,.0f})  "
            f"{per:.2f} routes per alert  "
            f"load {load_time(text) * 1000:.0f} ms ({len(text) // 1024} KiB)"
        )


if __name__ == "__main__":
    main()
