"""`Secret` keeps credentials out of everything that prints or stores."""

from __future__ import annotations

import logging
import pickle

import pytest

from tocsin.config.secrets import Secret


def test_a_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret("hunter2")
    assert (repr(s), str(s), f"{s}", f"{s:>10}") == (
        "Secret('<secret>')",
        "<secret>",
        "<secret>",
        "  <secret>",
    )
    logging.getLogger("t").warning("token %s %r", s, s)
    assert "hunter2" not in caplog.text
    assert s.reveal() == "hunter2"
    assert repr(Secret("x", file="/run/k")) == "Secret('<secret>', file='/run/k')"


def test_secrets_compare_by_value_and_are_immutable() -> None:
    assert Secret("a") == Secret("a") != Secret("b")
    assert hash(Secret("a")) == hash(Secret("a"))
    assert not Secret("") and Secret("x")
    with pytest.raises(AttributeError):
        Secret("a")._value = "b"  # type: ignore[misc]


def test_secrets_refuse_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Secret("a"))
