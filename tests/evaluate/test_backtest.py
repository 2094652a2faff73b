"""``cxml.evaluate.backtest`` on a small generated dataset: shape, pooling, determinism, validation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.data.sample import generate_sample
from cxml.evaluate import COLUMNS, backtest
from cxml.evaluate import _weighted as wm
from cxml.evaluate._tasks import Comparison
from cxml.evaluate.backtest import _cells
from cxml.exceptions import LeakageError, ParameterError, SchemaError

CUTOFFS = ["2024-06-01", "2024-09-01"]
FAST = {"churn": {"n_snapshots": 1}, "cltv": {"n_snapshots": 1}, "recommend": "itemknn"}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=400, n_items=40, random_state=0))


@pytest.fixture(scope="module")
def result(events: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return backtest(events, CUTOFFS, horizon="90D", models=FAST, n_boot=200, random_state=0)


def test_tidy_rows_per_cutoff_task_metric_and_pooled(result: pd.DataFrame) -> None:
    assert list(result.columns) == list(COLUMNS)
    assert list(dict.fromkeys(result["cutoff"])) == [*CUTOFFS, "pooled"]
    assert set(result["task"]) == {"churn", "cltv", "recommend"}
    per = result.groupby("cutoff").size()
    assert per["2024-06-01"] == per["2024-09-01"] == per["pooled"]
    assert result["crosses_zero"].dtype == bool
    finite = result.dropna(subset=["ci_low", "ci_high"])
    assert len(finite) >= 0.8 * len(result)
    assert (finite["ci_low"] <= finite["ci_high"]).all()
    assert (finite["crosses_zero"] == ((finite["ci_low"] <= 0) & (finite["ci_high"] >= 0))).all()
    np.testing.assert_allclose(result["difference"], result["model"] - result["baseline"])


def test_strongest_baseline_is_the_best_point_estimate(result: pd.DataFrame) -> None:
    scores = result.attrs["scores"]
    for _, row in result.loc[(result["cutoff"] != "pooled") & (result["task"] == "churn")].iterrows():
        mine = scores.loc[(scores["cutoff"] == row["cutoff"]) & (scores["metric"] == row["metric"])
                          & (scores["task"] == "churn") & (scores["scorer"] != "model")].dropna()
        best = mine["value"].min() if row["metric"] in ("brier", "log_loss") else mine["value"].max()
        assert row["baseline"] == pytest.approx(best)


def test_pooled_row_averages_the_cutoffs(result: pd.DataFrame) -> None:
    for _, rows in result.groupby(["task", "metric"]):
        per, pooled = rows.loc[rows["cutoff"] != "pooled"], rows.loc[rows["cutoff"] == "pooled"].iloc[0]
        assert pooled["model"] == pytest.approx(per["model"].mean())
        assert pooled["difference"] == pytest.approx(per["difference"].mean())
        assert pooled["n_customers"] == per["n_customers"].sum()


def test_deterministic_for_random_state(events: pd.DataFrame, result: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        again = backtest(events, CUTOFFS, horizon="90D", models=FAST, n_boot=200, random_state=0)
    pd.testing.assert_frame_equal(again, result)


def test_model_identical_to_its_baseline_has_zero_difference() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(np.float64)
    same = {"roc_auc": lambda W: wm.roc_auc(W, y, p)}
    other = {"roc_auc": lambda W: wm.roc_auc(W, y, rng.random(500).round(1))}
    cells = _cells(Comparison(500, {"model": same, "copy": dict(same), "noise": other}), 300,
                   np.random.default_rng(1))
    cell = cells["roc_auc"]
    assert cell.baseline_name == "copy" and cell.model == cell.baseline
    assert np.all(cell.replicates == 0.0)


def test_true_churn_probability_beats_its_baselines_with_interval_above_zero() -> None:
    rng = np.random.default_rng(2)
    p = rng.beta(1, 1, 2000)
    y = (rng.random(2000) < p).astype(np.float64)
    noisy = np.clip(p + rng.normal(0, 0.4, 2000), 0, 1)
    scorers = {"model": {"roc_auc": lambda W: wm.roc_auc(W, y, p)},
               "noisy": {"roc_auc": lambda W: wm.roc_auc(W, y, noisy)}}
    cell = _cells(Comparison(2000, scorers), 300, np.random.default_rng(0))["roc_auc"]
    assert cell.model > cell.baseline
    assert np.percentile(cell.replicates, 2.5) > 0


def test_unobserved_window_is_leakage(events: pd.DataFrame) -> None:
    with pytest.raises(LeakageError, match="not observed"):
        backtest(events, ["2024-06-01", "2024-12-01"], horizon="90D", models={"churn": {}})


@pytest.mark.parametrize(
    "cutoffs", [[], ["2024-06-01", "2024-06-01"], "2024-06-01", ["not a date"], ["2000-01-01"]],
)
def test_bad_cutoffs_raise_parameter_error(events: pd.DataFrame, cutoffs: object) -> None:
    with pytest.raises((ParameterError, SchemaError)):
        backtest(events, cutoffs, models={"churn": {}})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "models", [{}, {"uplift": {}}, {"churn": {"n_trees": 3}}, {"churn": 3}, {"recommend": 4}, "churn"],
)
def test_bad_models_raise_parameter_error(events: pd.DataFrame, models: object) -> None:
    with pytest.raises(ParameterError):
        backtest(events, CUTOFFS, models=models)  # type: ignore[arg-type]


def test_recommend_without_items_is_a_schema_error(events: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="item_id"):
        backtest(events.drop(columns="item_id"), CUTOFFS, models={"recommend": "auto"})


@pytest.mark.parametrize("kwargs", [{"n_boot": 0}, {"confidence": 1.5}, {"k": 0}, {"horizon": "soon"}])
def test_bad_settings_raise(events: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        backtest(events, CUTOFFS, models={"churn": {}}, **kwargs)
