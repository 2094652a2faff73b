"""Vectorised top-k selection over dense score blocks (internal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import scipy.sparse as sp

__all__ = ["NO_ITEM", "chunks", "mask_rows", "select", "topk_dense"]

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
