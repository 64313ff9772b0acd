"""Logging for every `tocsin` command: one JSON object per line when stderr is not a terminal
(journald, a container runtime, a file: something a machine reads), a readable line on a
terminal.

    {"ts": "2026-03-01T12:00:00.123Z", "level": "info", "logger": "tocsin.daemon",
     "msg": "ready: ...", "pid": 4242}

Tocsin's loggers are all named `tocsin.*`. Secrets stay out: configuration credentials are
`Secret`s, which format as `<secret>`; on top of that every formatted line passes through
`redact`, which masks bearer tokens, Slack webhook paths and `token=`/`password=`-style
parameters, in case some library puts a request line in an exception. httpx's per-request
INFO lines (URLs may carry tokens) are kept at WARNING.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from tocsin.config.secrets import MASK

__all__ = ["JsonFormatter", "TextFormatter", "redact", "setup_logging"]

_PATTERNS = [
    # A credential after "Bearer", not the word "token" in prose ("the bearer token is ...").
    (re.compile(r"(?i)(bearer\s+)(?!tokens?\b)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(hooks\.slack\.com/(?:services|workflows)/)[^\s\"']+"), r"\1" + MASK),
    (
        re.compile(r"(?i)\b((?:token|password|passwd|secret|api_key|routing_key)=)[^\s&\"']+"),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)(https?://[^/\s:@]+:)[^@\s/]+@"), r"\1" + MASK + "@"),
]

# Libraries that log at INFO what Tocsin already reports better (and may print URLs).
_QUIET = ("httpx", "httpcore", "hpack", "trio-websocket")

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """`text` with credentials that look like credentials masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `extra=` fields are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "pid": record.process,
        }  # fmt: skip
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str, stream: TextIO | None = None, *, json: bool | None = None) -> None:
    """Route every log record to `stream` (stderr): JSON lines unless it is a terminal
    (`json` forces one or the other; `$TOCSIN_LOG_FORMAT=json|text` too). Like
    `logging.basicConfig`, it leaves alone a root logger that has handlers of someone else's."""
    root = logging.getLogger()
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, getattr(logging, level.upper())))
    if any(not getattr(h, "_tocsin", False) for h in root.handlers):
        return  # someone else (a test harness, an embedding program) owns logging
    stream = stream or sys.stderr
    if json is None:
        forced = os.environ.get("TOCSIN_LOG_FORMAT", "").lower()
        json = forced == "json" if forced in ("json", "text") else not _isatty(stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler._tocsin = True  # type: ignore[attr-defined]
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
