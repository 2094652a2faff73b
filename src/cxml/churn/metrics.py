"""Churn and CLTV evaluation metrics: pure, vectorised functions on arrays.

Churn metrics take ``y`` (1 = churned, 0 = stayed) and ``p`` (predicted churn probability or any
score where higher means more likely to churn); CLTV metrics take ``actual`` and ``pred`` values.
Undefined values (e.g. ROC-AUC of a slice with a single class) are ``nan``, never an exception, so
per-slice tables stay whole. Ties in the scores are handled by expectation over a random ordering of
the tied customers, so results never depend on the input order.

Examples
--------
>>> from cxml.churn import metrics
>>> metrics.lift_at([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [0.9, 0.8, 0.7, 0.1, 0, 0, 0, 0, 0, 0], k=0.2)
2.5
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from cxml._checks import check_float, check_int
from cxml.exceptions import DataWarning, ParameterError

__all__ = [
    "brier",
    "calibration_table",
    "capture_rate_at",
    "churn_metrics",
    "cltv_metrics",
    "decile_mape",
    "log_loss",
    "lift_at",
    "mae",
    "normalized_gini",
    "pr_auc",
    "rmse",
    "roc_auc",
    "sliced",
    "spearman",
    "total_error",
]


def _pair(names: tuple[str, str], first: Any, second: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two inputs as flat float64 arrays of the same, non-zero length."""
    try:
        a = np.asarray(first, dtype=np.float64).ravel()
        b = np.asarray(second, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{names[0]} and {names[1]} must be arrays of numbers: {exc}") from exc
    if a.shape != b.shape:
        raise ParameterError(f"{names[0]} has {a.size} values but {names[1]} has {b.size}; expected the same length")
    if a.size == 0:
        raise ParameterError(f"{names[0]} is empty; expected at least one customer")
    return a, b


def _scores(y: Any, p: Any, *, probability: bool = False) -> tuple[np.ndarray, np.ndarray]:
    yy, pp = _pair(("y", "p"), y, p)
    bad_y = ~np.isin(yy, (0.0, 1.0))
    if np.any(bad_y):
        raise ParameterError(f"y has {int(bad_y.sum())} values not in {{0, 1}} (first: {yy[bad_y][0]!r})")
    bad_p = ~np.isfinite(pp) | ((pp < 0) | (pp > 1) if probability else False)
    if np.any(bad_p):
        expected = "probabilities in [0, 1]" if probability else "finite scores"
        raise ParameterError(
            f"p has {int(bad_p.sum())} invalid values (first: {pp[bad_p][0]!r}); expected {expected}"
        )
    return yy, pp


def _values(actual: Any, pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a, p = _pair(("actual", "pred"), actual, pred)
    for name, v in (("actual", a), ("pred", p)):
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"{name} has {int((~np.isfinite(v)).sum())} non-finite values")
    return a, p


# --------------------------------------------------------------------------- churn
def roc_auc(y: Any, p: Any) -> float:
    """ROC-AUC (``nan`` when ``y`` has a single class).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    yy, pp = _scores(y, p)
    if np.unique(yy).size < 2:
        return math.nan
    return float(skm.roc_auc_score(yy, pp))


def pr_auc(y: Any, p: Any) -> float:
    """Area under the precision-recall curve as average precision (``nan`` without positives)."""
    yy, pp = _scores(y, p)
    if not np.any(yy == 1):
        return math.nan
    return float(skm.average_precision_score(yy, pp))


def brier(y: Any, p: Any) -> float:
    """Brier score: mean squared error of the probabilities."""
    yy, pp = _scores(y, p, probability=True)
    return float(np.mean((pp - yy) ** 2))


def log_loss(y: Any, p: Any, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood; probabilities clipped to ``[eps, 1 - eps]``."""
    yy, pp = _scores(y, p, probability=True)
    pp = np.clip(pp, eps, 1 - eps)
    return float(-np.mean(yy * np.log(pp) + (1 - yy) * np.log1p(-pp)))


def _top_k_positives(yy: np.ndarray, pp: np.ndarray, k: float) -> tuple[float, int]:
    """Expected positives among the top ``ceil(k n)`` scores, ties at the cut shared pro rata."""
    k = check_float("k", k, minimum=0.0, exclusive_minimum=True, maximum=1.0)
    n_top = math.ceil(k * yy.size - 1e-9)
    cut = np.sort(pp)[::-1][n_top - 1]
    above, at = pp > cut, pp == cut
    share = (n_top - above.sum()) / at.sum()
    return float(yy[above].sum() + share * yy[at].sum()), n_top


def lift_at(y: Any, p: Any, k: float = 0.1) -> float:
    """Churn rate among the top ``k`` fraction by score divided by the overall churn rate."""
    yy, pp = _scores(y, p)
    if not np.any(yy == 1):
        return math.nan
    hits, n_top = _top_k_positives(yy, pp, k)
    return float((hits / n_top) / yy.mean())


def capture_rate_at(y: Any, p: Any, k: float = 0.1) -> float:
    """Share of all churners found in the top ``k`` fraction by score.

    >>> capture_rate_at([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.0], k=0.25)
    0.5
    """
    yy, pp = _scores(y, p)
    if not np.any(yy == 1):
        return math.nan
    hits, _ = _top_k_positives(yy, pp, k)
    return float(hits / yy.sum())


def calibration_table(y: Any, p: Any, n_bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of the predicted probability (deciles by default) vs the observed rate.

    Customers are ranked by ``p`` (ties in a stable order) and cut into ``n_bins`` groups of
    (almost) equal size. Returns ``DataFrame[bin, count, mean_predicted, observed_rate,
    min_predicted, max_predicted]`` with bin 1 the lowest predictions; bins with no customer
    (``n_bins > n``) are omitted.
    """
    yy, pp = _scores(y, p, probability=True)
    n_bins = check_int("n_bins", n_bins, minimum=1)
    order = np.argsort(pp, kind="stable")
    bins = np.empty(yy.size, dtype=np.int64)
    bins[order] = np.arange(yy.size) * int(n_bins) // yy.size
    frame = pd.DataFrame({"bin": bins + 1, "y": yy, "p": pp})
    table = frame.groupby("bin").agg(
        count=("y", "size"),
        mean_predicted=("p", "mean"),
        observed_rate=("y", "mean"),
        min_predicted=("p", "min"),
        max_predicted=("p", "max"),
    )
    return table.reset_index()


def churn_metrics(y: Any, p: Any) -> dict[str, float]:
    """Every churn metric of PROTOCOL.md for probabilities ``p``: a flat dict of floats.

    Parameters
    ----------
    y
        Observed outcome per customer, array-like of 0/1 (1 = churned).
    p
        Predicted churn probability per customer, array-like of floats in [0, 1], same length.

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc``, ``brier``, ``log_loss``, ``lift_at_10``, ``capture_rate_at_10``
        (top 10 % by ``p``), ``base_rate`` (share of churners) and ``n`` (as a float). ROC-AUC is
        NaN with a single class; PR-AUC, lift and capture rate are NaN without churners.

    Raises
    ------
    ValueError
        When ``y`` and ``p`` differ in length or are empty, ``y`` has values other than 0/1, or
        ``p`` has values that are not finite or outside [0, 1].
    """
    yy, pp = _scores(y, p, probability=True)
    return {
        "roc_auc": roc_auc(yy, pp),
        "pr_auc": pr_auc(yy, pp),
        "brier": brier(yy, pp),
        "log_loss": log_loss(yy, pp),
        "lift_at_10": lift_at(yy, pp, 0.1),
        "capture_rate_at_10": capture_rate_at(yy, pp, 0.1),
        "base_rate": float(yy.mean()),
        "n": float(yy.size),
    }


# --------------------------------------------------------------------------- CLTV
def mae(actual: Any, pred: Any) -> float:
    """Mean absolute error."""
    a, p = _values(actual, pred)
    return float(np.mean(np.abs(p - a)))


def rmse(actual: Any, pred: Any) -> float:
    """Root mean squared error."""
    a, p = _values(actual, pred)
    return float(np.sqrt(np.mean((p - a) ** 2)))


def spearman(actual: Any, pred: Any) -> float:
    """Spearman rank correlation (``nan`` when either side is constant)."""
    a, p = _values(actual, pred)
    if a.size < 2 or np.all(a == a[0]) or np.all(p == p[0]):
        return math.nan
    # Pearson correlation of average ranks is scipy.stats.spearmanr, without its ~1 s import
    ra = pd.Series(a).rank(method="average").to_numpy()
    rp = pd.Series(p).rank(method="average").to_numpy()
    return float(np.corrcoef(ra, rp)[0, 1])


def _gini(actual: np.ndarray, score: np.ndarray) -> float:
    """Gini of ``actual`` ordered by ``score`` descending: mean gap between the cumulative share of
    actual value and the share of customers. Within tied scores every customer gets the tie group's
    mean actual value (the expected curve under a random order of the ties)."""
    _, group = np.unique(score, return_inverse=True)
    group_mean = np.bincount(group, weights=actual) / np.bincount(group)
    order = np.argsort(-score, kind="stable")
    a = group_mean[group][order]
    n = a.size
    return float(np.sum(np.cumsum(a) / a.sum()) / n - (n + 1) / (2 * n))


def normalized_gini(actual: Any, pred: Any) -> float:
    """Gini of actual value ranked by ``pred`` divided by the Gini of the perfect ranking.

    1 = perfect ordering, 0 = random, negative = worse than random; ``nan`` when the actual values
    are all equal or sum to <= 0.

    >>> normalized_gini([0, 0, 1, 3], [0.1, 0.2, 0.3, 0.4])
    1.0
    """
    a, p = _values(actual, pred)
    if a.sum() <= 0 or np.all(a == a[0]):
        return math.nan
    return _gini(a, p) / _gini(a, a)


def decile_mape(actual: Any, pred: Any, n_bins: int = 10) -> float:
    """Mean absolute percentage error of the total value per bin of customers ranked by ``pred``.

    Customers are cut into ``n_bins`` equal-count groups by predicted value; for each group
    ``|sum(pred) - sum(actual)| / sum(actual)``. Groups whose actual total is <= 0 have no
    percentage error: they are left out and counted in a :class:`cxml.DataWarning`.
    """
    a, p = _values(actual, pred)
    n_bins = check_int("n_bins", n_bins, minimum=1)
    order = np.argsort(p, kind="stable")
    bins = np.empty(a.size, dtype=np.int64)
    bins[order] = np.arange(a.size) * n_bins // a.size
    act = np.bincount(bins, weights=a, minlength=n_bins)
    prd = np.bincount(bins, weights=p, minlength=n_bins)
    present = np.bincount(bins, minlength=n_bins) > 0
    ok = present & (act > 0)
    skipped = int(present.sum() - ok.sum())
    if skipped:
        warnings.warn(
            f"decile_mape: {skipped} of {int(present.sum())} bins have an actual total <= 0 and are left out",
            DataWarning,
            stacklevel=2,
        )
    if not np.any(ok):
        return math.nan
    return float(np.mean(np.abs(prd[ok] - act[ok]) / act[ok]))


def total_error(actual: Any, pred: Any) -> float:
    """Signed relative error of the total: ``(sum(pred) - sum(actual)) / sum(actual)``."""
    a, p = _values(actual, pred)
    total = a.sum()
    if total == 0:
        return math.nan
    return float((p.sum() - total) / abs(total))


def cltv_metrics(actual: Any, pred: Any) -> dict[str, float]:
    """Every CLTV metric of PROTOCOL.md: a flat dict of floats.

    Parameters
    ----------
    actual
        Observed value per customer (e.g. net spend in the window), array-like of finite floats.
    pred
        Predicted value per customer, array-like of finite floats, same length.

    Returns
    -------
    dict
        ``spearman``, ``normalized_gini``, ``mae``, ``rmse``, ``decile_mape``, ``total_error`` and
        ``n`` (as a float). NaN where undefined: Spearman when either side is constant, normalized
        Gini when ``actual`` is constant or sums to <= 0, decile MAPE when no bin has a positive
        actual total, total error when ``actual`` sums to 0.

    Raises
    ------
    ValueError
        When ``actual`` and ``pred`` differ in length, are empty or have non-finite values.

    Warns
    -----
    DataWarning
        From :func:`decile_mape`, when bins with an actual total <= 0 are left out.
    """
    a, p = _values(actual, pred)
    return {
        "spearman": spearman(a, p),
        "normalized_gini": normalized_gini(a, p),
        "mae": mae(a, p),
        "rmse": rmse(a, p),
        "decile_mape": decile_mape(a, p),
        "total_error": total_error(a, p),
        "n": float(a.size),
    }


# --------------------------------------------------------------------------- slices
def sliced(
    metric_fn: Callable[[Any, Any], float | Mapping[str, float]],
    y: Any,
    p: Any,
    slices: Any,
) -> pd.DataFrame:
    """A metric computed separately on each slice (e.g. country, segment), with the slice size.

    ``metric_fn(y_slice, p_slice)`` returns a float (column named after the function) or a dict
    (one column per key). Returns ``DataFrame[slice, size, <metrics>]``, one row per distinct slice
    label in sorted order, plus a final row ``slice="__all__"`` for the whole population.

    >>> sliced(roc_auc, [0, 1, 0, 1, 1, 0], [0.1, 0.9, 0.2, 0.3, 0.6, 0.7], ["a", "a", "a", "b", "b", "b"])
         slice  size   roc_auc
    0        a     3  1.000000
    1        b     3  0.000000
    2  __all__     6  0.777778
    """
    yy = np.asarray(y).ravel()
    pp = np.asarray(p).ravel()
    labels = pd.Series(np.asarray(slices, dtype=object).ravel())
    if not (yy.size == pp.size == labels.size):
        raise ParameterError(
            f"y, p and slices have lengths {yy.size}, {pp.size}, {labels.size}; expected the same length"
        )
    if labels.isna().any():
        raise ParameterError(f"slices has {int(labels.isna().sum())} missing labels; fill them (e.g. 'unknown')")
    codes, uniques = pd.factorize(labels.astype(str), sort=True)
    name = getattr(metric_fn, "__name__", "metric")
    rows: list[dict[str, Any]] = []
    for code, label in [*enumerate(uniques), (-1, "__all__")]:
        mask = codes == code if code >= 0 else np.ones(yy.size, dtype=bool)
        result = metric_fn(yy[mask], pp[mask])
        values = dict(result) if isinstance(result, Mapping) else {name: float(result)}
        rows.append({"slice": label, "size": int(mask.sum()), **values})
    return pd.DataFrame(rows)
