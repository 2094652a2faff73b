"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"), bounded by a memory budget and
optionally restricted to the most popular items so that wide catalogues stay tractable."""

from __future__ import annotations

import math
from typing import Final, Unpack

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cxml._checks import check_bool, check_float, check_int
from cxml._params import keep_init_args
from cxml.exceptions import BundleError, MemoryBudgetError
from cxml.recommend._docs import fill_doc
from cxml.recommend._matrix import binarised
from cxml.recommend._signature import RepeatParams
from cxml.recommend._state import saved_array
from cxml.recommend._topk import NO_ITEM, chunks, mask_rows, merge_topk, topk_dense, topk_shared
from cxml.recommend.base import BaseRecommender

__all__ = ["EASERecommender", "ease_items"]

#: Items outside the kept set score ``popularity share * _FALLBACK_SCALE``: below any item EASE
#: scores positively, ordered among themselves by popularity.
_FALLBACK_SCALE: Final = 1e-6


def ease_items(n_items: int, max_items: int | None) -> int:
    """Size of the item-item matrix EASE builds for ``n_items`` items (at most ``max_items``)."""
    return n_items if max_items is None else min(n_items, int(max_items))


def _spd_inverse(gram: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through Cholesky (about half the work of a
    general inverse, in place); a general inverse when Cholesky fails numerically."""
    factor, info = scipy.linalg.lapack.dpotrf(gram.T, lower=False, overwrite_a=True)  # .T: Fortran order
    if info == 0:
        inv, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info == 0:
            upper = np.triu(inv)
            return upper + np.triu(upper, 1).T
    return np.asarray(np.linalg.inv(gram))  # pragma: no cover - only on a numerically singular gram


