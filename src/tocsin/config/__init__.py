"""Configuration: Alertmanager's alertmanager.yml as is, plus Tocsin's extensions and defaults.

    from tocsin.config import load, reload, ConfigError

    config = load("alertmanager.yml", os.environ)     # or load(None, os.environ): the default
    routes = config.routing.match(labels)             # tocsin.core.routing.Route, in tree order
    policy = routes[0].policy()                       # the GroupPolicy a group runs with

Modules: `loader` (load, reload), `default` (the built-in configuration from the
environment), `model` (the immutable objects), `errors` (`Problem`, `ConfigError`), `env`
(`${VAR}` expansion), `durations`, `secrets` (`Secret`), `dump` (effective YAML), and one module
per section (`global_section`, `receivers`, `routes`, `rules`, `tocsin_section`) over
`yaml_nodes` (positions and problems).

Exceptions::

    Exception
     └── ConfigError    the configuration cannot be used; `.problems` lists every problem found
"""

from __future__ import annotations

from collections.abc import Mapping

from tocsin.config.errors import ConfigError, Problem
from tocsin.config.loader import Reloaded, load_file, load_text, reload
from tocsin.config.model import Config
from tocsin.config.secrets import Secret

__all__ = [
    "Config",
    "ConfigError",
    "Problem",
    "Reloaded",
    "Secret",
    "load",
    "load_file",
    "load_text",
    "reload",
]


def load(path: str | None, env: Mapping[str, str]) -> Config:
    """The configuration in `path`, or the built-in default when `path` is None.

    Raises `ConfigError`.
    """
    if path is None:
        from tocsin.config.default import default_config

        return default_config(env)
    return load_file(path, env)
