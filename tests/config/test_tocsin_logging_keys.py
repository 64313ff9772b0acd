"""`tocsin.log_level` and `tocsin.watchdog_alertname`: read, validated, and used by the daemon."""

from __future__ import annotations

import pytest

from tocsin.config import ConfigError, load_text
from tocsin.daemon import default_runtime_settings

BASE = "route: {receiver: r}\nreceivers: [{name: r}]\n"


def test_the_keys_are_read_and_reach_the_runtime_settings():
    c = load_text(
        BASE + "tocsin:\n  log_level: debug\n  watchdog_alertname: Watchdog\n", filename="a.yml"
    )
    assert c.tocsin.log_level == "debug"
    assert default_runtime_settings(c, {}).selfmon.watchdog_alertname == "Watchdog"
    # Without the key the environment variable still works.
    plain = load_text(BASE, filename="a.yml")
    settings = default_runtime_settings(plain, {"TOCSIN_WATCHDOG_ALERTNAME": "DeadMansSwitch"})
    assert settings.selfmon.watchdog_alertname == "DeadMansSwitch"


def test_a_bad_log_level_is_a_load_error_with_its_place():
    with pytest.raises(ConfigError) as info:
        load_text(BASE + "tocsin:\n  log_level: loud\n", filename="a.yml")
    assert (
        'a.yml:4:3: tocsin.log_level: log_level must be one of debug, info, warning, error, got "loud"'
        in str(info.value)
    )
