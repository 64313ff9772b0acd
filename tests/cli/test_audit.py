"""`tocsin journal state --at` and `explain` on a journal written by the real runtime."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from tocsin.actors.clock import TrioClock
from tocsin.actors.runtime import open_runtime
from tocsin.cli.main import main
from tocsin.core.events import SilenceData
from tocsin.core.group_state import group_id_for
from tocsin.journal import open_segment_journal

from ..actors.conftest import GroupByRouter, firing
from ..core.lifecycle_harness import ESCALATING, MIN, T0


def _iso(t) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def _story(directory: Path) -> dict[str, str]:
    """03:00 a critical alert escalates; a noisy warning is silenced; alice acks at +7 min."""
    clock = TrioClock(T0)
    router = GroupByRouter(policies={"critical": ESCALATING})
    # fsync="never" writes inline, so the mock clock cannot jump while a write is under way.
    async with (
        open_segment_journal(directory, fsync="never") as journal,
        open_runtime(journal, router=router, clock=clock) as rt,
    ):
        sid = await rt.set_silence(
            SilenceData(
                "",
                (("alertname", "=", "Noisy"),),
                T0,
                T0 + timedelta(hours=1),
                "ops",
                "maintenance window",
            )
        )
        until = T0 + timedelta(hours=1)
        await rt.ingest(
            [firing("DiskFull", ends=until, severity="critical"), firing("Noisy", ends=until)]
        )
        await trio.sleep_until(clock.deadline(T0 + 7 * MIN))
        await rt.acknowledge(group_id_for('{}:{alertname="DiskFull"}'), "alice", "on it")
        await trio.sleep_until(clock.deadline(T0 + 8 * MIN))
        await trio.testing.wait_all_tasks_blocked()
        critical = next(iter(rt.world.groups[group_id_for('{}:{alertname="DiskFull"}')].alerts))
        noisy = next(iter(rt.world.groups[group_id_for('{}:{alertname="Noisy"}')].alerts))
    return {"silence": sid, "critical": critical, "noisy": noisy}


@pytest.fixture
def story(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ids = trio.run(_story, tmp_path / "j", clock=trio.testing.MockClock(autojump_threshold=0))
    return tmp_path / "j", ids


def test_state_at_a_past_moment(story, capsys):
    directory, ids = story
    assert main(["journal", "state", "--data-dir", str(directory), "--at", _iso(T0 + 6 * MIN)]) == 0
    out = capsys.readouterr().out
    assert "2 active groups, 2 firing alerts" in out
    disk = next(
        line for line in out.splitlines() if 'alertname="DiskFull"' in line and "firing" in line
    )
    assert " 1 " in disk  # escalation level 1 reached at +5 min
    assert "acked" not in out
    assert ids["silence"] in out and "maintenance window" in out

    assert (
        main(
            [
                "journal",
                "state",
                "--data-dir",
                str(directory),
                "--at",
                _iso(T0 + 8 * MIN),
                "--format",
                "json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    states = {g["group_labels"]["alertname"]: g for g in data["groups"]}
    assert states["DiskFull"]["state"] == "acknowledged"
    assert states["DiskFull"]["acknowledged"]["by"] == "alice"
    assert states["Noisy"]["state"] == "pending"  # never told anyone: every alert silenced
    assert [s["state"] for s in data["silences"]] == ["active"]


def test_explain_a_notified_and_acknowledged_alert(story, capsys):
    directory, ids = story
    assert (
        main(["journal", "explain", "--data-dir", str(directory), "--alert", ids["critical"]]) == 0
    )
    out = capsys.readouterr().out
    assert 'alertname="DiskFull"' in out.splitlines()[0]
    assert "receiver team, escalation default" in out
    assert "notified (first notification)" in out
    assert "→ slack-warnings: first notification (level 0" in out
    assert "escalated to level 1: email-oncall, slack-critical" in out
    assert "acknowledged by alice: 'on it'" in out
    assert "✓ delivered" in out  # the log channel delivered (printed) them
    assert out.splitlines()[-1].startswith("as of now: firing, acknowledged by alice")


def test_explain_says_why_nobody_was_notified(story, capsys):
    directory, ids = story
    assert main(["journal", "explain", "--data-dir", str(directory), "--alert", ids["noisy"]]) == 0
    out = capsys.readouterr().out
    assert f"left out: silenced by {ids['silence']} (created by ops: 'maintenance window')" in out
    assert "nobody was notified" in out.splitlines()[-1]


def test_explain_before_the_alert_existed(story, capsys):
    directory, ids = story
    args = ["journal", "explain", "--data-dir", str(directory), "--alert", ids["critical"]]
    assert main([*args, "--at", _iso(T0 - MIN)]) == 0
    assert "(not in the journal)" in capsys.readouterr().out
