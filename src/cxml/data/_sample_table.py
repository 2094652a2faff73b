"""Building one arrow table of canonical events from simulated populations (the dataset writer's block).

A block holds consecutive *units* of customers, each simulated from its own random stream with
customer indices ``0..n-1``; :class:`Unit` carries where the unit sits in the whole dataset (first
customer, first order number), so ids do not depend on how units are grouped into blocks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxml.data._sample_events import Population
from cxml.data._sample_frame import TYPES, order_numbers
from cxml.schema import Columns

__all__ = ["IdFormat", "Unit", "block_table", "id_names", "make_unit"]

_SECONDS_PER_DAY = 86_400


class Unit(NamedTuple):
    """One simulated population, its first customer's index and its orders' dataset-wide numbers."""

    population: Population
    first_customer: int
    order_number: np.ndarray


def make_unit(population: Population, first_customer: int, first_order: int) -> Unit:
    """Order numbers increase with time inside a unit and follow the earlier units' numbers."""
    number = order_numbers(population.order_customer, population.order_day) + first_order
    return Unit(population, first_customer, number)


class IdFormat(NamedTuple):
    """Zero-padding widths of the ids, fixed for the whole dataset; item names, shuffled."""

    customer_width: int
    order_width: int
    item_names: pa.Array


def id_names(prefix: str, codes: np.ndarray, width: int) -> pa.Array:
    """``prefix + zero-padded code`` as an arrow string array (``code < 0`` is null)."""
    text = pc.utf8_lpad(pa.array(codes, mask=codes < 0).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def block_table(units: list[Unit], first_day: np.datetime64, days: float, ids: IdFormat) -> pa.Table:
    """The canonical events of ``units`` (one block), sorted by timestamp, customer and type."""
    parts = [(unit, rows) for unit in units for rows in unit.population.rows]

    def column(field: str, dtype: type) -> np.ndarray:
        return np.concatenate(
            [np.broadcast_to(np.asarray(getattr(r, field), dtype=dtype), r.customer.size) for _, r in parts]
        )

    cust = np.concatenate([r.customer + u.first_customer for u, r in parts])
    sec = np.floor(column("day", np.float64) * _SECONDS_PER_DAY)
    sec = np.minimum(sec, days * _SECONDS_PER_DAY - 1).astype(np.int64)
    etype = column("kind", np.int64)
    # one int64 key (second, customer, type); ties (one customer, one second, one type) keep the
    # simulation's order, whatever the block. Bounded by 2**63 for ~10**10 customers over 2 years.
    n_cust = int(cust.max()) + 1
    idx = np.argsort((sec * n_cust + cust) * len(TYPES) + etype, kind="stable")
    order = np.concatenate([_global_orders(u, r.order, r.customer.size) for u, r in parts])[idx]
    item = column("item", np.int64)[idx]
    stamp = (first_day + sec[idx].astype("timedelta64[s]")).astype("datetime64[ns]")
    return pa.table(
        {
            Columns.CUSTOMER: id_names("C", cust[idx], ids.customer_width),
            Columns.TIMESTAMP: pa.array(stamp),
            Columns.EVENT_TYPE: pa.array(np.array(TYPES)).take(pa.array(etype[idx])),
            Columns.ITEM: ids.item_names.take(pa.array(item, mask=item < 0)),
            Columns.QUANTITY: pa.array(column("quantity", np.float64)[idx], from_pandas=True),
            Columns.AMOUNT: pa.array(column("amount", np.float64)[idx], from_pandas=True),
            Columns.VALUE: pa.array(column("value", np.float64)[idx], from_pandas=True),
            Columns.ORDER: id_names("O", order, ids.order_width),
        }
    )


def _global_orders(unit: Unit, local: np.ndarray | int, size: int) -> np.ndarray:
    local = np.broadcast_to(np.asarray(local, dtype=np.int64), size)
    return np.where(local >= 0, unit.order_number[np.maximum(local, 0)], -1)
