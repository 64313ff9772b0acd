"""Alerts in and out: Alertmanager API v2 (`/api/v2/alerts`, `/alerts/groups`, `/receivers`,
`/status`) and Alertmanager's webhook as an ingress (`POST /alerts/webhook`).

Behaviour follows Alertmanager's api/v2/api.go; where Tocsin differs it says so in docs/api.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin import __version__
from tocsin.adapters.http.am_config import alertmanager_original
from tocsin.adapters.http.auth import Principal, ReplayGuard, verify_webhook_signature
from tocsin.adapters.http.context import FEWER_ALERTS, ApiContext, read_body
from tocsin.adapters.http.errors import ApiError, json_response
from tocsin.adapters.http.ingest import parse_json, parse_postable_alerts, parse_webhook
from tocsin.adapters.http.views import (
    AlertStatus,
    StatusOracle,
    fmt_time,
    gettable_alert,
    live_alerts,
    receivers_of,
)
from tocsin.config.durations import parse_duration
from tocsin.config.model import Role
from tocsin.core.group_state import AlertState
from tocsin.core.matchers import Matcher, MatcherError, parse_matcher
from tocsin.core.re2 import Re2Error, compile_anchored
from tocsin.core.routing import labels_string

__all__ = ["ALERTMANAGER_API_VERSION", "alert_routes", "parse_bool", "parse_filters"]

ALERTMANAGER_API_VERSION = "0.25.0"


def parse_bool(request: Request, name: str, default: bool = True) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.lower()
    if value in ("true", "1", "t"):
        return True
    if value in ("false", "0", "f"):
        return False
    raise ApiError(
        400, f"invalid {name}", f"expected true or false, got {raw[:40]!r}", am_string=True
    )


def parse_filters(request: Request) -> list[Matcher]:
    """The `filter` query parameters as matchers. Raises `ApiError` 400 naming the bad one."""
    out = []
    for text in request.query_params.getlist("filter"):
        try:
            out.append(parse_matcher(text))
        except MatcherError as exc:
            raise ApiError(400, "bad matcher", f"filter {text!r}: {exc}", am_string=True) from None
    return out


def _receiver_filter(request: Request) -> Callable[[str], object] | None:
    pattern = request.query_params.get("receiver")
    if pattern is None:
        return None
    try:
        return compile_anchored(pattern)
    except Re2Error as exc:
        raise ApiError(400, "failed to parse receiver param", str(exc), am_string=True) from None


class _AlertFilter:
    """Alertmanager's `alertFilter`: matchers plus the active / silenced / inhibited switches."""

    def __init__(self, request: Request, oracle: StatusOracle) -> None:
        self.matchers = parse_filters(request)
        self.active = parse_bool(request, "active")
        self.silenced = parse_bool(request, "silenced")
        self.inhibited = parse_bool(request, "inhibited")
        parse_bool(request, "unprocessed")  # accepted; Tocsin has no unprocessed alerts
        self.oracle = oracle

    def __call__(self, alert: AlertState) -> AlertStatus | None:
        labels = alert.alert.labels
        for m in self.matchers:
            if not m.matches(labels):
                return None
        status = self.oracle.status(labels)
        if not self.active and status.state == "active":
            return None
        if not self.silenced and status.silenced_by:
            return None
        if not self.inhibited and status.inhibited_by:
            return None
        return status


