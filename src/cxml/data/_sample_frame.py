"""Assembling the synthetic sample's event arrays into the canonical events frame."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from cxml.schema import STRING_DTYPE, Columns, EventTypes

__all__ = [
    "CSAT",
    "LOGIN",
    "NPS",
    "PURCHASE",
    "SUPPORT",
    "TYPES",
    "VIEW",
    "Rows",
    "assemble",
    "order_numbers",
]

TYPES = (
    EventTypes.PURCHASE,
    EventTypes.VIEW,
    EventTypes.LOGIN,
    EventTypes.SUPPORT,
    EventTypes.NPS,
    EventTypes.CSAT,
)
#: codes of the event types while arrays are assembled
PURCHASE, VIEW, LOGIN, SUPPORT, NPS, CSAT = range(len(TYPES))
_SECONDS_PER_DAY = 86_400


class Rows(NamedTuple):
    """Events of one kind, column by column; scalars broadcast over the rows."""

    customer: np.ndarray
    day: np.ndarray
    kind: int
    item: np.ndarray | int = -1
    quantity: np.ndarray | float = np.nan
    amount: np.ndarray | float = np.nan
    value: np.ndarray | float = np.nan
    order: np.ndarray | int = -1


def order_numbers(order_cust: np.ndarray, order_day: np.ndarray) -> np.ndarray:
    """Order numbers that increase with time, like invoice numbers."""
    by_time = np.lexsort((order_cust, order_day))
    number = np.empty(order_cust.size, dtype=np.int64)
    number[by_time] = np.arange(order_cust.size)
    return number


def assemble(
    parts: list[Rows],
    first: pd.Timestamp,
    days: float,
    n_customers: int,
    n_items: int,
    order_number: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    def column(field: str, dtype: Any) -> np.ndarray:
        return np.concatenate(
            [np.broadcast_to(np.asarray(getattr(p, field), dtype=dtype), p.customer.size) for p in parts]
        )

    cust = column("customer", np.int64)
    sec = np.floor(column("day", np.float64) * _SECONDS_PER_DAY)
    sec = np.minimum(sec, days * _SECONDS_PER_DAY - 1).astype(np.int64)
    etype = column("kind", np.int64)
    # one int64 key (second, customer, type); ties keep the deterministic order of ``parts``
    key = (sec * n_customers + cust) * len(TYPES) + etype
    idx = np.argsort(key, kind="stable")
    del key
    item = column("item", np.int64)[idx]
    order = column("order", np.int64)[idx]
    order = np.where(order >= 0, order_number[np.maximum(order, 0)], -1)
    # item ids are shuffled so that they do not reveal the latent categories
    item_label = rng.permutation(n_items)
    item = np.where(item >= 0, item_label[np.maximum(item, 0)], -1)
    start = first.normalize().to_datetime64().astype("datetime64[s]")
    stamp = (start + sec[idx].astype("timedelta64[s]")).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            Columns.CUSTOMER: _ids("C", cust[idx], n_customers),
            Columns.TIMESTAMP: stamp,
            Columns.EVENT_TYPE: _labels(np.array(TYPES), etype[idx]),
            Columns.ITEM: _ids("I", item, n_items),
            Columns.QUANTITY: column("quantity", np.float64)[idx],
            Columns.AMOUNT: column("amount", np.float64)[idx],
            Columns.VALUE: column("value", np.float64)[idx],
            Columns.ORDER: _ids("O", order, order_number.size),
        }
    )


def _ids(prefix: str, codes: np.ndarray, n: int) -> pd.Series:
    """String ids ``prefix + zero-padded code``; code -1 is missing."""
    width = len(str(max(n - 1, 0)))
    return _labels(np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)), codes)


def _labels(names: np.ndarray, codes: np.ndarray) -> pd.Series:
    # an arrow take builds the string column without a python object per row
    taken = pa.array(names).take(pa.array(codes, mask=codes < 0))
    return pd.Series(taken, dtype=STRING_DTYPE)
