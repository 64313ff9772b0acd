"""What every handler shares: the runtime, the current configuration, auth, limits, metrics;
and `ApiContext.endpoint`, the one wrapper every route goes through.

The wrapper does, in order: authenticate the bearer token and check the route's role (401,
403), take one request from the token's rate-limit bucket (429), refuse while the runtime is
still recovering (503), run the handler, turn an `ApiError` into its JSON answer and anything
unexpected into a logged 500, and time the request for `/metrics`.

The configuration can change under a running server (`POST /-/reload`, SIGHUP):
`set_config` swaps the config, the authenticator and the limits together, so one request sees
either the old set or the new one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from starlette.requests import Request
from starlette.responses import Response

from tocsin.actors.dispatcher import DispatcherFull
from tocsin.adapters.http.auth import Authenticator, Principal, RateLimiter
from tocsin.adapters.http.errors import ApiError, error_response
from tocsin.adapters.http.ingest import DEFAULT_WEBHOOK_TTL, IngestLimits, jtype
from tocsin.adapters.http.metrics import ApiMetrics
from tocsin.config import Config
from tocsin.config.model import Role
from tocsin.core.events import AlertData
from tocsin.journal import JournalError, StoredRecord

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = [
    "ApiContext",
    "Handler",
    "HttpSettings",
    "ReloadOutcome",
    "http_settings",
    "read_body",
]

log = logging.getLogger("tocsin.http")

Handler = Callable[[Request, Principal], Awaitable[Response]]

#: Default per-token rate limit. Prometheus sends alerts in batches of 64 (one request per
#: batch and Alertmanager), so 100,000 alerts re-sent every minute are ~26 requests/s.
DEFAULT_RATE = 200.0
DEFAULT_BURST = 400.0


@attrs.frozen
class HttpSettings:
    """The HTTP layer's knobs (from the config's `tocsin:` block and the environment)."""

    limits: IngestLimits = attrs.Factory(IngestLimits)
    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST
    webhook_secret: str | None = None
    webhook_window: float = 300.0
    webhook_ttl: timedelta = DEFAULT_WEBHOOK_TTL
    insecure_no_auth: bool = False


def http_settings(config: Config, env: Mapping[str, str], insecure_no_auth: bool) -> HttpSettings:
    """Settings from `config.tocsin.limits` and the environment.

    Only `max_request_bytes` and `max_alerts_per_request` have config keys today; the other
    limits, the rate limit and the webhook secret are read from the config when it grows those
    keys (same names), else from `TOCSIN_RATE_LIMIT` (requests/s; 0 turns it off),
    `TOCSIN_RATE_BURST` and `TOCSIN_WEBHOOK_SECRET`, else the defaults. Raises `ValueError`
    for an environment variable that is not a non-negative number.
    """
    lim = config.tocsin.limits
    defaults = IngestLimits()
    fields = {
        f.name: getattr(lim, f.name, getattr(defaults, f.name)) for f in attrs.fields(IngestLimits)
    }
    secret = getattr(config.tocsin, "webhook_secret", None) or env.get("TOCSIN_WEBHOOK_SECRET")
    if secret is not None and hasattr(secret, "reveal"):
        secret = secret.reveal()
    rate = getattr(lim, "requests_per_second", None)
    burst = getattr(lim, "burst", None)
    return HttpSettings(
        limits=IngestLimits(**fields),
        rate=rate if rate is not None else _number(env, "TOCSIN_RATE_LIMIT", DEFAULT_RATE),
        burst=burst if burst is not None else _number(env, "TOCSIN_RATE_BURST", DEFAULT_BURST),
        webhook_secret=secret or None,
        insecure_no_auth=insecure_no_auth,
    )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number, got {raw[:40]!r}") from None
    if value < 0:
        raise ValueError(f"${name} must not be negative, got {raw[:40]!r}")
    return value


@attrs.frozen
class ReloadOutcome:
    """What a reload came to: applied (`changed`), unchanged, or refused with `problems`."""

    ok: bool
    changed: bool
    sha256: str
    source: str
    problems: tuple[str, ...] = ()


async def read_body(
    request: Request, limit: int, *, am_string: bool = False, advice: str = ""
) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes;
    `advice` says what to do about it (the default names the limit only)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "bad Content-Length", declared[:40], am_string=am_string) from None
        if size > limit:
            raise _too_large(size, limit, advice)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(total, limit, advice)
        chunks.append(chunk)
    return b"".join(chunks)


#: What a client sending alerts can do about a 413.
FEWER_ALERTS = "send fewer alerts per request"


def _too_large(size: int, limit: int, advice: str) -> ApiError:
    detail = f"{size} bytes (at least), the limit is {limit} bytes"
    return ApiError(413, "request body too large", f"{detail}: {advice}" if advice else detail)


class ApiContext:
    def __init__(
        self,
        config: Config,
        settings: HttpSettings | None = None,
        *,
        reload: Callable[[str], Awaitable[ReloadOutcome]] | None = None,
        history: Callable[[int], Iterable[StoredRecord]] | None = None,
        metrics: ApiMetrics | None = None,
        rate_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.reload = reload
        self.history = history
        self.metrics = metrics or ApiMetrics()
        self.rt: Runtime | None = None
        self.started_at = datetime.now(UTC)
        self._rate_clock = rate_clock
        self.set_config(config, self.settings)

    def set_config(self, config: Config, settings: HttpSettings | None = None) -> None:
        """Swap the configuration (and what derives from it) in one step."""
        settings = settings or self.settings
        auth = Authenticator(config.tocsin.auth_tokens)
        limiter = RateLimiter(settings.rate, settings.burst, self._rate_clock)
        self.config, self.settings, self.auth, self.limiter = config, settings, auth, limiter
        self.am_original: str | None = None  # rendered on first GET /api/v2/status

    def attach(self, rt: Runtime) -> None:
        """The runtime has recovered: serve the API from it."""
        self.rt = rt
        self.metrics.attach(rt)

    @property
    def ready(self) -> bool:
        return self.rt is not None and self.rt.ready.is_set()

    def runtime(self) -> Runtime:
        rt = self.rt
        if rt is None or not rt.ready.is_set():
            raise ApiError(
                503,
                "not ready",
                "the journal is still being replayed; retry shortly",
                headers={"Retry-After": "1"},
            )
        return rt

    # -- the one wrapper ------------------------------------------------------------------
    def endpoint(
        self,
        name: str,
        role: Role | None,
        handler: Handler,
        *,
        am_string: bool = False,
        public: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap `handler` (see the module docstring). `role` None: any valid caller;
        `public`: no token needed at all (health probes)."""
        metrics = self.metrics
        open_door = Principal("anonymous", frozenset(), False)

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if public:
                    principal = open_door
                else:
                    principal = self.auth.authenticate(request.headers.get("authorization"))
                if role is not None:
                    self.auth.require(principal, role)
                if principal.authenticated:
                    self.limiter.check(principal.name)
                response = await handler(request, principal)
            except ApiError as exc:
                # A probe's 503 (/-/ready while replaying) is its answer, not a turned-away sender.
                if exc.status in (401, 403, 413, 429, 503) and not public:
                    metrics.rejected.labels(_REJECTIONS[exc.status]).inc()
                response = error_response(exc)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                response = error_response(
                    ApiError(
                        500,
                        "internal error",
                        "an unexpected error; the daemon's log has the details",
                        am_string=am_string,
                    )
                )
            metrics.http_duration.labels(name, request.method, str(response.status_code)).observe(
                time.perf_counter() - started
            )
            return response

        return run

    # -- ingest ---------------------------------------------------------------------------
    async def ingest(self, alerts: list[AlertData]) -> None:
        """Hand `alerts` to the runtime; returns once durable. Raises `ApiError` 503 when the
        ingest queue is full (nothing of the batch was accepted) or the journal fails."""
        rt = self.runtime()
        started = time.perf_counter()
        try:
            await rt.ingest(alerts)
        except DispatcherFull as exc:
            raise ApiError(
                503,
                "busy",
                f"the ingest queue is full ({rt.dispatcher.capacity} batches waiting); "
                f"nothing of this request was accepted: retry after {exc.retry_after:g}s",
                headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
            ) from None
        except JournalError as exc:
            log.error("ingest failed: the journal refused the batch: %s", exc)
            raise ApiError(
                503,
                "journal unavailable",
                f"the batch could not be made durable ({exc}); nothing was accepted",
                headers={"Retry-After": "5"},
            ) from exc
        self.metrics.ingest_duration.observe(time.perf_counter() - started)


_REJECTIONS = {401: "auth", 403: "auth", 413: "size", 429: "rate limit", 503: "busy"}


def json_body_object(data: Any, what: str) -> dict[str, Any]:
    """`data` if it is a JSON object; raises `ApiError` 400 otherwise."""
    if not isinstance(data, dict):
        raise ApiError(400, f"invalid {what}", f"expected a JSON object, got {jtype(data)}")
    return data
