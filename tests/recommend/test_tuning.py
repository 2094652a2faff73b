"""tune: grid and random search on a validation slice, checked against a hand-written loop."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.recommend import (
    DEFAULT_GRIDS,
    ALSRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate,
    temporal_split,
)
from cxml.recommend.tuning import METRICS, param_candidates, tune

GRID: dict[str, list[Any]] = {"k_neighbors": [1, 3, 10], "shrinkage": [0.0, 5.0]}


@pytest.fixture(scope="module")
def split(small_events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return temporal_split(small_events, test_fraction=0.3)


def test_grid_picks_what_a_manual_loop_picks(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, valid = split
    manual = []
    for kn, sh in itertools.product(GRID["k_neighbors"], GRID["shrinkage"]):
        model = ItemKNNRecommender(k_neighbors=kn, shrinkage=sh).fit(train)
        manual.append(({"k_neighbors": kn, "shrinkage": sh}, evaluate(model, train, valid, k=5)["ndcg"]))
    best_params, best_score = max(manual, key=lambda ps: ps[1])  # max keeps the first of ties

    res = tune(ItemKNNRecommender, train, valid, GRID, k=5)
    assert res.best_params_ == best_params
    assert res.best_score_ == pytest.approx(best_score)
    trials = res.trials_
    assert len(trials) == 6 and trials["error"].eq("").all()
    assert trials["ndcg"].is_monotonic_decreasing and trials["ndcg"].nunique() > 1
    assert sorted(trials["ndcg"]) == pytest.approx(sorted(s for _, s in manual))
    assert json.loads(trials["params"].iloc[0]) == best_params
    assert {"trial", "k_neighbors", "shrinkage", "params", *METRICS, "fit_seconds"} <= set(trials.columns)
    # the returned estimator is the winning trial, fitted on train
    assert res.best_estimator_.get_params()["k_neighbors"] == best_params["k_neighbors"]
    assert evaluate(res.best_estimator_, train, valid, k=5)["ndcg"] == pytest.approx(best_score)


def test_other_metric_ranks_by_it(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res = tune(ItemKNNRecommender, *split, GRID, k=5, metric="recall")
    assert res.trials_["recall"].is_monotonic_decreasing
    assert res.best_score_ == res.trials_["recall"].max()


def test_deterministic_random_search(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    grid: dict[str, list[Any]] = {"factors": [4, 8], "regularization": [0.1, 1.0], "alpha": [1.0, 5.0],
                                  "iterations": [3]}
    runs = [tune(ALSRecommender(n_jobs=1), *split, grid, n_trials=3, k=5, random_state=7)
            for _ in range(2)]
    a, b = (r.trials_.drop(columns="fit_seconds") for r in runs)
    pd.testing.assert_frame_equal(a, b)
    assert runs[0].best_params_ == runs[1].best_params_ and len(a) == 3
    # the tuner seeds models that take a random_state
    assert runs[0].best_estimator_.random_state == 7


def test_param_candidates_draws_from_the_grid() -> None:
    space: dict[str, list[Any]] = {"a": [1, 2, 3], "b": ["x", "y"], "c": [None, 1.5]}
    full = param_candidates(space)
    assert len(full) == 12 and full[0] == {"a": 1, "b": "x", "c": None}
    drawn = param_candidates(space, n_trials=4, random_state=1)
    assert len(drawn) == 4 and all(d in full for d in drawn)
    assert len({json.dumps(d) for d in drawn}) == 4
    assert drawn == param_candidates(space, n_trials=4, random_state=1)
    assert param_candidates(space, n_trials=50) == full


def test_default_space_when_no_grid(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res = tune(PopularityRecommender, *split, k=5)
    assert len(res.trials_) == len(DEFAULT_GRIDS["popularity"]["half_life"])
    drawn = tune(EASERecommender, *split, n_trials=2, k=5)
    assert len(drawn.trials_) == 2
    assert set(drawn.trials_["l2"]) <= set(DEFAULT_GRIDS["ease"]["l2"])


def test_memory_budget_trial_is_recorded_not_raised(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res = tune(EASERecommender, *split, {"max_memory_bytes": [100, 10**8]}, k=5)
    assert res.best_params_ == {"max_memory_bytes": 10**8}
    failed = res.trials_.iloc[-1]
    assert np.isnan(failed["ndcg"]) and failed["error"].startswith("MemoryBudgetError")
    with pytest.raises(cxml.MemoryBudgetError):
        tune(EASERecommender, *split, {"max_memory_bytes": [100]}, k=5)


def test_fit_kwargs_reach_fit(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    res = tune(PopularityRecommender, *split, {"by": ["weight"]}, k=5, fit_kwargs={"weight": "quantity"})
    assert res.best_estimator_.weight_ == "quantity"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "auc"}, "metric='auc'"),
        ({"n_trials": 0}, "n_trials=0"),
        ({"k": 0}, "k=0"),
        ({"param_grid": {"nope": [1]}}, "nope"),
        ({"param_grid": {"k_neighbors": []}}, "k_neighbors"),
        ({"param_grid": {"k_neighbors": 5}}, "k_neighbors"),
    ],
)
def test_bad_arguments(
    split: tuple[pd.DataFrame, pd.DataFrame], kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(cxml.ParameterError, match=match):
        tune(ItemKNNRecommender, *split, **kwargs)  # type: ignore[arg-type]


def test_model_must_be_a_recommender(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(cxml.ParameterError, match="model_cls"):
        tune(dict, *split, GRID)  # type: ignore[arg-type]
