"""Sparse item-item kernels (internal): cosine similarity with a top-k neighbour cut, built in row
blocks so no ``n_items × n_items`` dense matrix ever exists.

implicit's ``nearest_neighbours.all_pairs_knn`` was considered: it keeps the top-k too, but has no
shrinkage term and counts the item itself among its neighbours; the blocked scipy product below
does both exactly and stays within a bounded memory per block.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import scipy.sparse as sp

__all__ = ["cosine_topk", "item_pairs", "topk_per_row"]

#: Stored entries of one block of the item-item product (about 200 MB with indices); bounds memory.
_BLOCK_NNZ: Final = 16 * 1024 * 1024


def item_pairs(X: sp.csr_matrix) -> int:
    """Number of (customer, item, item) triples, the work of ``X'X``: ``sum_u n_u**2``."""
    per_user = np.diff(X.indptr).astype(np.float64)
    return int(per_user @ per_user)


def topk_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest stored values of each row, dropping the rest (at a tie on the cut,
    whichever ``argpartition`` keeps). Works on the rows' stored values packed left into a dense
    ``rows × longest row`` array, so it costs no more than the block it came from."""
    m = m.tocsr()
    counts = np.diff(m.indptr)
    if len(counts) == 0 or counts.max() <= k:
        return m
    rows = np.repeat(np.arange(m.shape[0]), counts)
    packed = np.full((m.shape[0], int(counts.max())), -np.inf, dtype=np.float32)  # half the bandwidth
    packed[rows, np.arange(m.nnz) - m.indptr[rows]] = m.data
    slot = np.argpartition(-packed, k - 1, axis=1)[:, :k]
    keep = (slot < counts[:, None]).ravel()
    pos = (m.indptr[:-1, None] + slot).ravel()[keep]
    r = np.repeat(np.arange(m.shape[0]), k)[keep]
    out = sp.csr_matrix((m.data[pos], (r, m.indices[pos])), shape=m.shape)
    out.eliminate_zeros()
    return out


def _block_rows(X: sp.csr_matrix) -> int:
    """Items per block so that a block of ``X'X`` stays near :data:`_BLOCK_NNZ` entries."""
    return max(1, _BLOCK_NNZ // max(X.shape[1], 1))


def cosine_topk(X: sp.csr_matrix, k: int, shrinkage: float) -> sp.csr_matrix:
    """Item × item ``<x_i, x_j> / (|x_i| |x_j| + shrinkage)`` over the columns of ``X``, diagonal
    zero, each row cut to its ``k`` largest entries; float32 CSR."""
    n = X.shape[1]
    Xr = X.astype(np.float64).tocsr()
    Xt = Xr.T.tocsr()  # items × users
    norms = np.sqrt(np.asarray(Xr.multiply(Xr).sum(axis=0)).ravel())
    step = _block_rows(X)
    parts = []
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = (Xt[start:stop] @ Xr).tocsr()
        rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
        block.data /= norms[rows] * norms[block.indices] + shrinkage + 1e-12
        block.data[block.indices == rows] = 0.0
        block.eliminate_zeros()
        parts.append(topk_per_row(block, k).astype(np.float32))
    if not parts:
        return sp.csr_matrix((n, n), dtype=np.float32)
    out = sp.vstack(parts, format="csr")
    out.sort_indices()
    return out
