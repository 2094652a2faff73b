"""Vectorised top-k selection over dense score blocks (internal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import scipy.sparse as sp

__all__ = ["NO_ITEM", "chunks", "mask_rows", "merge_topk", "select", "topk_dense", "topk_shared"]

#: Filler for slots without an item (fewer than k candidates).
NO_ITEM: Final = -1
#: Dense score blocks are kept below this many cells (float32: 64 MiB).
_BLOCK_CELLS: Final = 16 * 1024 * 1024


def chunks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Row slices so that a ``rows × n_cols`` float32 block stays small."""
    step = max(1, _BLOCK_CELLS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def mask_rows(scores: np.ndarray, rows: sp.csr_matrix) -> None:
    """Set ``scores[r, c] = -inf`` in place wherever ``rows`` has a stored entry."""
    r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    scores[r, rows.indices] = -np.inf


def topk_dense(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and scores of the ``k`` best finite entries of each row, best first.

    Ties are broken by column position so the result does not depend on the partition order.
    Missing slots (fewer than ``k`` finite entries) get position ``NO_ITEM`` and score ``-inf``.
    """
    n_rows, n_cols = scores.shape
    k_eff = min(k, n_cols)
    if k_eff == 0:
        return np.full((n_rows, k), NO_ITEM, np.int64), np.full((n_rows, k), -np.inf, np.float32)
    if k_eff < n_cols:
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        # a tie at the partition boundary can pick either column; resolve it deterministically
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        part = _stable_boundary(scores, part, kth, k_eff)
    else:
        part = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols)).copy()
    part.sort(axis=1)
    top = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(top, order, axis=1).astype(np.float32)
    ids[~np.isfinite(vals)] = NO_ITEM
    vals[~np.isfinite(vals)] = -np.inf
    if k_eff < k:
        pad = k - k_eff
        ids = np.hstack([ids, np.full((n_rows, pad), NO_ITEM, np.int64)])
        vals = np.hstack([vals, np.full((n_rows, pad), -np.inf, np.float32)])
    return ids, vals


def _stable_boundary(scores: np.ndarray, part: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Replace boundary ties in ``part`` by the lowest column positions holding that score."""
    n_tied_total = (scores == kth).sum(axis=1)
    n_tied_in = (np.take_along_axis(scores, part, axis=1) == kth).sum(axis=1)
    rows = np.flatnonzero(n_tied_total > n_tied_in)
    for r in rows:  # rare: only rows whose k-th score is shared with a column left outside
        better = np.flatnonzero(scores[r] > kth[r, 0])
        tied = np.flatnonzero(scores[r] == kth[r, 0])[: k - len(better)]
        part[r] = np.concatenate([better, tied])
    return part


def select(
    score_block: Callable[[slice], np.ndarray], n_rows: int, n_cols: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run :func:`topk_dense` over row chunks of a score function; concatenated results."""
    ids_parts, val_parts = [], []
    for sl in chunks(n_rows, n_cols):
        ids, vals = topk_dense(score_block(sl), k)
        ids_parts.append(ids)
        val_parts.append(vals)
    if not ids_parts:
        return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
    return np.vstack(ids_parts), np.vstack(val_parts)


def topk_shared(scores: np.ndarray, seen: sp.csr_matrix | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`topk_dense` of one score row shared by every customer, with each customer's ``seen``
    columns (stored entries of a customers × columns CSR) left out: the result of masking a
    broadcast block, without building it.

    Every customer's list is read off the one global order (ties by column position, as
    :func:`topk_dense` breaks them): the first ``k`` columns of that order the customer has not
    seen, found among the first ``k + n_seen`` positions. ``seen=None`` gives everybody the same list.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_cols = len(scores)
    order = np.argsort(-scores, kind="stable")
    order = order[np.isfinite(scores[order])]  # -inf / nan columns are never recommended
    n_rows = 1 if seen is None else seen.shape[0]
    ids = np.full((n_rows, k), NO_ITEM, np.int64)
    vals = np.full((n_rows, k), -np.inf, np.float32)
    if seen is None or len(order) == 0:
        take = order[:k]
        ids[:, : len(take)], vals[:, : len(take)] = take, scores[take]
        return ids, vals
    rank = np.full(n_cols, n_cols, np.int64)
    rank[order] = np.arange(len(order))
    n_seen = np.diff(seen.indptr)
    need = np.minimum(k + n_seen, len(order))  # positions of the order a customer's list can reach
    start = 0
    while start < n_rows:  # row chunks whose rows × widest need cells stay small
        width, stop = int(need[start]), start + 1
        while stop < n_rows and (stop - start + 1) * max(width, int(need[stop])) <= _BLOCK_CELLS:
            width, stop = max(width, int(need[stop])), stop + 1
        ids[start:stop], vals[start:stop] = _first_unseen(order, scores, rank, seen[start:stop], width, k)
        start = stop
    return ids, vals


def _first_unseen(
    order: np.ndarray, scores: np.ndarray, rank: np.ndarray, seen: sp.csr_matrix, width: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    n_rows = seen.shape[0]
    taken = np.zeros((n_rows, width), dtype=bool)
    r = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
    pos = rank[seen.indices]
    inside = pos < width
    taken[r[inside], pos[inside]] = True
    free = ~taken
    slot = np.cumsum(free, axis=1) - 1
    keep = free & (slot < k)
    rows, cols = np.nonzero(keep)
    ids = np.full((n_rows, k), NO_ITEM, np.int64)
    vals = np.full((n_rows, k), -np.inf, np.float32)
    ids[rows, slot[rows, cols]] = order[cols]
    vals[rows, slot[rows, cols]] = scores[order[cols]]
    return ids, vals


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of several ``(column codes, scores)`` top lists of the same rows over disjoint
    columns, best first, ties by column code (as :func:`topk_dense` breaks them on one block)."""
    ids = np.hstack([p[0] for p in parts])
    vals = np.hstack([p[1] for p in parts]).astype(np.float32)
    empty = ids < 0
    vals = np.where(empty, -np.inf, vals)
    key_ids = np.where(empty, np.iinfo(np.int64).max, ids)
    order = np.lexsort((key_ids, -vals), axis=-1)[:, :k] if ids.shape[0] else np.empty((0, k), np.int64)
    out_ids = np.take_along_axis(ids, order, axis=1)
    out_vals = np.take_along_axis(vals, order, axis=1)
    gone = ~np.isfinite(out_vals)
    out_ids[gone], out_vals[gone] = NO_ITEM, -np.inf
    return out_ids, out_vals
