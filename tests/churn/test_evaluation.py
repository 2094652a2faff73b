"""evaluate_churn / evaluate_cltv on real data: model vs the PROTOCOL.md baselines."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn.churn_model import ChurnModel
from cxml.churn.cltv_model import CLTVModel
from cxml.churn.evaluation import (
    CHURN_BASELINES,
    baseline_churn_scores,
    evaluate_churn,
    evaluate_cltv,
)

AS_OF = "1997-10-01"


@pytest.fixture(scope="module")
def fitted(cdnow_events: pd.DataFrame) -> tuple[ChurnModel, CLTVModel]:
    # CDNOW has 39 weeks before 1997-10-01: 3 cutoffs 90 days apart (07-03, 04-04, 01-04) all have buyers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        churn = ChurnModel(horizon="90D", n_snapshots=3).fit(cdnow_events, as_of=AS_OF)
        cltv = CLTVModel(horizon="90D", n_snapshots=3).fit(cdnow_events, as_of=AS_OF)
    return churn, cltv


def test_evaluate_churn_cdnow(fitted, cdnow_events: pd.DataFrame) -> None:
    report = evaluate_churn(fitted[0], cdnow_events, AS_OF)
    assert report["n_customers"] == 2357
    assert 0 < report["churn_rate"] < 1
    auc = report["model"]["roc_auc"]
    assert math.isfinite(auc) and auc > 0.5
    assert set(report["baselines"]) == set(CHURN_BASELINES)
    for name, m in report["baselines"].items():
        assert math.isfinite(m["roc_auc"]), name
    assert report["best_baseline"] in CHURN_BASELINES
    assert report["model_beats_baselines"] == (auc > report["baselines"][report["best_baseline"]]["roc_auc"])
    # the score-only baselines have no Brier score; the BG/NBD probabilities do
    assert math.isnan(report["baselines"]["recency"]["brier"])
    assert 0 < report["baselines"]["bgnbd_p_no_purchase"]["brier"] < 1


def test_baseline_scores_follow_protocol(cdnow_events: pd.DataFrame) -> None:
    s = baseline_churn_scores(cdnow_events, AS_OF, "90D")
    rows = cdnow_events.loc[(cdnow_events["customer_id"] == "1") & (cdnow_events["timestamp"] < AS_OF)]
    assert s.loc["1", "recency"] == (pd.Timestamp(AS_OF) - rows["timestamp"].max()).days
    assert len(s) == 2357
    assert (s["bgnbd_1_minus_p_alive"].between(0, 1)).all()
    assert (s["bgnbd_neg_expected_purchases"] <= 0).all()


def test_evaluate_churn_slices(fitted, cdnow_events: pd.DataFrame) -> None:
    ids = fitted[0].predict(cdnow_events, AS_OF)["customer_id"]
    groups = pd.Series(np.where(ids.astype(int) % 2 == 0, "even", "odd"), index=ids)
    table = evaluate_churn(fitted[0], cdnow_events, AS_OF, slices=groups)["slices"]
    assert table["slice"].tolist() == ["even", "odd", "__all__"]
    assert table["size"].tolist()[:2] == [int((groups == "even").sum()), int((groups == "odd").sum())]
    assert table["size"].iloc[-1] == 2357
    assert {"roc_auc", "brier", "recency_roc_auc"} <= set(table.columns)


def test_evaluate_churn_country_slices(retail_events: pd.DataFrame) -> None:
    customers = retail_events["customer_id"].drop_duplicates().iloc[::4]  # every 4th customer
    ev = retail_events.loc[retail_events["customer_id"].isin(customers)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        model = ChurnModel(horizon="90D", n_snapshots=2).fit(ev, as_of="2010-09-01")
        report = evaluate_churn(model, ev, "2010-09-01", slices="country")
    table = report["slices"]
    assert "United Kingdom" in set(table["slice"])
    assert table.loc[table["slice"] != "__all__", "size"].sum() == report["n_customers"]
    assert report["model"]["roc_auc"] > 0.5


def test_evaluate_cltv_cdnow(fitted, cdnow_events: pd.DataFrame) -> None:
    report = evaluate_cltv(fitted[1], cdnow_events, AS_OF)
    assert report["n_customers"] == 2357
    for key in ("spearman", "normalized_gini", "mae", "rmse"):
        assert math.isfinite(report["model"][key]), key
    assert report["model"]["spearman"] > 0
    assert {"bgnbd_gamma_gamma", "recent_spend"} <= set(report["baselines"])
    ref = report["baselines"]["bgnbd_gamma_gamma"]
    assert report["model_beats_baselines"] == (
        report["model"]["spearman"] >= ref["spearman"]
        and report["model"]["normalized_gini"] >= ref["normalized_gini"]
    )


def test_evaluation_errors(fitted, cdnow_events: pd.DataFrame) -> None:
    with pytest.raises(cxml.InsufficientDataError, match="observed"):
        evaluate_churn(fitted[0], cdnow_events, "1998-05-01")  # 90 days run past 1998-06-30
    with pytest.raises(cxml.NotFittedError):
        evaluate_churn(ChurnModel(), cdnow_events, AS_OF)
    with pytest.raises(cxml.SchemaError, match="slices"):
        evaluate_churn(fitted[0], cdnow_events, AS_OF, slices="no_such_column")
