"""The paired bootstrap: vectorised resample metrics equal a loop over explicit resamples, and the
intervals behave where the truth is known."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cxml.churn import metrics as M
from cxml.evaluate import _weighted as wm
from cxml.evaluate import paired_bootstrap
from cxml.evaluate.bootstrap import METRICS, interval, resample_counts
from cxml.exceptions import ParameterError

REFERENCE = {
    "roc_auc": M.roc_auc, "pr_auc": M.pr_auc, "brier": M.brier, "log_loss": M.log_loss,
    "lift_at_10": lambda y, p: M.lift_at(y, p, 0.1), "capture_rate_at_10": lambda y, p: M.capture_rate_at(y, p, 0.1),
    "spearman": M.spearman, "normalized_gini": M.normalized_gini, "mae": M.mae, "rmse": M.rmse,
    "decile_mape": M.decile_mape,
}


def _data(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth and two forecasts with many ties (rounded), as real scores have."""
    rng = np.random.default_rng(seed)
    if task == "churn":
        p = rng.random(n)
        y = (rng.random(n) < p).astype(np.float64)
        return y, np.round(p, 1), np.round(rng.random(n), 1)
    actual = np.where(rng.random(n) < 0.5, 0.0, np.round(rng.lognormal(2, 1, n)))
    return actual, np.round(actual * rng.random(n) + 3 * rng.random(n)), np.round(5 * rng.random(n))


@pytest.mark.parametrize("task,metric", [(t, m) for t in METRICS for m in METRICS[t]])
def test_point_estimate_equals_churn_metrics(task: str, metric: str) -> None:
    truth, model, _ = _data(task, 257, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = REFERENCE[metric](truth, model)
    got = METRICS[task][metric].fn(np.ones((1, truth.size)), truth, model)[0]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("task,metric", [(t, m) for t in METRICS for m in METRICS[t]])
def test_paired_bootstrap_equals_naive_loop(task: str, metric: str) -> None:
    truth, model, base = _data(task, 120, 2)
    n_boot, seed = 60, 7
    got = paired_bootstrap(metric, truth, model, base, n_boot=n_boot, random_state=seed)
    # the same resamples, expanded into explicit customer lists and scored one by one
    counts = np.vstack(list(resample_counts(truth.size, n_boot, np.random.default_rng(seed))))
    diffs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in counts:
            idx = np.repeat(np.arange(truth.size), row.astype(int))
            diffs.append(REFERENCE[metric](truth[idx], model[idx]) - REFERENCE[metric](truth[idx], base[idx]))
    low, high = interval(np.asarray(diffs))
    assert got["ci_low"] == pytest.approx(low, rel=1e-9, abs=1e-12)
    assert got["ci_high"] == pytest.approx(high, rel=1e-9, abs=1e-12)


def test_resample_counts_are_multisets_of_n() -> None:
    chunks = list(resample_counts(50, 450, np.random.default_rng(0)))
    assert [len(c) for c in chunks] == [200, 200, 50]
    assert all((c.sum(axis=1) == 50).all() for c in chunks)


def test_true_score_beats_noise_with_interval_above_zero() -> None:
    rng = np.random.default_rng(3)
    p_true = rng.beta(2, 2, 3000)
    y = (rng.random(3000) < p_true).astype(np.float64)
    noisy = np.clip(p_true + rng.normal(0, 0.3, 3000), 0, 1)
    for metric in ("roc_auc", "pr_auc", "lift_at_10"):
        r = paired_bootstrap(metric, y, p_true, noisy, n_boot=300, random_state=0)
        assert r["difference"] > 0 and r["ci_low"] > 0, (metric, r)
    r = paired_bootstrap("brier", y, p_true, noisy, n_boot=300, random_state=0)
    assert r["ci_high"] < 0  # lower is better: the true probabilities have the smaller Brier score


def test_identical_scores_give_zero_difference_and_an_interval_containing_zero() -> None:
    truth, model, _ = _data("cltv", 500, 4)
    r = paired_bootstrap("spearman", truth, model, model.copy(), n_boot=200)
    assert r["difference"] == 0.0
    assert r["ci_low"] <= 0.0 <= r["ci_high"]


def test_deterministic_for_a_seed() -> None:
    truth, model, base = _data("churn", 400, 5)
    a = paired_bootstrap("roc_auc", truth, model, base, n_boot=100, random_state=11)
    b = paired_bootstrap("roc_auc", truth, model, base, n_boot=100, random_state=11)
    c = paired_bootstrap("roc_auc", truth, model, base, n_boot=100, random_state=12)
    assert a == b
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])


def test_single_class_resamples_are_nan_not_errors() -> None:
    W = np.ones((1, 4))
    assert np.isnan(wm.roc_auc(W, np.zeros(4), np.arange(4.0))[0])
    assert np.isnan(wm.spearman(W, np.ones(4), np.arange(4.0))[0])


@pytest.mark.parametrize(
    "kwargs",
    [{"metric": "accuracy"}, {"n_boot": 0}, {"confidence": 1.0}, {"confidence": 0.0}, {"model": [0.1, 0.2]},
     {"model": [np.nan] * 4}],
)
def test_bad_arguments_raise_parameter_error(kwargs: dict) -> None:
    args = {"metric": "roc_auc", "truth": [0, 1, 0, 1], "model": [0.1, 0.9, 0.2, 0.8], "baseline": [0.5] * 4}
    args.update(kwargs)
    with pytest.raises(ParameterError):
        paired_bootstrap(args.pop("metric"), args.pop("truth"), args.pop("model"), args.pop("baseline"), **args)
