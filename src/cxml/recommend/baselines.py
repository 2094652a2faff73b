"""Baseline recommenders: popularity and item-kNN (cosine); EASE (Steck 2019) lives in :mod:`cxml.recommend.ease`."""

from __future__ import annotations

from typing import Unpack

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml._checks import check_bool, check_choice, check_float, check_int
from cxml._params import keep_init_args
from cxml.recommend._docs import fill_doc
from cxml.recommend._matrix import binarised, decay_weights
from cxml.recommend._persist import csr_arrays
from cxml.recommend._signature import RepeatParams
from cxml.recommend._sparse import cosine_topk
from cxml.recommend._state import saved_array, saved_csr
from cxml.recommend._topk import topk_shared
from cxml.recommend.base import BaseRecommender
from cxml.recommend.ease import EASERecommender

__all__ = ["EASERecommender", "ItemKNNRecommender", "PopularityRecommender"]


@fill_doc
class PopularityRecommender(BaseRecommender):
    """The same ranking for everybody: the most bought items (seen items still excluded per customer).

    Parameters
    ----------
    by
        ``"customers"``: number of distinct customers who bought the item; ``"weight"``: summed
        interaction weight (``fit(weight=...)``).
    half_life
        Optional time decay in days: each purchase (``by="weight"``) or each customer's latest
        purchase (``by="customers"``) counts ``0.5 ** (age / half_life)``, age measured back from
        the last training purchase.
    {{repeat_params}}

    ``similar_items`` returns the most popular other items.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b", "b"],
    ...     "timestamp": ["2024-01-01"] * 3, "item_id": ["x", "x", "y"]}))
    >>> PopularityRecommender().fit(ev).recommend(["new"], k=2)["item_id"].tolist()
    ['x', 'y']
    """

    def __init__(
        self,
        *,
        by: str = "customers",
        half_life: float | None = None,
        **shared: Unpack[RepeatParams],
    ) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())

    name = "popularity"

    def _check_params(self) -> None:
        check_choice("by", self.by, ("customers", "weight"))
        if self.half_life is not None:
            check_float("half_life", self.half_life, minimum=0.0, exclusive_minimum=True)

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        ref = self.reference_time_.to_datetime64()
        hl = None if self.half_life is None else float(self.half_life)
        u, i, ts = rows["u"].to_numpy(), rows["i"].to_numpy(), rows["ts"].to_numpy()
        if self.by == "weight":
            w = rows["w"].to_numpy() * decay_weights(ts, ref, hl)
            scores = np.bincount(i, weights=w, minlength=len(self.item_map_))
        else:
            # a customer counts once per item, as of their latest purchase of it
            last = pd.DataFrame({"u": u, "i": i, "ts": ts}).groupby(["u", "i"], sort=False)["ts"].max()
            w = decay_weights(last.to_numpy(), ref, hl)
            scores = np.bincount(last.index.get_level_values("i").to_numpy(), weights=w,
                                 minlength=len(self.item_map_))
        self.item_scores_ = scores.astype(np.float64)

    def _fallback_scores(self) -> np.ndarray:
        return self.item_scores_

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(codes), len(self.item_scores_)))

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(codes), len(self.item_scores_)))

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        # everybody shares one ranking: read each list off it instead of ranking a dense block per customer
        scores = self.item_scores_ if cand is None else self.item_scores_[cand]
        seen = None
        if exclude_seen:
            seen = X if cand is None else X[:, cand].tocsr()
        ids, vals = topk_shared(scores, seen, k)
        if seen is None:
            ids, vals = np.repeat(ids, len(codes), axis=0), np.repeat(vals, len(codes), axis=0)
        return ids, vals

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores_}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.item_scores_ = saved_array(arrays, "item_scores", "f", ndim=1, shape=(len(self.item_map_),))


class ItemKNNRecommender(BaseRecommender):
    """Item-based nearest neighbours on cosine similarity of item purchase vectors.

    ``sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrinkage)`` over the customer × item matrix
    (purchase indicators when ``binary=True``, the default; the ``fit`` weights otherwise); each item
    keeps its ``k_neighbors`` most similar items. A customer's score for item ``i`` is
    ``sum_j x_uj * sim(i, j)`` over ``i``'s neighbours ``j`` the customer bought. The similarity is
    built sparse in blocks of items and cut to the top ``k_neighbors`` per item as it goes, so memory
    grows with ``n_items * k_neighbors``, not ``n_items²``.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
    ...     "timestamp": ["2024-01-01"] * 5, "item_id": ["x", "y", "x", "y", "x"]}))
    >>> ItemKNNRecommender().fit(ev).recommend(["c"], k=1)["item_id"].tolist()
    ['y']
    """

    def __init__(
        self,
        *,
        k_neighbors: int = 100,
        shrinkage: float = 0.0,
        binary: bool = True,
        **shared: Unpack[RepeatParams],
    ) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())

    name = "itemknn"

    def _check_params(self) -> None:
        check_int("k_neighbors", self.k_neighbors, minimum=1)
        check_float("shrinkage", self.shrinkage, minimum=0.0)
        check_bool("binary", self.binary)

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        # sparse all the way: blocks of X'X cut to the top k per row, never an n_items² dense matrix
        k = min(int(self.k_neighbors), max(X.shape[1] - 1, 1))
        self.neighbors_ = cosine_topk(binarised(X, bool(self.binary)), k, float(self.shrinkage))
        self._neighbors_t = self.neighbors_.T.tocsr()

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        return np.asarray((binarised(X, bool(self.binary)) @ self._neighbors_t).toarray())

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        block = self.neighbors_[codes].toarray().astype(np.float64)
        block[block == 0] = -np.inf  # only real neighbours are similar items
        return block

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("neighbors", self.neighbors_)

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.item_map_)
        self.neighbors_ = saved_csr(arrays, "neighbors", (n, n))
        self._neighbors_t = self.neighbors_.T.tocsr()
