"""The package's public names are the ones documented (and they exist)."""

from __future__ import annotations

import tocsin.adapters.gotemplate as gotemplate

EXPORTED = {
    "ALERTMANAGER_0_25",
    "DEFAULT_NAMES",
    "FUNCS",
    "FUNCS_0_25",
    "KV",
    "Alert",
    "AlertLike",
    "Alerts",
    "Data",
    "GoDuration",
    "GoTemplateError",
    "GoTemplates",
    "GoTime",
    "Pair",
    "Pairs",
    "TemplateExecError",
    "TemplateNotDefined",
    "TemplateSyntaxError",
    "UnsupportedConstruct",
    "is_go_template",
    "sort_alerts",
    "template_data",
}


def test_exported_names():
    assert set(gotemplate.__all__) == EXPORTED
    assert len(gotemplate.__all__) == len(EXPORTED)
    for name in gotemplate.__all__:
        assert hasattr(gotemplate, name), name


def test_exception_tree():
    assert issubclass(gotemplate.UnsupportedConstruct, gotemplate.TemplateSyntaxError)
    assert issubclass(gotemplate.TemplateNotDefined, gotemplate.TemplateExecError)
    for cls in (gotemplate.TemplateSyntaxError, gotemplate.TemplateExecError):
        assert issubclass(cls, gotemplate.GoTemplateError)
