"""Operations: `/-/healthy`, `/-/ready`, `POST /-/reload`, `/metrics`.

`/-/healthy` answers as soon as the process serves; `/-/ready` only once the journal has been
replayed and the actors run (503 before). Both answer without a token, like Alertmanager's,
so load balancers and orchestrators can probe them. `/metrics` needs the `read` role when
tokens are configured (Prometheus scrapes with `authorization: {credentials: ...}`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext
from tocsin.adapters.http.errors import ApiError, json_response
from tocsin.adapters.http.metrics import CONTENT_TYPE
from tocsin.config.model import Role

__all__ = ["ops_routes"]


def ops_routes(ctx: ApiContext) -> list[Route]:
    async def healthy(request: Request, who: Principal) -> Response:
        return Response(b"OK", media_type="text/plain")

    async def ready(request: Request, who: Principal) -> Response:
        if not ctx.ready:
            raise ApiError(
                503,
                "not ready",
                "the journal is still being replayed",
                headers={"Retry-After": "1"},
            )
        return Response(b"OK", media_type="text/plain")

    async def reload(request: Request, who: Principal) -> Response:
        if ctx.reload is None:
            raise ApiError(501, "reload unavailable", "this server was started without a reload")
        outcome = await ctx.reload(f"POST /-/reload by {who.name}")
        if not outcome.ok:
            raise ApiError(
                400,
                "configuration not reloaded",
                {
                    "source": outcome.source,
                    "problems": list(outcome.problems),
                    "kept": ctx.config.sha256,
                },
            )
        return json_response(
            {
                "status": "reloaded" if outcome.changed else "unchanged",
                "source": outcome.source,
                "sha256": outcome.sha256,
            }
        )

    async def metrics(request: Request, who: Principal) -> Response:
        return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)

    e = ctx.endpoint
    return [
        Route("/-/healthy", e("healthy", None, healthy, public=True), methods=["GET", "HEAD"]),
        Route("/-/ready", e("ready", None, ready, public=True), methods=["GET", "HEAD"]),
        Route("/-/reload", e("reload", Role.ADMIN, reload), methods=["POST"]),
        Route("/metrics", e("metrics", Role.READ, metrics), methods=["GET"]),
    ]
