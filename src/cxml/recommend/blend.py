"""``BlendRecommender``: a personal model's scores blended with popularity, and the helpers that
let a recommender hold a fitted inner model: saving the inner model's class, parameters and arrays
inside the parent's ``arrays.npz`` (JSON as numpy unicode, no pickle).

A blend composes its inner model: the inner model holds the fitted state (customers, items,
history) and the blend reads it through :meth:`BaseRecommender._state`; nothing is copied.
"""

from __future__ import annotations

import json
from typing import Any, Self, Unpack

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from cxml._checks import check_float
from cxml._params import keep_init_args
from cxml.exceptions import BundleError, ParameterError
from cxml.recommend._blendrank import Allowed, blend_topk
from cxml.recommend._signature import RepeatParams
from cxml.recommend._state import FitState, saved_array, saved_text
from cxml.recommend._topk import NO_ITEM, chunks
from cxml.recommend.base import BaseRecommender, recommender_class
from cxml.recommend.baselines import PopularityRecommender

__all__ = ["BlendRecommender", "pack_model", "unpack_model"]


def pack_model(model: BaseRecommender, prefix: str) -> dict[str, np.ndarray]:
    """The arrays that save ``model`` (class, JSON-safe parameters and its own arrays) under ``prefix``."""
    params = {k: v for k, v in model.get_params(deep=False).items() if not isinstance(v, BaseRecommender)}
    meta = json.dumps({"class": type(model).__name__, "params": params}, sort_keys=True)
    arrays = {f"{prefix}meta": np.array(meta)}
    arrays.update({f"{prefix}{k}": v for k, v in model._state_arrays().items()})
    return arrays


def unpack_model(arrays: dict[str, np.ndarray], prefix: str, state: FitState) -> BaseRecommender:
    """The model saved by :func:`pack_model`, restored on the shared ``state``.

    Raises
    ------
    BundleError
        When the meta data or one of the model's arrays is malformed (naming it).
    """
    key = f"{prefix}meta"
    try:
        meta = json.loads(saved_text(arrays, key))
        class_name, params = str(meta["class"]), dict(meta["params"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"saved array {key!r} is not the JSON of an inner model ({exc})") from exc
    model_cls = recommender_class(class_name)
    if model_cls is None:
        raise BundleError(f"saved inner model class {class_name!r} is not a known recommender")
    model = model_cls._from_saved_params(params, key)
    model._restore(state, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix) and k != key})
    return model


def _percentiles(scores: np.ndarray) -> np.ndarray:
    """Per-row rank of each score scaled to [0, 1] (ties share their mean rank)."""
    # pandas' average rank equals scipy.stats.rankdata's, without scipy.stats' ~1 s import
    n = scores.shape[-1]
    ranks = pd.DataFrame(np.atleast_2d(scores)).rank(axis=1, method="average").to_numpy(dtype=np.float64)
    return (ranks.reshape(scores.shape) - 1.0) / max(n - 1, 1)


