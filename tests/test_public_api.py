"""The exported surface: every name in DESIGN.md is importable from where DESIGN.md says."""

from __future__ import annotations

import importlib

import pytest

import cxml

EXPECTED = {
    "cxml": {"load_events", "Columns", "IdMap", "CxmlError", "SchemaError", "NotFittedError", "BundleError",
             "validate_events", "DataWarning"},
    "cxml.data": {"load_events", "IdMap", "describe_events"},
    "cxml.schema": {"Columns", "EventTypes", "validate_events", "purchase_mask"},
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exports(module: str) -> None:
    mod = importlib.import_module(module)
    assert EXPECTED[module] <= set(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name} but it is not defined"


def test_errors_subclass_builtins() -> None:
    assert issubclass(cxml.SchemaError, ValueError)
    assert issubclass(cxml.NotFittedError, AttributeError)
    assert issubclass(cxml.SourceError, FileNotFoundError)
    for name in cxml.exceptions.__all__:
        cls = getattr(cxml.exceptions, name)
        assert issubclass(cls, cxml.CxmlError | Warning)


def test_import_has_no_side_effects() -> None:
    import logging
    import warnings

    assert warnings.filters == warnings.filters  # cxml adds no filters: checked via the module source
    src = importlib.util.find_spec("cxml").origin  # type: ignore[union-attr]
    text = open(src).read()
    assert "simplefilter" not in text and "basicConfig" not in text
    assert all(isinstance(h, logging.NullHandler) for h in logging.getLogger("cxml").handlers)
