"""Where Alertmanager's conformance data lives, and how a test gets at it.

The data is kept beside the repository (`../shared/conformance/alertmanager/`), never copied
into it. Tests read it at run time and skip, naming the directory, when it is absent (a fresh
clone elsewhere); CI has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "alertmanager"


def conformance_file(name: str) -> Path:
    """The path of one conformance file; skips the test when the directory is missing."""
    if not CONFORMANCE.is_dir():
        pytest.skip(
            f"Alertmanager conformance data not found at {CONFORMANCE} "
            "(it lives in ../shared next to the repository checkout)"
        )
    return CONFORMANCE / name


def load_cases(name: str) -> Any:
    """The parsed YAML of a conformance file, or None when the directory is missing."""
    path = CONFORMANCE / name
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def missing_param() -> Any:
    """The one parameter a conformance test gets when the data is missing: it skips."""
    return pytest.param(None, id="conformance-data-missing")


def skip_if_missing(case: object) -> None:
    if case is None:
        conformance_file("README.md")  # skips with the directory's name


def labels_of(mapping: dict[Any, Any]) -> dict[str, str]:
    """YAML may read `2` as an int; Alertmanager takes the scalar's text."""
    return {str(k): str(v) for k, v in mapping.items()}
