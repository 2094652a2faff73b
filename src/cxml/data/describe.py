"""A one-look summary of an events table: who, what, when, and how much of each kind."""

from __future__ import annotations

import pandas as pd

from cxml.data.loading import as_events
from cxml.schema import Columns, EventTypes, purchase_mask

__all__ = ["describe_events"]


def describe_events(events: pd.DataFrame) -> pd.Series:
    """Counts and ranges that tell whether an events table looks right.

    Returns a Series (metric name → value): customers, items, first/last timestamp, rows, purchase
    rows, buyers, return rows, net revenue, and the row count of every other event type.

    Examples
    --------
    >>> import cxml
    >>> ev = cxml.load_events(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "timestamp": ["2024-01-01", "2024-01-05", "2024-01-03"],
    ...     "event_type": ["purchase", "purchase", "login"], "amount": [10.0, -4.0, None]}))
    >>> s = describe_events(ev)
    >>> int(s["purchase_rows"]), int(s["return_rows"]), float(s["net_revenue"]), int(s["events:login"])
    (1, 1, 6.0, 1)
    """
    events = as_events(events)
    is_purchase_type = events[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy(bool, na_value=False)
    buys = purchase_mask(events).to_numpy()
    returns = is_purchase_type & ~buys
    ts = events[Columns.TIMESTAMP]
    out: dict[str, object] = {
        "rows": len(events),
        "customers": events[Columns.CUSTOMER].nunique(),
        "items": events[Columns.ITEM].nunique(),
        "first_event": ts.min(),
        "last_event": ts.max(),
        "purchase_rows": int(buys.sum()),
        "buyers": events.loc[buys, Columns.CUSTOMER].nunique(),
        "return_rows": int(returns.sum()),
        "net_revenue": round(float(events.loc[is_purchase_type, Columns.AMOUNT].sum()), 2),
    }
    others = events.loc[~is_purchase_type, Columns.EVENT_TYPE].value_counts().sort_index()
    for kind, n in others.items():
        out[f"events:{kind}"] = int(n)
    return pd.Series(out, name="value", dtype=object)
