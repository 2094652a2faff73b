"""What every recommender learns from the events the same way (internal).

:class:`FitState` is built once per ``fit`` from the purchase rows (ids, the customer × item
interaction matrix, the repeat-purchase signal, popularity) and handed to the model's ``_fit``.
A recommender that composes others (:class:`~cxml.recommend.BlendRecommender`) gives its inner
models the same state instead of building it again; loading a bundle rebuilds it from the arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Never, Self, TypeVar, overload

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml.data import IdMap
from cxml.exceptions import BundleError, InsufficientDataError
from cxml.recommend._matrix import UNUSABLE, decay_weights, id_map, interaction_matrix, purchase_rows, to_csr_pair
from cxml.recommend._persist import csr_from

T = TypeVar("T")

__all__ = [
    "FitState", "FittedStateView", "build_state", "repeat_matrix", "restored_state", "saved_array", "saved_csr",
    "saved_text",
]


@dataclass(frozen=True)
class FitState:
    """The shared learned state of a recommender (attributes ``user_map_`` ... ``item_popularity_``).

    ``rows`` holds the purchase rows with internal codes ``u, i``, timestamps ``ts`` and weights
    ``w``; it is ``None`` for a state restored from a bundle.
    """

    user_map: IdMap
    item_map: IdMap
    weight: str
    reference_time: pd.Timestamp
    user_items: sp.csr_matrix
    user_repeat: sp.csr_matrix
    item_popularity: np.ndarray
    rows: pd.DataFrame | None = None


class StateAttribute(property, Generic[T]):
    """A read-only attribute of a recommender: what ``read`` takes from the model's :class:`FitState`.

    A property (so ``help()`` lists it among the read-only properties, and assigning to it fails),
    typed by what ``read`` returns.
    """

    def __init__(self, read: Callable[[FitState], T], doc: str) -> None:
        super().__init__(lambda model: read(model._state()))
        self.__doc__ = doc  # property keeps a subclass's docstring otherwise

    if TYPE_CHECKING:  # what type checkers see; at run time property.__get__ does it

        @overload
        def __get__(self, model: None, owner: type, /) -> Self: ...
        @overload
        def __get__(self, model: Any, owner: type | None = None, /) -> T: ...
        def __get__(self, model: Any, owner: type | None = None, /) -> Any: ...
        def __set__(self, model: Any, value: Never, /) -> None: ...  # read-only: no value fits


class FittedStateView:
    """Read-only attributes ``user_map_`` ... ``item_popularity_`` of a recommender, from its :class:`FitState`."""

    fit_state_: FitState

    def _state(self) -> FitState:
        """The fitted :class:`FitState` (a composing model returns its inner model's)."""
        return self.fit_state_

    user_map_ = StateAttribute(lambda s: s.user_map, "Known customers (external id ↔ internal row).")
    item_map_ = StateAttribute(lambda s: s.item_map, "Known items (external id ↔ internal column).")
    weight_ = StateAttribute(lambda s: s.weight, "The ``weight`` the model was fitted with.")
    reference_time_ = StateAttribute(lambda s: s.reference_time, "Time of the last training purchase.")
    user_items_ = StateAttribute(lambda s: s.user_items, "Customers × items interaction weights.")
    user_repeat_ = StateAttribute(lambda s: s.user_repeat,
                                  "Customers × items recency-weighted purchase counts (the repeat signal).")
    item_popularity_ = StateAttribute(lambda s: s.item_popularity, "Distinct buying customers per item.")


def repeat_matrix(
    rows: pd.DataFrame, shape: tuple[int, int], reference: pd.Timestamp, half_life: float | None
) -> sp.csr_matrix:
    """Recency-weighted purchase counts per customer and item (half-life in days, None = counts)."""
    decay = decay_weights(rows["ts"].to_numpy(), reference.to_datetime64(), half_life)
    return interaction_matrix(rows, decay, shape)


def build_state(events: pd.DataFrame, weight: str, repeat_half_life: float | None) -> FitState:
    """Build the state from canonical (trusted) events; the interaction matrix is built here only.

    Raises
    ------
    SchemaError
        When ``weight`` is neither ``"count"`` nor a numeric column of ``events``.
    InsufficientDataError
        When no purchase row has an item and a positive weight.
    """
    rows = purchase_rows(events, weight)
    if rows.empty:
        unusable = rows.attrs.get(UNUSABLE, 0)
        raise InsufficientDataError(
            f"events ({len(events)} rows) hold no purchase rows with an item and a positive "
            f"{weight!r} weight ({unusable} purchase rows have no item_id or a missing, non-finite, negative or zero "
            "weight); a recommender needs some"
        )
    users, u = id_map(rows["customer"])
    items, i = id_map(rows["item"])
    rows = rows.assign(u=u, i=i)
    shape = (len(users), len(items))
    reference = pd.Timestamp(rows["ts"].max())
    decay = decay_weights(rows["ts"].to_numpy(), reference.to_datetime64(), repeat_half_life)
    X, repeats = to_csr_pair(u, i, rows["w"].to_numpy(), decay, shape)
    return FitState(
        user_map=users,
        item_map=items,
        weight=weight,
        item_popularity=np.bincount(X.indices, minlength=shape[1]).astype(np.float64),  # buying customers
        reference_time=reference,
        user_items=X,
        user_repeat=repeats,
        rows=rows,
    )


# ---------------------------------------------------------------------- restoring from a bundle
_KINDS = {"f": "floating-point", "i": "integer", "U": "text"}


def saved_array(
    arrays: dict[str, np.ndarray], key: str, kind: str, *, ndim: int, shape: tuple[int | None, ...] | None = None
) -> np.ndarray:
    """``arrays[key]`` checked for presence, dtype kind (``"f"``, ``"i"`` or ``"U"``), ``ndim`` and ``shape``.

    ``shape`` entries that are ``None`` are not checked; float arrays must be finite.

    Raises
    ------
    BundleError
        Naming the array and what was expected.
    """
    source = getattr(arrays, "source", "arrays.npz")
    if key not in arrays:
        raise BundleError(f"{source!r} has no array {key!r}; the saved model is incomplete")
    a = arrays[key]
    ok_kind = a.dtype.kind == kind or (kind == "i" and a.dtype.kind == "u") or (kind == "f" and a.dtype.kind in "iu")
    if not ok_kind or a.ndim != ndim:
        raise BundleError(f"{source!r}: saved array {key!r} has dtype {a.dtype} and {a.ndim} dimensions; expected "
                          f"{_KINDS[kind]} values in {ndim} dimensions")
    if shape is not None and any(want is not None and got != want for got, want in zip(a.shape, shape, strict=True)):
        expected = tuple("any" if s is None else s for s in shape)
        raise BundleError(f"{source!r}: saved array {key!r} has shape {a.shape}; expected {expected}")
    if kind == "f" and not np.isfinite(a).all():
        raise BundleError(f"{source!r}: saved array {key!r} holds {int((~np.isfinite(a)).sum())} non-finite values")
    return a


def saved_text(arrays: dict[str, np.ndarray], key: str) -> str:
    """A JSON text saved as a 0-d unicode array."""
    return str(saved_array(arrays, key, "U", ndim=0).item())


def saved_csr(arrays: dict[str, np.ndarray], prefix: str, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix saved with ``_persist.csr_arrays``: its structure checked by ``_persist.csr_from``,
    its shape against ``shape`` (the fitted id maps), its values finite. Each part is first checked
    on its own, so that a missing or mistyped part is named."""
    for part, kind in (("indptr", "i"), ("indices", "i"), ("data", "f"), ("shape", "i")):
        saved_array(arrays, f"{prefix}__{part}", kind, ndim=1)
    m = csr_from(arrays, prefix)
    source = getattr(arrays, "source", "arrays.npz")
    if m.shape != tuple(shape):
        raise BundleError(f"{source!r}: sparse matrix {prefix!r} has shape {m.shape}; expected {tuple(shape)}")
    if not np.isfinite(m.data).all():
        raise BundleError(f"{source!r}: sparse matrix {prefix!r} holds non-finite values")
    return sp.csr_matrix((m.data.astype(np.float32), m.indices, m.indptr), shape=m.shape)


def restored_state(state: dict[str, Any], arrays: dict[str, np.ndarray], user_map: IdMap, item_map: IdMap) -> FitState:
    """The :class:`FitState` of a saved model, every array checked (BundleError naming the bad one)."""
    shape = (len(user_map), len(item_map))
    try:
        weight, reference = str(state["weight"]), pd.Timestamp(state["reference_time"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"saved state {state!r} lacks a valid 'weight' and 'reference_time' ({exc})") from exc
    return FitState(
        user_map=user_map,
        item_map=item_map,
        weight=weight,
        reference_time=reference,
        user_items=saved_csr(arrays, "user_items", shape),
        user_repeat=saved_csr(arrays, "user_repeat", shape),
        item_popularity=saved_array(arrays, "item_popularity", "f", ndim=1, shape=(len(item_map),)),
    )
