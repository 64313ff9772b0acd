"""HTTP errors: one exception that every handler raises, and the JSON it becomes.

Every error answer is JSON. Tocsin's own shape is an object that says what went wrong and
exactly where:

    {"error": "invalid alerts", "detail": "alerts[2].labels.1x: invalid label name ..."}

Alertmanager's API v2 declares some error answers as a bare JSON *string* (`400` on the alert
and silence endpoints, `404` on a silence update, `500`), and its Go client (amtool) decodes them
as such: an object there would make amtool print a JSON decoding error instead of the message.
On those routes and statuses the body is the same text as one JSON string, `"error: detail"`
(`ApiError(..., am_string=True)`); everywhere else it is the object.

Exceptions::

    Exception
     └── ApiError    an answer other than success: status, error, detail, extra headers
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["ApiError", "error_response", "json_response"]

_JSON = "application/json"


class ApiError(Exception):
    """An error answer. `error` is a short summary, `detail` names what is wrong and where."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: Any = "",
        *,
        headers: Mapping[str, str] | None = None,
        am_string: bool = False,
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})
        self.am_string = am_string

    def body(self) -> Any:
        if self.am_string:
            return f"{self.error}: {self.detail}" if self.detail else self.error
        return {"error": self.error, "detail": self.detail}


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(data), status, headers=dict(headers or {}), media_type=_JSON)


def error_response(exc: ApiError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)
