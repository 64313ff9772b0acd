"""Tocsin renders the differential corpus exactly as Alertmanager 0.25's amtool did.

golden.json holds amtool's output for every case in cases.py (golden.py records it; the
integration test re-checks the record against amtool). A case amtool refused must be refused.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from tocsin.adapters.gotemplate import FUNCS_0_25, Data, GoTemplateError, GoTemplates

from .cases import CASES, Case
from .golden import CORPUS, DATA, load_golden

GOLDEN = load_golden()


class AmtoolData(Data):
    """amtool passes the data by value, the daemon by pointer (`{{ printf "%v" . }}` differs)."""

    __slots__ = ()
    go_type = "template.Data"
    go_pointer = False


@cache
def templates() -> GoTemplates:
    t = GoTemplates(funcs=FUNCS_0_25)
    t.parse_files([CORPUS])
    return t


@cache
def data(name: str) -> Data:
    return AmtoolData.from_json(json.loads((DATA / f"{name}.json").read_text()))


def render(case: Case) -> str:
    t = templates()
    d = data(case.data)
    return t.render_html(case.text, d) if case.html else t.render(case.text, d)


def test_every_case_is_recorded():
    missing = [c.key for c in CASES if c.key not in GOLDEN]
    assert not missing, f"re-record golden.json (tests/adapters/gotemplate/golden.py): {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key[:80])
def test_renders_as_alertmanager(case: Case):
    expected = GOLDEN.get(case.key)
    if expected is None:
        pytest.skip("not recorded")
    if "error" in expected:
        with pytest.raises(GoTemplateError):
            render(case)
    else:
        assert render(case) == expected["output"]
