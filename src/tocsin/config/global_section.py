"""The `global:` section, `http_config` / `tls_config` blocks, and secrets with `*_file` twins.

Secrets may be written inline (`api_url: ...`, usually `${VAR}`) or read from a file
(`api_url_file: /run/secrets/slack`, relative paths from the configuration's folder), never
both. A file is read when the configuration loads (a reload re-reads it); surrounding white
space is dropped. URLs that carry credentials are checked (http or https, a host) without
ever echoing them into an error message.
"""

from __future__ import annotations

import os
from typing import Final
from urllib.parse import urlsplit

from tocsin.config.errors import q
from tocsin.config.model import (
    DEFAULT_PAGERDUTY_URL,
    Authorization,
    BasicAuth,
    GlobalConfig,
    HTTPConfig,
    TLSConfig,
)
from tocsin.config.secrets import Secret
from tocsin.config.yaml_nodes import MapView, Reader

__all__ = ["read_global", "read_http_config", "read_secret", "read_tls_config", "resolve_path"]

_TLS_KEYS: Final = frozenset(
    {"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version"}
)
_TLS_VERSIONS: Final = frozenset({"TLS10", "TLS11", "TLS12", "TLS13"})
_HTTP_KEYS: Final = frozenset(
    {
        "basic_auth",
        "authorization",
        "bearer_token",
        "bearer_token_file",
        "proxy_url",
        "tls_config",
        "follow_redirects",
        "enable_http2",
    }
)
_HTTP_UNSUPPORTED: Final = {
    key: f"{key} is not supported by Tocsin's HTTP client"
    for key in ("oauth2", "no_proxy", "proxy_from_environment", "proxy_connect_header")
}
_GLOBAL_KEYS: Final = frozenset(
    {
        "resolve_timeout",
        "http_config",
        "smtp_from",
        "smtp_hello",
        "smtp_smarthost",
        "smtp_auth_username",
        "smtp_auth_password",
        "smtp_auth_password_file",
        "smtp_auth_secret",
        "smtp_auth_secret_file",
        "smtp_auth_identity",
        "smtp_require_tls",
        "smtp_tls_config",
        "slack_api_url",
        "slack_api_url_file",
        "slack_app_token",
        "slack_app_token_file",
        "pagerduty_url",
    }
)
# Alertmanager globals for integrations Tocsin does not have: accepted, noted, unused.
_GLOBAL_IGNORED: Final = {
    key: f"ignored: Tocsin has no {key.split('_')[0]} integration"
    for key in (
        "opsgenie_api_url",
        "opsgenie_api_key",
        "opsgenie_api_key_file",
        "wechat_api_url",
        "wechat_api_secret",
        "wechat_api_corp_id",
        "victorops_api_url",
        "victorops_api_key",
        "victorops_api_key_file",
        "telegram_api_url",
        "webex_api_url",
        "jira_api_url",
        "rocketchat_api_url",
        "rocketchat_token",
        "rocketchat_token_file",
        "rocketchat_token_id",
        "rocketchat_token_id_file",
    )
}


def resolve_path(reader: Reader, path: str) -> str:
    """A path from the file, relative to the configuration's folder unless absolute."""
    return path if os.path.isabs(path) else os.path.join(reader.base_dir, path)


def read_secret(view: MapView, key: str, *, url: bool = False) -> Secret | None:
    """`key` inline or from `key_file` (at most one of them); None when neither is set."""
    file_key = f"{key}_file"
    inline = view.secret(key) if key in view else None
    file_name = view.string(file_key) if file_key in view else None
    if inline is not None and file_name is not None:
        view.error(file_key, f"at most one of {key} & {file_key} must be configured")
        return None
    if file_name is not None:
        full = resolve_path(view.r, file_name)
        try:
            inline = Secret(view.r.read_file(full).strip(), file=full)
        except OSError as exc:
            view.error(file_key, f"cannot read {full}: {exc.strerror or exc}")
            return None
        except UnicodeDecodeError:
            view.error(file_key, f"cannot read {full}: not UTF-8 text")
            return None
    if inline is not None and url:
        problem = url_problem(inline.reveal())
        if problem is not None:
            view.error(file_key if file_name is not None else key, problem)
            return None
    return inline


