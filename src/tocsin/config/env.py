"""`${VAR}` and `${VAR:-default}` in configuration values, expanded from an environment mapping.

The environment is passed in (a `Mapping[str, str]`, usually `os.environ`), never read here,
so a test or `tocsin config check` can load a file against any environment.

Rules:

* `${NAME}` is the variable's value; a variable that is not set is an error (write
  `${NAME:-}` to mean "empty when unset").
* `${NAME:-default}` is the value, or `default` when the variable is unset or empty (the
  shell's rule). The default is literal text up to the closing `}`.
* `$${` is a literal `${`. A `$` not followed by `{` is left alone, so Go templates (`$labels`)
  and passwords with `$` in them need no escaping.
* NAME is `[A-Za-z_][A-Za-z0-9_]*`.

Expansion happens on each scalar value after the YAML is parsed, never on the raw text: a
value can never change the structure of the file, and positions in error messages stay true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs
import yaml

from tocsin.config.errors import q

__all__ = ["SECRET_KEYS", "EnvError", "EnvUse", "expand", "find_references"]

_REF: Final = re.compile(r"\$(\$)?\{")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class EnvUse:
    """One reference to an environment variable: where, with what default, whether secret."""

    name: str
    default: str | None
    path: str
    secret: bool = False
    is_set: bool = False


class EnvError(ValueError):
    """A reference that cannot be expanded. `str()` is the message for a person."""


def expand(
    text: str, env: Mapping[str, str], path: str = "", *, secret: bool = False
) -> tuple[str, list[EnvUse]]:
    """`text` with its `${...}` references replaced, and the references it made.

    Raises `EnvError` for an unset variable without default or a malformed reference.
    """
    if "${" not in text:
        return text, []
    out: list[str] = []
    uses: list[EnvUse] = []
    pos = 0
    for m in _REF.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos : m.start()])
        if m.group(1):  # `$${`: a literal `${`
            out.append("${")
            pos = m.end()
            continue
        close = text.find("}", m.end())
        if close < 0:
            raise EnvError(f"unclosed ${{ at offset {m.start()}: write $${{ for a literal ${{")
        body = text[m.end() : close]
        name_m = _NAME.match(body)
        if name_m is None:
            raise EnvError(
                f"${{{body}}}: {q(body[:1])} cannot start a variable name "
                "([A-Za-z_][A-Za-z0-9_]*); write $${ for a literal ${"
            )
        name = name_m.group()
        rest = body[name_m.end() :]
        default: str | None
        if rest == "":
            default = None
        elif rest.startswith(":-"):
            default = rest[2:]
        else:
            raise EnvError(
                f"${{{body}}}: expected }} or :-default after the variable name {name}, "
                f"found {q(rest[:2])}"
            )
        value = env.get(name)
        uses.append(EnvUse(name, default, path, secret, value is not None))
        if default is not None:
            out.append(value if value else default)
        elif value is None:
            raise EnvError(
                f"environment variable {name} is not set (write ${{{name}:-default}} to give "
                "it a default)"
            )
        else:
            out.append(value)
        pos = close + 1
    out.append(text[pos:])
    return "".join(out), uses


# Keys whose values are credentials: a variable used in one is shown masked.
SECRET_KEYS: Final = frozenset(
    {
        "api_url",
        "api_key",
        "app_token",
        "auth_password",
        "auth_secret",
        "bearer_token",
        "credentials",
        "password",
        "routing_key",
        "service_key",
        "slack_api_url",
        "slack_app_token",
        "smtp_auth_password",
        "smtp_auth_secret",
        "token",
        "url",
        "webhook_url",
    }
)
_ANY_REF: Final = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def find_references(text: str) -> list[EnvUse]:
    """Every `${VAR}` in the values of a YAML document, with its key path, whether or not the
    document loads (so `tocsin config env` can list what a broken file needs). Variables in
    credential keys (`SECRET_KEYS`) are marked secret. A document that is not YAML gives []."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    found: list[EnvUse] = []

    def walk(node: yaml.Node | None, path: str, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = str(k.value)
                walk(v, f"{path}.{name}" if path else name, name)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]", key)
        elif isinstance(node, yaml.ScalarNode):
            for m in _ANY_REF.finditer(node.value):
                found.append(EnvUse(m.group(1), m.group(2), path, key in SECRET_KEYS))

    walk(root, "", "")
    return found
