"""``BlendRecommender`` (a personal model's scores blended with popularity) and the helpers that
let a recommender hold a fitted inner model: sharing the base state, and saving the inner model's
class, parameters and arrays inside the parent's ``arrays.npz`` (JSON as numpy unicode, no pickle).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from typing import Any, Final, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.base import clone

from cxml.exceptions import BundleError, DataWarning, SchemaError
from cxml.recommend._matrix import COUNT
from cxml.recommend.base import BaseRecommender
from cxml.recommend.baselines import PopularityRecommender

__all__ = ["BlendRecommender", "pack_model", "share_base_state", "swapped", "unpack_model"]

#: What ``fit`` shares with an inner model fitted on the same events (set by BaseRecommender.fit/load).
_BASE_STATE: Final = ("user_map_", "item_map_", "weight_", "reference_time_", "user_items_",
                      "user_repeat_", "item_popularity_", "n_cold_start_")


def share_base_state(src: BaseRecommender, dst: BaseRecommender) -> None:
    for name in _BASE_STATE:
        setattr(dst, name, getattr(src, name))


def pack_model(model: BaseRecommender, prefix: str) -> dict[str, np.ndarray]:
    params = {k: v for k, v in model.get_params(deep=False).items() if not isinstance(v, BaseRecommender)}
    meta = json.dumps({"class": type(model).__name__, "params": params}, sort_keys=True)
    arrays = {f"{prefix}meta": np.array(meta)}
    arrays.update({f"{prefix}{k}": v for k, v in model._state_arrays().items()})
    return arrays


def unpack_model(arrays: dict[str, np.ndarray], prefix: str, parent: BaseRecommender) -> BaseRecommender:
    meta = json.loads(str(arrays[f"{prefix}meta"].item()))
    model_cls = BaseRecommender.registry.get(meta["class"])
    if model_cls is None:
        raise BundleError(f"saved inner model class {meta['class']!r} is not a known recommender")
    model = model_cls(**meta["params"])
    share_base_state(parent, model)
    model._restore_state({k[len(prefix):]: v for k, v in arrays.items()
                          if k.startswith(prefix) and k != f"{prefix}meta"})
    return model


@contextmanager
def swapped(obj: BaseRecommender, /, **values: Any) -> Iterator[None]:
    """Temporarily replace parameters (to write JSON-safe ones through BaseRecommender.save)."""
    old = {k: getattr(obj, k) for k in values}
    for k, v in values.items():
        setattr(obj, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(obj, k, v)


def _percentiles(scores: np.ndarray) -> np.ndarray:
    """Per-row rank of each score scaled to [0, 1] (ties share their mean rank)."""
    n = scores.shape[-1]
    return (rankdata(scores, method="average", axis=-1) - 1.0) / max(n - 1, 1)


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
        repeat_weight: float = 0.5,
        repeat_half_life: float | None = 90.0,
    ) -> None:
        self.model = model
        self.weight = weight
        self.popularity_half_life = popularity_half_life
        self.repeat_weight = repeat_weight
        self.repeat_half_life = repeat_half_life

    def _check_params(self) -> None:
        if not isinstance(self.model, BaseRecommender):
            raise SchemaError(f"model={self.model!r} is not valid; expected an unfitted recommender such as "
                              "ALSRecommender()")
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0.0 <= w <= 1.0:
            raise SchemaError(f"weight={w!r} is not valid; expected a number in [0, 1]")

    def fit(self, events: pd.DataFrame, *, weight: str = COUNT) -> Self:
        """Fit a fresh copy of ``model`` and the popularity ranking on ``events`` (as BaseRecommender.fit).

        The fitted copy is ``model_``; ``model`` itself is not modified. The inner fits do not repeat
        the ``DataWarning`` this fit already issued about the same rows; their errors (e.g. invalid
        parameters of ``model``) propagate, and leave this model unfitted.

        Parameters
        ----------
        events
            Canonical events (:func:`cxml.load_events`); needs ``item_id``.
        weight
            Interaction weight of this model, the inner model and the popularity ranking (not the
            blend ``weight`` parameter): ``"count"`` (purchase rows), ``"quantity"``, ``"amount"``
            or another numeric column, summed per customer and item over purchase rows.

        Returns
        -------
        self

        Raises
        ------
        SchemaError
            When ``model`` is not a recommender, the blend ``weight``, ``repeat_weight`` or
            ``repeat_half_life`` is out of range, ``events`` is not a canonical events table with
            item ids, or ``weight`` names no numeric column.
        InsufficientDataError
            When ``events`` holds no purchase row with an item and a positive weight.
        """
        self._events = events  # _fit only sees the matrix; the inner models fit from the events
        try:
            return super().fit(events, weight=weight)
        finally:
            del self._events

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        with warnings.catch_warnings():
            # the rows these fits would warn about were just reported by this model's own fit
            warnings.simplefilter("ignore", DataWarning)
            inner = clone(self.model).fit(self._events, weight=self.weight_)
            pop = PopularityRecommender(half_life=self.popularity_half_life)
            pop.fit(self._events, weight=self.weight_)
        self._attach(inner, pop.item_scores_)

    def _attach(self, inner: BaseRecommender, popularity: np.ndarray) -> None:
        self.model_ = inner
        share_base_state(self, inner)
        self.popularity_scores_ = np.asarray(popularity, dtype=np.float64)
        self._pop_pct = _percentiles(self.popularity_scores_)

    @classmethod
    def from_fitted(
        cls, model: BaseRecommender, popularity: PopularityRecommender, weight: float
    ) -> BlendRecommender:
        """Blend two models already fitted on the same events, without refitting them.

        The blend shares ``model``'s fitted state (customers, items, history, repeat signal) and
        uses ``model`` itself as its fitted ``model_`` (not a copy); its ``model`` parameter is an
        unfitted clone. ``popularity_half_life`` comes from ``popularity``, ``repeat_weight`` and
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
        SchemaError
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
            raise SchemaError("model and popularity were fitted on different items; expected the same events")
        blend = cls(model=clone(model), weight=weight, popularity_half_life=popularity.half_life,
                    repeat_weight=model.repeat_weight, repeat_half_life=model.repeat_half_life)
        blend._check_base_params()
        blend._check_params()
        share_base_state(model, blend)
        blend._attach(model, popularity.item_scores_)
        return blend

    def _fallback_scores(self) -> np.ndarray:
        return self.popularity_scores_

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        s = np.asarray(self.model_._score_block(codes, X, recalc), dtype=np.float64)
        w = float(self.weight)
        return w * _percentiles(s) + (1.0 - w) * self._pop_pct[None, :]

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        return self.model_._item_block(codes)

    def _forget_rows(self, keep: np.ndarray) -> None:
        share_base_state(self, self.model_)
        self.model_._forget_rows(keep)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"popularity_scores": self.popularity_scores_, **pack_model(self.model_, "model__")}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        inner = unpack_model(arrays, "model__", self)
        self.model = clone(inner)
        self._attach(inner, arrays["popularity_scores"])

    def save(self, path: str | PathLike[str]) -> None:
        """Write to directory ``path``; the inner model is stored in ``arrays.npz`` (no pickle)."""
        with swapped(self, model=None):
            super().save(path)
