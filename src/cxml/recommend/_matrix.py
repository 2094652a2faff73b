"""Events → user × item interaction matrices (internal; external ids stay in :class:`IdMap`).

Only *purchase rows* (:func:`cxml.schema.purchase_mask`) create positive interactions; returns,
refunds and engagement events never do. Interaction weights per (customer, item) pair:

- ``"count"``: number of purchase rows;
- ``"quantity"`` / ``"amount"`` / any other numeric column: sum of that column over purchase rows.

Purchase rows without an item, or whose weight is missing or not positive, cannot make a positive
interaction; they are counted and reported with a :class:`~cxml.DataWarning`.
"""

from __future__ import annotations

import warnings
from typing import Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml.data import IdMap
from cxml.exceptions import DataWarning, ParameterError, SchemaError
from cxml.schema import Columns, purchase_mask

__all__ = [
    "COUNT", "UNUSABLE", "binarised", "decay_weights", "encode", "id_map", "interaction_matrix", "purchase_rows",
    "to_csr", "with_codes",
]

COUNT: Final = "count"
#: Key of ``purchase_rows(...).attrs``: purchase rows left out (no item, missing or non-positive weight).
UNUSABLE: Final = "unusable_purchase_rows"
_DAY_NS: Final = 86_400 * 10**9


def purchase_rows(events: pd.DataFrame, weight: str = COUNT) -> pd.DataFrame:
    """Purchase rows that can make a positive interaction: columns customer, item, timestamp, w.

    Raises
    ------
    ParameterError
        When ``weight`` is not a str.
    SchemaError
        When ``weight`` is neither ``"count"`` nor a numeric column of ``events``.
    """
    if not isinstance(weight, str):
        raise ParameterError(
            f"weight={weight!r} is not valid; expected 'count', 'quantity', 'amount' or a column"
        )
    if weight != COUNT:
        if weight not in events.columns:
            raise SchemaError(
                f"weight={weight!r} is not a column of the events table; expected 'count', "
                f"'quantity', 'amount' or one of {list(events.columns)}"
            )
        if not pd.api.types.is_numeric_dtype(events[weight].dtype):
            raise SchemaError(f"weight column {weight!r} has dtype {events[weight].dtype}; expected numbers")
    mask = purchase_mask(events).to_numpy()
    rows = events.loc[mask]
    if weight == COUNT:
        w = np.ones(len(rows), dtype=np.float64)
    else:
        w = rows[weight].to_numpy(dtype=np.float64, na_value=np.nan)
    item = rows[Columns.ITEM]
    ok = item.notna().to_numpy() & np.isfinite(w) & (w > 0)
    n_bad = int((~ok).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {len(rows)} purchase rows have no item_id or a missing/non-positive "
            f"{weight!r} weight; they make no interaction",
            DataWarning,
            stacklevel=3,
        )
    # ids stay in pandas' (arrow) string arrays: converting millions of them to Python objects
    # would cost more than the whole ALS fit
    out = pd.DataFrame(
        {
            "customer": rows[Columns.CUSTOMER].array[ok],
            "item": item.array[ok],
            "ts": rows[Columns.TIMESTAMP].to_numpy()[ok],
            "w": w[ok],
        }
    )
    out.attrs[UNUSABLE] = n_bad
    return out


def id_map(values: pd.Series) -> tuple[IdMap, np.ndarray]:
    """IdMap of the distinct values and the internal code of every value.

    Factorised first, so only the distinct ids are converted and looked up.
    """
    codes, uniques = pd.factorize(values)
    ids = IdMap.from_values(np.asarray(uniques, dtype=object))
    lookup = ids.to_internal(np.asarray(uniques, dtype=object))
    return ids, lookup[codes].astype(np.int64)


def encode(values: pd.Series, ids: IdMap) -> np.ndarray:
    """Internal codes of ``values`` (-1 unknown), looking each distinct value up once."""
    codes, uniques = pd.factorize(values)
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    lookup = ids.to_internal(np.asarray(uniques, dtype=object))
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1).astype(np.int64)


def to_csr(
    user_codes: np.ndarray, item_codes: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Sum duplicate (user, item) pairs into a canonical float32 CSR matrix."""
    m = sp.csr_matrix(
        (values.astype(np.float64), (user_codes.astype(np.int64), item_codes.astype(np.int64))),
        shape=shape,
    )
    m.sum_duplicates()
    m.sort_indices()
    return m.astype(np.float32)


def to_csr_pair(
    user_codes: np.ndarray, item_codes: np.ndarray, first: np.ndarray, second: np.ndarray, shape: tuple[int, int]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """:func:`to_csr` of two value arrays over the same (user, item) pairs, sorted and summed once.

    The two arrays travel as the real and imaginary parts of one complex array, so scipy sums the
    duplicates of both in one pass; each part equals its own :func:`to_csr` exactly (float64 sums
    in the same order, then float32).
    """
    both = sp.csr_matrix(
        (first.astype(np.float64) + 1j * second.astype(np.float64),
         (user_codes.astype(np.int64), item_codes.astype(np.int64))),
        shape=shape,
    )
    both.sum_duplicates()
    both.sort_indices()
    return (sp.csr_matrix((both.data.real.astype(np.float32), both.indices, both.indptr), shape=shape),
            sp.csr_matrix((both.data.imag.astype(np.float32), both.indices.copy(), both.indptr.copy()), shape=shape))


def with_codes(rows: pd.DataFrame, user_map: IdMap, item_map: IdMap) -> pd.DataFrame:
    """``rows`` plus int columns ``u`` and ``i`` (internal codes), keeping only rows known to both maps."""
    u = encode(rows["customer"], user_map)
    i = encode(rows["item"], item_map)
    used = (u >= 0) & (i >= 0)
    return rows.assign(u=u, i=i).loc[used].reset_index(drop=True)


def interaction_matrix(rows: pd.DataFrame, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Users × items CSR summing ``values`` over ``rows`` (from :func:`with_codes`)."""
    return to_csr(rows["u"].to_numpy(), rows["i"].to_numpy(), values, shape)


def decay_weights(ts: np.ndarray, reference: np.datetime64, half_life_days: float | None) -> np.ndarray:
    """``0.5 ** (age / half_life)``, age in days before ``reference`` clipped at 0; 1 without half-life."""
    if half_life_days is None:
        return np.ones(len(ts), dtype=np.float64)
    age = (reference - ts.astype("datetime64[ns]")).astype(np.int64) / _DAY_NS
    return np.asarray(0.5 ** (np.clip(age, 0.0, None) / half_life_days), dtype=np.float64)


def binarised(X: sp.csr_matrix, binary: bool) -> sp.csr_matrix:
    """``X`` with every stored value set to 1 when ``binary`` (purchase indicators), else ``X`` itself."""
    if not binary:
        return X
    out = X.copy()
    out.data = np.ones_like(out.data)
    return out