def url_problem(text: str) -> str | None:
    """Why `text` is not an http(s) URL with a host, without quoting it (it may be secret)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"unsupported scheme {q(parts.scheme)} for URL (want http or https)"
    if not parts.hostname:
        return "missing host for URL"
    return None


def read_url(view: MapView, key: str) -> str | None:
    value = view.string(key)
    if value is not None and (problem := url_problem(value)) is not None:
        view.error(key, f"{problem}: {q(value)}")
        return None
    return value


def read_tls_config(parent: MapView, key: str) -> TLSConfig | None:
    view = parent.map(key, _TLS_KEYS)
    if view is None:
        return None
    min_version = view.string("min_version")
    if min_version is not None and min_version not in _TLS_VERSIONS:
        view.error("min_version", f"unknown TLS version {q(min_version)} (TLS10 .. TLS13)")
    files = {k: view.string(k) for k in ("ca_file", "cert_file", "key_file")}
    return TLSConfig(
        ca_file=resolve_path(view.r, files["ca_file"]) if files["ca_file"] else None,
        cert_file=resolve_path(view.r, files["cert_file"]) if files["cert_file"] else None,
        key_file=resolve_path(view.r, files["key_file"]) if files["key_file"] else None,
        server_name=view.string("server_name"),
        insecure_skip_verify=bool(view.boolean("insecure_skip_verify")),
        min_version=min_version,
    )


def read_http_config(parent: MapView, key: str = "http_config") -> HTTPConfig | None:
    """The `http_config` under `key`; None when absent (the caller inherits the global one)."""
    view = parent.map(key, _HTTP_KEYS, unsupported=_HTTP_UNSUPPORTED)
    if view is None:
        return None
    schemes = [
        k for k in ("basic_auth", "authorization", "bearer_token", "bearer_token_file") if k in view
    ]
    if len(schemes) > 1:
        view.error(schemes[1], f"at most one of {', '.join(schemes)} must be configured")
    basic = None
    if (b := view.map("basic_auth", {"username", "password", "password_file"})) is not None:
        basic = BasicAuth(username=b.string("username") or "", password=read_secret(b, "password"))
    authorization = None
    if (a := view.map("authorization", {"type", "credentials", "credentials_file"})) is not None:
        kind = a.string("type") or "Bearer"
        if kind.lower() == "basic":
            a.error("type", "authorization type Basic is not allowed: use basic_auth")
        authorization = Authorization(type=kind, credentials=read_secret(a, "credentials"))
    elif (token := read_secret(view, "bearer_token")) is not None:
        authorization = Authorization(type="Bearer", credentials=token)
    return HTTPConfig(
        basic_auth=basic,
        authorization=authorization,
        proxy_url=read_url(view, "proxy_url"),
        tls_config=read_tls_config(view, "tls_config"),
        follow_redirects=view.boolean("follow_redirects") is not False,
        enable_http2=view.boolean("enable_http2") is not False,
    )


def read_global(reader: Reader, root: MapView) -> GlobalConfig:
    view = root.map("global", _GLOBAL_KEYS, ignored=_GLOBAL_IGNORED)
    if view is None:
        return GlobalConfig()
    smarthost = view.string("smtp_smarthost")
    if smarthost is not None and (problem := smarthost_problem(smarthost)) is not None:
        view.error("smtp_smarthost", problem)
    return GlobalConfig(
        resolve_timeout=view.duration("resolve_timeout") or GlobalConfig().resolve_timeout,
        http_config=read_http_config(view) or HTTPConfig(),
        smtp_from=view.string("smtp_from") or None,
        smtp_hello=view.string("smtp_hello") or "localhost",
        smtp_smarthost=smarthost or None,
        smtp_auth_username=view.string("smtp_auth_username") or None,
        smtp_auth_password=read_secret(view, "smtp_auth_password") or None,
        smtp_auth_secret=read_secret(view, "smtp_auth_secret") or None,
        smtp_auth_identity=view.string("smtp_auth_identity") or None,
        smtp_require_tls=view.boolean("smtp_require_tls") is not False,
        smtp_tls_config=read_tls_config(view, "smtp_tls_config"),
        slack_api_url=read_secret(view, "slack_api_url", url=True) or None,
        slack_app_token=read_secret(view, "slack_app_token") or None,
        pagerduty_url=read_url(view, "pagerduty_url") or DEFAULT_PAGERDUTY_URL,
    )


def smarthost_problem(text: str) -> str | None:
    """Why `text` is not `host:port` (Go's net.SplitHostPort, port required)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return f"address {text}: missing port in address"
    if host.startswith("["):
        if not host.endswith("]"):
            return f"address {text}: missing ']' in address"
    elif ":" in host:
        return f"address {text}: too many colons in address"
    if not port:
        return f'address "{text}": port cannot be empty'
    return None
