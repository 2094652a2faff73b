"""Purchase-history feature families: RFM, orders, tenure, inter-purchase time, windows,
returns and item diversity.

Each family takes a :class:`~cxml.features._base.Prepared` restricted to the rows before
``as_of`` and returns ``{column: array over all customer codes}``; the caller keeps the rows of
the customers that exist at ``as_of``. Definitions (all "days" are float32 days):

=====================  =====================================================================
column                 meaning
=====================  =====================================================================
recency_days           as_of − last purchase row
tenure_days            as_of − first purchase row (the BG/NBD ``T``, in days)
n_purchase_days        distinct calendar days with a purchase row
n_orders               distinct orders: ``order_id`` when the events have it, else customer-days
spend_total            net spend: ``amount`` of every ``purchase`` event *including refunds*
order_value_mean/max   mean / largest order value (sum of the order's purchase-row amounts)
ipt_mean_days/std      mean / population std of the gaps between purchase days (NaN with < 2 days)
gap_ratio              recency_days / ipt_mean_days: > 1 means later than usual (NaN with < 2 days)
n_orders_{w}           orders started in [as_of − w, as_of)
spend_{w}              net spend in [as_of − w, as_of)
orders_trend_{w}       n_orders_{w} minus the orders of the previous window [as_of − 2w, as_of − w)
spend_trend_{w}        spend_{w} minus the net spend of the previous window
return_rate            return rows / (purchase rows + return rows); a return row is a purchase
                       event with a negative quantity (or negative amount when quantity is unknown)
refund_share           refunded amount / gross purchased amount (0 when nothing was bought for money)
n_distinct_items       distinct items among purchase rows
top_item_share         purchase rows of the most bought item / purchase rows with an item (NaN: none)
=====================  =====================================================================

Unknown amounts count as 0 in every sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxml.features._base import NS_PER_DAY, Prepared, window_label

__all__ = ["purchase_columns", "purchase_features"]

_I64_MIN = np.iinfo(np.int64).min
_I64_MAX = np.iinfo(np.int64).max


def purchase_columns(windows: Sequence[pd.Timedelta]) -> list[str]:
    """Names of the purchase feature columns for these windows, in output order.

    >>> purchase_columns([pd.Timedelta("30D")])[-5:]
    ['spend_trend_30d', 'return_rate', 'refund_share', 'n_distinct_items', 'top_item_share']
    """
    cols = [
        "recency_days",
        "tenure_days",
        "n_purchase_days",
        "n_orders",
        "spend_total",
        "order_value_mean",
        "order_value_max",
        "ipt_mean_days",
        "ipt_std_days",
        "gap_ratio",
    ]
    for w in windows:
        lab = window_label(w)
        cols += [f"n_orders_{lab}", f"spend_{lab}", f"orders_trend_{lab}", f"spend_trend_{lab}"]
    return cols + ["return_rate", "refund_share", "n_distinct_items", "top_item_share"]


def purchase_features(p: Prepared, as_of_ns: int, windows: Sequence[pd.Timedelta]) -> dict[str, np.ndarray]:
    """Every purchase family over all customer codes of ``p`` (rows must all be < as_of)."""
    nc = p.n_customers
    pm = p.is_purchase
    c, t, d = p.cust[pm], p.ts[pm], p.day[pm]
    out: dict[str, np.ndarray] = {}

    last = np.full(nc, _I64_MIN, dtype=np.int64)
    first = np.full(nc, _I64_MAX, dtype=np.int64)
    np.maximum.at(last, c, t)
    np.minimum.at(first, c, t)
    with np.errstate(invalid="ignore", over="ignore"):
        recency = _days(as_of_ns - last)
        out["recency_days"] = recency
        out["tenure_days"] = _days(as_of_ns - first)

    # rows are in (customer, time) order, so a purchase day starts wherever customer or day changes
    new_day = np.ones(len(c), dtype=bool)
    new_day[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    day_cust, day_num = c[new_day], d[new_day]
    out["n_purchase_days"] = np.bincount(day_cust, minlength=nc).astype(np.int32)

    order_cust, order_ts, order_val = _orders(p, pm, new_day, day_cust)
    n_orders = np.bincount(order_cust, minlength=nc)
    out["n_orders"] = n_orders.astype(np.int32)
    ptype = p.is_ptype
    pt_cust, pt_ts, pt_amt = p.cust[ptype], p.ts[ptype], p.amount[ptype]
    out["spend_total"] = np.bincount(pt_cust, pt_amt, minlength=nc)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["order_value_mean"] = np.bincount(order_cust, order_val, minlength=nc) / n_orders
    vmax = np.full(nc, -np.inf)
    np.maximum.at(vmax, order_cust, order_val)
    out["order_value_max"] = np.where(n_orders > 0, vmax, np.nan)

    same = day_cust[1:] == day_cust[:-1]
    gaps = np.diff(day_num)[same].astype(np.float64)
    gap_cust = day_cust[1:][same]
    n_gaps = np.bincount(gap_cust, minlength=nc)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(gap_cust, gaps, minlength=nc) / n_gaps
        var = np.bincount(gap_cust, gaps * gaps, minlength=nc) / n_gaps - mean * mean
        out["ipt_mean_days"] = mean.astype(np.float32)
        out["ipt_std_days"] = np.sqrt(np.maximum(var, 0.0)).astype(np.float32)
        out["gap_ratio"] = (recency / mean).astype(np.float32)

    for w in windows:
        lab = window_label(w)
        start, prev = as_of_ns - w.value, as_of_ns - 2 * w.value
        in_w = order_ts >= start
        n_w = np.bincount(order_cust[in_w], minlength=nc)
        n_prev = np.bincount(order_cust[(order_ts >= prev) & ~in_w], minlength=nc)
        s_in = pt_ts >= start
        s_w = np.bincount(pt_cust[s_in], pt_amt[s_in], minlength=nc)
        s_prev_mask = (pt_ts >= prev) & ~s_in
        s_prev = np.bincount(pt_cust[s_prev_mask], pt_amt[s_prev_mask], minlength=nc)
        out[f"n_orders_{lab}"] = n_w.astype(np.int32)
        out[f"spend_{lab}"] = s_w
        out[f"orders_trend_{lab}"] = (n_w - n_prev).astype(np.int32)
        out[f"spend_trend_{lab}"] = s_w - s_prev

    out.update(_returns(p, c, nc))
    out.update(_diversity(p, pm, c, nc))
    return out


def _days(ns: np.ndarray) -> np.ndarray:
    return (ns / NS_PER_DAY).astype(np.float32)


def _orders(
    p: Prepared, pm: np.ndarray, new_day: np.ndarray, day_cust: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, first timestamp, value) of every order with a purchase row."""
    amt, t = p.amount[pm], p.ts[pm]
    if p.order is None or p.order_cust is None:
        oid = np.cumsum(new_day) - 1
        return day_cust, t[new_day], np.bincount(oid, amt, minlength=len(day_cust))
    o = p.order[pm]
    n_pairs = len(p.order_cust)
    lines = np.bincount(o, minlength=n_pairs)
    vals = np.bincount(o, amt, minlength=n_pairs)
    first = np.full(n_pairs, _I64_MAX, dtype=np.int64)
    np.minimum.at(first, o, t)
    exists = lines > 0
    return p.order_cust[exists], first[exists], vals[exists]


