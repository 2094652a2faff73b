"""rfm_summary: hand-computed cases, CDNOW checks and a property test against a naive groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxml
from cxml.churn import rfm_summary
from cxml.churn.summary import time_unit_days


def _events(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "event_type", "quantity", "amount"])
    return cxml.load_events(frame)


def test_hand_computed_days() -> None:
    ev = _events(
        [
            ("a", "2024-01-01 09:00", "purchase", 1, 10.0),
            ("a", "2024-01-01 18:00", "purchase", 2, 5.0),  # same day: one purchase day
            ("a", "2024-01-05", "purchase", 1, 20.0),
            ("a", "2024-01-05", "purchase", 1, 4.0),
            ("a", "2024-01-06", "purchase", -1, -20.0),  # a return is not a purchase day
            ("a", "2024-01-08", "view", np.nan, np.nan),  # engagement is not a purchase
            ("a", "2024-01-09", "purchase", 1, 30.0),
            ("a", "2024-01-11", "purchase", 1, 99.0),  # on as_of: excluded
            ("b", "2024-01-03", "purchase", 1, 7.0),
            ("c", "2024-01-02", "purchase", -1, -5.0),  # only a return: does not exist
            ("d", "2024-01-20", "purchase", 1, 5.0),  # only after as_of: does not exist
        ]
    )
    s = rfm_summary(ev, as_of="2024-01-11", time_unit="D")
    assert s.index.tolist() == ["a", "b"]
    assert s.index.name == "customer_id"
    # a: days 01, 05, 09 -> frequency 2, recency 8, T = (01-10) - (01-01) = 9
    assert s.loc["a"].tolist()[:3] == [2.0, 8.0, 9.0]
    # repeat days total 24 (01-05) and 30 (01-09): mean 27; the first day's 15 is the acquisition
    assert s.loc["a", "monetary_value"] == pytest.approx(27.0)
    assert s.loc["b"].tolist()[:3] == [0.0, 0.0, 7.0]
    assert np.isnan(s.loc["b", "monetary_value"])


def test_time_unit_scales_recency_and_t_only() -> None:
    ev = _events([("a", "2024-01-01", "purchase", 1, 1.0), ("a", "2024-01-15", "purchase", 1, 2.0)])
    days = rfm_summary(ev, as_of="2024-01-29", time_unit="D")
    weeks = rfm_summary(ev, as_of="2024-01-29")
    assert weeks.loc["a", "frequency"] == days.loc["a", "frequency"] == 1.0
    assert weeks.loc["a", "recency"] == pytest.approx(2.0)
    assert weeks.loc["a", "T"] == pytest.approx(27 / 7)
    assert "monetary_value" not in rfm_summary(ev, as_of="2024-01-29", monetary=False).columns


def test_unknown_amount_days_left_out_of_the_mean() -> None:
    ev = _events(
        [
            ("a", "2024-01-01", "purchase", 1, 10.0),
            ("a", "2024-01-02", "purchase", 1, np.nan),
            ("a", "2024-01-03", "purchase", 1, 6.0),
            ("b", "2024-01-01", "purchase", 1, 1.0),
            ("b", "2024-01-02", "purchase", 1, np.nan),
        ]
    )
    s = rfm_summary(ev, as_of="2024-01-10", time_unit="D")
    assert s.loc["a", "frequency"] == 2.0
    assert s.loc["a", "monetary_value"] == 6.0
    assert np.isnan(s.loc["b", "monetary_value"])


def test_no_existing_customer_gives_empty_frame() -> None:
    ev = _events([("a", "2024-02-01", "purchase", 1, 1.0)])
    s = rfm_summary(ev, as_of="2024-01-01")
    assert s.empty
    assert s.columns.tolist() == ["frequency", "recency", "T", "monetary_value"]


@pytest.mark.parametrize("unit", ["M", "Y", "0D", "weeks?"])
def test_bad_time_unit_names_the_argument(unit: str) -> None:
    with pytest.raises(cxml.ParameterError, match="time_unit"):
        time_unit_days(unit)


def test_cdnow_matches_the_published_calibration_summary(cdnow_events: pd.DataFrame) -> None:
    s = rfm_summary(cdnow_events, as_of="1997-10-01")
    # shared/data/cdnow-sample/README.md: 2,357 customers, 946 repeat buyers in weeks 1-39
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946
    assert s["T"].max() == pytest.approx(272 / 7)  # first purchase 1997-01-01, last day 1997-09-30
    # customer 1 by hand from the raw rows: 01-01 $29.33, 01-18 $29.73, 08-02 $14.96 (12-12 is holdout)
    row = s.loc["1"]
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(213 / 7)
    assert row["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)


def _naive(events: pd.DataFrame, as_of: str) -> pd.DataFrame:
    ev = events[(events["timestamp"] < pd.Timestamp(as_of)) & (events["quantity"] > 0)]
    ev = ev.assign(day=ev["timestamp"].dt.floor("D"))
    rows = {}
    last = pd.Timestamp(as_of) - pd.Timedelta(days=1)
    for cust, g in ev.groupby("customer_id"):
        per_day = g.groupby("day")["amount"].sum().sort_index()
        first = per_day.index[0]
        rows[cust] = {
            "frequency": len(per_day) - 1.0,
            "recency": (per_day.index[-1] - first).days / 7,
            "T": (last - first).days / 7,
            "monetary_value": per_day.iloc[1:].mean() if len(per_day) > 1 else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(0, 60 * 24 * 40),
            st.sampled_from([-1.0, 1.0, 2.0]),
            st.floats(0.5, 100.0),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_matches_naive_groupby(rows: list[tuple[str, int, float, float]]) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta([r[1] for r in rows], unit="min"),
            "quantity": [r[2] for r in rows],
            "amount": [r[2] * r[3] for r in rows],
        }
    )
    ev = cxml.load_events(frame)
    got = rfm_summary(ev, as_of="2024-01-30")
    want = _naive(ev, "2024-01-30")
    assert got.index.tolist() == want.index.tolist()
    if len(want):
        np.testing.assert_allclose(got.to_numpy(), want[list(got.columns)].to_numpy(), rtol=1e-9)
