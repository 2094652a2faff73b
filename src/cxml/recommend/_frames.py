"""Id arrays in, ranking frames out, history rows for fold-in (internal)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from cxml.data import IdMap
from cxml.data.idmap import plain_str_array, to_id_strings
from cxml.exceptions import DataWarning, ParameterError
from cxml.recommend._matrix import encode, purchase_rows
from cxml.schema import STRING_DTYPE, Columns

__all__ = ["as_id_array", "history_rows", "ranking_frame"]


def as_id_array(ids: Any, name: str) -> np.ndarray:
    """Distinct ids as an object array of str, in first-appearance order.

    A single ``str`` (or any other non-iterable value) is one id, so ``"C0001"`` means that
    customer, not five characters.

    Raises
    ------
    ParameterError
        When ``ids`` is ``None``, holds missing ids, or cannot be read as a flat list of ids.
    """
    if ids is None:
        raise ParameterError(f"{name}=None is not valid; expected an id or a list of ids, e.g. ['c1', 'c2']")
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        ids = [ids]
    fast = plain_str_array(ids)
    if fast is not None:  # a short list of canonical string ids: no pandas round trip
        return np.array(list(dict.fromkeys(fast)), dtype=object)
    try:
        values = pd.Series(ids if isinstance(ids, pd.Series | pd.Index | np.ndarray) else list(ids), dtype=object)
        missing = values.isna().to_numpy(dtype=bool)
    except (TypeError, ValueError) as exc:  # e.g. a 2-d array: not a list of ids
        raise ParameterError(f"{name} cannot be read as a list of ids ({exc}); expected e.g. ['c1', 'c2']") from exc
    if missing.any():
        raise ParameterError(f"{name} holds {int(missing.sum())} missing ids; expected ids")
    return np.asarray(pd.unique(to_id_strings(values).to_numpy(dtype=object)), dtype=object)


def ranking_frame(
    keys: np.ndarray, ids: np.ndarray, vals: np.ndarray, item_map: IdMap, key_col: str, item_col: str
) -> pd.DataFrame:
    """Long frame ``key_col, item_col, score, rank`` from per-key top-k arrays (``-1`` = no item)."""
    k = ids.shape[1] if ids.ndim == 2 else 0
    valid = ids >= 0
    row = np.repeat(np.arange(len(keys)), k).reshape(ids.shape)[valid]
    rank = np.broadcast_to(np.arange(1, k + 1), ids.shape)[valid]
    return pd.DataFrame(
        {
            key_col: pd.array(keys[row], dtype=STRING_DTYPE),
            item_col: pd.array(item_map.to_external(ids[valid]), dtype=STRING_DTYPE),
            Columns.SCORE: vals[valid].astype(np.float64),
            Columns.RANK: rank.astype(np.int64),
        }
    )


def history_rows(history: pd.DataFrame, weight: str, customers: np.ndarray, item_map: IdMap) -> pd.DataFrame:
    """Purchase rows of ``history`` that belong to ``customers`` and name an item the model knows.

    Rows of other customers are not part of the request and are skipped; rows with items unknown to
    the model cannot be scored and are counted in a :class:`~cxml.DataWarning`.
    """
    if Columns.ITEM not in history.columns or history[Columns.ITEM].notna().sum() == 0:
        return pd.DataFrame({"customer": [], "item": [], "ts": np.array([], "datetime64[ns]"), "w": []})
    mine = history[Columns.CUSTOMER].isin(pd.Index(customers)).to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        rows = purchase_rows(history.loc[mine], weight)
    for w in caught:  # re-issue so the warning points at the caller, not at this helper
        warnings.warn(str(w.message), DataWarning, stacklevel=4)
    known = encode(rows["item"], item_map) >= 0
    if (~known).any():
        warnings.warn(
            f"history: {int((~known).sum())} of {len(rows)} purchase rows name items the model does "
            "not know; they are ignored for this call",
            DataWarning,
            stacklevel=4,
        )
    return rows.loc[known].reset_index(drop=True)
