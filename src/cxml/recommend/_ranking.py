"""Ranking for :class:`~cxml.recommend.BaseRecommender`: history fold-in, masking, repeat blending,
cold start and top-k (internal; arguments are already checked by the public methods).

Nothing here writes to the model: what a call reports (the number of cold-start customers) goes
into the returned frame's ``attrs``.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml.data import IdMap
from cxml.recommend._frames import history_rows, ranking_frame
from cxml.recommend._matrix import interaction_matrix, with_codes
from cxml.recommend._state import repeat_matrix
from cxml.recommend._topk import NO_ITEM, mask_rows, select, topk_dense
from cxml.schema import Columns

__all__ = ["N_COLD_START", "Ranker", "recommend_frame", "similar_frame"]

logger = logging.getLogger("cxml.recommend")

#: Key of ``recommend(...).attrs``: how many customers of the call were served the popularity ranking.
N_COLD_START = "n_cold_start"


class Ranker(Protocol):
    """What ranking needs of a fitted recommender (:class:`~cxml.recommend.BaseRecommender` has it)."""

    user_map_: IdMap
    item_map_: IdMap
    weight_: str
    reference_time_: pd.Timestamp
    user_items_: sp.csr_matrix
    user_repeat_: sp.csr_matrix
    repeat_weight: float
    repeat_half_life: float | None

    def _fallback_scores(self) -> np.ndarray: ...

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray: ...

    def _item_block(self, codes: np.ndarray) -> np.ndarray: ...

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None: ...


def recommend_frame(
    model: Ranker, cust: np.ndarray, k: int, exclude_seen: bool, items: np.ndarray | None,
    history: pd.DataFrame | None,
) -> pd.DataFrame:
    """The ``recommend`` frame for distinct str ids ``cust``; ``k`` is already capped at the catalogue."""
    cand = _candidates(model, items)
    codes = model.user_map_.to_internal(cust)
    X = _rows_or_empty(model.user_items_, codes)
    blend = not exclude_seen and model.repeat_weight > 0
    # the repeat-purchase signal only matters when bought items are blended back in
    R = _rows_or_empty(model.user_repeat_, codes) if blend else None
    recalc = np.zeros(len(cust), dtype=bool)
    if history is not None:
        X, R, recalc = _fold_in(model, history, cust, X, R)
    warm = (codes >= 0) | recalc
    ids = np.full((len(cust), k), NO_ITEM, np.int64)
    vals = np.full((len(cust), k), -np.inf, np.float32)
    w = np.flatnonzero(warm)
    if len(w):
        Rw = None if R is None else R[w]
        ids[w], vals[w] = _rank(model, codes[w], X[w], Rw, recalc[w], k, exclude_seen, cand)
    cold = np.flatnonzero(~warm)
    if len(cold):
        pop = model._fallback_scores()
        pop = pop[None, :] if cand is None else pop[None, cand]
        top_ids, top_vals = topk_dense(pop.astype(np.float32), k)
        ids[cold], vals[cold] = _to_items(top_ids, cand), top_vals
        logger.info("recommend: %d of %d customers unknown, served popularity", len(cold), len(cust))
    frame = ranking_frame(cust, ids, vals, model.item_map_, Columns.CUSTOMER, Columns.ITEM)
    frame.attrs[N_COLD_START] = len(cold)
    return frame


def similar_frame(model: Ranker, ext: np.ndarray, k: int) -> pd.DataFrame:
    """The ``similar_items`` frame for distinct str item ids ``ext``; ``k`` is already capped."""
    codes = model.item_map_.to_internal(ext)
    known = np.flatnonzero(codes >= 0)

    def block(sl: slice) -> np.ndarray:
        rows = known[sl]
        s = np.array(model._item_block(codes[rows]), dtype=np.float64)
        s[np.arange(len(rows)), codes[rows]] = -np.inf
        return s

    ids = np.full((len(ext), k), NO_ITEM, np.int64)
    vals = np.full((len(ext), k), -np.inf, np.float32)
    ids[known], vals[known] = select(block, len(known), len(model.item_map_), k)
    unknown = np.flatnonzero(codes < 0)
    if len(unknown):
        top_ids, top_vals = topk_dense(model._fallback_scores()[None, :].astype(np.float32), k)
        ids[unknown], vals[unknown] = top_ids, top_vals
    return ranking_frame(ext, ids, vals, model.item_map_, Columns.ITEM, Columns.SIMILAR_ITEM)


def _candidates(model: Ranker, items: np.ndarray | None) -> np.ndarray | None:
    if items is None:
        return None
    codes = model.item_map_.to_internal(items)
    return np.unique(codes[codes >= 0])


def _fold_in(
    model: Ranker, history: pd.DataFrame, cust: np.ndarray, X: sp.csr_matrix, R: sp.csr_matrix | None
) -> tuple[sp.csr_matrix, sp.csr_matrix | None, np.ndarray]:
    rows = history_rows(history, model.weight_, cust, model.item_map_)
    if rows.empty:
        return X, R, np.zeros(len(cust), dtype=bool)
    rows = with_codes(rows, IdMap.from_unique(cust), model.item_map_)
    shape = (len(cust), len(model.item_map_))
    HX = interaction_matrix(rows, rows["w"].to_numpy(), shape)
    recalc = np.diff(HX.indptr) > 0
    if R is None:
        return (X + HX).tocsr(), None, recalc
    # the stored repeat signal is decayed to the fit's reference time; move it to the new one
    ref = max(model.reference_time_, pd.Timestamp(rows["ts"].max()))
    shift = _decay_between(model.reference_time_, ref, model.repeat_half_life)
    HR = repeat_matrix(rows, shape, ref, model.repeat_half_life)
    return (X + HX).tocsr(), (R * shift + HR).tocsr(), recalc


def _decay_between(old: pd.Timestamp, new: pd.Timestamp, half_life: float | None) -> float:
    if half_life is None:
        return 1.0
    days = (new - old) / pd.Timedelta(days=1)
    return float(0.5 ** (days / half_life))


def _rank(
    model: Ranker, codes: np.ndarray, X: sp.csr_matrix, R: sp.csr_matrix | None, recalc: np.ndarray,
    k: int, exclude_seen: bool, cand: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    fast = None if R is not None else model._rank_fast(codes, X, recalc, k, exclude_seen, cand)
    if fast is not None:
        ids, vals = fast
        return _to_items(ids, cand), vals
    Xc = X if cand is None else X[:, cand].tocsr()
    Rc = None if R is None else (R if cand is None else R[:, cand].tocsr())

    def block(sl: slice) -> np.ndarray:
        raw = np.asarray(model._score_block(codes[sl], X[sl], recalc[sl]))
        # float32 scores stay float32 (half the work of the top-k, same order and ties); others float64
        s = np.array(raw, dtype=np.float32 if raw.dtype == np.float32 and Rc is None else np.float64)
        if cand is not None:
            s = s[:, cand]
        if exclude_seen:
            mask_rows(s, Xc[sl])
        elif Rc is not None:
            s = _blend(s, Rc[sl], model.repeat_weight)
        return s

    n_cols = len(model.item_map_) if cand is None else len(cand)
    ids, vals = select(block, len(codes), n_cols, k)
    return _to_items(ids, cand), vals


def _to_items(positions: np.ndarray, cand: np.ndarray | None) -> np.ndarray:
    """Item codes of positions into the candidate list (``NO_ITEM`` stays)."""
    if cand is None:
        return positions
    if len(cand) == 0:
        return np.full_like(positions, NO_ITEM)
    return np.where(positions >= 0, cand[np.maximum(positions, 0)], NO_ITEM)


def _rows_or_empty(m: sp.csr_matrix, codes: np.ndarray) -> sp.csr_matrix:
    """Rows ``codes`` of ``m``; unknown codes (-1) give empty rows."""
    known = codes >= 0
    if known.all():
        return m[codes].tocsr()
    picked = m[np.where(known, codes, 0)].tocsr()
    out = (sp.diags(known.astype(np.float32)) @ picked).tocsr()
    out.eliminate_zeros()
    return out


def _blend(s: np.ndarray, R: sp.csr_matrix, weight: float) -> np.ndarray:
    lo = s.min(axis=1, keepdims=True)
    span = s.max(axis=1, keepdims=True) - lo
    scaled = np.divide(s - lo, span, out=np.zeros_like(s), where=span > 0)
    r = R.toarray().astype(np.float64)
    top = r.max(axis=1, keepdims=True)
    r = np.divide(r, top, out=np.zeros_like(r), where=top > 0)
    return (1.0 - weight) * scaled + weight * r
