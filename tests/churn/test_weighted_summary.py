"""BTYD fits on a summary collapsed to distinct rows with counts equal the fits on every customer
(issue 15/16: millions of customers aggregated bucket by bucket or on Spark, fitted from a few rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn import BGNBDModel, GammaGammaModel, rfm_summary

AS_OF = "1997-10-01"


@pytest.fixture(scope="module")
def summary(cdnow_events: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(cdnow_events, as_of=AS_OF)


def _collapsed(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return summary.groupby(columns, as_index=False).size().rename(columns={"size": "n"})


def test_bgnbd_on_distinct_rows_with_counts_equals_the_full_fit(summary: pd.DataFrame) -> None:
    full = BGNBDModel().fit_summary(summary)
    rows = _collapsed(summary, ["frequency", "recency", "T"])
    assert len(rows) < len(summary) / 2  # the point: far fewer rows than customers
    weighted = BGNBDModel().fit_summary(rows, weights="n")
    for name, value in full.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-6), name
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == full.n_customers_ == len(summary)
    # CDNOW golden numbers (Fader, Hardie & Lee 2005: r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert weighted.params_["r"] == pytest.approx(0.243, abs=1e-3)


def test_gamma_gamma_with_weights_equals_the_full_fit(summary: pd.DataFrame) -> None:
    full = GammaGammaModel().fit_summary(summary)
    rows = _collapsed(summary, ["frequency", "monetary_value"])
    weighted = GammaGammaModel().fit_summary(rows, weights=rows["n"].to_numpy())
    for name, value in full.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-6), name
    assert weighted.n_customers_ == full.n_customers_


def test_zero_weights_drop_rows(summary: pd.DataFrame) -> None:
    w = np.ones(len(summary))
    w[::2] = 0
    weighted = BGNBDModel().fit_summary(summary, weights=w)
    subset = BGNBDModel().fit_summary(summary.iloc[1::2])
    assert weighted.params_["alpha"] == pytest.approx(subset.params_["alpha"], rel=1e-6)


@pytest.mark.parametrize("weights", ["nope", np.ones(3), -np.ones(1), np.full(1, np.nan), [["a"]]])
def test_bad_weights_are_parameter_errors(summary: pd.DataFrame, weights: object) -> None:
    w = weights if not (isinstance(weights, np.ndarray) and len(weights) == 1) else np.resize(weights, len(summary))
    with pytest.raises(cxml.ParameterError, match="weights"):
        BGNBDModel().fit_summary(summary, weights=w)
    with pytest.raises(cxml.ParameterError, match="weights"):
        GammaGammaModel().fit_summary(summary, weights=w)
