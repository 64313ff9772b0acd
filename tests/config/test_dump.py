"""`tocsin config show`: the effective configuration, secrets masked."""

from __future__ import annotations

from pathlib import Path

import yaml

from tocsin.config import load_file
from tocsin.config.default import default_config
from tocsin.config.dump import dump_config

from .test_default import FULL_ENV

DATA = Path(__file__).parent / "data"


def test_effective_yaml_of_a_file() -> None:
    text = dump_config(load_file(str(DATA / "alertmanager-full.yml"), {}))
    doc = yaml.safe_load(text)
    assert text.startswith("# Effective configuration from ")
    assert doc["global"]["smtp_auth_password"] == "<secret>"
    assert doc["global"]["resolve_timeout"] == "10m"
    mail = doc["receivers"][0]["email_configs"][0]
    # Globals are filled in; headers are canonical.
    assert mail["smarthost"] == "localhost:25" and mail["from"] == "alertmanager@example.org"
    assert mail["headers"] == {"Subject": "Alert", "X-Priority": "1"}
    assert doc["receivers"][4]["slack_configs"][0]["api_url"] == "<secret>"
    assert doc["inhibit_rules"][1] == {
        "source_matchers": ['alertname="JobDown"'],
        "target_matchers": ['alertname=~"^(?:Instance.*)$"'],
        "equal": ["job"],
    }
    assert doc["time_intervals"][0]["time_intervals"][0] == {
        "times": [
            {"start_time": "18:00", "end_time": "24:00"},
            {"start_time": "00:00", "end_time": "08:00"},
        ],
        "location": "Europe/Berlin",
    }
    assert doc["time_intervals"][1]["time_intervals"][0]["weekdays"] == ["monday:friday"]
    assert doc["route"]["routes"][2]["routes"][0] == {
        "receiver": "team-X-pager",
        "matchers": ['owner="team-X"'],
        "continue": True,
    }


def test_effective_yaml_of_the_default_masks_every_secret() -> None:
    text = dump_config(default_config(FULL_ENV))
    for name in ("SLACK_WEBHOOK_URL", "PAGERDUTY_INTEGRATION_KEY", "SMTP_PASSWORD"):
        assert FULL_ENV[name] not in text
    doc = yaml.safe_load(text)
    assert doc["escalation_policies"][0]["levels"][3] == {
        "after": "1h",
        "receivers": ["pagerduty-executive"],
    }
    assert doc["route"]["routes"][0]["acknowledge"] == "forbidden"
