"""Engagement and feedback feature families.

*Engagement* events are every event type that is neither ``purchase`` nor a feedback type
(``nps``, ``csat``, ``ces``, ``rating``): views, logins, support contacts... For each engagement
type ``t`` in the requested list:

- ``eng_{t}_n_{w}`` (int32): events of type ``t`` in ``[as_of − w, as_of)``;
- ``eng_{t}_days_since`` (float32): days since the last one (NaN: never);

and ``days_since_engagement``: days since the last engagement event of any type (NaN: never).

*Feedback* rows carry a ``value``: rows of a feedback type are that kind, and a ``value`` on any
other event type counts as a ``rating`` (e.g. MovieLens stars on purchase rows). For each kind
``k`` in the requested list: ``fb_{k}_last`` (latest score), ``fb_{k}_mean``, ``fb_{k}_n`` (int32
answers) and ``fb_{k}_days_since``; for NPS also ``nps_promoter`` / ``nps_detractor`` (1.0/0.0 from
the latest answer: 9–10 / 0–6); and ``days_since_feedback`` over every kind. Scores and days are
NaN when the customer never answered, which LightGBM treats as missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxml.features._base import FEEDBACK_KINDS, NS_PER_DAY, Prepared, window_label
from cxml.schema import EventTypes

__all__ = [
    "FEEDBACK_KINDS",
    "engagement_columns",
    "engagement_features",
    "feedback_columns",
    "feedback_features",
]

_I64_MIN = np.iinfo(np.int64).min


def engagement_columns(types: Sequence[str], windows: Sequence[pd.Timedelta]) -> list[str]:
    """Engagement column names in output order.

    >>> engagement_columns(["view"], [pd.Timedelta("30D")])
    ['eng_view_n_30d', 'eng_view_days_since', 'days_since_engagement']
    """
    cols = []
    for t in types:
        cols += [f"eng_{t}_n_{window_label(w)}" for w in windows] + [f"eng_{t}_days_since"]
    return cols + ["days_since_engagement"]


def feedback_columns(kinds: Sequence[str]) -> list[str]:
    """Feedback column names in output order.

    >>> feedback_columns(["nps"])
    ['fb_nps_last', 'fb_nps_mean', 'fb_nps_n', 'fb_nps_days_since', 'nps_promoter', \
'nps_detractor', 'days_since_feedback']
    """
    cols = []
    for k in kinds:
        cols += [f"fb_{k}_last", f"fb_{k}_mean", f"fb_{k}_n", f"fb_{k}_days_since"]
        if k == EventTypes.NPS:
            cols += ["nps_promoter", "nps_detractor"]
    return cols + ["days_since_feedback"]


def engagement_features(
    p: Prepared, as_of_ns: int, windows: Sequence[pd.Timedelta], types: Sequence[str]
) -> dict[str, np.ndarray]:
    """Engagement families for ``types`` (a type absent from the data gives 0 counts / NaN)."""
    nc = p.n_customers
    k = max(len(p.eng_names), 1)
    em = p.eng >= 0
    t = p.ts[em]
    key = p.cust[em] * k + p.eng[em]
    last = np.full(nc * k, _I64_MIN, dtype=np.int64)
    np.maximum.at(last, key, t)
    last2 = last.reshape(nc, k)
    counts = {}
    for w in windows:
        in_w = t >= as_of_ns - w.value
        counts[w] = np.bincount(key[in_w], minlength=nc * k).reshape(nc, k)
    code = {name: i for i, name in enumerate(p.eng_names)}
    out: dict[str, np.ndarray] = {}
    for name in types:
        i = code.get(name)
        for w in windows:
            col = counts[w][:, i] if i is not None else np.zeros(nc, dtype=np.int64)
            out[f"eng_{name}_n_{window_label(w)}"] = col.astype(np.int32)
        lt = last2[:, i] if i is not None else np.full(nc, _I64_MIN, dtype=np.int64)
        out[f"eng_{name}_days_since"] = _days_since(as_of_ns, lt)
    out["days_since_engagement"] = _days_since(as_of_ns, last2.max(axis=1))
    return out


def feedback_features(p: Prepared, as_of_ns: int, kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """Feedback families for ``kinds`` (a subset of :data:`FEEDBACK_KINDS`)."""
    nc = p.n_customers
    nk = len(FEEDBACK_KINDS)
    fm = p.fb >= 0
    key = p.cust[fm] * nk + p.fb[fm]
    val, t = p.value[fm], p.ts[fm]
    n = np.bincount(key, minlength=nc * nk)
    total = np.bincount(key, val, minlength=nc * nk)
    # rows are in (customer, time) order, so the highest position of a key is its latest answer
    last_pos = np.full(nc * nk, -1, dtype=np.int64)
    np.maximum.at(last_pos, key, np.arange(len(key)))
    answered = last_pos >= 0
    last_val = np.where(answered, val[np.where(answered, last_pos, 0)] if len(val) else np.nan, np.nan)
    last_ts = np.where(answered, t[np.where(answered, last_pos, 0)] if len(t) else 0, _I64_MIN)
    n2, total2 = n.reshape(nc, nk), total.reshape(nc, nk)
    last_val2, last_ts2 = last_val.reshape(nc, nk), last_ts.reshape(nc, nk)
    out: dict[str, np.ndarray] = {}
    for kind in kinds:
        i = FEEDBACK_KINDS.index(kind)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total2[:, i] / n2[:, i]
        lv = last_val2[:, i]
        out[f"fb_{kind}_last"] = lv.astype(np.float32)
        out[f"fb_{kind}_mean"] = mean.astype(np.float32)
        out[f"fb_{kind}_n"] = n2[:, i].astype(np.int32)
        out[f"fb_{kind}_days_since"] = _days_since(as_of_ns, last_ts2[:, i])
        if kind == EventTypes.NPS:
            out["nps_promoter"] = np.where(np.isnan(lv), np.nan, lv >= 9).astype(np.float32)
            out["nps_detractor"] = np.where(np.isnan(lv), np.nan, lv <= 6).astype(np.float32)
    out["days_since_feedback"] = _days_since(as_of_ns, last_ts2.max(axis=1))
    return out


def _days_since(as_of_ns: int, last_ns: np.ndarray) -> np.ndarray:
    """Days from ``last_ns`` to as_of; NaN where there was no event (the int64 minimum)."""
    never = last_ns == _I64_MIN
    days = (as_of_ns - np.where(never, as_of_ns, last_ns)) / NS_PER_DAY
    return np.where(never, np.nan, days).astype(np.float32)