def _returns(p: Prepared, c: np.ndarray, nc: int) -> dict[str, np.ndarray]:
    rm = p.is_return
    n_ret = np.bincount(p.cust[rm], minlength=nc)
    n_pur = np.bincount(c, minlength=nc)
    refunded = 0.0 - np.bincount(p.cust[rm], p.amount[rm], minlength=nc)
    gross = np.bincount(c, p.amount[p.is_purchase], minlength=nc)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = n_ret / (n_pur + n_ret)
        share = np.where(gross > 0, refunded / np.where(gross > 0, gross, 1.0), 0.0)
    return {"return_rate": rate.astype(np.float32), "refund_share": share.astype(np.float32)}


def _diversity(p: Prepared, pm: np.ndarray, c: np.ndarray, nc: int) -> dict[str, np.ndarray]:
    item = p.item[pm]
    has = item >= 0
    width = max(p.n_items, 1)
    keys = np.sort(c[has] * width + item[has])
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, int)
    counts = np.diff(np.r_[starts, len(keys)])
    pair_cust = keys[starts] // width
    top = np.zeros(nc, dtype=np.int64)
    np.maximum.at(top, pair_cust, counts)
    lines = np.bincount(c[has], minlength=nc)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(lines > 0, top / lines, np.nan)
    return {
        "n_distinct_items": np.bincount(pair_cust, minlength=nc).astype(np.int32),
        "top_item_share": share.astype(np.float32),
    }
