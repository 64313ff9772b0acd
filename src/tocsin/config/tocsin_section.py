"""The `tocsin:` block: Tocsin's own settings, which Alertmanager's keys have no place for.

tocsin:
  listen_address: 127.0.0.1:9093
  data_dir: /var/lib/tocsin        # relative paths: from the configuration's folder
  fsync: batch                     # batch | always | never
  external_url: https://tocsin.example.com
  auth:
    tokens:
      - name: prometheus
        token: ${TOCSIN_INGEST_TOKEN}   # or token_file
        roles: [ingest]
  limits:
    max_request_bytes: 4194304
    max_alerts_per_request: 10000
"""

from __future__ import annotations

from typing import Final

from tocsin.config.errors import q
from tocsin.config.global_section import read_secret, read_url, resolve_path, smarthost_problem
from tocsin.config.model import AuthToken, Limits, Role, TocsinSettings
from tocsin.config.yaml_nodes import MapView, Reader

__all__ = ["read_tocsin"]

_KEYS: Final = frozenset(
    {
        "listen_address",
        "data_dir",
        "fsync",
        "external_url",
        "auth",
        "limits",
        "log_level",
        "watchdog_alertname",
    }
)
_LOG_LEVELS: Final = ("debug", "info", "warning", "error")
_FSYNC: Final = ("batch", "always", "never")
_ROLES: Final = tuple(r.value for r in Role)


def read_tocsin(reader: Reader, root: MapView) -> TocsinSettings:
    view = root.map("tocsin", _KEYS)
    if view is None:
        return TocsinSettings()
    defaults = TocsinSettings()
    listen = view.string("listen_address")
    if listen is not None and (problem := smarthost_problem(listen)) is not None:
        view.error("listen_address", problem)
    fsync = view.string("fsync")
    if fsync is not None and fsync not in _FSYNC:
        view.error("fsync", f"fsync must be one of {', '.join(_FSYNC)}, got {q(fsync)}")
        fsync = None
    data_dir = view.string("data_dir")
    log_level = view.string("log_level")
    if log_level is not None and log_level not in _LOG_LEVELS:
        view.error(
            "log_level", f"log_level must be one of {', '.join(_LOG_LEVELS)}, got {q(log_level)}"
        )
        log_level = None
    return TocsinSettings(
        listen_address=listen or defaults.listen_address,
        data_dir=resolve_path(reader, data_dir) if data_dir else None,
        fsync=fsync or defaults.fsync,
        external_url=read_url(view, "external_url"),
        auth_tokens=_tokens(reader, view),
        limits=_limits(view),
        log_level=log_level,
        watchdog_alertname=view.string("watchdog_alertname") or None,
    )


def _tokens(reader: Reader, view: MapView) -> tuple[AuthToken, ...]:
    auth = view.map("auth", {"tokens"})
    if auth is None:
        return ()
    tokens = []
    names: set[str] = set()
    for node, path in auth.seq("tokens"):
        t = reader.map(node, path, {"name", "token", "token_file", "roles"})
        if t is None:
            continue
        name = t.string("name")
        if not name:
            reader.error(node, path, "missing name in token (say whose token it is)")
            continue
        if name in names:
            t.error("name", f"token name {q(name)} is not unique")
        names.add(name)
        secret = read_secret(t, "token")
        if not secret and "token_file" not in t:
            reader.error(node, path, "missing token (or token_file)")
        roles = t.strings("roles") or ()
        if not roles:
            reader.error(node, path, f"missing roles (some of {', '.join(_ROLES)})")
        bad = [r for r in roles if r not in _ROLES]
        if bad:
            t.error("roles", f"unknown role {q(bad[0])} (roles: {', '.join(_ROLES)})")
        if secret and roles and not bad:
            tokens.append(AuthToken(name=name, token=secret, roles=frozenset(map(Role, roles))))
    seen: dict[object, str] = {}
    for tok in tokens:
        if tok.token in seen:
            reader.error(
                auth.node,
                auth.sub("tokens"),
                f"tokens {q(seen[tok.token])} and {q(tok.name)} are the same secret",
            )
        seen[tok.token] = tok.name
    return tuple(tokens)


def _limits(view: MapView) -> Limits:
    lim = view.map("limits", {"max_request_bytes", "max_alerts_per_request"})
    defaults = Limits()
    if lim is None:
        return defaults
    return Limits(
        max_request_bytes=lim.integer("max_request_bytes", minimum=1) or defaults.max_request_bytes,
        max_alerts_per_request=lim.integer("max_alerts_per_request", minimum=1)
        or defaults.max_alerts_per_request,
    )
