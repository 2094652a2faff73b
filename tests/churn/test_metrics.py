"""cxml.churn.metrics: every value below is computed by hand in the comment next to it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn import metrics as m


def test_roc_auc_and_pr_auc() -> None:
    # positives 0.35 and 0.8 vs negatives 0.1 and 0.4: 3 of 4 pairs ordered right
    assert m.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert m.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert math.isnan(m.roc_auc([1, 1], [0.2, 0.3]))
    # AP: precision 1/1 at the first hit, 2/3 at the second, each weighing recall 1/2
    assert m.pr_auc([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 + 2 / 3 * 0.5)
    assert math.isnan(m.pr_auc([0, 0], [0.2, 0.3]))


def test_brier_and_log_loss() -> None:
    assert m.brier([1, 0], [0.8, 0.4]) == pytest.approx((0.2**2 + 0.4**2) / 2)
    assert m.log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert np.isfinite(m.log_loss([1, 0], [0.0, 1.0]))  # clipped, not infinite


def test_lift_and_capture_rate() -> None:
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.1, 0, 0, 0, 0, 0, 0]
    # top 20% = 2 customers with 1 churner: rate 0.5 vs base 0.2
    assert m.lift_at(y, p, k=0.2) == pytest.approx(2.5)
    assert m.capture_rate_at(y, p, k=0.2) == pytest.approx(0.5)
    # top 10% = 1 customer, a churner: lift 1 / 0.2
    assert m.lift_at(y, p) == pytest.approx(5.0)
    assert m.capture_rate_at(y, p, k=1.0) == pytest.approx(1.0)


def test_lift_ties_at_the_cut_are_shared() -> None:
    # top 1 of 4 falls in a 3-way tie holding 2 churners: expected 2/3 of a churner
    y, p = [1, 0, 1, 0], [0.5, 0.5, 0.5, 0.1]
    assert m.capture_rate_at(y, p, k=0.25) == pytest.approx(1 / 3)
    assert m.lift_at(y, p, k=0.25) == pytest.approx((2 / 3) / 0.5)
    # and the order of the tied rows does not matter
    assert m.lift_at([0, 1, 1, 0], p, k=0.25) == pytest.approx(m.lift_at(y, p, k=0.25))
    # ceil(0.1 * 25) = 3 customers in the top decile
    y25 = np.zeros(25)
    y25[:3] = 1
    assert m.capture_rate_at(y25, np.linspace(1, 0, 25)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k=0"):
        m.lift_at(y, p, k=0)


def test_calibration_table() -> None:
    table = m.calibration_table([0, 0, 1, 1, 1, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], n_bins=3)
    assert table.columns.tolist() == [
        "bin", "count", "mean_predicted", "observed_rate", "min_predicted", "max_predicted"
    ]
    assert table["bin"].tolist() == [1, 2, 3]
    assert table["count"].tolist() == [2, 2, 2]
    np.testing.assert_allclose(table["mean_predicted"], [0.15, 0.35, 0.55])
    np.testing.assert_allclose(table["observed_rate"], [0.0, 1.0, 0.5])
    assert len(m.calibration_table([0, 1], [0.2, 0.4], n_bins=10)) == 2  # empty bins are omitted


def test_churn_metrics_dict() -> None:
    out = m.churn_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert set(out) == {
        "roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10", "capture_rate_at_10", "base_rate", "n"
    }
    assert out["roc_auc"] == pytest.approx(0.75)
    assert out["n"] == 4 and out["base_rate"] == 0.5


def test_regression_errors() -> None:
    actual, pred = [1, 2, 3], [2, 2, 5]
    assert m.mae(actual, pred) == pytest.approx(1.0)  # (1 + 0 + 2) / 3
    assert m.rmse(actual, pred) == pytest.approx(math.sqrt(5 / 3))  # (1 + 0 + 4) / 3
    assert m.total_error(actual, pred) == pytest.approx(0.5)  # (9 - 6) / 6
    # rank differences 0, 0, 1, -1: 1 - 6 * 2 / (4 * 15)
    assert m.spearman([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    assert math.isnan(m.spearman([1, 2, 3], [5, 5, 5]))


def test_normalized_gini() -> None:
    actual = [0, 0, 1, 3]
    assert m.normalized_gini(actual, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)
    assert m.normalized_gini(actual, [0.4, 0.3, 0.2, 0.1]) == pytest.approx(-1.0)
    assert m.normalized_gini(actual, [1, 1, 1, 1]) == pytest.approx(0.0)  # no ranking at all
    # order 3, 0, 1, 0: cumulative shares .75 .75 1 1 -> 3.5/4 - 5/8 = .25; perfect: .3125
    assert m.normalized_gini([3, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.8)
    # for a 0/1 outcome the normalized Gini is 2 AUC - 1
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = y + rng.normal(0, 1.5, 500)
    assert m.normalized_gini(y, s) == pytest.approx(2 * m.roc_auc(y, s) - 1, abs=1e-9)
    assert math.isnan(m.normalized_gini([0, 0], [1, 2]))


def test_decile_mape() -> None:
    # 2 bins by prediction: {1, 2} predicts 3 for actual 2 (50%), {3, 4} predicts 7 for actual 4 (75%)
    assert m.decile_mape([1, 1, 2, 2], [1, 2, 3, 4], n_bins=2) == pytest.approx(0.625)
    with pytest.warns(cxml.DataWarning, match="1 of 2 bins"):
        assert m.decile_mape([0, 0, 2, 2], [1, 2, 3, 4], n_bins=2) == pytest.approx(0.75)


def test_cltv_metrics_dict() -> None:
    out = m.cltv_metrics([1, 2, 3, 4], [10, 20, 40, 30])
    assert set(out) == {"spearman", "normalized_gini", "mae", "rmse", "decile_mape", "total_error", "n"}
    assert out["spearman"] == pytest.approx(0.8)


def test_sliced_reports_each_slice_with_its_size() -> None:
    y = [0, 1, 0, 1, 1, 0, 1]
    p = [0.1, 0.9, 0.2, 0.3, 0.6, 0.7, 0.5]
    country = ["UK", "UK", "UK", "FR", "FR", "FR", "DE"]
    table = m.sliced(m.roc_auc, y, p, country)
    assert table["slice"].tolist() == ["DE", "FR", "UK", "__all__"]
    assert table["size"].tolist() == [1, 3, 3, 7]
    assert math.isnan(table.loc[0, "roc_auc"])  # one class only: undefined, not an error
    assert table.loc[1, "roc_auc"] == pytest.approx(0.0)  # FR: the churners score below the stayer
    assert table.loc[2, "roc_auc"] == pytest.approx(1.0)
    both = m.sliced(m.churn_metrics, y, p, np.array(country))
    assert {"slice", "size", "roc_auc", "brier"} <= set(both.columns)
    assert isinstance(both, pd.DataFrame) and len(both) == 4


def test_input_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="y has 2 values but p has 3"):
        m.roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="not in"):
        m.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        m.brier([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match="non-finite"):
        m.mae([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="slices has 1 missing"):
        m.sliced(m.roc_auc, [0, 1], [0.1, 0.2], ["a", None])
