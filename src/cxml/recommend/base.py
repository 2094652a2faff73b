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
  given. ``recommend(...).attrs["n_cold_start"]`` says how many customers of that call were
  served that way (``recommend`` never writes to the model, so one model can serve many threads).
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

from collections.abc import Iterable, Iterator
from dataclasses import replace
from os import PathLike
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from cxml._checks import check_bool, check_float, check_int
from cxml._params import keep_init_args, show_passed_on
from cxml.data import as_events
from cxml.exceptions import BundleError, NotFittedError
from cxml.recommend import _persist
from cxml.recommend._docs import fill_doc
from cxml.recommend._frames import as_id_array
from cxml.recommend._matrix import COUNT
from cxml.recommend._ranking import recommend_frame, similar_frame
from cxml.recommend._state import FitState, FittedStateView, build_state, restored_state
from cxml.schema import Columns

__all__ = ["BaseRecommender", "recommender_class"]


@fill_doc
class BaseRecommender(FittedStateView, BaseEstimator):
    """Base class of all cxml recommenders (not used directly).

    It owns the parameters every recommender takes, ``repeat_weight`` and ``repeat_half_life``
    (see the module docstring), with their checks. A subclass defines its own keyword-only
    ``__init__`` parameters, ends them with ``**shared: Unpack[RepeatParams]`` that it passes on to
    this ``__init__``, and sets the class attribute ``name`` under which
    :data:`cxml.recommend.RECOMMENDERS` lists it. Its ``__init__`` then shows the full signature,
    its own keywords first (to ``inspect.signature``, ``get_params``, ``clone`` and ``help()``).

    Parameters
    ----------
    {{repeat_params}}
    """

    #: Name in :data:`cxml.recommend.RECOMMENDERS` (and in the ``cxml train`` config).
    name: str = ""
    repeat_weight: float
    repeat_half_life: float | None

    def __init__(self, *, repeat_weight: float = 0.5, repeat_half_life: float | None = 90.0) -> None:
        keep_init_args(self, locals())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Show the keywords a subclass passes on to :meth:`__init__` in its signature."""
        super().__init_subclass__(**kwargs)
        show_passed_on(cls)

    # ------------------------------------------------------------------ hooks for subclasses
    def _check_params(self) -> None:
        """Validate subclass parameters (raise ParameterError naming the parameter)."""

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
        """Rebuild subclass state from :meth:`_state_arrays` output (raise BundleError when malformed)."""

    # ------------------------------------------------------------------ fit
    def fit(self, events: Any, *, weight: str = COUNT) -> Self:
        """Learn from the purchase rows of an events table.

        Parameters
        ----------
        events
            Events (:func:`cxml.as_events`: a canonical frame, a frame lacking optional columns, or
            a csv/parquet path); needs ``item_id``.
        weight
            Interaction weight: ``"count"`` (purchase rows), ``"quantity"``, ``"amount"`` or
            another numeric column, summed per customer and item over purchase rows.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            When a hyper-parameter is not valid.
        SchemaError
            When ``events`` is not an events table with item ids, or ``weight`` names no numeric column.
        InsufficientDataError
            When no purchase row has an item and a positive weight.
        """
        return self._fit_events(as_events(events, require=[Columns.ITEM]), weight)

    def _fit_events(self, events: pd.DataFrame, weight: str) -> Self:
        """``fit`` on canonical (trusted) events."""
        self._check_all_params()
        return self._learn(build_state(events, weight, self.repeat_half_life))

    def _learn(self, state: FitState) -> Self:
        """Fit from a state built once (also by a composing model for its inner models)."""
        self._clear_fitted()  # a re-fit never sees what a previous fit learned
        self.fit_state_ = replace(state, rows=None)  # the rows are only needed while fitting
        assert state.rows is not None  # a state built for fitting has its rows
        try:
            self._fit(state.user_items, state.rows)
        except BaseException:
            self._clear_fitted()  # a failed fit must not leave a half-fitted model behind
            raise
        return self

    def _clear_fitted(self) -> None:
        for name in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, name)

    def check_params(self) -> Self:
        """Validate the hyper-parameters without fitting (``fit`` does the same first).

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            Naming the first invalid parameter, its value and what was expected.
        """
        self._check_all_params()
        return self

    def _check_all_params(self) -> None:
        check_float("repeat_weight", self.repeat_weight, minimum=0.0, maximum=1.0)
        if self.repeat_half_life is not None:
            check_float("repeat_half_life", self.repeat_half_life, minimum=0.0, exclusive_minimum=True)
        self._check_params()

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(events) first")

    def _is_fitted(self) -> bool:
        return "fit_state_" in vars(self)

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        customers: Any,
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        history: Any = None,
    ) -> pd.DataFrame:
        """Top-``k`` items for each customer, batched.

        Parameters
        ----------
        customers
            External customer ids (duplicates are served once, in first-appearance order); a
            single str is one customer.
        k
            Items per customer (fewer when fewer candidates remain; never more than the catalogue).
        exclude_seen
            Leave out items the customer bought (in training or ``history``).
        items
            Restrict candidates to these external item ids (ids the model does not know are ignored).
        history
            Events of (some of) these customers to fold in without refitting (see module
            docstring); a frame or a path, as for ``fit``.

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_id, item_id, score, rank`` (rank 1..k per customer);
            ``attrs["n_cold_start"]`` counts the customers served the popularity ranking.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ParameterError
            When ``k`` is not an integer >= 1, ``exclude_seen`` not a bool, or ``customers`` /
            ``items`` is ``None`` or holds missing ids.
        SchemaError
            When ``history`` is not an events table (or lacks the numeric ``weight`` column the
            model was fitted with).
        """
        self._check_fitted()
        k = self._cap_k(k)
        cust = as_id_array(customers, "customers")
        seen = check_bool("exclude_seen", exclude_seen)
        cand = None if items is None else as_id_array(items, "items")
        hist = None if history is None else as_events(history)
        return self._recommend(cust, k, seen, cand, hist)

    def _cap_k(self, k: Any) -> int:
        """``k`` checked, then capped at the catalogue so nothing larger is ever allocated."""
        return min(check_int("k", k, minimum=1), len(self.item_map_))

    def _recommend(
        self, cust: np.ndarray, k: int, exclude_seen: bool, items: np.ndarray | None, history: pd.DataFrame | None
    ) -> pd.DataFrame:
        return recommend_frame(self, cust, k, exclude_seen, items, history)

    # ------------------------------------------------------------------ similar items
    def similar_items(self, items: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items most similar to each given item (itself excluded).

        Items unknown to the model get the popularity ranking.

        Parameters
        ----------
        items
            External item ids (duplicates are served once, in first-appearance order); a single
            str is one item.
        k
            Similar items per item (fewer when fewer items remain; never more than the catalogue).

        Returns
        -------
        pandas.DataFrame
            Columns ``item_id, similar_item_id, score, rank`` (rank 1..k per item).

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ParameterError
            When ``k`` is not an integer >= 1, or ``items`` is ``None`` or holds missing ids.
        """
        self._check_fitted()
        k = self._cap_k(k)
        return self._similar(as_id_array(items, "items"), k)

    def _similar(self, items: np.ndarray, k: int) -> pd.DataFrame:
        return similar_frame(self, items, k)

    # ------------------------------------------------------------------ forget
    def forget_customers(self, customers: Iterable[Any]) -> Self:
        """Remove customers' history and per-customer state; later calls treat them as unknown.

        Ids the model does not know are ignored (forgetting is idempotent).

        Parameters
        ----------
        customers
            External customer ids; a single str is one customer.

        Returns
        -------
        self
        """
        self._check_fitted()
        self._forget(as_id_array(customers, "customers"))
        return self

    def _forget(self, ids: np.ndarray) -> None:
        state = self.fit_state_
        users, keep = state.user_map.drop(ids)
        self.fit_state_ = replace(state, user_map=users, user_items=state.user_items[keep].tocsr(),
                                  user_repeat=state.user_repeat[keep].tocsr(), rows=None)
        self._forget_rows(keep)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | PathLike[str]) -> None:
        """Write the fitted model to directory ``path`` (JSON + npz + parquet; no pickle).

        Parameters
        ----------
        path
            Directory to write (created when missing).
        """
        self._check_fitted()
        arrays = {**_persist.csr_arrays("user_items", self.user_items_),
                  **_persist.csr_arrays("user_repeat", self.user_repeat_),
                  "item_popularity": self.item_popularity_,
                  **{f"state__{k}": v for k, v in self._state_arrays().items()}}
        state = {"weight": self.weight_, "reference_time": self.reference_time_.isoformat()}
        _persist.write(path, type(self).__name__, self._saved_params(), state, arrays,
                       self.user_map_, self.item_map_)

    def _saved_params(self) -> dict[str, Any]:
        """Parameters as written to ``params.json`` (JSON-safe)."""
        return dict(self.get_params(deep=False))

    @classmethod
    def load(cls, path: str | PathLike[str]) -> BaseRecommender:
        """Load a model written by :meth:`save`; returns the saved class (a subclass of ``cls``).

        Parameters
        ----------
        path
            Directory written by :meth:`save`.

        Returns
        -------
        BaseRecommender

        Raises
        ------
        BundleError
            When the directory holds no saved recommender, another class, or malformed content.
        """
        name, params, state, arrays, user_map, item_map = _persist.read(path)
        model_cls = recommender_class(name)
        if model_cls is None or not issubclass(model_cls, cls):
            raise BundleError(f"{path} holds a {name!r} model; expected a {cls.__name__}")
        model = model_cls._from_saved_params(params, f"{path}")
        fit_state = restored_state(state, arrays, user_map, item_map)
        model._restore(fit_state, {k[len("state__"):]: v for k, v in arrays.items() if k.startswith("state__")})
        return model

    @classmethod
    def _from_saved_params(cls, params: dict[str, Any], where: str) -> Self:
        try:
            return cls(**params)
        except TypeError as exc:
            raise BundleError(f"{where}: saved parameters do not fit {cls.__name__} ({exc})") from exc

    def _restore(self, state: FitState, arrays: dict[str, np.ndarray]) -> None:
        """Become the saved model: the shared state, then the subclass arrays."""
        self.fit_state_ = state
        self._restore_state(arrays)


def _all_subclasses(cls: type[BaseRecommender]) -> Iterator[type[BaseRecommender]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def recommender_class(class_name: str) -> type[BaseRecommender] | None:
    """The recommender class called ``class_name`` (as saved in a bundle), or None.

    Looked up among the subclasses of :class:`BaseRecommender` that are defined (cxml's own first),
    so a user's subclass loads like a built-in one.
    """
    for sub in _all_subclasses(BaseRecommender):
        if sub.__name__ == class_name:
            return sub
    return None
