"""Metrics of many bootstrap resamples at once: every function takes integer counts ``W`` (``B × n``).

A bootstrap resample of ``n`` customers drawn with replacement is the multiset in which customer
``i`` appears ``W[b, i]`` times. Each function here returns the metric of every resample
(shape ``(B,)``) from the per-customer arrays, without materialising the resamples: ranks come from
one sort of the scores and per-group sums of the counts (``np.add.reduceat``), so ``B = 1000``
resamples of 10 000 customers cost a few passes over a ``B × n`` array. With ``W`` a row of ones the
result equals the matching function of :mod:`cxml.churn.metrics` on the customers themselves
(ties handled the same way); tests check both that and a loop over explicit resamples.
Undefined values (one class only, constant values) are NaN per resample, as in that module.

Examples
--------
>>> import numpy as np
>>> y, p = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.1, 0.4, 0.35, 0.8])
>>> float(roc_auc(np.ones((1, 4)), y, p)[0])
0.75
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "brier",
    "capture_rate_at",
    "decile_mape",
    "lift_at",
    "log_loss",
    "mae",
    "mean",
    "normalized_gini",
    "pr_auc",
    "rmse",
    "roc_auc",
    "spearman",
    "total_error",
]


def _groups(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascending order of ``values``, the start of each run of equal values, each element's group."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    new = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new)
    group = np.empty(values.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return order, starts, group


def _group_sums(W: np.ndarray, order: np.ndarray, starts: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Per resample, the sum of ``W`` (times ``values``) over each tie group, groups ascending."""
    X = W[:, order] if values is None else W[:, order] * values[order]
    return np.asarray(np.add.reduceat(X, starts, axis=1))


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where ``den`` is 0."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------- churn
def roc_auc(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC-AUC per resample: P(score of a churner > score of a stayer), ties counted half."""
    order, starts, _ = _groups(score)
    pos = _group_sums(W, order, starts, y)
    neg = _group_sums(W, order, starts) - pos
    below = np.cumsum(neg, axis=1) - neg
    return _div(np.sum(pos * (below + 0.5 * neg), axis=1), pos.sum(axis=1) * neg.sum(axis=1))


def pr_auc(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Average precision per resample (scikit-learn's step rule over the distinct scores)."""
    order, starts, _ = _groups(score)
    pos = _group_sums(W, order, starts, y)[:, ::-1]
    every = _group_sums(W, order, starts)[:, ::-1]
    precision = np.zeros_like(pos)
    np.divide(np.cumsum(pos, axis=1), np.cumsum(every, axis=1), out=precision, where=every.cumsum(axis=1) > 0)
    return _div(np.sum(pos * precision, axis=1), pos.sum(axis=1))


def brier(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Mean squared error of the probabilities per resample."""
    return _div(W @ ((p - y) ** 2), W.sum(axis=1))


def log_loss(W: np.ndarray, y: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    """Mean negative log-likelihood per resample; probabilities clipped to ``[eps, 1 - eps]``."""
    pp = np.clip(p, eps, 1 - eps)
    return _div(W @ -(y * np.log(pp) + (1 - y) * np.log1p(-pp)), W.sum(axis=1))


def _top_hits(W: np.ndarray, y: np.ndarray, score: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected churners among the top ``ceil(k n)`` of each resample (ties at the cut pro rata)."""
    order, starts, _ = _groups(score)
    pos = _group_sums(W, order, starts, y)[:, ::-1]
    cnt = _group_sums(W, order, starts)[:, ::-1]
    n_top = np.ceil(k * W.sum(axis=1) - 1e-9)
    cum = np.cumsum(cnt, axis=1)
    cut = np.argmax(cum >= n_top[:, None], axis=1)
    rows = np.arange(W.shape[0])
    above = cum[rows, cut] - cnt[rows, cut]
    pos_above = np.cumsum(pos, axis=1)[rows, cut] - pos[rows, cut]
    hits = pos_above + _div(n_top - above, cnt[rows, cut]) * pos[rows, cut]
    return hits, n_top


def lift_at(W: np.ndarray, y: np.ndarray, score: np.ndarray, k: float = 0.1) -> np.ndarray:
    """Churn rate in the top ``k`` by score over the overall churn rate, per resample."""
    hits, n_top = _top_hits(W, y, score, k)
    rate = _div(W @ y, W.sum(axis=1))
    return _div(hits / n_top, np.where(rate > 0, rate, 0.0))


def capture_rate_at(W: np.ndarray, y: np.ndarray, score: np.ndarray, k: float = 0.1) -> np.ndarray:
    """Share of the churners found in the top ``k`` by score, per resample."""
    hits, _ = _top_hits(W, y, score, k)
    return _div(hits, W @ y)


# --------------------------------------------------------------------------- CLTV
def _ranks(W: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Average rank (1-based) of each customer inside each resample, ``B × n``."""
    order, starts, group = _groups(values)
    cnt = _group_sums(W, order, starts)
    rank = np.cumsum(cnt, axis=1) - cnt + (cnt + 1) / 2
    return np.asarray(rank[:, group])


def spearman(W: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Spearman correlation (Pearson of average ranks) per resample; NaN when a side is constant."""
    n = W.sum(axis=1, keepdims=True)
    ra, rp = _ranks(W, actual), _ranks(W, pred)
    ra -= np.sum(W * ra, axis=1, keepdims=True) / n
    rp -= np.sum(W * rp, axis=1, keepdims=True) / n
    cov = np.sum(W * ra * rp, axis=1)
    var = np.sum(W * ra * ra, axis=1) * np.sum(W * rp * rp, axis=1)
    return _div(cov, np.sqrt(np.where(var > 1e-12, var, 0.0)))


def _gini(W: np.ndarray, actual: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Gini of ``actual`` ordered by ``score`` descending, tie groups at their mean (see churn.metrics)."""
    order, starts, _ = _groups(score)
    amount = _group_sums(W, order, starts, actual)[:, ::-1]
    cnt = _group_sums(W, order, starts)[:, ::-1]
    before = np.cumsum(amount, axis=1) - amount
    area = np.sum(cnt * before + amount * (cnt + 1) / 2, axis=1)
    n, total = W.sum(axis=1), amount.sum(axis=1)
    return _div(area, total * n) - (n + 1) / (2 * n)


def normalized_gini(W: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Gini of actual value ranked by ``pred`` over the perfect ranking's, per resample."""
    total = W @ actual
    spread = W @ actual**2 - total**2 / W.sum(axis=1)
    out = _div(_gini(W, actual, pred), _gini(W, actual, actual))
    out[(total <= 0) | (spread <= 1e-12 * np.maximum(W @ actual**2, 1.0))] = np.nan
    return out


def mae(W: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Mean absolute error per resample."""
    return _div(W @ np.abs(pred - actual), W.sum(axis=1))


def rmse(W: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Root mean squared error per resample."""
    return np.sqrt(_div(W @ (pred - actual) ** 2, W.sum(axis=1)))


def total_error(W: np.ndarray, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``(sum(pred) - sum(actual)) / |sum(actual)|`` per resample."""
    total = W @ actual
    return _div(W @ pred - total, np.abs(total))


def _cumulative_at(C: np.ndarray, V: np.ndarray, x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``values`` over the first ``x`` positions of the expanded resample.

    ``C`` are the cumulative counts (positions covered by the first j customers in sorted order) and
    ``V`` the cumulative ``count × value``; a customer cut by ``x`` counts with part of its copies.
    """
    b, n = C.shape
    offset = (np.arange(b) * (float(C.max(initial=0.0)) + 1.0))[:, None]
    full = np.searchsorted((C + offset).ravel(), (x + offset).ravel(), side="right").reshape(x.shape)
    full -= np.arange(b)[:, None] * n
    rows = np.repeat(np.arange(b), x.shape[1]).reshape(x.shape)
    c_before = np.where(full > 0, C[rows, np.maximum(full - 1, 0)], 0.0)
    v_before = np.where(full > 0, V[rows, np.maximum(full - 1, 0)], 0.0)
    partial = np.where(full < n, values[np.minimum(full, n - 1)], 0.0)
    return np.asarray(v_before + (x - c_before) * partial)


def decile_mape(W: np.ndarray, actual: np.ndarray, pred: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Decile MAPE per resample: equal-count bins by ``pred`` (ties in customer order), bins whose
    actual total is <= 0 left out (silently here; the point estimate's caller warns)."""
    order = np.argsort(pred, kind="stable")
    Ws = W[:, order]
    a, p = actual[order], pred[order]
    C = np.cumsum(Ws, axis=1)
    n = C[:, -1:]
    edges = np.ceil(np.arange(n_bins + 1)[None, :] * n / n_bins - 1e-9)
    act = np.diff(_cumulative_at(C, np.cumsum(Ws * a, axis=1), edges, a), axis=1)
    prd = np.diff(_cumulative_at(C, np.cumsum(Ws * p, axis=1), edges, p), axis=1)
    ok = (np.diff(edges, axis=1) > 0) & (act > 0)
    err = np.where(ok, np.abs(prd - act) / np.where(ok, act, 1.0), 0.0)
    return _div(err.sum(axis=1), ok.sum(axis=1).astype(np.float64))


# --------------------------------------------------------------------------- per-customer values
def mean(W: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of a per-customer value (e.g. NDCG@k of each test customer) per resample."""
    return _div(W @ values, W.sum(axis=1))
