"""Labels, multi-snapshot training frames and the leakage guard on tiny hand-checked frames."""

from __future__ import annotations

import pandas as pd
import pytest

import cxml
from cxml.features import (
    LABEL_COLUMNS,
    churn_labels,
    customer_features,
    future_value,
    snapshot_cutoffs,
    training_frame,
)


def events() -> pd.DataFrame:
    # a buys again in the window; b does not; e only returns goods in the window; d is new in it
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "e", "e", "d", "a"],
            "timestamp": [
                "2024-01-05",
                "2024-02-10",
                "2024-02-12",
                "2024-01-02",
                "2024-01-05",
                "2024-02-03",
                "2024-02-04",
                "2024-04-30",
            ],
            "quantity": [1.0, 2.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0],
            "amount": [10.0, 40.0, -15.0, 7.0, 50.0, -50.0, 9.0, 3.0],
        }
    )
    return cxml.load_events(raw)


def test_churn_labels_and_future_value() -> None:
    ev = events()
    y = churn_labels(ev, as_of="2024-02-01", horizon="30D")
    v = future_value(ev, as_of="2024-02-01", horizon="30D")
    assert y.to_dict() == {"a": 0, "b": 1, "e": 1}  # e's refund is not a purchase; d is not yet a customer
    assert str(y.dtype) == "int8" and y.name == "churned" and y.index.name == "customer_id"
    assert v.to_dict() == {"a": 25.0, "b": 0.0, "e": 0.0}  # 40 - 15; e's -50 is clipped at 0
    assert v.name == "future_value"


def test_label_window_is_half_open() -> None:
    ev = events()
    # [2024-01-11, 2024-02-10): a's 02-10 purchase is outside
    assert churn_labels(ev, as_of="2024-01-11", horizon="30D")["a"] == 1
    assert churn_labels(ev, as_of="2024-01-11", horizon="31D")["a"] == 0


def test_training_frame_stacks_features_and_labels() -> None:
    ev = events()
    cuts = ["2024-01-15", "2024-02-05"]
    T = training_frame(ev, cutoffs=cuts, horizon="30D", windows=("30D",))
    assert list(T.columns[-3:]) == list(LABEL_COLUMNS)
    assert T.attrs["cxml_feature_names"] == list(T.columns[:-3])
    for cut in cuts:
        part = T[T["cutoff"] == pd.Timestamp(cut)]
        X = customer_features(ev, cut, windows=("30D",))
        pd.testing.assert_frame_equal(part[X.columns], X, check_names=True)
        pd.testing.assert_series_equal(part["churned"], churn_labels(ev, cut, "30D"))
        pd.testing.assert_series_equal(part["future_value"], future_value(ev, cut, "30D"))
    assert T[T["cutoff"] == pd.Timestamp("2024-02-05")].index.tolist() == ["a", "b", "d", "e"]


def test_snapshots_get_the_same_columns() -> None:
    ev = events()
    view = cxml.load_events(
        pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-02-01"], "event_type": ["view"]})
    )
    both = pd.concat([ev, view], ignore_index=True).sort_values("timestamp", kind="stable")
    T = training_frame(both, cutoffs=["2024-01-15", "2024-02-05"], horizon="30D", windows=("30D",))
    # the view type appears only after the first cutoff, yet both snapshots have its columns
    early = T[T["cutoff"] == pd.Timestamp("2024-01-15")]
    assert (early["eng_view_n_30d"] == 0).all() and early["eng_view_days_since"].isna().all()


def test_leakage_guard_label_window_not_covered() -> None:
    ev = events()  # last event 2024-04-30
    training_frame(ev, cutoffs=["2024-04-01"], horizon="30D")  # window's last day is 04-30: covered
    with pytest.raises(cxml.LeakageError, match="not fully observed"):
        training_frame(ev, cutoffs=["2024-01-01", "2024-04-02"], horizon="30D")
    with pytest.raises(ValueError):  # LeakageError is a ValueError for callers that catch those
        training_frame(ev, cutoffs=["2024-06-01"], horizon="1D")


def test_leakage_guard_features_from_after_the_cutoff() -> None:
    ev = events()
    late = customer_features(ev, "2024-02-20")
    with pytest.raises(cxml.LeakageError, match="later than their cutoff"):
        training_frame(ev, cutoffs=["2024-02-05"], horizon="30D", features=[late])
    unknown = late.copy()
    unknown.attrs = {}
    with pytest.raises(cxml.LeakageError, match="cxml_as_of"):
        training_frame(ev, cutoffs=["2024-02-05"], horizon="30D", features=[unknown])


def test_precomputed_features_are_aligned_and_gaps_counted() -> None:
    ev = events()
    early = customer_features(ev, "2024-01-10")  # a, b, e exist; d does not yet
    with pytest.warns(cxml.DataWarning, match="1 of 4 customers"):
        T = training_frame(ev, cutoffs=["2024-02-05"], horizon="30D", features=[early])
    assert T.index.tolist() == ["a", "b", "e"]
    assert T["churned"].tolist() == [0, 1, 1]


def test_bad_cutoffs() -> None:
    ev = events()
    with pytest.raises(cxml.ParameterError, match="repeat"):
        training_frame(ev, cutoffs=["2024-02-01", "2024-02-01"], horizon="30D")
    with pytest.raises(cxml.ParameterError, match="non-empty"):
        training_frame(ev, cutoffs=[], horizon="30D")
    with pytest.raises(cxml.ParameterError, match="horizon"):
        training_frame(ev, cutoffs=["2024-02-01"], horizon="-3D")
    with pytest.raises(cxml.InsufficientDataError, match="no customer"):
        training_frame(ev, cutoffs=["2023-01-01"], horizon="30D")


def test_snapshot_cutoffs_end_their_windows_by_as_of() -> None:
    cuts = snapshot_cutoffs("2011-09-01", "90D", 3)
    assert cuts == sorted(cuts) and len(cuts) == 3
    assert cuts[-1] + pd.Timedelta("90D") == pd.Timestamp("2011-09-01")
    assert all(b - a == pd.Timedelta("90D") for a, b in zip(cuts, cuts[1:], strict=False))
    weekly = snapshot_cutoffs("2011-09-01", "90D", 2, step="7D")
    assert weekly == [pd.Timestamp("2011-05-27"), pd.Timestamp("2011-06-03")]
    with pytest.raises(cxml.ParameterError, match="n="):
        snapshot_cutoffs("2011-09-01", "90D", 0)


def test_observed_until_replaces_the_data_end() -> None:
    ev = events()
    quiet = ev[ev["timestamp"] < pd.Timestamp("2024-03-01")]  # last event 02-12, then quiet
    with pytest.raises(cxml.LeakageError, match="2024-02-12"):
        training_frame(quiet, cutoffs=["2024-01-25"], horizon="30D")
    T = training_frame(quiet, cutoffs=["2024-01-25"], horizon="30D", observed_until="2024-03-01")
    assert T.loc["a", "churned"] == 0
    with pytest.raises(cxml.LeakageError, match="observed_until"):
        training_frame(quiet, cutoffs=["2024-02-05"], horizon="30D", observed_until="2024-03-01")
