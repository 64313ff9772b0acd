"""A reload whose Go template does not parse is refused, and the daemon keeps its configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.actors.channels import ChannelNotifier
from tocsin.config import ConfigError
from tocsin.daemon import Daemon, RunOptions

GOOD = """\
route: {receiver: team}
receivers:
- name: team
  slack_configs:
  - api_url: http://127.0.0.1:9/services/T/B/X
    title: '{{ template "team.title" . }}'
templates: ['*.tmpl']
"""


async def test_a_reload_with_a_broken_go_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "team.tmpl").write_text('{{ define "team.title" }}{{ .Status }}{{ end }}')
    path = tmp_path / "alertmanager.yml"
    path.write_text(GOOD)
    options = RunOptions(config_file=str(path), data_dir=str(tmp_path / "data"))
    daemon = Daemon(options, {}, notifier_factory=ChannelNotifier.from_config)
    daemon.notifier = ChannelNotifier.from_config(daemon.config)
    before = daemon.config.sha256

    path.write_text(GOOD.replace('template "team.title" .', ".Status | nosuchfunc"))
    outcome = await daemon.reload("test")
    assert not outcome.ok and daemon.config.sha256 == before
    (problem,) = outcome.problems
    assert problem.startswith(f"{path}:6:12: receivers[0].slack_configs[0].title: ")
    assert "nosuchfunc" in problem

    # (The daemon compares the configuration's own text: a change to a template file alone
    # is "unchanged" and applies nothing, so this one comes with an edit of the file.)
    path.write_text(GOOD + "# edited\n")
    (tmp_path / "team.tmpl").write_text('{{ define "team.title" }}{{ if }}{{ end }}')
    outcome = await daemon.reload("test")
    assert not outcome.ok and f"{tmp_path / 'team.tmpl'}:1:" in outcome.problems[0]


def test_starting_with_a_broken_go_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "team.tmpl").write_text("{{ end }}")
    path = tmp_path / "alertmanager.yml"
    path.write_text(GOOD)
    daemon = Daemon(RunOptions(config_file=str(path)), {})
    with pytest.raises(ConfigError, match=r"team\.tmpl:1:"):
        ChannelNotifier.from_config(daemon.config)
