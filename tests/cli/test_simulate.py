"""`tocsin simulate`: another config replayed over the recorded past, compared with what was sent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from tocsin.actors.clock import TrioClock
from tocsin.actors.runtime import Rules, open_runtime
from tocsin.cli.main import main
from tocsin.config import load_text
from tocsin.journal import open_segment_journal

from ..actors.conftest import firing
from ..core.lifecycle_harness import MIN, T0

RECEIVERS = """
receivers:
  - name: team-slack
    webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
  - name: pager
    pagerduty_configs: [{routing_key: 'not-a-real-key'}]
"""
OLD = (
    """
route:
  receiver: team-slack
  group_by: [alertname]
  group_wait: 30s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
"""
    + RECEIVERS
)
# The new config pages per instance, and pages for warnings too.
NEW = (
    """
route:
  receiver: team-slack
  group_by: [alertname]
  group_wait: 30s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [alertname, instance]
    - matchers: ['severity="warning"']
      receiver: pager
"""
    + RECEIVERS
)


async def _record(directory: Path) -> None:
    clock = TrioClock(T0)
    config = load_text(OLD, filename="old.yml")
    rules = Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))
    async with (
        open_segment_journal(directory, fsync="never") as journal,
        open_runtime(journal, rules=rules, clock=clock) as rt,
    ):
        until = T0 + timedelta(hours=2)
        await rt.ingest(
            [firing("DBDown", ends=until, severity="critical", instance=f"db{i}") for i in range(3)]
            + [
                firing("SlowQueries", ends=until, severity="warning", instance=f"db{i}")
                for i in range(2)
            ]
        )
        await trio.sleep_until(clock.deadline(T0 + 20 * MIN))
        now = clock.now()
        await rt.ingest(
            [firing("DBDown", ends=now, severity="critical", instance=f"db{i}") for i in range(3)]
            + [
                firing("SlowQueries", ends=now, severity="warning", instance=f"db{i}")
                for i in range(2)
            ]
        )
        await trio.sleep_until(clock.deadline(T0 + 30 * MIN))
        await trio.testing.wait_all_tasks_blocked()


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    trio.run(_record, tmp_path / "j", clock=trio.testing.MockClock(autojump_threshold=0))
    (tmp_path / "old.yml").write_text(OLD)
    (tmp_path / "new.yml").write_text(NEW)
    return tmp_path


def test_the_same_config_reproduces_what_was_sent(recorded, capsys):
    assert (
        main(
            [
                "simulate",
                "--config",
                str(recorded / "old.yml"),
                "--data-dir",
                str(recorded / "j"),
                "--format",
                "json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    for row in report["receivers"]:
        assert row["simulated"] == row["actual"], row
    assert report["pages"] == {"actual": 2, "simulated": 2}  # one group: fired, resolved
    assert report["groups"]["split"] == [] and report["groups"]["merged"] == []


def test_a_new_config_shows_more_pages_and_split_groups(recorded, capsys):
    args = ["simulate", "--config", str(recorded / "new.yml"), "--data-dir", str(recorded / "j")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pager" in out and "(pages)" in out
    assert main([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # Three DBDown groups (per instance) and one SlowQueries group, each fired and resolved.
    assert report["pages"] == {"actual": 2, "simulated": 8}
    assert len(report["groups"]["split"]) == 1  # the old DBDown group became three
    rows = {r["receiver"]: r for r in report["receivers"]}
    assert rows["team-slack"]["simulated"] == 0 < rows["team-slack"]["actual"]
    # As a CI gate: 6 more pages than before fails a limit of 5, passes a limit of 6.
    assert main([*args, "--fail-if-more-pages", "5"]) == 1
    assert "6 more times" in capsys.readouterr().err
    assert main([*args, "--fail-if-more-pages", "6"]) == 0


def test_a_window_limits_what_is_compared(recorded, capsys):
    args = [
        "simulate",
        "--config",
        str(recorded / "new.yml"),
        "--data-dir",
        str(recorded / "j"),
        "--format",
        "json",
        "--since",
        "2026-03-01T12:10:00Z",
    ]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pages"] == {"actual": 1, "simulated": 4}  # only the resolutions


def test_a_config_that_does_not_load_is_reported(recorded, capsys):
    (recorded / "bad.yml").write_text("route:\n  receiver: nobody\n")
    assert (
        main(["simulate", "--config", str(recorded / "bad.yml"), "--data-dir", str(recorded / "j")])
        == 1
    )
    assert "does not load" in capsys.readouterr().err