class BlendRecommender(BaseRecommender):
    """Rank blend of a personal model with popularity: ``weight * pct(model) + (1 - weight) * pct(pop)``.

    ``pct`` is the score's percentile among all items (per customer for the model, global for the
    popularity of :class:`PopularityRecommender` with ``popularity_half_life``), so the two scales
    never need calibrating. Cold customers get that popularity.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c", "d"],
    ...     "timestamp": ["2024-01-01"] * 6, "item_id": ["x", "y", "x", "y", "x", "z"]}))
    >>> from cxml.recommend import ItemKNNRecommender
    >>> m = BlendRecommender(model=ItemKNNRecommender(), weight=0.5).fit(ev)
    >>> m.recommend(["c"], k=1)["item_id"].tolist()
    ['y']
    """

    def __init__(
        self,
        *,
        model: BaseRecommender | None = None,
        weight: float = 0.5,
        popularity_half_life: float | None = None,
        **shared: Unpack[RepeatParams],
    ) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())

    name = "blend"

    def _check_params(self) -> None:
        if not isinstance(self.model, BaseRecommender):
            raise ParameterError(f"model={self.model!r} is not valid; expected an unfitted recommender such as "
                                 "ALSRecommender()")
        self.model._check_all_params()
        check_float("weight", self.weight, minimum=0.0, maximum=1.0)
        if self.popularity_half_life is not None:
            check_float("popularity_half_life", self.popularity_half_life, minimum=0.0, exclusive_minimum=True)

    def _learn(self, state: FitState) -> Self:
        """Fit a fresh copy of ``model`` and the popularity ranking on the one ``state`` of this fit.

        The fitted copy is ``model_``; ``model`` itself is not modified. Errors of the inner fit (e.g.
        invalid parameters of ``model``) propagate and leave this model unfitted.
        """
        self._clear_fitted()
        assert isinstance(self.model, BaseRecommender)  # checked by _check_params
        inner = clone(self.model)
        pop = PopularityRecommender(half_life=self.popularity_half_life)
        self._attach(inner._learn(state), pop._learn(state).item_scores_)
        return self

    def _attach(self, inner: BaseRecommender, popularity: np.ndarray) -> None:
        self.model_ = inner
        self.popularity_scores_ = np.asarray(popularity, dtype=np.float64)
        self._pop_pct = _percentiles(self.popularity_scores_)

    def _state(self) -> FitState:
        return self.model_._state()

    def _is_fitted(self) -> bool:
        return "model_" in vars(self)

    @classmethod
    def from_fitted(
        cls, model: BaseRecommender, popularity: PopularityRecommender, weight: float
    ) -> BlendRecommender:
        """Blend two models already fitted on the same events, without refitting them.

        The blend uses ``model`` itself as its fitted ``model_`` (not a copy), and so its fitted
        state (customers, items, history, repeat signal); its ``model`` parameter is an unfitted
        clone. ``popularity_half_life`` comes from ``popularity``, ``repeat_weight`` and
        ``repeat_half_life`` from ``model``.

        Parameters
        ----------
        model
            A fitted recommender (the personal scores).
        popularity
            A :class:`PopularityRecommender` fitted on the same events; its ``item_scores_`` are the
            popularity side of the blend and the ranking of cold customers.
        weight
            Blend weight in ``[0, 1]`` of the model's percentile (``1 - weight`` goes to popularity).

        Returns
        -------
        BlendRecommender
            A fitted blend, ready for ``recommend``, ``similar_items`` and ``save``.

        Raises
        ------
        NotFittedError
            When ``model`` or ``popularity`` is not fitted.
        ParameterError
            When the two models know different items (in a different order), or ``weight`` (or
            ``model``'s ``repeat_weight``/``repeat_half_life``) is not valid.

        Examples
        --------
        >>> import pandas as pd, cxml
        >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "timestamp": ["2024-01-01"] * 3, "item_id": ["x", "y", "x"]}))
        >>> from cxml.recommend import ItemKNNRecommender, PopularityRecommender
        >>> knn, pop = ItemKNNRecommender().fit(ev), PopularityRecommender().fit(ev)
        >>> BlendRecommender.from_fitted(knn, pop, 0.5).recommend(["b"], k=1)["item_id"].tolist()
        ['y']
        """
        model._check_fitted()
        popularity._check_fitted()
        if list(model.item_map_.external_ids) != list(popularity.item_map_.external_ids):
            raise ParameterError("model and popularity were fitted on different items; expected the same events")
        blend = cls(model=clone(model), weight=weight, popularity_half_life=popularity.half_life,
                    repeat_weight=model.repeat_weight, repeat_half_life=model.repeat_half_life)
        blend._check_all_params()
        blend._attach(model, popularity.item_scores_)
        return blend

    def _fallback_scores(self) -> np.ndarray:
        return self.popularity_scores_

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        s = np.asarray(self.model_._score_block(codes, X, recalc), dtype=np.float64)
        w = float(self.weight)
        return w * _percentiles(s) + (1.0 - w) * self._pop_pct[None, :]

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        # exact, without ranking every item of every row (see cxml.recommend._blendrank)
        n = len(self.item_map_)
        columns = None
        if cand is not None:
            columns = np.zeros(n, dtype=bool)
            columns[cand] = True
        pop_order = np.argsort(-self._pop_pct, kind="stable")
        ids_parts, val_parts = [], []
        for sl in chunks(len(codes), n):
            s = np.asarray(self.model_._score_block(codes[sl], X[sl], recalc[sl]))
            s = s if s.dtype == np.float32 else s.astype(np.float64)  # float32 -> float64 keeps every rank
            seen = np.empty(0, np.int64)
            if exclude_seen:
                Xs = X[sl]
                seen = np.sort(np.repeat(np.arange(Xs.shape[0], dtype=np.int64), np.diff(Xs.indptr)) * n
                               + Xs.indices)
            ids, vals = blend_topk(s, self._pop_pct, pop_order, float(self.weight), Allowed(seen, columns), k)
            if cand is not None:  # item codes -> positions into the candidates
                ids = np.where(ids >= 0, np.searchsorted(cand, np.maximum(ids, 0)), NO_ITEM)
            ids_parts.append(ids)
            val_parts.append(vals)
        if not ids_parts:
            return None
        return np.vstack(ids_parts), np.vstack(val_parts)

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        return self.model_._item_block(codes)

    def _forget(self, ids: np.ndarray) -> None:
        self.model_._forget(ids)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"popularity_scores": self.popularity_scores_, **pack_model(self.model_, "model__")}

    def _saved_params(self) -> dict[str, Any]:
        return {**super()._saved_params(), "model": None}  # the inner model is saved in the arrays

    def _restore(self, state: FitState, arrays: dict[str, np.ndarray]) -> None:
        inner = unpack_model(arrays, "model__", state)
        self.model = clone(inner)
        pop = saved_array(arrays, "popularity_scores", "f", ndim=1, shape=(len(state.item_map),))
        self._attach(inner, pop)
