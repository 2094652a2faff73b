"""The exported surface of cxml.features and cxml.segment (DESIGN.md names)."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "cxml.features": {
        "customer_features",
        "churn_labels",
        "future_value",
        "training_frame",
        "snapshot_cutoffs",
        "LABEL_COLUMNS",
    },
    "cxml.segment": {"rfm_segments", "cx_summary", "segment_summary", "SEGMENTS"},
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exports(module: str) -> None:
    mod = importlib.import_module(module)
    assert EXPECTED[module] <= set(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name} but it is not defined"
