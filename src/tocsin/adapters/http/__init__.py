"""The HTTP API: Alertmanager's API v2, its webhook as ingress, Tocsin's own endpoints, ops.

    ctx = ApiContext(config, http_settings(config, os.environ, insecure_no_auth=False))
    app = build_app(ctx)                       # a Starlette (ASGI) app
    url = await nursery.start(serve_http, app, "127.0.0.1:9093", shutdown.wait)
    ...
    ctx.attach(rt)                             # the runtime has recovered: /-/ready is 200

Modules: `context` (shared state and the wrapper every route goes through: auth, rate limit,
errors, timing), `auth` (bearer tokens, roles, rate limit, webhook signature), `ingest`
(alerts from the wire), `views` (JSON out), `am_config` (`config.original` for amtool),
`metrics` (`/metrics`), one `routes_*` module per family of endpoints, `app` (assembly),
`server` (Hypercorn's trio worker). The endpoints are documented in docs/api.md.

This adapter is the runtime's edge, so besides `core` it imports the runtime's operations and
exceptions (`tocsin.actors`) and the configuration model (`tocsin.config`).

Exceptions::

    Exception
     └── ApiError    an answer other than success (status, error, detail); handlers raise it
"""

from tocsin.adapters.http.app import build_app
from tocsin.adapters.http.auth import sign_webhook
from tocsin.adapters.http.context import ApiContext, HttpSettings, ReloadOutcome, http_settings
from tocsin.adapters.http.errors import ApiError
from tocsin.adapters.http.ingest import IngestLimits
from tocsin.adapters.http.metrics import ApiMetrics
from tocsin.adapters.http.server import is_loopback, serve_http, split_host_port

__all__ = [
    "ApiContext",
    "ApiError",
    "ApiMetrics",
    "HttpSettings",
    "IngestLimits",
    "ReloadOutcome",
    "build_app",
    "http_settings",
    "is_loopback",
    "serve_http",
    "sign_webhook",
    "split_host_port",
]
