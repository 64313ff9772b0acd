"""Silences: `GET/POST /api/v2/silences`, `GET/DELETE /api/v2/silence/{id}`.

Alertmanager's semantics come from `tocsin.core.silences` (create, update in place when the
matchers stay the same and the past is not rewritten, otherwise expire and create anew). This
module translates the API's JSON to `SilenceData` and back, and checks what Alertmanager's
handler checks before that: times, matcher names and regexes, start before end, end not past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin.adapters.http.auth import Principal
from tocsin.adapters.http.context import ApiContext, read_body
from tocsin.adapters.http.errors import ApiError, json_response
from tocsin.adapters.http.ingest import jtype, parse_json
from tocsin.adapters.http.routes_alerts import parse_filters
from tocsin.adapters.http.views import gettable_silence, silence_matches_filter, sort_silences
from tocsin.config.model import Role
from tocsin.core.events import SilenceData
from tocsin.core.labels import InvalidLabel, validate_label_name
from tocsin.core.matchers import Matcher, MatcherError, MatchOp
from tocsin.core.silences import InvalidSilence

__all__ = ["silence_routes"]

_MAX_SILENCE_BYTES = 256 * 1024


def _bad(detail: str) -> ApiError:
    return ApiError(400, "invalid silence", detail, am_string=True)


def _string(data: dict[str, Any], key: str, *, required: bool = True, where: str = "") -> str:
    """`data[key]`, a string; errors name it as `where.key` (`where`: the enclosing field)."""
    value = data.get(key)
    field = f"{where}.{key}" if where else key
    if value is None:
        if required:
            raise _bad(f"{field}: required")
        return ""
    if not isinstance(value, str):
        raise _bad(f"{field}: expected a string, got {jtype(value)}")
    return value


def _time(data: dict[str, Any], key: str) -> datetime:
    raw = _string(data, key)
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(f"{key}: not an RFC 3339 time: {raw[:64]!r}") from None
    if t.tzinfo is None:
        raise _bad(f"{key}: an RFC 3339 time needs a zone (Z or +hh:mm): {raw[:64]!r}")
    return t


def _matchers(data: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    raw = data.get("matchers")
    if raw is not None and not isinstance(raw, list):
        raise _bad(f"matchers: expected an array of matchers, got {jtype(raw)}")
    if not raw:
        raise _bad("matchers: at least one matcher is required")
    out = []
    for i, m in enumerate(raw):
        where = f"matchers[{i}]"
        if not isinstance(m, dict):
            raise _bad(f"{where}: expected an object, got {jtype(m)}")
        name = _string(m, "name", where=where)
        value = _string(m, "value", where=where)
        is_regex = m.get("isRegex")
        is_equal = m.get("isEqual", True)
        if not isinstance(is_regex, bool):
            raise _bad(f"{where}.isRegex: required, true or false")
        if not isinstance(is_equal, bool):
            raise _bad(f"{where}.isEqual: expected true or false")
        try:
            validate_label_name(name)
        except InvalidLabel as exc:
            raise _bad(f"{where}.name: {exc.reason}") from None
        op = {
            (False, True): MatchOp.EQUAL,
            (False, False): MatchOp.NOT_EQUAL,
            (True, True): MatchOp.REGEX,
            (True, False): MatchOp.NOT_REGEX,
        }[(is_regex, is_equal)]
        try:
            Matcher(name, op, value)
        except MatcherError as exc:
            raise _bad(f"{where}.value: {exc}") from None
        out.append((name, op.value, value))
    return tuple(out)


def silence_routes(ctx: ApiContext) -> list[Route]:
    async def get_silences(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        now = rt.clock.now()
        filters = parse_filters(request)
        creators = request.query_params.getlist("creator")
        found = [
            s
            for s in rt.world.silences.values()
            if silence_matches_filter(s, filters) and (not creators or s.created_by in creators)
        ]
        return json_response([gettable_silence(s, now) for s in sort_silences(found, now)])

    async def post_silences(request: Request, who: Principal) -> Response:
        body = await read_body(request, _MAX_SILENCE_BYTES, am_string=True)
        data = parse_json(body, am_string=True)
        if not isinstance(data, dict):
            raise _bad(f"expected a JSON object, got {jtype(data)}")
        rt = ctx.runtime()
        silence_id = _string(data, "id", required=False)
        if silence_id and silence_id not in rt.world.silences:
            raise ApiError(
                404, "silence not found", f"id: no silence with id {silence_id!r}", am_string=True
            )
        silence = SilenceData(
            silence_id,
            _matchers(data),
            _time(data, "startsAt"),
            _time(data, "endsAt"),
            _string(data, "createdBy"),
            _string(data, "comment"),
        )
        if silence.starts_at >= silence.ends_at:
            raise _bad("endsAt: the end time must be after startsAt")
        try:
            new_id = await rt.set_silence(silence)
        except InvalidSilence as exc:
            raise _bad(str(exc)) from None
        return json_response({"silenceID": new_id})

    async def get_silence(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        silence = rt.world.silences.get(request.path_params["silence_id"])
        if silence is None:
            raise _not_found(request.path_params["silence_id"])
        return json_response(gettable_silence(silence, rt.clock.now()))

    async def delete_silence(request: Request, who: Principal) -> Response:
        rt = ctx.runtime()
        silence_id = request.path_params["silence_id"]
        if silence_id not in rt.world.silences:
            raise _not_found(silence_id)
        try:
            await rt.expire_silence(silence_id, who.name)
        except InvalidSilence as exc:
            raise ApiError(409, "cannot expire silence", str(exc)) from None
        return Response(status_code=200)

    e = ctx.endpoint
    return [
        Route(
            "/api/v2/silences",
            e("get_silences", Role.READ, get_silences, am_string=True),
            methods=["GET"],
        ),
        Route(
            "/api/v2/silences",
            e("post_silences", Role.OPERATE, post_silences, am_string=True),
            methods=["POST"],
        ),
        Route(
            "/api/v2/silence/{silence_id}",
            e("get_silence", Role.READ, get_silence, am_string=True),
            methods=["GET"],
        ),
        Route(
            "/api/v2/silence/{silence_id}",
            e("delete_silence", Role.OPERATE, delete_silence, am_string=True),
            methods=["DELETE"],
        ),
    ]


def _not_found(silence_id: str) -> ApiError:
    return ApiError(404, "silence not found", f"no silence with id {silence_id!r}")
