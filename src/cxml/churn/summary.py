"""RFM summary statistics for the buy-till-you-die models (BG/NBD, Gamma-Gamma).

One row per customer that *exists* at ``as_of`` (at least one purchase row before it), computed at
**day granularity** and expressed in ``time_unit`` periods (weeks by default), as PROTOCOL.md defines:

- ``frequency``: number of distinct purchase days − 1 (repeat purchase days);
- ``recency``: last − first purchase day;
- ``T``: last observed day − first purchase day. Events are those strictly before ``as_of``, and the
  last observed day is the day of the last instant before ``as_of``: ``as_of − 1 day`` for a
  midnight ``as_of`` (PROTOCOL.md; with ``as_of="1997-10-01"`` this reproduces the CDNOW calibration
  period of Fader, Hardie & Lee (2005): a customer first seen on 1997-01-01 has T = 272/7 weeks),
  and the day of ``as_of`` itself when it has a time of day (``2011-09-01 15:00`` includes the
  purchases of 2011-09-01 before 15:00, so that day is observed, partly, and ``recency <= T``);
- ``monetary_value``: mean spend per *repeat* purchase day, i.e. the mean of the day totals of
  purchase rows excluding the first purchase day (NaN when ``frequency == 0``).

The monetary convention is the one the Gamma-Gamma model is defined on (Fader, Hardie & Lee 2005b,
and lifetimes' ``summary_data_from_transaction_data``): the first purchase is the acquisition
transaction, and the model describes the spend of the *repeat* transactions that the BG/NBD
counts, so both models look at the same transactions. Day totals sum the ``amount`` of purchase
rows only (returns are not transactions; Gamma-Gamma needs positive values). A day whose purchase
rows have no known amount gets no value and is left out of the mean; a customer whose repeat days
all lack amounts gets NaN.

Examples
--------
>>> import pandas as pd
>>> import cxml
>>> from cxml.churn import rfm_summary
>>> ev = cxml.load_events(pd.DataFrame({
...     "customer_id": ["a", "a", "a", "b"],
...     "timestamp": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-10"],
...     "amount": [10.0, 20.0, 40.0, 5.0]}))
>>> rfm_summary(ev, as_of="2024-01-22", time_unit="D").reset_index()
  customer_id  frequency  recency     T  monetary_value
0           a        2.0     14.0  20.0            30.0
1           b        0.0      0.0  11.0             NaN
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxml.churn._docs import fill_doc
from cxml.data import as_events
from cxml.exceptions import ParameterError
from cxml.schema import Columns, parse_as_of, purchase_mask

__all__ = ["SUMMARY_COLUMNS", "last_observed_day", "purchase_rows", "rfm_summary", "summary_at", "time_unit_days"]

#: Columns of :func:`rfm_summary`, in order.
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")

_NS_PER_DAY = 86_400 * 10**9


def time_unit_days(time_unit: str) -> float:
    """Length of ``time_unit`` in days (``"D"`` → 1, ``"W"`` → 7, ``"14D"`` → 14).

    >>> time_unit_days("W")
    7.0
    """
    text = str(time_unit).strip()
    try:
        td = pd.Timedelta(f"1{text}" if text.isalpha() else text)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"time_unit={time_unit!r} is not a fixed duration; expected e.g. 'W', 'D' or '30D'"
        ) from exc
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise ParameterError(f"time_unit={time_unit!r} must be a positive duration such as 'W'")
    return float(td / pd.Timedelta(days=1))


@fill_doc
def rfm_summary(events: Any, as_of: Any, *, time_unit: str = "W", monetary: bool = True) -> pd.DataFrame:
    """Per-customer BTYD summary (frequency, recency, T, monetary value) at ``as_of``.

    Parameters
    ----------
    {{events}}
    as_of
        Only events with ``timestamp < as_of`` are used; the last observed day is the day of the
        last instant before ``as_of`` (``as_of − 1 day`` for a midnight ``as_of``).
    time_unit
        Unit of ``recency`` and ``T`` (``"W"`` weeks, ``"D"`` days, or e.g. ``"30D"``).
    monetary
        Compute ``monetary_value`` (set to ``False`` to skip the amount aggregation).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), float columns ``frequency, recency, T`` and, when
        ``monetary``, ``monetary_value``. Empty when no customer exists at ``as_of``.

    Raises
    ------
    SchemaError
        When ``events`` does not fit the events schema or ``as_of`` is not a date.
    ParameterError
        When ``time_unit`` is not a positive fixed duration.
    """
    rows = purchase_rows(as_events(events))
    return summary_at(rows, parse_as_of(as_of), time_unit=time_unit, monetary=monetary)


def purchase_rows(events: pd.DataFrame) -> pd.DataFrame:
    """The purchase rows (:func:`cxml.schema.purchase_mask`) of a trusted events table."""
    return events.loc[purchase_mask(events).to_numpy()]


def last_observed_day(cutoff: pd.Timestamp) -> int:
    """Day number (days since 1970) of the last instant before ``cutoff``.

    >>> last_observed_day(pd.Timestamp("1970-01-03")), last_observed_day(pd.Timestamp("1970-01-03 15:00"))
    (1, 2)
    """
    return int((cutoff.value - 1) // _NS_PER_DAY)


def summary_at(
    rows: pd.DataFrame, cutoff: pd.Timestamp, *, time_unit: str = "W", monetary: bool = True
) -> pd.DataFrame:
    """:func:`rfm_summary` of trusted purchase rows (:func:`purchase_rows`) at ``cutoff``."""
    unit = time_unit_days(time_unit)
    rows = rows.loc[rows[Columns.TIMESTAMP].to_numpy() < cutoff.to_datetime64()]
    codes, uniques = pd.factorize(rows[Columns.CUSTOMER], sort=True)
    n_customers = len(uniques)
    columns = list(SUMMARY_COLUMNS if monetary else SUMMARY_COLUMNS[:3])
    if n_customers == 0:
        empty = pd.DataFrame({c: np.empty(0) for c in columns})
        empty.index = pd.Index([], dtype="str", name=Columns.CUSTOMER)
        return empty

    day = rows[Columns.TIMESTAMP].to_numpy().astype("datetime64[D]").astype(np.int64)
    day_min = int(day.min())
    span = int(day.max()) - day_min + 1
    # one integer key per (customer, day): np.unique gives the distinct purchase days sorted by
    # customer then day, which is all the frequency/recency/T statistics need
    key = codes.astype(np.int64) * span + (day - day_min)
    day_keys, row_to_day = np.unique(key, return_inverse=True)
    day_customer = day_keys // span
    day_number = day_keys % span + day_min

    n_days = np.bincount(day_customer, minlength=n_customers)
    first_idx = np.searchsorted(day_customer, np.arange(n_customers), side="left")
    last_idx = first_idx + n_days - 1
    first_day = day_number[first_idx]
    out = pd.DataFrame(
        {
            "frequency": (n_days - 1).astype(np.float64),
            "recency": (day_number[last_idx] - first_day) / unit,
            "T": (last_observed_day(cutoff) - first_day) / unit,
        },
        index=pd.Index(uniques, name=Columns.CUSTOMER),
    )
    if monetary:
        out["monetary_value"] = _repeat_day_mean(rows, row_to_day, day_customer, first_idx, n_customers)
    return out


def _repeat_day_mean(
    rows: pd.DataFrame,
    row_to_day: np.ndarray,
    day_customer: np.ndarray,
    first_idx: np.ndarray,
    n_customers: int,
) -> np.ndarray:
    """Mean of the day totals over each customer's repeat purchase days (first day excluded)."""
    amount = rows[Columns.AMOUNT].to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(amount)
    n_day_keys = len(day_customer)
    day_total = np.bincount(row_to_day[known], weights=amount[known], minlength=n_day_keys)
    day_has_value = np.bincount(row_to_day[known], minlength=n_day_keys) > 0
    repeat_day = np.ones(n_day_keys, dtype=bool)
    repeat_day[first_idx] = False
    use = repeat_day & day_has_value
    total = np.bincount(day_customer[use], weights=day_total[use], minlength=n_customers)
    count = np.bincount(day_customer[use], minlength=n_customers)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