def alert_routes(ctx: ApiContext) -> list[Route]:
    replays = ReplayGuard()  # signed webhook requests already accepted

    async def post_alerts(request: Request, who: Principal) -> Response:
        limits = ctx.settings.limits
        body = await read_body(
            request, limits.max_request_bytes, am_string=True, advice=FEWER_ALERTS
        )
        data = parse_json(body, am_string=True)
        rt = ctx.runtime()
        parsed = parse_postable_alerts(
            data, rt.clock.now(), ctx.config.global_.resolve_timeout, limits
        )
        if parsed.alerts:
            await ctx.ingest(parsed.alerts)
        _count(ctx, parsed.firing, parsed.resolved, len(parsed.invalid), "api")
        if parsed.invalid:
            raise parsed.problem(am_string=True)
        return Response(status_code=200)  # Alertmanager answers 200 with no body

    async def get_alerts(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        now = rt.clock.now()
        keep = _AlertFilter(request, StatusOracle(rt, now))
        receiver_ok = _receiver_filter(request)
        receivers = receivers_of(ctx.config)
        out = []
        for fp, alert, _state in live_alerts(rt, now):
            status = keep(alert)
            if status is None:
                continue
            names = receivers(alert.alert.labels)
            if receiver_ok is not None and not any(receiver_ok(n) for n in names):
                continue
            out.append(gettable_alert(fp, alert, status, names))
        out.sort(key=lambda a: a["fingerprint"])
        return json_response(out)

    async def get_groups(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        now = rt.clock.now()
        keep = _AlertFilter(request, StatusOracle(rt, now))
        receiver_ok = _receiver_filter(request)
        receivers = receivers_of(ctx.config)
        out: list[tuple[str, str, dict[str, Any]]] = []
        for state in rt.world.groups.values():
            policy = state.policy
            if policy is None or state.phase.value not in ("pending", "firing", "acknowledged"):
                continue
            if receiver_ok is not None and not receiver_ok(policy.receiver):
                continue
            alerts = []
            for fp, alert in sorted(state.alerts.items()):
                if alert.resolved_at is not None:
                    continue
                if alert.ends_at is not None and alert.ends_at < now:
                    continue
                status = keep(alert)
                if status is not None:
                    alerts.append(gettable_alert(fp, alert, status, receivers(alert.alert.labels)))
            if alerts:
                group = {
                    "alerts": alerts,
                    "labels": state.group_labels.to_dict(),
                    "receiver": {"name": policy.receiver},
                }
                out.append((labels_string(state.group_labels), policy.receiver, group))
        out.sort(key=lambda g: (g[0], g[1]))
        return json_response([g for _, _, g in out])

    async def webhook(request: Request, who: Principal) -> Response:
        settings = ctx.settings
        body = await read_body(request, settings.limits.max_request_bytes, advice=FEWER_ALERTS)
        timestamp = request.headers.get("x-tocsin-timestamp")
        signature = request.headers.get("x-tocsin-signature")
        if settings.webhook_secret:
            now = time.time()
            verify_webhook_signature(
                settings.webhook_secret, body, timestamp, signature, now, settings.webhook_window
            )
            assert signature is not None and timestamp is not None  # verified
            replays.check(signature, now)
        ttl = settings.webhook_ttl
        if (raw := request.query_params.get("ttl")) is not None:
            try:
                ttl = parse_duration(raw)
            except ValueError as exc:
                raise ApiError(400, "invalid ttl", f"ttl={raw[:40]!r}: {exc}") from None
        data = parse_json(body)
        rt = ctx.runtime()
        parsed, group_key = parse_webhook(data, rt.clock.now(), ttl, settings.limits)
        if parsed.alerts:
            await ctx.ingest(parsed.alerts)
            if settings.webhook_secret and signature and timestamp:
                replays.remember(signature, timestamp, settings.webhook_window)
        _count(ctx, parsed.firing, parsed.resolved, len(parsed.invalid), "webhook")
        if parsed.invalid:
            raise parsed.problem()
        return json_response(
            {
                "status": "success",
                "accepted": len(parsed.alerts),
                "firing": parsed.firing,
                "resolved": parsed.resolved,
                "groupKey": group_key,
            }
        )

    async def get_receivers(request: Request, who: Principal) -> Response:
        return json_response([{"name": name} for name in ctx.config.receivers])

    async def get_status(request: Request, who: Principal) -> Response:
        if ctx.am_original is None:
            ctx.am_original = alertmanager_original(ctx.config)
        return json_response(
            {
                "cluster": {"name": "", "status": "disabled", "peers": []},
                "config": {"original": ctx.am_original},
                "uptime": fmt_time(ctx.started_at),
                # `version` is the Alertmanager release whose API Tocsin answers like: amtool
                # warns on every command when it differs from its own. Tocsin's own version is
                # in `revision` and `branch`.
                "versionInfo": {
                    "branch": "tocsin",
                    "buildDate": "",
                    "buildUser": "",
                    "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
                    "revision": f"tocsin-{__version__}",
                    "version": ALERTMANAGER_API_VERSION,
                },
            }
        )

    e = ctx.endpoint
    return [
        Route(
            "/api/v2/alerts",
            e("post_alerts", Role.INGEST, post_alerts, am_string=True),
            methods=["POST"],
        ),
        Route(
            "/api/v2/alerts",
            e("get_alerts", Role.READ, get_alerts, am_string=True),
            methods=["GET"],
        ),
        Route(
            "/api/v2/alerts/groups",
            e("get_alert_groups", Role.READ, get_groups, am_string=True),
            methods=["GET"],
        ),
        Route("/alerts/webhook", e("webhook", Role.INGEST, webhook), methods=["POST"]),
        Route("/api/v2/receivers", e("get_receivers", Role.READ, get_receivers), methods=["GET"]),
        Route("/api/v2/status", e("get_status", Role.READ, get_status), methods=["GET"]),
    ]


def _count(ctx: ApiContext, firing: int, resolved: int, invalid: int, ingress: str) -> None:
    m = ctx.metrics
    if firing:
        m.alerts_received.labels("firing", ingress).inc(firing)
    if resolved:
        m.alerts_received.labels("resolved", ingress).inc(resolved)
    if invalid:
        m.alerts_invalid.labels(ingress).inc(invalid)
