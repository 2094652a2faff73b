"""Vectorised top-k ranking metrics, exactly as PROTOCOL.md defines them.

Inputs are internal codes: ``recommended`` is an ``n_users × k`` int array of item codes, best
first, ``-1`` for an empty slot; ``relevant`` is an ``n_users × n_items`` sparse matrix whose stored
(non-zero) entries are the relevant items of each user, or a list of per-user code lists. Each
per-user metric returns one value per user (``0`` for a user with no hit); averages are taken by
:func:`ranking_metrics` / :func:`cxml.recommend.evaluate`.

Definitions (binary relevance, ``R`` = relevant set, ``hit_r`` = item at rank ``r`` is relevant):

- precision@k = hits / k
- recall@k = hits / min(k, |R|)  (so a perfect list scores 1 even when |R| > k)
- NDCG@k = sum_r hit_r / log2(r + 1), divided by the ideal DCG over min(k, |R|) positions
- AP@k = sum_r hit_r * precision@r / min(k, |R|); MAP@k is its mean
- reciprocal rank = 1 / rank of the first hit within k, 0 if none; hit rate = any hit
- coverage = distinct recommended items / catalogue size
- novelty = mean over all recommended (user, item) pairs of ``-log2(share)``, ``share`` = fraction
  of training customers who bought the item

Examples
--------
>>> import numpy as np
>>> rec = np.array([[3, 1, 2]])
>>> float(ndcg_at_k(rec, [[1]], k=3)[0])  # one hit at rank 2: 1/log2(3)
0.6309297535714575
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

from cxml._checks import check_int
from cxml.exceptions import ParameterError

__all__ = [
    "average_precision_at_k",
    "coverage",
    "hit_rate_at_k",
    "hits_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "reciprocal_rank_at_k",
]

Relevant: TypeAlias = sp.spmatrix | sp.sparray | Sequence[Iterable[int]]


def _as_csr(relevant: Relevant, n_users: int, n_items_hint: int) -> sp.csr_matrix:
    if sp.issparse(relevant):
        m = sp.csr_matrix(relevant)
    else:
        lists = [np.unique(np.asarray(list(r), dtype=np.int64)) for r in relevant]
        n_items = max([n_items_hint, *[int(r.max()) + 1 for r in lists if len(r)]])
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in lists])])
        indices = np.concatenate(lists) if lists else np.empty(0, np.int64)
        m = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(lists), n_items))
    if m.shape[0] != n_users:
        raise ParameterError(
            f"relevant has {m.shape[0]} rows but recommended has {n_users}; expected one per user"
        )
    m.eliminate_zeros()
    m.sort_indices()
    return m


def hits_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``n_users × k`` hit matrix and the number of relevant items per user."""
    k = check_int("k", k, minimum=1)
    try:
        rec = np.asarray(recommended, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"recommended cannot be read as an int array of item codes ({exc})") from exc
    if rec.ndim != 2:
        raise ParameterError(f"recommended has shape {rec.shape}; expected (n_users, k)")
    rec = rec[:, :k]
    if rec.shape[1] < k:
        rec = np.hstack([rec, np.full((rec.shape[0], k - rec.shape[1]), -1, np.int64)])
    rel = _as_csr(relevant, rec.shape[0], int(rec.max(initial=-1)) + 1)
    n_items = max(rel.shape[1], 1)
    rows = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))
    rel_keys = rows * n_items + rel.indices  # sorted: CSR rows in order, indices sorted per row
    valid = (rec >= 0) & (rec < n_items)
    rec_keys = np.arange(rec.shape[0], dtype=np.int64)[:, None] * n_items + np.where(valid, rec, 0)
    if len(rel_keys):
        pos = np.minimum(np.searchsorted(rel_keys, rec_keys), len(rel_keys) - 1)
        hits = valid & (rel_keys[pos] == rec_keys)
    else:
        hits = np.zeros_like(valid)
    # a duplicate item in one list must not count twice
    hits &= _first_occurrence(rec)
    return hits, np.diff(rel.indptr)


