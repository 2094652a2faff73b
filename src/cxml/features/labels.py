"""Outcome labels for customers that exist at ``as_of`` (PROTOCOL.md, "Churn and CLTV").

- ``churned`` (int8): 1 when the customer has no purchase row in ``[as_of, as_of + horizon)``.
- ``future_value`` (float64): net ``amount`` of every ``purchase`` event in that window —
  refunds (negative rows) included — clipped at 0. Unknown amounts count as 0.

These functions do not check that the data covers the window; :func:`cxml.features.training_frame`
does (its leakage guard).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxml._docs import COMMON, doc_filler
from cxml.data import as_events
from cxml.features._base import Prepared, prepare
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["CHURNED", "FUTURE_VALUE", "churn_labels", "future_value", "labels_from_prepared"]

CHURNED = "churned"
FUTURE_VALUE = "future_value"

#: the arguments and errors of both label functions, written once
_fill_doc = doc_filler({
    "label_parameters": "\n".join(["Parameters", "----------", COMMON["events"], COMMON["label_window"]]),
    "label_raises": "\n".join(["Raises", "------", COMMON["label_raises"]]),
})


@_fill_doc
def churn_labels(events: pd.DataFrame, as_of: Any, horizon: Any) -> pd.Series:
    """1 = no purchase row in ``[as_of, as_of + horizon)``, for customers existing at ``as_of``.

    {{label_parameters}}

    Returns
    -------
    pandas.Series
        int8 (1 = churned, 0 = bought in the window) named ``churned``, indexed by ``customer_id``
        (sorted), one entry per customer existing at ``as_of``.

    {{label_raises}}

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b", "a"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-02-10"]}))
    >>> churn_labels(ev, as_of="2024-02-01", horizon="30D").to_dict()
    {'a': 0, 'b': 1}
    """
    return _labels(events, as_of, horizon)[CHURNED]


@_fill_doc
def future_value(events: pd.DataFrame, as_of: Any, horizon: Any) -> pd.Series:
    """Net spend (refunds included, clipped at 0) in ``[as_of, as_of + horizon)``.

    {{label_parameters}}

    Returns
    -------
    pandas.Series
        float64 named ``future_value``, indexed by ``customer_id`` (sorted), one entry per customer
        existing at ``as_of``: the summed ``amount`` of ``purchase`` events in the window (unknown
        amounts count as 0), clipped at 0.

    {{label_raises}}

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "a"],
    ...     "timestamp": ["2024-01-01", "2024-02-03", "2024-02-05"], "amount": [5.0, 20.0, -8.0]}))
    >>> future_value(ev, as_of="2024-02-01", horizon="30D").to_dict()
    {'a': 12.0}
    """
    return _labels(events, as_of, horizon)[FUTURE_VALUE]


def _labels(events: pd.DataFrame, as_of: Any, horizon: Any) -> pd.DataFrame:
    events = as_events(events)
    ts = parse_as_of(as_of)
    h = parse_horizon(horizon)
    return labels_from_prepared(prepare(events, ts + h), ts, h)


def labels_from_prepared(p: Prepared, as_of: pd.Timestamp, horizon: pd.Timedelta) -> pd.DataFrame:
    """Both labels, indexed by the (sorted) customers that exist at ``as_of``."""
    nc = p.n_customers
    start, end = as_of.value, (as_of + horizon).value
    exists = np.bincount(p.cust[p.is_purchase & (p.ts < start)], minlength=nc) > 0
    in_window = (p.ts >= start) & (p.ts < end)
    bought = np.bincount(p.cust[p.is_purchase & in_window], minlength=nc) > 0
    spend_rows = p.is_ptype & in_window
    spend = np.bincount(p.cust[spend_rows], p.amount[spend_rows], minlength=nc)
    index = p.ids[exists]
    index.name = Columns.CUSTOMER
    return pd.DataFrame(
        {
            CHURNED: (~bought[exists]).astype(np.int8),
            FUTURE_VALUE: np.maximum(spend[exists], 0.0),
        },
        index=index,
    )
