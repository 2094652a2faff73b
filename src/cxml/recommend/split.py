"""``temporal_split``: one global time cut, exactly as PROTOCOL.md defines it."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from cxml._checks import check_bool, check_fraction
from cxml.data import as_events
from cxml.exceptions import InsufficientDataError, ParameterError
from cxml.schema import Columns, parse_as_of, purchase_mask

__all__ = ["split_at", "split_cut", "temporal_split"]

logger = logging.getLogger("cxml.recommend")


def split_cut(
    events: pd.DataFrame, test_start: Any = None, test_fraction: float | None = None
) -> pd.Timestamp:
    """The cut time: ``test_start``, or the ``1 - test_fraction`` quantile of purchase-row timestamps.

    ``events`` is canonical (trusted); the arguments are checked here.
    """
    if (test_start is None) == (test_fraction is None):
        raise ParameterError(
            f"give exactly one of test_start (got {test_start!r}) and test_fraction (got {test_fraction!r})"
        )
    if test_start is not None:
        return parse_as_of(test_start, "test_start")
    fraction = check_fraction("test_fraction", test_fraction)
    ts = events.loc[purchase_mask(events).to_numpy(), Columns.TIMESTAMP]
    if ts.empty:
        raise InsufficientDataError(f"events ({len(events)} rows) hold no purchase rows to split")
    return pd.Timestamp(ts.quantile(1.0 - fraction)).as_unit("ns")


def temporal_split(
    events: Any,
    test_start: Any = None,
    test_fraction: float | None = None,
    *,
    filter_unseen: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split events at one global time cut (PROTOCOL.md, recommendation step 1).

    Parameters
    ----------
    events
        Events: a canonical frame, a frame lacking optional columns, or a csv/parquet path.
    test_start
        The cut as a date; or
    test_fraction
        The cut as the ``1 - test_fraction`` quantile of purchase-row timestamps (PROTOCOL: 0.2).
    filter_unseen
        Keep only test rows whose customer and item both appear among the train purchase rows.

    Returns
    -------
    train, test
        ``train`` = all events (any type) with ``timestamp < cut``; ``test`` = purchase rows with
        ``timestamp >= cut`` (filtered as above). The cut and the number of filtered test rows are in
        ``test.attrs["cxml_split"]``.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "a"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-02-01"],
    ...     "item_id": ["x", "y", "x", "x"]}))
    >>> train, test = temporal_split(ev, test_start="2024-01-03")
    >>> len(train), test["customer_id"].tolist()
    (2, ['a'])
    """
    events = as_events(events)
    filter_unseen = check_bool("filter_unseen", filter_unseen)
    return split_at(events, split_cut(events, test_start, test_fraction), filter_unseen)


def split_at(events: pd.DataFrame, cut: pd.Timestamp, filter_unseen: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`temporal_split` of canonical (trusted) ``events`` at ``cut``."""
    before = events[Columns.TIMESTAMP].to_numpy() < cut.to_datetime64()
    train = events.loc[before]
    test = events.loc[~before & purchase_mask(events).to_numpy()]
    n_after = len(test)
    if filter_unseen:
        bought = train.loc[purchase_mask(train).to_numpy()]
        known = test[Columns.CUSTOMER].isin(bought[Columns.CUSTOMER].unique()).to_numpy() & test[
            Columns.ITEM
        ].isin(bought[Columns.ITEM].dropna().unique()).to_numpy()
        test = test.loc[known]
    test = test.copy()
    test.attrs = {"cxml_split": {"cut": cut.isoformat(), "test_purchase_rows": n_after,
                                 "dropped_unseen": n_after - len(test)}}
    if n_after - len(test):
        logger.info(
            "temporal_split: cut %s; %d of %d test purchase rows dropped (customer or item not in train)",
            cut, n_after - len(test), n_after,
        )
    return train.copy(), test
