"""Property tests: any frame of plausible-but-dirty values loads or raises SchemaError, nothing else."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxml
from cxml.schema import CANONICAL_DTYPES, Columns

ids = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=False, width=32),
                st.text(max_size=3), st.just(""), st.just("  "))
stamps = st.one_of(
    st.none(), st.just("yesterday"), st.just(""), st.integers(0, 2_000_000_000),
    st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2030-01-01").to_pydatetime()).map(str),
    st.sampled_from(["2024-01-01T10:00:00+02:00", "2024-02-30", "2024-13-01", "01/02/2024"]),
)
numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 100),
                    st.sampled_from(["1.5", "ten", "", "-3", "1e3", "nan"]))
kinds = st.one_of(st.none(), st.sampled_from(["purchase", "view", "nps", "csat", "ces", " Login ", ""]))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 8))
    cols = {
        "customer_id": draw(st.lists(ids, min_size=n, max_size=n)),
        "timestamp": draw(st.lists(stamps, min_size=n, max_size=n)),
    }
    for name, strat in (("amount", numbers), ("quantity", numbers), ("value", numbers),
                        ("event_type", kinds), ("item_id", ids)):
        if draw(st.booleans()):
            cols[name] = draw(st.lists(strat, min_size=n, max_size=n))
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_any_frame_loads_canonically_or_raises_schema_error(raw: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        try:
            ev = cxml.load_events(raw)
        except cxml.SchemaError:
            return
    assert list(ev.columns[: len(Columns.EVENTS)]) == list(Columns.EVENTS)
    for col in Columns.EVENTS:
        assert ev[col].dtype == CANONICAL_DTYPES[col]
    assert ev[Columns.CUSTOMER].notna().all()
    assert ev[Columns.TIMESTAMP].notna().all()
    assert ev[Columns.TIMESTAMP].is_monotonic_increasing
    for col in (Columns.AMOUNT, Columns.QUANTITY, Columns.VALUE):
        assert not np.isinf(ev[col].to_numpy()).any()
    report = ev.attrs["cxml_load_report"]
    assert report["rows_out"] + report["dropped_missing_customer_id"] == len(raw) == report["rows_in"]
    cxml.validate_events(ev)
