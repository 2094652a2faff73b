"""Exact top-k of :class:`~cxml.recommend.BlendRecommender`'s rank blend without ranking every item
(internal).

The blend scores item ``j`` as ``b_j = w * pct(s)_j + (1 - w) * pop_j`` where ``pct(s)`` is the
average-rank percentile of the customer's model scores among all ``n`` items. Ranking a whole row
costs a sort *with* its permutation (an argsort, ~10x a plain sort) per customer; this module needs
only a plain sort of the row, for the ranks of a few candidates:

1. ``L`` = the ``k``-th best blend among a guess (the customer's best items by ``s`` and the most
   popular items), so the true ``k``-th best is at least ``L``;
2. an item can reach ``L`` only if ``pct(s)_j >= (L - (1 - w)) / w`` and ``pop_j >= (L - w) / (1 - w)``
   (each percentile is at most 1). The second condition holds on a prefix of the popularity order,
   so only that prefix of each row is read; the first is a threshold on the row's values;
3. the exact blend of the items that pass, and their top ``k`` (ties by item position, as
   :func:`~cxml.recommend._topk.topk_dense` breaks them).

The result equals the dense computation bit for bit: ranks are the same integers and the blend the
same float64 expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from cxml.recommend._topk import NO_ITEM

__all__ = ["Allowed", "blend_topk"]

#: Slack on the thresholds of step 2 so that rounding can only let more items through.
_SLACK: Final = 1e-9
#: Rows read together in step 2 (grouped by how long a popularity prefix they need).
_GROUP: Final = 128


@dataclass(frozen=True)
class Allowed:
    """Which cells may be recommended: not ``seen`` (sorted keys ``row * n_items + column``) and
    among the candidate columns (``columns``: a bool per item, None = all)."""

    seen: np.ndarray
    columns: np.ndarray | None

    def __call__(self, r: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
        ok = np.ones(len(r), dtype=bool) if self.columns is None else self.columns[c]
        if len(self.seen):
            keys = r.astype(np.int64) * n + c
            pos = np.minimum(np.searchsorted(self.seen, keys), len(self.seen) - 1)
            ok &= self.seen[pos] != keys
        return ok


def blend_topk(
    s: np.ndarray, pop_pct: np.ndarray, pop_order: np.ndarray, weight: float, allowed: Allowed, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Columns and blend scores (float32) of the ``k`` best allowed items of each row of ``s``.

    ``s`` is the rows × items block of model scores (its dtype is kept: ranks only compare values),
    ``pop_pct`` the popularity percentile of every item and ``pop_order`` the items by decreasing
    ``pop_pct``. Slots without an item hold ``NO_ITEM`` and ``-inf``.
    """
    n_rows, n = s.shape
    sv = np.sort(s, axis=1)
    w = float(weight)
    # 1. a guess: values above the row's (2k+1)-th largest, and the most popular items
    cut = sv[:, max(n - 2 * k - 1, 0)]
    r1, c1 = np.nonzero(s > cut[:, None])
    top = pop_order[: min(n, 4 * k + 64)]
    keys = np.unique(np.concatenate([r1.astype(np.int64) * n + c1,
                                     (np.arange(n_rows, dtype=np.int64)[:, None] * n + top[None, :]).ravel()]))
    r, c = keys // n, keys % n
    ok = allowed(r, c, n)
    r, c = r[ok], c[ok]
    low = _kth_per_row(r, _blend_at(r, c, s, sv, pop_pct, w), n_rows, k)  # -inf: fewer than k guessed
    # 2. thresholds
    tau_s = (low - (1.0 - w)) / w if w > 0 else np.full(n_rows, -np.inf)
    q = np.ceil(tau_s * max(n - 1, 1) - _SLACK)
    q = np.where(np.isfinite(q), np.clip(q, 0, n - 1), 0).astype(np.int64)
    thr_s = sv[np.arange(n_rows), q]
    tau_p = (low - w) / (1.0 - w) - _SLACK if w < 1 else np.full(n_rows, -np.inf)
    # pop_pct along pop_order is non-increasing: the items passing tau_p are a prefix of that order
    prefix = np.searchsorted(-pop_pct[pop_order], -tau_p, side="right")
    rs, cs = [], []
    by_need = np.argsort(prefix, kind="stable")
    for start in range(0, n_rows, _GROUP):
        rows = by_need[start:start + _GROUP]
        cols = pop_order[: int(prefix[rows].max())]
        sub = s[rows][:, cols]
        rr, cc = np.nonzero((sub >= thr_s[rows, None]) & (np.arange(len(cols))[None, :] < prefix[rows, None]))
        rs.append(rows[rr])
        cs.append(cols[cc])
    r, c = np.concatenate(rs), np.concatenate(cs)
    ok = allowed(r, c, n)
    r, c = r[ok], c[ok]
    order = np.lexsort((c, r))  # row-major, as _blend_at expects
    r, c = r[order], c[order]
    # 3. exact blend of the survivors
    return _top_per_row(r, c, _blend_at(r, c, s, sv, pop_pct, w), n_rows, k)


def _blend_at(
    r: np.ndarray, c: np.ndarray, s: np.ndarray, sv: np.ndarray, pop_pct: np.ndarray, w: float
) -> np.ndarray:
    """Exact blend of the cells ``(r, c)`` (sorted by row)."""
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
    return np.asarray(w * pct + (1.0 - w) * pop_pct[c])


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
