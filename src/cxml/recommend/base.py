"""``BaseRecommender``: what every cxml recommender shares.

A subclass only learns its item scoring (``_fit``) and says how to score a block of customers
(``_score_block``) and of items (``_item_block``); ids, cold start, history fold-in, masking,
repeat-purchase blending, top-k, forgetting and persistence live here, once.

Semantics shared by all recommenders:

- **Interactions** come from purchase rows only (returns, refunds and engagement rows never make
  a positive interaction); weights per ``fit(..., weight=)``, see :mod:`cxml.recommend._matrix`.
- **Re-fitting** discards every learned attribute first: no warm start.
- **Cold start**: customers the model does not know (and who bring no ``history``) get the
  training popularity ranking (distinct buying customers per item), restricted to ``items`` when
  given. ``n_cold_start_`` holds how many customers of the last call were served that way.
- **History fold-in** (no refit): ``recommend(..., history=events)`` adds those customers'
  purchase rows to what the model knows about them for this call only. Item-based models score
  from the combined history row; ALS solves the customer's least-squares factor against the fixed
  item factors (exactly implicit's ``recalculate_user``). New customers with history are therefore
  personalised; items unknown to the model are ignored (counted in a ``DataWarning``).
- **Repeat purchases**: with ``exclude_seen=False`` and ``repeat_weight > 0`` the score is
  ``(1 - repeat_weight) * s + repeat_weight * r`` where ``s`` is the model score min-max scaled
  per customer over the candidates and ``r`` the customer's own recency-weighted purchase count of
  the item (half-life ``repeat_half_life`` days) divided by the customer's largest; items never
  bought have ``r = 0``. Scores are then in ``[0, 1]``. With ``exclude_seen=True`` scores are the
  raw model scores.
- **Forgetting**: ``forget_customers`` removes the customers' rows (history, repeat signal and, for
  ALS, their factors); they are unknown afterwards. Item-level parameters learned from everybody
  (item factors, item-item weights, popularity) keep their aggregate contribution until the next fit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from os import PathLike
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from cxml.data import IdMap
from cxml.exceptions import BundleError, InsufficientDataError, NotFittedError, SchemaError
from cxml.recommend import _persist
from cxml.recommend._frames import as_id_array, history_rows, ranking_frame
from cxml.recommend._matrix import COUNT, decay_weights, id_map, interaction_matrix, purchase_rows, with_codes
from cxml.recommend._topk import NO_ITEM, mask_rows, select, topk_dense
from cxml.schema import Columns, validate_events

__all__ = ["BaseRecommender"]

logger = logging.getLogger("cxml.recommend")


class BaseRecommender(BaseEstimator):
    """Base class of all cxml recommenders (not used directly).

    Subclasses define keyword-only ``__init__`` parameters that include ``repeat_weight`` and
    ``repeat_half_life`` (see the module docstring).
    """

    registry: ClassVar[dict[str, type[BaseRecommender]]] = {}
    repeat_weight: float
    repeat_half_life: float | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BaseRecommender.registry[cls.__name__] = cls

    # ------------------------------------------------------------------ hooks for subclasses
    def _check_params(self) -> None:
        """Validate subclass parameters (raise SchemaError naming the parameter)."""

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        """Learn from ``X`` (users × items weights); ``rows`` has codes ``u, i``, ``ts`` and ``w``."""
        raise NotImplementedError

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        """Dense scores (customers × all items) for known codes (-1 = new) and history rows ``X``."""
        raise NotImplementedError

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        """Dense similarity (items × all items) of the given item codes."""
        raise NotImplementedError

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Optional faster ranking (positions into ``cand``/all items, scores); None = generic path."""
        return None

    def _fallback_scores(self) -> np.ndarray:
        return np.asarray(self.item_popularity_, dtype=np.float64)

    def _forget_rows(self, keep: np.ndarray) -> None:
        """Drop per-customer learned state, keeping the internal rows ``keep`` (in order)."""

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Rebuild subclass state from :meth:`_state_arrays` output."""

    # ------------------------------------------------------------------ fit
    def fit(self, events: pd.DataFrame, *, weight: str = COUNT) -> Self:
        """Learn from the purchase rows of a canonical events table.

        Parameters
        ----------
        events
            Canonical events (:func:`cxml.load_events`); needs ``item_id``.
        weight
            Interaction weight: ``"count"`` (purchase rows), ``"quantity"``, ``"amount"`` or
            another numeric column, summed per customer and item over purchase rows.

        Returns
        -------
        self
        """
        validate_events(events, require=[Columns.ITEM])
        self._check_base_params()
        self._check_params()
        rows = purchase_rows(events, weight)
        if rows.empty:
            raise InsufficientDataError(
                f"events ({len(events)} rows) hold no purchase rows with an item and a positive "
                f"{weight!r} weight; a recommender needs some"
            )
        self._clear_fitted()  # a re-fit never sees what a previous fit learned
        self.user_map_, u = id_map(rows["customer"])
        self.item_map_, i = id_map(rows["item"])
        rows = rows.assign(u=u, i=i)
        shape = (len(self.user_map_), len(self.item_map_))
        X = interaction_matrix(rows, rows["w"].to_numpy(), shape)
        self.weight_ = weight
        self.reference_time_ = pd.Timestamp(rows["ts"].max())
        self.user_items_ = X
        self.user_repeat_ = self._repeat_matrix(rows, shape, self.reference_time_)
        self.item_popularity_ = np.diff(X.tocsc().indptr).astype(np.float64)
        self.n_cold_start_ = 0
        try:
            self._fit(X, rows)
        except BaseException:
            self._clear_fitted()  # a failed fit must not leave a half-fitted model behind
            raise
        return self

    def _clear_fitted(self) -> None:
        for name in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, name)

    def _check_base_params(self) -> None:
        w = self.repeat_weight
        if not isinstance(w, int | float) or isinstance(w, bool) or not 0.0 <= w <= 1.0:
            raise SchemaError(f"repeat_weight={w!r} is not valid; expected a number in [0, 1]")
        hl = self.repeat_half_life
        if hl is not None and (not isinstance(hl, int | float) or isinstance(hl, bool) or hl <= 0):
            raise SchemaError(f"repeat_half_life={hl!r} is not valid; expected days > 0 or None")

    def _repeat_matrix(
        self, rows: pd.DataFrame, shape: tuple[int, int], reference: pd.Timestamp
    ) -> sp.csr_matrix:
        decay = decay_weights(rows["ts"].to_numpy(), reference.to_datetime64(), self.repeat_half_life)
        return interaction_matrix(rows, decay, shape)

    def _check_fitted(self) -> None:
        if not hasattr(self, "item_map_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(events) first")

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        customers: Iterable[Any],
        k: int = 10,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` items for each customer, batched.

        Parameters
        ----------
        customers
            External customer ids (duplicates are served once, in first-appearance order).
        k
            Items per customer (fewer when fewer candidates remain).
        exclude_seen
            Leave out items the customer bought (in training or ``history``).
        items
            Restrict candidates to these external item ids (ids the model does not know are ignored).
        history
            Events of (some of) these customers to fold in without refitting (see module docstring).

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_id, item_id, score, rank`` (rank 1..k per customer).

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        SchemaError
            When ``k`` is not an integer >= 1, ``customers`` or ``items`` is a single string, ``None``
            or holds missing ids, or ``history`` is not a canonical events table (or lacks the
            numeric ``weight`` column the model was fitted with).
        """
        self._check_fitted()
        k = _check_k(k)
        cust = as_id_array(customers, "customers")
        cand = self._candidates(items)
        codes = self.user_map_.to_internal(cust)
        X = _rows_or_empty(self.user_items_, codes)
        # the repeat-purchase signal only matters when bought items are blended back in
        R = _rows_or_empty(self.user_repeat_, codes) if self._blends(exclude_seen) else None
        recalc = np.zeros(len(cust), dtype=bool)
        if history is not None:
            X, R, recalc = self._fold_in(history, cust, X, R)
        warm = (codes >= 0) | recalc
        ids = np.full((len(cust), k), NO_ITEM, np.int64)
        vals = np.full((len(cust), k), -np.inf, np.float32)
        w = np.flatnonzero(warm)
        if len(w):
            Rw = None if R is None else R[w]
            ids[w], vals[w] = self._rank(codes[w], X[w], Rw, recalc[w], k, bool(exclude_seen), cand)
        cold = np.flatnonzero(~warm)
        if len(cold):
            pop = self._fallback_scores()[None, :] if cand is None else self._fallback_scores()[None, cand]
            top_ids, top_vals = topk_dense(pop.astype(np.float32), k)
            ids[cold], vals[cold] = _to_items(top_ids, cand), top_vals
        self.n_cold_start_ = len(cold)
        if len(cold):
            logger.info("recommend: %d of %d customers unknown, served popularity", len(cold), len(cust))
        return ranking_frame(cust, ids, vals, self.item_map_, Columns.CUSTOMER, Columns.ITEM)

    def _candidates(self, items: Iterable[Any] | None) -> np.ndarray | None:
        if items is None:
            return None
        codes = self.item_map_.to_internal(as_id_array(items, "items"))
        return np.unique(codes[codes >= 0])

    def _blends(self, exclude_seen: bool) -> bool:
        return not exclude_seen and self.repeat_weight > 0

    def _fold_in(
        self, history: pd.DataFrame, cust: np.ndarray, X: sp.csr_matrix, R: sp.csr_matrix | None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix | None, np.ndarray]:
        validate_events(history)
        rows = history_rows(history, self.weight_, cust, self.item_map_)
        if rows.empty:
            return X, R, np.zeros(len(cust), dtype=bool)
        rows = with_codes(rows, IdMap.from_unique(cust), self.item_map_)
        shape = (len(cust), len(self.item_map_))
        HX = interaction_matrix(rows, rows["w"].to_numpy(), shape)
        ref = max(self.reference_time_, pd.Timestamp(rows["ts"].max()))
        # the stored repeat signal is decayed to the fit's reference time; move it to the new one
        recalc = np.diff(HX.indptr) > 0
        if R is None:
            return (X + HX).tocsr(), None, recalc
        shift = self._repeat_decay_between(self.reference_time_, ref)
        HR = self._repeat_matrix(rows, shape, ref)
        return (X + HX).tocsr(), (R * shift + HR).tocsr(), recalc

    def _repeat_decay_between(self, old: pd.Timestamp, new: pd.Timestamp) -> float:
        if self.repeat_half_life is None:
            return 1.0
        days = (new - old) / pd.Timedelta(days=1)
        return float(0.5 ** (days / self.repeat_half_life))

    def _rank(
        self, codes: np.ndarray, X: sp.csr_matrix, R: sp.csr_matrix | None, recalc: np.ndarray, k: int,
        exclude_seen: bool, cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        blend = self._blends(exclude_seen)
        fast = None if blend else self._rank_fast(codes, X, recalc, k, exclude_seen, cand)
        if fast is not None:
            ids, vals = fast
        else:
            Xc = X if cand is None else X[:, cand].tocsr()
            Rc = None if R is None else (R if cand is None else R[:, cand].tocsr())

            def block(sl: slice) -> np.ndarray:
                s = np.array(self._score_block(codes[sl], X[sl], recalc[sl]), dtype=np.float64)
                if cand is not None:
                    s = s[:, cand]
                if exclude_seen:
                    mask_rows(s, Xc[sl])
                elif blend:
                    assert Rc is not None  # computed whenever blending
                    s = _blend(s, Rc[sl], self.repeat_weight)
                return s

            n_cols = self.item_map_.__len__() if cand is None else len(cand)
            ids, vals = select(block, len(codes), n_cols, k)
        return _to_items(ids, cand), vals

    # ------------------------------------------------------------------ similar items
    def similar_items(self, items: Iterable[Any], k: int = 10) -> pd.DataFrame:
        """The ``k`` items most similar to each given item (itself excluded).

        Items unknown to the model get the popularity ranking.

        Parameters
        ----------
        items
            External item ids (duplicates are served once, in first-appearance order).
        k
            Similar items per item (fewer when fewer items remain).

        Returns
        -------
        pandas.DataFrame
            Columns ``item_id, similar_item_id, score, rank`` (rank 1..k per item).

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        SchemaError
            When ``k`` is not an integer >= 1, or ``items`` is a single string, ``None`` or holds
            missing ids.
        """
        self._check_fitted()
        k = _check_k(k)
        ext = as_id_array(items, "items")
        codes = self.item_map_.to_internal(ext)
        n = len(self.item_map_)
        known = np.flatnonzero(codes >= 0)

        def block(sl: slice) -> np.ndarray:
            rows = known[sl]
            s = np.array(self._item_block(codes[rows]), dtype=np.float64)
            s[np.arange(len(rows)), codes[rows]] = -np.inf
            return s

        ids = np.full((len(ext), k), NO_ITEM, np.int64)
        vals = np.full((len(ext), k), -np.inf, np.float32)
        ids[known], vals[known] = select(block, len(known), n, k)
        unknown = np.flatnonzero(codes < 0)
        if len(unknown):
            top_ids, top_vals = topk_dense(self._fallback_scores()[None, :].astype(np.float32), k)
            ids[unknown], vals[unknown] = top_ids, top_vals
        return ranking_frame(ext, ids, vals, self.item_map_, Columns.ITEM, Columns.SIMILAR_ITEM)

    # ------------------------------------------------------------------ forget
    def forget_customers(self, customers: Iterable[Any]) -> Self:
        """Remove customers' history and per-customer state; later calls treat them as unknown.

        Ids the model does not know are ignored (forgetting is idempotent).
        """
        self._check_fitted()
        ids = as_id_array(customers, "customers")
        self.user_map_, keep = self.user_map_.drop(ids)
        self.user_items_ = self.user_items_[keep].tocsr()
        self.user_repeat_ = self.user_repeat_[keep].tocsr()
        self._forget_rows(keep)
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | PathLike[str]) -> None:
        """Write the fitted model to directory ``path`` (JSON + npz + parquet; no pickle)."""
        self._check_fitted()
        arrays = {**_persist.csr_arrays("user_items", self.user_items_),
                  **_persist.csr_arrays("user_repeat", self.user_repeat_),
                  "item_popularity": self.item_popularity_,
                  **{f"state__{k}": v for k, v in self._state_arrays().items()}}
        state = {"weight": self.weight_, "reference_time": self.reference_time_.isoformat()}
        _persist.write(path, type(self).__name__, self.get_params(deep=False), state, arrays,
                       self.user_map_, self.item_map_)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> BaseRecommender:
        """Load a model written by :meth:`save`; returns the saved class (a subclass of ``cls``)."""
        name, params, state, arrays, user_map, item_map = _persist.read(path)
        model_cls = BaseRecommender.registry.get(name)
        if model_cls is None or not issubclass(model_cls, cls):
            raise BundleError(f"{path} holds a {name!r} model; expected a {cls.__name__}")
        try:
            model = model_cls(**params)
        except TypeError as exc:
            raise BundleError(f"{path}: saved parameters do not fit {name} ({exc})") from exc
        model.user_map_, model.item_map_ = user_map, item_map
        model.weight_ = str(state["weight"])
        model.reference_time_ = pd.Timestamp(state["reference_time"])
        model.user_items_ = _persist.csr_from(arrays, "user_items")
        model.user_repeat_ = _persist.csr_from(arrays, "user_repeat")
        model.item_popularity_ = arrays["item_popularity"]
        model.n_cold_start_ = 0
        model._restore_state({k[len("state__"):]: v for k, v in arrays.items() if k.startswith("state__")})
        return model


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError(f"k={k!r} is not valid; expected an integer >= 1")
    return int(k)


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

