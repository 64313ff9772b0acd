"""${VAR} and ${VAR:-default} expansion, and finding the references of a file."""

from __future__ import annotations

import pytest

from tocsin.config.env import EnvError, EnvUse, expand, find_references

ENV = {"HOST": "mail.example.org", "EMPTY": "", "PORT": "25"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("plain", "plain"),
        ("${HOST}:${PORT}", "mail.example.org:25"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),  # empty counts as unset with :-
        ("${MISSING:-}", ""),
        ("${EMPTY}", ""),
        ("${MISSING:-a:b{c}", "a:b{c"),
        ("$${HOST}", "${HOST}"),
        ("$$${HOST}", "$${HOST}"),  # a `$`, then the escape `$${`
        ("$HOST and {{ $labels.x }} cost $5", "$HOST and {{ $labels.x }} cost $5"),
    ],
)
def test_expand(text: str, value: str) -> None:
    assert expand(text, ENV)[0] == value


def test_expand_reports_its_uses() -> None:
    _, uses = expand("${HOST}/${MISSING:-x}", ENV, "a.b", secret=True)
    assert uses == [
        EnvUse("HOST", None, "a.b", True, True),
        EnvUse("MISSING", "x", "a.b", True, False),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${MISSING}", "environment variable MISSING is not set (write ${MISSING:-default}"),
        ("${HOST", "unclosed ${ at offset 0: write $${ for a literal ${"),
        ("${1X}", '${1X}: "1" cannot start a variable name'),
        (
            "${HOST-x}",
            '${HOST-x}: expected } or :-default after the variable name HOST, found "-x"',
        ),
    ],
)
def test_expand_errors(text: str, message: str) -> None:
    with pytest.raises(EnvError) as info:
        expand(text, ENV)
    assert message in str(info.value)


def test_find_references_lists_uses_with_paths_and_secrecy() -> None:
    text = """
global: {smtp_auth_password: '${SMTP_PASSWORD}', smtp_from: '${FROM:-a@b}'}
receivers:
- name: r
  slack_configs: [{api_url: '${HOOK}', channel: '${CH}'}]
"""
    assert find_references(text) == [
        EnvUse("SMTP_PASSWORD", None, "global.smtp_auth_password", True),
        EnvUse("FROM", "a@b", "global.smtp_from", False),
        EnvUse("HOOK", None, "receivers[0].slack_configs[0].api_url", True),
        EnvUse("CH", None, "receivers[0].slack_configs[0].channel", False),
    ]
    assert find_references("route: [") == []