def _first_occurrence(rec: np.ndarray) -> np.ndarray:
    order = np.argsort(rec, axis=1, kind="stable")
    srt = np.take_along_axis(rec, order, axis=1)
    dup_sorted = np.zeros_like(srt, dtype=bool)
    dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
    first = np.ones_like(rec, dtype=bool)
    np.put_along_axis(first, order, ~dup_sorted, axis=1)
    return first


def _denominator(n_rel: np.ndarray, k: int) -> np.ndarray:
    return np.minimum(n_rel, k).astype(np.float64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num), dtype=np.float64), where=den > 0)


def precision_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """Hits in the top k divided by k, per user."""
    hits, _ = hits_at_k(recommended, relevant, k)
    return hits.sum(axis=1) / float(k)


def recall_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """Hits in the top k divided by ``min(k, |relevant|)``, per user (0 when nothing is relevant)."""
    hits, n_rel = hits_at_k(recommended, relevant, k)
    return _safe_div(hits.sum(axis=1).astype(np.float64), _denominator(n_rel, k))


def ndcg_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """Binary-relevance NDCG@k, ideal DCG over ``min(k, |relevant|)`` positions, per user."""
    hits, n_rel = hits_at_k(recommended, relevant, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_rel, k)]
    return _safe_div(dcg, ideal)


def average_precision_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """AP@k = sum over hit ranks r of precision@r, divided by ``min(k, |relevant|)``, per user."""
    hits, n_rel = hits_at_k(recommended, relevant, k)
    prec_at_r = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return _safe_div((prec_at_r * hits).sum(axis=1), _denominator(n_rel, k))


def reciprocal_rank_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """1 / rank of the first relevant item within k, 0 if none, per user."""
    hits, _ = hits_at_k(recommended, relevant, k)
    first = hits.argmax(axis=1)
    return np.asarray(np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0))


def hit_rate_at_k(recommended: np.ndarray, relevant: Relevant, k: int) -> np.ndarray:
    """1.0 when at least one relevant item is in the top k, else 0.0, per user."""
    hits, _ = hits_at_k(recommended, relevant, k)
    return np.asarray(hits.any(axis=1), dtype=np.float64)


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Distinct recommended items divided by the catalogue size ``n_items``."""
    rec = np.asarray(recommended)
    n_items = check_int("n_items", n_items, minimum=1)
    return float(len(np.unique(rec[rec >= 0])) / n_items)


def novelty(recommended: np.ndarray, popularity_share: np.ndarray) -> float:
    """Mean ``-log2(popularity_share[item])`` over all recommended items (empty slots skipped).

    ``popularity_share[i]`` is the fraction of training customers who bought item ``i``; a
    share of 0 (an item nobody bought in training) is clipped to the smallest positive share.
    """
    rec = np.asarray(recommended)
    items = rec[rec >= 0]
    if items.size == 0:
        return 0.0
    share = np.asarray(popularity_share, dtype=np.float64)
    positive = share[share > 0]
    floor = positive.min() if positive.size else 1.0
    return float(np.mean(-np.log2(np.maximum(share[items], floor))))


def ranking_metrics(recommended: np.ndarray, relevant: Relevant, k: int) -> dict[str, float]:
    """Means over users of precision, recall, ndcg, map, mrr and hit_rate at ``k``.

    >>> ranking_metrics(np.array([[0, 1], [2, 3]]), [[1], [5]], k=2)["hit_rate"]
    0.5
    """
    hits, n_rel = hits_at_k(recommended, relevant, k)
    n_hits = hits.sum(axis=1).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_rel, k)]
    prec_at_r = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    per_user = {
        "precision": n_hits / k,
        "recall": _safe_div(n_hits, _denominator(n_rel, k)),
        "ndcg": _safe_div(hits @ discount, ideal),
        "map": _safe_div((prec_at_r * hits).sum(axis=1), _denominator(n_rel, k)),
        "mrr": np.where(hits.any(axis=1), 1.0 / (hits.argmax(axis=1) + 1), 0.0),
        "hit_rate": hits.any(axis=1).astype(np.float64),
    }
    return {name: float(v.mean()) if len(v) else 0.0 for name, v in per_user.items()}
