"""Tocsin's own endpoints: active groups, acknowledge / unacknowledge / resolve, a group's state
and its history from the journal.

An `{id}` in `/api/v1/alerts/{id}/...` is a group id or an alert fingerprint. A fingerprint
stands for every live group the alert fires in (an alert routed with `continue` is in several);
the command goes to each, and the answer lists what happened in each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin.actors.runtime import UnknownGroup
from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext, json_body_object, read_body
from tocsin.adapters.http.errors import ApiError, json_response
from tocsin.adapters.http.ingest import jtype, parse_json
from tocsin.adapters.http.views import LIVE, StatusOracle, group_view
from tocsin.config.model import Role
from tocsin.core.codec import CODEC, CodecError, from_micros, to_jsonable
from tocsin.core.lifecycle import AckForbidden, IllegalCommand
from tocsin.journal import RecordsCompacted, StoredRecord

__all__ = ["tocsin_routes"]

_MAX_COMMAND_BYTES = 64 * 1024
_DEFAULT_HISTORY = 1000
_MAX_HISTORY = 10_000

_VERBS = {"ack": "acknowledge", "unack": "unacknowledge", "resolve": "resolve"}


def _who(data: dict[str, Any], who: Principal) -> tuple[str, str]:
    by = data.get("by")
    comment = data.get("comment", "")
    if by is not None and not isinstance(by, str):
        raise ApiError(400, "invalid command", f"by: expected a string, got {jtype(by)}")
    if not isinstance(comment, str):
        raise ApiError(400, "invalid command", f"comment: expected a string, got {jtype(comment)}")
    if not by:
        if not who.authenticated:
            raise ApiError(400, "invalid command", "by: required (who is doing this)")
        by = who.name
    return by[:200], comment[:4000]


def _history_page(
    records: Iterable[StoredRecord], group_id: str, since: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The group's events after `since`, at most `limit`, and the seq to continue from."""
    out: list[dict[str, Any]] = []
    for rec in records:
        if rec.seq <= since or rec.payload.get("group_id") != group_id:
            continue
        if len(out) >= limit:
            return out, out[-1]["seq"]
        item: dict[str, Any] = {
            "seq": rec.seq,
            "ts": from_micros(rec.ts).isoformat().replace("+00:00", "Z"),
            "type": rec.type,
            "version": rec.version,
        }
        try:
            item["data"] = to_jsonable(CODEC.decode(rec.type, rec.version, rec.payload))
        except CodecError as exc:
            item["data"] = None
            item["undecoded"] = str(exc)
        out.append(item)
    return out, None


def _int_param(
    request: Request, name: str, default: int, least: int = 0, most: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid {name}", f"expected an integer, got {raw[:40]!r}") from None
    if value < least:
        raise ApiError(400, f"invalid {name}", f"must be at least {least}, got {value}")
    if most is not None and value > most:
        raise ApiError(400, f"invalid {name}", f"must be between {least} and {most}, got {value}")
    return value


def tocsin_routes(ctx: ApiContext) -> list[Route]:
    async def active(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        oracle = StatusOracle(rt, rt.clock.now())
        groups = [
            group_view(state, oracle) for state in rt.world.groups.values() if state.phase in LIVE
        ]
        groups.sort(key=lambda g: (g["opened_at"] or "", g["id"]))
        return json_response({"groups": groups})

    async def command(request: Request, who: Principal) -> Response:
        verb = request.path_params["verb"]
        if verb not in _VERBS:
            raise ApiError(404, "not found", f"no such action {verb!r} (ack, unack, resolve)")
        body = await read_body(request, _MAX_COMMAND_BYTES)
        data = json_body_object(parse_json(body), "command") if body.strip() else {}
        by, comment = _who(data, who)
        rt = ctx.runtime()
        target = request.path_params["id"]
        if target in rt.world.groups and rt.world.groups[target].phase in LIVE:
            group_ids = [target]
        else:
            group_ids = [
                gid
                for gid, state in rt.world.groups.items()
                if state.phase in LIVE and target in state.alerts
            ]
        if not group_ids:
            raise ApiError(
                404,
                "unknown id",
                f"{target!r} is neither a live group id nor the fingerprint of an alert in one",
            )
        action = getattr(rt, _VERBS[verb])
        results = []
        errors: list[ApiError] = []
        for gid in group_ids:
            try:
                await action(gid, by, comment)
            except AckForbidden as exc:
                errors.append(ApiError(409, "acknowledgement forbidden", exc.why))
                results.append({"id": gid, "ok": False, "reason": exc.why})
                continue
            except IllegalCommand as exc:
                errors.append(ApiError(409, f"cannot {_VERBS[verb]}", exc.why))
                results.append({"id": gid, "ok": False, "reason": exc.why})
                continue
            except UnknownGroup as exc:
                errors.append(ApiError(404, "unknown id", str(exc)))
                results.append({"id": gid, "ok": False, "reason": str(exc)})
                continue
            state = rt.world.groups.get(gid)
            results.append(
                {"id": gid, "ok": True, "phase": state.phase.value if state else "resolved"}
            )
        if len(errors) == len(group_ids):
            if len(group_ids) == 1:
                raise errors[0]
            # A fingerprint in several groups, refused by each: say which, and why.
            first = errors[0]
            why = "; ".join(f"group {r['id']}: {r['reason']}" for r in results)
            raise ApiError(first.status, first.error, f"every group of {target} refused: {why}")
        return json_response({"id": target, "action": _VERBS[verb], "by": by, "groups": results})

    async def group(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        state = rt.world.groups.get(request.path_params["id"])
        if state is None:
            raise ApiError(
                404,
                "unknown group",
                f"no group {request.path_params['id']!r} in memory (an ended group's events "
                "are still in its history)",
            )
        return json_response(group_view(state, StatusOracle(rt, rt.clock.now())))

    async def history(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        group_id = request.path_params["id"]
        since = _int_param(request, "since", 0)
        limit = _int_param(request, "limit", _DEFAULT_HISTORY, least=1, most=_MAX_HISTORY)
        source = ctx.history or rt.journal.read

        def read() -> tuple[list[dict[str, Any]], int | None]:
            try:
                return _history_page(source(since), group_id, since, limit)
            except RecordsCompacted as exc:  # retention removed the oldest: what is left
                return _history_page(source(exc.first_available - 1), group_id, since, limit)

        events, next_since = await trio.to_thread.run_sync(read)
        if not events and since == 0 and group_id not in rt.world.groups:
            raise ApiError(404, "unknown group", f"the journal has no events of group {group_id!r}")
        return json_response({"id": group_id, "events": events, "next_since": next_since})

    e = ctx.endpoint
    return [
        Route("/alerts/active", e("alerts_active", Role.READ, active), methods=["GET"]),
        Route(
            "/api/v1/alerts/{id}/{verb}",
            e("alert_command", Role.OPERATE, command),
            methods=["POST"],
        ),
        Route("/api/v1/groups/{id}", e("group", Role.READ, group), methods=["GET"]),
        Route(
            "/api/v1/groups/{id}/history", e("group_history", Role.READ, history), methods=["GET"]
        ),
    ]