@fill_doc
class EASERecommender(BaseRecommender):
    """EASE: closed-form shallow autoencoder (Steck 2019, "Embarrassingly Shallow Autoencoders").

    ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1``; scores ``X_u B``. ``X`` holds purchase
    indicators when ``binary=True`` (the default, as in the paper), the ``fit`` weights otherwise.
    Needs a dense ``m × m`` float64 matrix for ``m`` items (peak use is about three such matrices):
    when one would exceed ``max_memory_bytes`` fit raises :class:`cxml.MemoryBudgetError` with the
    size, the limit and the ways out. ``max_items`` restricts EASE to the ``max_items`` items bought
    by the most customers (on grocery-like baskets they carry most purchases); the other items are
    scored by popularity, below every item EASE scores positively.

    Parameters
    ----------
    l2
        Ridge penalty on the diagonal of ``X'X``.
    binary
        Purchase indicators (True) or the ``fit`` weights (False).
    max_items
        Keep at most this many items (the most popular) in the item-item matrix; None keeps all.
    max_memory_bytes
        Largest item-item matrix (bytes, float64) fit may build.
    {{repeat_params}}

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
    ...     "timestamp": ["2024-01-01"] * 5, "item_id": ["x", "y", "x", "y", "x"]}))
    >>> EASERecommender(l2=1.0).fit(ev).recommend(["c"], k=1)["item_id"].tolist()
    ['y']
    """

    def __init__(
        self,
        *,
        l2: float = 200.0,
        binary: bool = True,
        max_items: int | None = None,
        max_memory_bytes: int = 2 * 1024**3,
        **shared: Unpack[RepeatParams],
    ) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())

    name = "ease"

    def _check_params(self) -> None:
        check_float("l2", self.l2, minimum=0.0, exclusive_minimum=True)
        check_float("max_memory_bytes", self.max_memory_bytes, minimum=0.0, exclusive_minimum=True)
        check_bool("binary", self.binary)
        if self.max_items is not None:
            check_int("max_items", self.max_items, minimum=1)

    def _refuse_over_budget(self, n: int) -> None:
        m = ease_items(n, self.max_items)
        needed = m * m * 8
        if needed <= self.max_memory_bytes:
            return
        fits = math.isqrt(int(self.max_memory_bytes) // 8)
        raise MemoryBudgetError(
            f"EASE needs a dense {m} x {m} float64 item-item matrix ({needed:,} bytes = "
            f"{needed / 2**30:.2f} GiB) for {n} items (max_items={self.max_items}), above max_memory_bytes="
            f"{int(self.max_memory_bytes):,}; raise max_memory_bytes, set max_items={max(fits, 1)} (the "
            "most popular items, which fit), or use ItemKNNRecommender / ALSRecommender"
        )

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        n = X.shape[1]
        self._refuse_over_budget(n)
        Xb = binarised(X, bool(self.binary)).astype(np.float64)
        buyers = np.diff(X.tocsc().indptr).astype(np.float64)
        m = ease_items(n, self.max_items)
        kept = np.arange(n) if m == n else np.sort(np.argsort(-buyers, kind="stable")[:m])
        Xk = Xb if m == n else Xb[:, kept]
        gram = (Xk.T @ Xk).toarray()
        gram[np.diag_indices(m)] += float(self.l2)
        # one BLAS thread: the cost stays what the cost model predicts, and on a shared machine a
        # multi-threaded inverse was measured 2-3x slower (threads waiting on each other)
        with threadpool_limits(1, "blas"):
            P = _spd_inverse(gram)
        del gram
        B = P / (-np.diag(P))[None, :]
        del P
        B[np.diag_indices(m)] = 0.0
        self.item_weights_ = B.astype(np.float32)
        self.kept_items_ = kept.astype(np.int64)
        self.fallback_ = (buyers / max(buyers.max(initial=0.0), 1.0) * _FALLBACK_SCALE).astype(np.float32)

    def _restricted(self) -> bool:
        return len(self.kept_items_) < len(self.fallback_)

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        Xb = binarised(X, bool(self.binary))
        if not self._restricted():
            return np.asarray(Xb @ self.item_weights_)
        out = np.tile(self.fallback_, (X.shape[0], 1))
        out[:, self.kept_items_] += np.asarray(Xb[:, self.kept_items_] @ self.item_weights_)
        return out

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Restricted EASE: rank the kept items densely (customers × max_items) and take the rest,
        which all score their popularity fallback, off one shared order; merge the two top lists."""
        if not self._restricted() or len(codes) == 0:
            return None
        n = len(self.fallback_)
        inside = np.zeros(n, dtype=bool)
        inside[self.kept_items_] = True
        pos = np.full(n, -1, np.int64)
        pos[self.kept_items_] = np.arange(len(self.kept_items_))
        allowed = np.ones(n, dtype=bool) if cand is None else np.isin(np.arange(n), cand)
        kept, rest = np.flatnonzero(inside & allowed), np.flatnonzero(~inside & allowed)
        Xb = binarised(X, bool(self.binary))
        seen = Xb if exclude_seen else None
        rest_ids, rest_vals = topk_shared(self.fallback_[rest], None if seen is None else seen[:, rest].tocsr(), k)
        if seen is None:
            rest_ids, rest_vals = np.repeat(rest_ids, len(codes), 0), np.repeat(rest_vals, len(codes), 0)
        rest_ids = np.where(rest_ids >= 0, rest[np.maximum(rest_ids, 0)], NO_ITEM) if len(rest) else rest_ids
        W = self.item_weights_[:, pos[kept]]
        Xk = Xb[:, self.kept_items_].tocsr()
        seen_kept = None if seen is None else seen[:, kept].tocsr()
        ids_parts, val_parts = [], []
        for sl in chunks(len(codes), len(kept)):
            block = self.fallback_[kept][None, :] + np.asarray(Xk[sl] @ W)
            if seen_kept is not None:
                mask_rows(block, seen_kept[sl])
            top_ids, top_vals = topk_dense(block, k)
            top_ids = np.where(top_ids >= 0, kept[np.maximum(top_ids, 0)], NO_ITEM) if len(kept) else top_ids
            ids, vals = merge_topk([(top_ids, top_vals), (rest_ids[sl], rest_vals[sl])], k)
            ids_parts.append(ids)
            val_parts.append(vals)
        ids, vals = np.vstack(ids_parts), np.vstack(val_parts)
        if cand is not None:  # item codes -> positions into the candidates
            ids = np.where(ids >= 0, np.searchsorted(cand, np.maximum(ids, 0)), NO_ITEM)
        return ids, vals

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        if not self._restricted():
            return np.asarray(self.item_weights_[codes], dtype=np.float64)
        pos = np.full(len(self.fallback_), -1, np.int64)
        pos[self.kept_items_] = np.arange(len(self.kept_items_))
        out = np.full((len(codes), len(self.fallback_)), -np.inf)  # an item EASE left out has no similar items
        hit = pos[codes] >= 0
        out[np.ix_(np.flatnonzero(hit), self.kept_items_)] = self.item_weights_[pos[codes[hit]]]
        return out

    def _state_arrays(self) -> dict[str, np.ndarray]:
        if not self._restricted():  # the same arrays as before max_items existed
            return {"item_weights": self.item_weights_}
        return {"item_weights": self.item_weights_, "kept_items": self.kept_items_, "fallback": self.fallback_}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.item_map_)
        if "kept_items" not in arrays:  # every item kept
            self.kept_items_ = np.arange(n, dtype=np.int64)
            self.fallback_ = np.zeros(n, np.float32)
        else:
            self.kept_items_ = saved_array(arrays, "kept_items", "i", ndim=1).astype(np.int64)
            self.fallback_ = saved_array(arrays, "fallback", "f", ndim=1, shape=(n,))
            kept = self.kept_items_
            if len(kept) and (kept[0] < 0 or kept[-1] >= n or (np.diff(kept) <= 0).any()):
                raise BundleError(f"saved array 'kept_items' is not an increasing list of item codes below {n}")
        m = len(self.kept_items_)
        self.item_weights_ = saved_array(arrays, "item_weights", "f", ndim=2, shape=(m, m))
