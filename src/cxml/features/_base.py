"""Columnar preparation shared by every feature family.

An events table is turned once into plain numpy arrays ordered by (customer, time), with the
customer ids factorized to dense ints numbered in sorted-id order. Every feature is then a
masked ``bincount`` / ``ufunc.at`` / run-length pass over those arrays — no per-customer Python —
and a multi-cutoff training frame reuses one :class:`Prepared` for every cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from cxml.schema import STRING_DTYPE, Columns, EventTypes, purchase_mask

__all__ = ["NS_PER_DAY", "Prepared", "prepare", "window_label"]

NS_PER_DAY: Final = 86_400 * 10**9
#: feedback kinds, in column order; a ``value`` on any other event type counts as a ``rating``
FEEDBACK_KINDS: Final = EventTypes.FEEDBACK


@dataclass(frozen=True, eq=False)
class Prepared:
    """Events as numpy arrays sorted by (customer code, timestamp).

    ``cust`` codes index ``ids`` (sorted external ids). Per-row arrays all have the same length.
    ``order`` is a dense per-row order id when the events have ``order_id`` (``None`` otherwise:
    an order is then a customer-day). ``eng`` codes index ``eng_names`` (engagement event types:
    neither purchase nor feedback), ``fb`` codes index :data:`FEEDBACK_KINDS` (-1 = none).
    """

    ids: pd.Index
    cust: np.ndarray
    ts: np.ndarray
    day: np.ndarray
    is_purchase: np.ndarray
    is_ptype: np.ndarray
    is_return: np.ndarray
    amount: np.ndarray
    item: np.ndarray
    n_items: int
    order: np.ndarray | None
    order_cust: np.ndarray | None
    eng: np.ndarray
    eng_names: tuple[str, ...]
    fb: np.ndarray
    value: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.ids)


def window_label(td: pd.Timedelta) -> str:
    """Column suffix of a window: ``30d`` for whole days, else seconds (``3600s``).

    >>> window_label(pd.Timedelta("90D"))
    '90d'
    """
    if td % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{td.days}d"
    return f"{int(td.total_seconds())}s"


def prepare(events: pd.DataFrame, until: pd.Timestamp | None = None) -> Prepared:
    """Arrays of the rows with ``timestamp < until`` (all rows when ``until`` is None)."""
    ts_all = events[Columns.TIMESTAMP].to_numpy(dtype="datetime64[ns]").view("int64")
    keep = None if until is None else np.flatnonzero(ts_all < until.value)
    if keep is not None and len(keep) == len(ts_all):
        keep = None
    ids, cust, perm = _customer_time_order(events, keep, ts_all if keep is None else ts_all[keep])
    sel = perm if keep is None else keep[perm]  # rows of `events` in (customer, time) order
    kinds = _row_kinds(events)
    is_purchase_all = purchase_mask(events).to_numpy()
    amt_all = events[Columns.AMOUNT].to_numpy(dtype="float64", na_value=np.nan)

    # items only matter on purchase rows; views often carry item ids and would cost a hash pass
    pur_local = is_purchase_all if keep is None else is_purchase_all[keep]
    pur_rows = np.flatnonzero(pur_local)
    item_codes = np.full(len(perm), -1, dtype=np.int64)
    codes_p, item_uniques = pd.factorize(
        events[Columns.ITEM].array[pur_rows if keep is None else keep[pur_rows]]
    )
    item_codes[pur_rows] = codes_p
    ts_sorted = ts_all[sel]
    day = np.floor_divide(ts_sorted, NS_PER_DAY)

    order, order_cust = None, None
    if Columns.ORDER in events.columns:
        order_col = events[Columns.ORDER]
        ocodes, ouniq = pd.factorize(order_col if keep is None else order_col.array[keep])
        order, order_cust = _order_ids(ocodes[perm].astype(np.int64), len(ouniq), cust, day)

    return Prepared(
        ids=ids,
        cust=cust,
        ts=ts_sorted,
        day=day,
        is_purchase=is_purchase_all[sel],
        is_ptype=kinds.is_ptype[sel],
        is_return=(kinds.is_ptype & kinds.negative)[sel],
        amount=np.nan_to_num(amt_all[sel], nan=0.0),
        item=item_codes[perm],
        n_items=len(item_uniques),
        order=order,
        order_cust=order_cust,
        eng=kinds.eng[sel],
        eng_names=kinds.eng_names,
        fb=kinds.fb[sel],
        value=kinds.value[sel],
    )


def _customer_time_order(
    events: pd.DataFrame, keep: np.ndarray | None, ts: np.ndarray
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Sorted customer ids, each kept row's customer code and the kept rows' (customer, time) order.

    ``ts`` are the kept rows' timestamps (int64 ns); the returned permutation indexes the kept rows.
    """
    n = len(ts)
    width = max(n, 1)
    cust_col = events[Columns.CUSTOMER]
    cust_codes, uniques = pd.factorize(cust_col if keep is None else cust_col.array[keep])
    ids = pd.Index(uniques, dtype=STRING_DTYPE, name=Columns.CUSTOMER)
    by_id = np.argsort(ids.to_numpy(dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[by_id] = np.arange(len(ids))
    cust_local = rank[cust_codes]
    ids = ids[by_id]

    # one packed int64 sort gives the (customer, time) order; much faster than a lexsort
    if n > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        time_order: np.ndarray | None = np.argsort(ts, kind="stable")
        pos_of = np.empty(n, dtype=np.int64)
        pos_of[time_order] = np.arange(n)
    else:
        time_order = None
        pos_of = np.arange(n, dtype=np.int64)
    packed = np.sort(cust_local * width + pos_of)
    cust = packed // width
    perm = packed - cust * width
    if time_order is not None:
        perm = time_order[perm]
    return ids, cust, perm


@dataclass(frozen=True, eq=False)
class _RowKinds:
    """Per-row classification of all rows of an events table (unsorted, unfiltered)."""

    is_ptype: np.ndarray
    negative: np.ndarray
    value: np.ndarray
    fb: np.ndarray
    eng: np.ndarray
    eng_names: tuple[str, ...]


def _row_kinds(events: pd.DataFrame) -> _RowKinds:
    et = events[Columns.EVENT_TYPE]
    is_ptype_all = et.eq(EventTypes.PURCHASE).to_numpy(dtype=bool, na_value=True)
    qty_all = events[Columns.QUANTITY].to_numpy(dtype="float64", na_value=np.nan)
    amt_all = events[Columns.AMOUNT].to_numpy(dtype="float64", na_value=np.nan)
    negative = np.where(~np.isnan(qty_all), qty_all < 0, amt_all < 0)
    value_all = events[Columns.VALUE].to_numpy(dtype="float64", na_value=np.nan)

    fb_all = np.full(len(events), -1, dtype=np.int8)
    has_value = ~np.isnan(value_all)
    is_fb_type = np.zeros(len(events), dtype=bool)
    for k, kind in enumerate(FEEDBACK_KINDS):
        is_kind = et.eq(kind).to_numpy(dtype=bool, na_value=False)
        is_fb_type |= is_kind
        fb_all[is_kind & has_value] = k
    fb_all[has_value & ~is_fb_type] = FEEDBACK_KINDS.index(EventTypes.RATING)

    eng_rows = ~is_ptype_all & ~is_fb_type
    eng_all = np.full(len(events), -1, dtype=np.int16)
    eng_names: tuple[str, ...] = ()
    if eng_rows.any():
        codes, names = pd.factorize(et.array[eng_rows], sort=True)
        eng_all[eng_rows] = codes
        eng_names = tuple(str(x) for x in names)
    return _RowKinds(is_ptype_all, negative, value_all, fb_all, eng_all, eng_names)


def _order_ids(
    codes: np.ndarray, n_codes: int, cust: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of (customer, order) pairs per row and the customer of each pair.

    A row without an order id is its own customer-day order, like in data without order ids.
    """
    n_ord = max(n_codes, 1)
    valid = codes >= 0
    lo = np.full(n_ord, np.iinfo(np.int64).max)
    hi = np.full(n_ord, -1, dtype=np.int64)
    np.minimum.at(lo, codes[valid], cust[valid])
    np.maximum.at(hi, codes[valid], cust[valid])
    used = hi >= 0
    if bool(valid.all()) and bool(np.all(lo[used] == hi[used])):
        # the usual case (an invoice belongs to one customer): the order code is the pair id
        return codes, np.where(used, hi, 0)
    n_cust = int(cust.max()) + 1 if len(cust) else 1
    d0 = int(day.min()) if len(day) else 0
    span = int(day.max()) - d0 + 1 if len(day) else 1
    key = np.where(valid, cust * n_ord + codes, n_cust * n_ord + cust * span + (day - d0))
    pcodes, puniq = pd.factorize(key)
    pk = np.asarray(puniq, dtype=np.int64)
    pair_cust = np.where(pk < n_cust * n_ord, pk // n_ord, (pk - n_cust * n_ord) // span)
    return pcodes.astype(np.int64), pair_cust
