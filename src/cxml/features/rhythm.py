"""Features relative to each customer's own purchase rhythm (issue 19).

A gap is the number of days between two consecutive distinct purchase days of a customer. The
columns, all computed from the purchase rows before ``as_of`` (float32; NaN where undefined):

=========================  =================================================================
column                     meaning
=========================  =================================================================
rhythm_gap_median_days     median gap (NaN with < 2 purchase days)
rhythm_recency_over_median days since the last purchase day ÷ the median gap
rhythm_recency_over_max    days since the last purchase day ÷ the longest gap
rhythm_log_survival        log P(a gap at least as long as the current one) under the customer's
                           own exponential gap rate with a Gamma prior (posterior predictive, a
                           Lomax law: ``a·log(b / (b + recency))``, ``a = k + n_gaps``,
                           ``b = k·tenure + Σ gaps``, ``k = 2``: the prior is k pseudo-gaps as long
                           as the customer's whole history, i.e. "about one purchase per tenure").
                           Nothing depends on other customers, so a batch scores the same in
                           any chunking.
rhythm_expected_gap_days   that posterior's mean gap ``b / a`` (shrunk mean gap; defined for all)
rhythm_last_gap_ratio      the latest gap ÷ the mean of the earlier ones (NaN with < 3 days):
                           > 1 when the customer is slowing down
rhythm_recent_share_90d    purchase days in the last 90 days ÷ all purchase days
rhythm_same_season_days    purchase days in ``[as_of − 365 d, as_of − 275 d)``: the 90 days that
                           followed this date a year ago (a seasonal buyer)
rhythm_weekday_share       share of the purchase days on the customer's most frequent weekday
=========================  =================================================================

:func:`rhythm_features` reads only the purchase rows of a :class:`~cxml.features._base.Prepared`
before ``as_of`` (later rows are ignored) and returns ``{column: array over all customer codes}``;
:func:`rhythm_frame` keeps the customers that exist at ``as_of``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.features._base import NS_PER_DAY, Prepared
from cxml.schema import Columns

__all__ = ["RHYTHM_COLUMNS", "rhythm_features", "rhythm_frame"]

RHYTHM_COLUMNS = (
    "rhythm_gap_median_days",
    "rhythm_recency_over_median",
    "rhythm_recency_over_max",
    "rhythm_log_survival",
    "rhythm_expected_gap_days",
    "rhythm_last_gap_ratio",
    "rhythm_recent_share_90d",
    "rhythm_same_season_days",
    "rhythm_weekday_share",
)
#: Strength of the prior on a customer's gap rate, in pseudo-gaps as long as their tenure.
PRIOR_GAPS = 2.0


def _median_by_group(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per group ``keys`` (any order) over ``n`` groups; NaN for empty groups."""
    out = np.full(n, np.nan)
    if len(keys) == 0:
        return out
    order = np.lexsort((values, keys))
    k, v = keys[order], values[order]
    counts = np.bincount(k, minlength=n)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def rhythm_features(p: Prepared, as_of_ns: int) -> dict[str, np.ndarray]:
    """Every rhythm column over all customer codes of ``p``, from its purchase rows before ``as_of``."""
    nc = p.n_customers
    pm = p.is_purchase & (p.ts < as_of_ns)
    c, d = p.cust[pm], p.day[pm]
    new_day = np.ones(len(c), dtype=bool)
    new_day[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    day_cust, day_num = c[new_day], d[new_day].astype(np.int64)
    n_days = np.bincount(day_cust, minlength=nc)
    last_day = np.full(nc, -1, dtype=np.int64)
    np.maximum.at(last_day, day_cust, day_num)
    as_of_day = as_of_ns / NS_PER_DAY
    recency = as_of_day - (last_day + 0.5)  # mid-day: a purchase today is half a day old

    same = day_cust[1:] == day_cust[:-1]
    gaps = np.diff(day_num)[same].astype(np.float64)
    gap_cust = day_cust[1:][same]
    n_gaps = np.bincount(gap_cust, minlength=nc).astype(np.float64)
    gap_sum = np.bincount(gap_cust, gaps, minlength=nc)
    gap_max = np.zeros(nc)
    np.maximum.at(gap_max, gap_cust, gaps)
    median = _median_by_group(gap_cust, gaps, nc)
    first_day = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_day, day_cust, day_num)
    tenure = np.maximum(as_of_day - (first_day + 0.5), 1.0)
    a = PRIOR_GAPS + n_gaps
    b = PRIOR_GAPS * tenure + gap_sum
    # the latest gap of each customer is the last gap row of its run (rows are in customer order)
    last_gap = np.full(nc, np.nan)
    last_gap[gap_cust] = gaps  # later rows overwrite earlier ones
    with np.errstate(invalid="ignore", divide="ignore"):
        earlier_mean = (gap_sum - np.nan_to_num(last_gap)) / (n_gaps - 1)
        out = {
            "rhythm_gap_median_days": median,
            "rhythm_recency_over_median": recency / median,
            "rhythm_recency_over_max": np.where(n_gaps > 0, recency / gap_max, np.nan),
            "rhythm_log_survival": a * np.log(b / (b + np.maximum(recency, 0.0))),
            "rhythm_expected_gap_days": b / a,
            "rhythm_last_gap_ratio": np.where(n_gaps >= 2, last_gap / earlier_mean, np.nan),
            "rhythm_recent_share_90d": np.bincount(day_cust[day_num >= as_of_day - 90], minlength=nc) / n_days,
        }
    season = (day_num >= as_of_day - 365) & (day_num < as_of_day - 275)
    out["rhythm_same_season_days"] = np.bincount(day_cust[season], minlength=nc).astype(np.float64)
    weekday = (day_num + 3) % 7  # 1970-01-01 was a Thursday
    counts = np.bincount(day_cust * 7 + weekday, minlength=7 * nc).reshape(nc, 7)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rhythm_weekday_share"] = counts.max(axis=1) / n_days
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def rhythm_frame(p: Prepared, as_of: pd.Timestamp) -> pd.DataFrame:
    """The :data:`RHYTHM_COLUMNS` of every customer with a purchase row before ``as_of``, by ``customer_id``."""
    exists = np.bincount(p.cust[p.is_purchase & (p.ts < as_of.value)], minlength=p.n_customers) > 0
    data = rhythm_features(p, as_of.value)
    frame = pd.DataFrame({name: data[name][exists] for name in RHYTHM_COLUMNS}, index=p.ids[exists])
    frame.index.name = Columns.CUSTOMER
    return frame
