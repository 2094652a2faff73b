"""Exact top-k of :class:`~cxml.recommend.BlendRecommender`'s rank blend without ranking every item
(internal).

The blend scores item ``j`` as ``b_j = w * pct(s)_j + (1 - w) * pop_j`` where ``pct(s)`` is the
average-rank percentile of the customer's model scores among all ``n`` items. Ranking a whole row
costs a sort *with* its permutation (an argsort, ~10x a plain sort) per customer; this module needs
only a plain sort of the row, for the ranks of a few candidates:

1. ``L`` = the ``k``-th best blend among a guess (the customer's best items by ``s`` and the most
   popular items), so the true ``k``-th best is at least ``L``;
2. an item can reach ``L`` only if ``pct(s)_j >= (L - (1 - w)) / w`` and ``pop_j >= (L - w) / (1 - w)``
   (each percentile is at most 1); both are thresholds on a value, checked for all items at once;
3. the exact blend of the items that pass, and their top ``k`` (ties by item position, as
   :func:`~cxml.recommend._topk.topk_dense` breaks them).

The result equals the dense computation bit for bit: ranks are the same integers and the blend the
same float64 expression.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from cxml.recommend._topk import NO_ITEM

__all__ = ["blend_topk"]

#: Slack on the thresholds of step 2 so that rounding can only let more items through.
_SLACK: Final = 1e-9


def blend_topk(
    s: np.ndarray, pop_pct: np.ndarray, weight: float, allowed: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Columns and blend scores (float32) of the ``k`` best ``allowed`` items of each row of ``s``.

    ``s`` is the rows × items block of model scores (its dtype is kept: ranks only compare values),
    ``pop_pct`` the popularity percentile of every item, ``allowed`` a rows × items bool mask (not
    seen, among the candidates). Slots without an item hold ``NO_ITEM`` and ``-inf``.
    """
    n_rows, n = s.shape
    sv = np.sort(s, axis=1)
    w = float(weight)
    guess = np.zeros_like(allowed)
    m = min(2 * k, n)
    masked = np.where(allowed, s, -np.inf)
    guess[np.arange(n_rows)[:, None], np.argpartition(-masked, m - 1, axis=1)[:, :m]] = True
    guess[:, np.argsort(-pop_pct, kind="stable")[: min(n, 4 * k + 64)]] = True
    guess &= allowed
    r, c, b = _blend_at(guess, s, sv, pop_pct, w)
    low = _kth_per_row(r, b, n_rows, k)  # -inf where fewer than k items were guessed
    keep = allowed.copy()
    if w > 0:
        tau = (low - (1.0 - w)) / w
        q = np.clip(np.ceil(tau * max(n - 1, 1) - _SLACK), 0, n - 1)
        q = np.where(np.isfinite(q), q, 0).astype(np.int64)
        keep &= s >= sv[np.arange(n_rows), q][:, None]
    if w < 1:
        keep &= pop_pct[None, :] >= ((low - w) / (1.0 - w))[:, None] - _SLACK
    r, c, b = _blend_at(keep, s, sv, pop_pct, w)
    return _top_per_row(r, c, b, n_rows, k)


def _blend_at(
    mask: np.ndarray, s: np.ndarray, sv: np.ndarray, pop_pct: np.ndarray, w: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and exact blend of the cells in ``mask`` (row-major)."""
    r, c = np.nonzero(mask)
    n = s.shape[1]
    vals = s[r, c]
    bounds = np.searchsorted(r, np.arange(s.shape[0] + 1))
    rank = np.empty(len(r), dtype=np.float64)
    for row in np.flatnonzero(np.diff(bounds)):
        lo, hi = bounds[row], bounds[row + 1]
        left = np.searchsorted(sv[row], vals[lo:hi], side="left")
        right = np.searchsorted(sv[row], vals[lo:hi], side="right")
        rank[lo:hi] = (left + 1 + right) / 2.0  # the average rank of the tied positions left+1..right
    pct = (rank - 1.0) / max(n - 1, 1)
    return r, c, w * pct + (1.0 - w) * pop_pct[c]


def _kth_per_row(r: np.ndarray, b: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """The ``k``-th largest ``b`` of each row (``-inf`` for rows with fewer than ``k`` cells)."""
    order = np.lexsort((-b, r))
    counts = np.bincount(r, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(n_rows, -np.inf)
    full = counts >= k
    out[full] = b[order[starts[full] + k - 1]]
    return out


def _top_per_row(
    r: np.ndarray, c: np.ndarray, b: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((c, -b, r))  # by row, best blend first, ties by column position
    r, c, b = r[order], c[order], b[order]
    counts = np.bincount(r, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(r)) - starts[r]
    top = slot < k
    ids = np.full((n_rows, k), NO_ITEM, np.int64)
    vals = np.full((n_rows, k), -np.inf, np.float32)
    ids[r[top], slot[top]] = c[top]
    vals[r[top], slot[top]] = b[top]
    return ids, vals
