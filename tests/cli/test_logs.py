"""tocsin.logs: JSON lines off a terminal, text on one, credentials masked either way."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tocsin.config.secrets import Secret
from tocsin.logs import JsonFormatter, TextFormatter, redact, setup_logging


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tocsin.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_json_formatter_gives_one_object_with_extras():
    line = JsonFormatter().format(_record("group %s flushed", "g1", group="g1", count=3))
    data = json.loads(line)
    assert data["msg"] == "group g1 flushed"
    assert data["logger"] == "tocsin.test" and data["level"] == "warning"
    assert data["group"] == "g1" and data["count"] == 3
    assert data["ts"].endswith("Z")


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Bearer abc.DEF-123", "abc.DEF-123"),
        ("POST https://hooks.slack.com/services/T0/B0/XyZ failed", "T0/B0/XyZ"),
        ("GET /x?token=t0ps3cret&a=1", "t0ps3cret"),
        ("smtp password=hunter2", "hunter2"),
        ("proxy http://user:pa55@proxy:3128/", "pa55"),
    ],
)
def test_redact_masks_credentials(text, leak):
    assert leak not in redact(text)
    assert "<secret>" in redact(text)


def test_redact_leaves_prose_about_bearer_tokens_alone():
    text = "refused: the bearer token is not valid"
    assert redact(text) == text
    assert redact("Authorization: bearer tokenABC123") == "Authorization: bearer <secret>"


def test_library_loggers_are_quieted_by_their_real_names():
    import trio_websocket  # noqa: F401  (its logger exists once imported)

    setup_logging("debug")
    assert logging.getLogger("trio-websocket").level == logging.WARNING  # its own, set


def test_secrets_never_reach_a_line_in_either_format():
    record = _record("key %s for %s", Secret("routing-key-42"), "pagerduty")
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert "routing-key-42" not in line
        assert "<secret>" in line


def test_setup_logging_json_unless_a_terminal(monkeypatch):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.delenv("TOCSIN_LOG_FORMAT", raising=False)
    try:
        root.handlers = []
        stream = io.StringIO()  # not a terminal
        setup_logging("debug", stream)
        logging.getLogger("tocsin.x").debug("hello %d", 1)
        logging.getLogger("httpx").info("HTTP Request: GET http://x/?token=1")
        assert [json.loads(ln)["msg"] for ln in stream.getvalue().splitlines()] == ["hello 1"]

        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        tty = Tty()
        setup_logging("info", tty)
        logging.getLogger("tocsin.x").info("hi")
        assert tty.getvalue().rstrip().endswith("INFO tocsin.x: hi")
        assert len(root.handlers) == 1  # replaced its own handler, not added a second
    finally:
        root.handlers, level = saved
        root.setLevel(level)
