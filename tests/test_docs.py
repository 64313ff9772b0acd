"""The documentation names what the code has: every event tag, every command."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tocsin.cli.main import build_parser
from tocsin.core.events import EVENT_TYPES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_event_type_is_in_the_catalogue():
    text = (DOCS / "events.md").read_text()
    missing = [tag for tag in EVENT_TYPES if f"`{tag}`" not in text]
    assert not missing, f"docs/events.md lacks {missing}"


def test_every_command_is_documented():
    text = "\n".join(p.read_text() for p in DOCS.glob("*.md"))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():  # type: ignore[union-attr]
        nested = [
            a for a in sp._actions if getattr(a, "choices", None) and a.dest.endswith("command")
        ]
        names = [f"tocsin {name} {n}" for a in nested for n in a.choices] or [f"tocsin {name}"]
        for full in names:
            assert full in text, f"{full!r} is not documented in docs/"


def test_every_doc_page_linked_from_the_index_exists():
    index = (DOCS / "index.md").read_text()
    for line in index.splitlines():
        if line.startswith("| [") and "](" in line:
            target = line.split("](", 1)[1].split(")", 1)[0]
            assert (DOCS / target).is_file(), f"docs/index.md links to missing {target}"


@pytest.mark.parametrize(
    "module",
    [
        "tocsin.core.labels",
        "tocsin.core.events",
        "tocsin.core.codec",
        "tocsin.core.lifecycle",
        "tocsin.core.group_state",
        "tocsin.core.matchers",
        "tocsin.journal",
    ],
)
def test_all_names_exist(module):
    mod = importlib.import_module(module)
    assert sorted(set(mod.__all__)) == sorted(mod.__all__), "duplicate names in __all__"
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names {name}, which does not exist"
