"""The three real datasets produce finite features wherever a value is defined."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.features import churn_labels, customer_features, snapshot_cutoffs, training_frame
from cxml.schema import purchase_mask

# columns that are NaN exactly when the customer lacks what they describe
NAN_WHEN = {
    "ipt_mean_days": lambda X: X["n_purchase_days"] < 2,
    "ipt_std_days": lambda X: X["n_purchase_days"] < 2,
    "gap_ratio": lambda X: X["n_purchase_days"] < 2,
}


def check_features(X: pd.DataFrame, events: pd.DataFrame, as_of: str) -> None:
    before = events[events["timestamp"] < pd.Timestamp(as_of)]
    assert X.index.tolist() == sorted(set(before.loc[purchase_mask(before), "customer_id"]))
    values = X.to_numpy(dtype=np.float64)
    assert not np.isinf(values).any()
    for col in X.columns:
        nan = X[col].isna()
        if col in NAN_WHEN:
            assert nan.equals(NAN_WHEN[col](X)), col
        elif col.startswith("fb_") and not col.endswith("_n"):
            kind = col.split("_")[1]
            assert nan.equals(X[f"fb_{kind}_n"] == 0), col
        elif col == "top_item_share":
            assert not nan[X["n_distinct_items"] > 0].any()
        elif col.startswith("eng_") and col.endswith("_days_since"):
            counts = X[col.replace("_days_since", "_n_365d")]
            assert not nan[counts > 0].any(), col
        elif col.startswith("days_since_") or col.startswith("nps_"):
            continue  # NaN = never engaged / answered
        else:
            assert not nan.any(), col
    assert (X["recency_days"] >= 0).all() and (X["recency_days"] <= X["tenure_days"]).all()
    assert (X["n_orders"] >= 1).all() and (X["n_purchase_days"] >= 1).all()


def test_cdnow(cdnow_events: pd.DataFrame) -> None:
    X = customer_features(cdnow_events, "1997-10-01")
    check_features(X, cdnow_events, "1997-10-01")
    # the whole 1/10 cohort (first purchases Jan-Mar 1997) exists at the BG/NBD calibration end
    assert len(X) == 2357
    assert X["tenure_days"].min() >= 184  # first purchases end 1997-03-31 (1/10 sample cohort)
    y = churn_labels(cdnow_events, "1997-10-01", "273D")
    assert y.index.equals(X.index) and 0.3 < y.mean() < 0.9


def test_retail(retail_events: pd.DataFrame) -> None:
    X = customer_features(retail_events, "2010-09-01")
    check_features(X, retail_events, "2010-09-01")
    assert (X["n_orders"] >= X["n_purchase_days"]).all()  # invoices, several a day
    assert X["return_rate"].gt(0).any() and X["top_item_share"].between(0, 1).all()


def test_ml100k(ml100k_events: pd.DataFrame) -> None:
    X = customer_features(ml100k_events, "1998-01-01")
    check_features(X, ml100k_events, "1998-01-01")
    assert X["fb_rating_mean"].between(1, 5).all() and (X["fb_rating_n"] >= 1).all()


def test_training_frame_on_retail(retail_events: pd.DataFrame) -> None:
    cuts = snapshot_cutoffs("2010-12-01", "90D", 2)
    T = training_frame(retail_events, cuts, "90D")
    assert set(T["cutoff"]) == set(cuts)
    assert T["churned"].isin([0, 1]).all() and (T["future_value"] >= 0).all()
