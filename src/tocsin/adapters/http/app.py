"""The Starlette application: every route, and JSON answers for unknown paths and methods."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tocsin.adapters.http.context import ApiContext
from tocsin.adapters.http.errors import ApiError, error_response
from tocsin.adapters.http.routes_alerts import alert_routes
from tocsin.adapters.http.routes_heartbeats import heartbeat_routes
from tocsin.adapters.http.routes_ops import ops_routes
from tocsin.adapters.http.routes_silences import silence_routes
from tocsin.adapters.http.routes_stream import FrameWrites, stream_routes
from tocsin.adapters.http.routes_tocsin import tocsin_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, "not found", f"no endpoint at {request.url.path} (see docs/api.md)")
    elif exc.status_code == 405:
        error = ApiError(
            405,
            "method not allowed",
            f"{request.method} is not allowed on {request.url.path}",
            headers=exc.headers,
        )
    else:
        error = ApiError(exc.status_code, "error", exc.detail, headers=exc.headers)
    return error_response(error)


class _ByMethod:
    """An ASGI app handing each request to the route app for its method."""

    def __init__(self, apps: dict[str, ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.apps[scope["method"]](scope, receive, send)


def one_route_per_path(routes: list[BaseRoute]) -> list[BaseRoute]:
    """`routes`, with the plain routes that share a path (one per method) merged into one that
    dispatches by method. Starlette answers a method no route takes with the `Allow` of the
    first route on the path; merged, a 405 names every method the path takes."""
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        if type(route) is Route:
            by_path.setdefault(route.path, []).append(route)
    out: list[BaseRoute] = []
    for route in routes:
        if type(route) is not Route or len(by_path[route.path]) == 1:
            out.append(route)
        elif route is by_path[route.path][0]:
            apps = {m: r.app for r in by_path[route.path] for m in r.methods or ()}
            out.append(Route(route.path, _ByMethod(apps), methods=list(apps), name=route.name))
    return out


def build_app(ctx: ApiContext) -> Starlette:
    """The ASGI app serving `ctx` (its runtime may be attached later: until then the API
    answers 503, and `/-/healthy` already 200)."""
    routes = [
        *ops_routes(ctx),
        *alert_routes(ctx),
        *silence_routes(ctx),
        *tocsin_routes(ctx),
        *heartbeat_routes(ctx),
        *stream_routes(ctx),
    ]
    return Starlette(
        routes=one_route_per_path(routes),
        exception_handlers={404: _http_error, 405: _http_error},
        # The stream writes batches of ready-made frames where the server allows it.
        middleware=[Middleware(FrameWrites)],
    )
