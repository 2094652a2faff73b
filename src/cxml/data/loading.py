"""``load_events``: the one way user data becomes a canonical events table.

Handling of imperfect input is documented and counted, never silent:

- rows with a missing ``customer_id`` are **dropped**; a :class:`~cxml.DataWarning` and a log
  record say how many;
- tz-aware timestamps (and strings with offsets) are converted to **naive UTC**; naive input is
  taken to be UTC already; numeric timestamps are unix epoch seconds (``timestamp_unit`` changes that);
- numeric dates such as ``05/01/2024`` are read in one day/month order for the whole column,
  detected from the values or given with ``dayfirst=`` / ``timestamp_format=``; a column that
  cannot decide is refused;
- ids of any dtype become strings (``12346.0`` from a float column becomes ``"12346"``); the id
  columns of a csv file are read as text, so ``"00123"`` and ``"123"`` stay two customers;
- negative ``quantity``/``amount`` rows are **kept**: they are returns/refunds;
- exact duplicate rows are **kept** (a customer can buy the same thing twice);
- a missing ``event_type`` value means ``"purchase"`` (counted in the warning);
- unparseable or missing timestamps, non-numeric or infinite numbers (also an infinite
  ``price * quantity``), feedback scores outside their scale, repeated column names and an empty
  table raise :class:`~cxml.SchemaError` naming the column, the first bad value and the row count.

The counts of everything handled are in ``events.attrs["cxml_load_report"]``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_bool
from cxml.data._columns import (
    blank_mask,
    check_column_mapping,
    check_feedback_ranges,
    check_labels,
    refuse_infinite,
    resolve_columns,
    to_float,
)
from cxml.data._read import Source, read_source
from cxml.data._timestamps import TimestampOptions, as_text, parse_timestamps
from cxml.data.idmap import to_id_strings
from cxml.exceptions import DataWarning, SchemaError
from cxml.schema import CANONICAL_DTYPES, STRING_DTYPE, Columns, EventTypes, validate_events

# to_id_strings is re-exported: cxml.recommend imports it from here
__all__ = ["as_events", "is_canonical", "load_events", "to_id_strings"]

logger = logging.getLogger("cxml.data")

_ID_COLUMNS = (Columns.CUSTOMER, Columns.ITEM, Columns.ORDER)


def is_canonical(frame: Any) -> bool:
    """Whether ``frame`` already is a canonical events table that :func:`as_events` may pass through.

    Every canonical column present once with its dtype, and no missing ``customer_id`` or
    ``timestamp``: a check of the columns and dtypes plus two vectorised null scans, no copy and
    nothing per row, so that a :func:`load_events` result goes back out unchanged.
    """
    if not isinstance(frame, pd.DataFrame) or isinstance(frame.columns, pd.MultiIndex):
        return False
    cols = frame.columns
    if not cols.is_unique:  # a repeated name must go through load_events, which refuses it
        return False
    if not all(c in cols and frame[c].dtype == CANONICAL_DTYPES[c] for c in Columns.EVENTS):
        return False
    return not (frame[Columns.CUSTOMER].hasnans or frame[Columns.TIMESTAMP].hasnans)


def as_events(source: Source, *, require: Sequence[str] = ()) -> pd.DataFrame:
    """Normalise any events input once: the function every public entry point calls first.

    A frame that is already canonical (made by :func:`load_events`, or following its schema)
    comes back unchanged, without a copy. Anything else that :func:`load_events` accepts with
    canonical column names (a frame lacking optional columns, ids as ints, timestamps as
    strings, a path to a csv/parquet file or a directory of parquet files) goes through it.

    Parameters
    ----------
    source
        An events frame or a path.
    require
        Canonical columns that must hold at least one value (e.g. ``item_id`` for recommenders).

    Returns
    -------
    pandas.DataFrame
        A canonical events table.

    Raises
    ------
    SchemaError
        The input does not fit the schema, or a column named in ``require`` is empty.
    SourceError
        A path does not exist or is not csv/parquet.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> raw = pd.DataFrame({"customer_id": [1, 2], "timestamp": ["2024-01-01", "2024-01-02"]})
    >>> ev = cxml.as_events(raw)
    >>> cxml.as_events(ev) is ev
    True
    """
    if isinstance(require, str):
        require = (require,)
    events = source if is_canonical(source) else load_events(source)
    return validate_events(events, require=require)


def load_events(
    source: Source,
    *,
    customer_id: str | None = None,
    timestamp: str | None = None,
    item_id: str | None = None,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    event_type: str | None = None,
    value: str | None = None,
    order_id: str | None = None,
    timestamp_unit: str = "s",
    dayfirst: bool | None = None,
    timestamp_format: str | None = None,
    keep_columns: bool = True,
) -> pd.DataFrame:
    """Load and validate an events table.

    Parameters
    ----------
    source
        A DataFrame (never modified), or a path to a ``.csv`` (optionally compressed) or
        ``.parquet`` file or a directory of parquet files. The id columns of a csv file are read
        as text (``"00123"`` stays ``"00123"``).
    customer_id, timestamp, item_id, amount, quantity, price, event_type, value, order_id
        The user's column name for each canonical column. ``None`` means the canonical name is
        used when the source has it. ``price`` is only used to compute ``amount = price * quantity``
        when no amount column is given.
    timestamp_unit
        Unit of numeric timestamps (unix epoch), default seconds: one of
        ``"D", "h", "m", "s", "ms", "us", "ns"``.
    dayfirst
        Order of numeric dates such as ``05/01/2024``: ``True`` day/month/year, ``False``
        month/day/year. ``None`` (default) detects it from the whole column and refuses a column
        in which no value settles it.
    timestamp_format
        An explicit ``strptime`` format for the timestamp column (e.g. ``"%d/%m/%Y %H:%M"``);
        values that do not match it are unparseable. Give this or ``dayfirst``, not both.
    keep_columns
        Keep the source's other columns (e.g. ``country``) after the canonical ones, untouched.
        ``False`` drops them; a file source then reads only the mapped columns (a parquet dataset
        reads nothing else from disk).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id, timestamp, event_type, item_id, quantity, amount, value``
        (+ ``order_id`` when mapped, + the extra columns), sorted by timestamp (stable), with a
        fresh RangeIndex.

    Raises
    ------
    SchemaError
        The input does not fit the schema; the message names column, value and row count.
    SourceError
        The path does not exist, is not csv/parquet, or cannot be read.
    ParameterError
        An argument other than ``source`` is invalid (a column name that is not a str, an unknown
        ``timestamp_unit``, ``dayfirst`` that is not a bool, both ``dayfirst`` and ``timestamp_format``).

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> raw = pd.DataFrame({"cust": [7, 7], "when": ["2024-01-02", "2024-01-01"],
    ...                     "sku": ["A", "B"], "qty": [1, -1], "unit": [2.5, 2.5]})
    >>> ev = cxml.load_events(raw, customer_id="cust", timestamp="when", item_id="sku",
    ...                       quantity="qty", price="unit")
    >>> ev[["customer_id", "item_id", "amount"]].to_dict("list")
    {'customer_id': ['7', '7'], 'item_id': ['B', 'A'], 'amount': [-2.5, 2.5]}
    >>> cxml.load_events(pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["05/01/2024", "25/01/2024"]})
    ...                  )["timestamp"].dt.strftime("%Y-%m-%d").tolist()
    ['2024-01-05', '2024-01-25']
    """
    mapping = check_column_mapping({
        Columns.CUSTOMER: customer_id, Columns.TIMESTAMP: timestamp, Columns.ITEM: item_id,
        Columns.AMOUNT: amount, Columns.QUANTITY: quantity, Columns.EVENT_TYPE: event_type,
        Columns.VALUE: value, Columns.ORDER: order_id, "price": price,
    })
    options = TimestampOptions.checked(timestamp_unit, dayfirst, timestamp_format)
    keep_extra = check_bool("keep_columns", keep_columns)
    raw = read_source(source, [c if mapping[c] is None else mapping[c] for c in _ID_COLUMNS],
                      None if keep_extra else [c if user is None else user for c, user in mapping.items()])
    check_labels(raw)
    resolved = resolve_columns(raw, mapping)
    if len(raw) == 0:
        raise SchemaError("the events table is empty (0 rows); expected at least one event")
    report: dict[str, int] = {"rows_in": len(raw)}
    rows, customers = _rows_with_customer(raw.reset_index(drop=True), resolved[Columns.CUSTOMER], report)
    events = _canonical_columns(rows, customers, resolved, options, report)
    if keep_extra:
        events = _with_extra_columns(events, rows, resolved)
    events = events.sort_values(Columns.TIMESTAMP, kind="stable").reset_index(drop=True)
    events = events.astype({c: CANONICAL_DTYPES[c] for c in events.columns if c in CANONICAL_DTYPES})
    report["rows_out"] = len(events)
    events.attrs["cxml_load_report"] = report
    _warn_handled(report, resolved)
    return events


def _rows_with_customer(
    raw: pd.DataFrame, column: Hashable, report: dict[str, int]
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows that have a customer id (missing and blank ones dropped and counted), and their ids."""
    ids = to_id_strings(raw[column], column)
    missing = ids.isna().to_numpy(dtype=bool) | ids.eq("").to_numpy(dtype=bool, na_value=False)
    report["dropped_missing_customer_id"] = int(missing.sum())
    if missing.all():
        raise SchemaError(
            f"column {column!r} (customer_id) is missing in all {len(raw)} rows; expected customer ids"
        )
    if missing.any():
        return raw.loc[~missing], ids[~missing]
    return raw, ids


def _canonical_columns(
    rows: pd.DataFrame,
    customers: pd.Series,
    resolved: dict[str, Hashable],
    options: TimestampOptions,
    report: dict[str, int],
) -> pd.DataFrame:
    """The canonical columns of the kept rows, values checked, in canonical order."""
    out: dict[str, pd.Series] = {Columns.CUSTOMER: customers}
    out[Columns.TIMESTAMP], report["timestamps_converted_to_utc"] = parse_timestamps(
        rows[resolved[Columns.TIMESTAMP]], resolved[Columns.TIMESTAMP], options
    )
    out[Columns.EVENT_TYPE] = _event_types(rows, resolved.get(Columns.EVENT_TYPE), report)
    out[Columns.ITEM] = _optional_ids(rows, resolved.get(Columns.ITEM))
    out.update(_numbers(rows, resolved))
    if Columns.ORDER in resolved:
        out[Columns.ORDER] = _optional_ids(rows, resolved[Columns.ORDER])
    events = pd.DataFrame(out, index=rows.index)
    check_feedback_ranges(events, resolved.get(Columns.VALUE))
    report["return_rows"] = int((events[Columns.QUANTITY].lt(0) | events[Columns.AMOUNT].lt(0)).sum())
    return events


def _event_types(rows: pd.DataFrame, column: Hashable | None, report: dict[str, int]) -> pd.Series:
    """Lower-case, stripped event types; a missing or blank one is ``"purchase"`` (counted)."""
    if column is None:
        return pd.Series(EventTypes.PURCHASE, index=rows.index, dtype=STRING_DTYPE)
    et = rows[column]
    missing = blank_mask(et, column)
    report["event_type_missing_as_purchase"] = int(missing.sum())
    text = as_text(et, column).str.strip().str.lower()
    return text.where(~missing, EventTypes.PURCHASE).astype(STRING_DTYPE)


def _optional_ids(rows: pd.DataFrame, column: Hashable | None) -> pd.Series:
    """Ids of an optional id column (item, order) as strings; missing and blank ids are missing."""
    if column is None:
        return pd.Series(np.nan, index=rows.index, dtype=STRING_DTYPE)
    ids = to_id_strings(rows[column], column)
    return ids.where(ids.ne(""))


def _numbers(rows: pd.DataFrame, resolved: dict[str, Hashable]) -> dict[str, pd.Series]:
    """``quantity``, ``amount`` (or ``price * quantity``) and ``value`` as finite floats or NaN."""
    numeric = {
        c: to_float(rows[resolved[c]], resolved[c]) if c in resolved else None
        for c in (Columns.QUANTITY, Columns.AMOUNT, Columns.VALUE, "price")
    }
    qty, amt, price = numeric[Columns.QUANTITY], numeric[Columns.AMOUNT], numeric["price"]
    if amt is None and price is not None:
        if qty is None:
            raise SchemaError(
                f"column {resolved['price']!r} (price) was given without a quantity column; "
                "amount = price * quantity needs both, or pass amount=..."
            )
        with np.errstate(over="ignore", invalid="ignore"):
            amt = price * qty
        refuse_infinite(
            amt, f"amount = {resolved['price']!r} * {resolved[Columns.QUANTITY]!r} (price * quantity)"
        )
    nan = pd.Series(np.nan, index=rows.index, dtype="float64")
    return {
        Columns.QUANTITY: qty if qty is not None else nan,
        Columns.AMOUNT: amt if amt is not None else nan.copy(),
        Columns.VALUE: numeric[Columns.VALUE] if numeric[Columns.VALUE] is not None else nan.copy(),
    }


def _with_extra_columns(events: pd.DataFrame, rows: pd.DataFrame, resolved: dict[str, Hashable]) -> pd.DataFrame:
    """``events`` followed by the source's columns that were not mapped, untouched."""
    used = set(resolved.values())
    extra = [c for c in rows.columns if c not in used and c not in events.columns]
    if not extra:
        return events
    return pd.concat([events, rows[extra]], axis=1)


def _warn_handled(report: dict[str, int], resolved: dict[str, Hashable]) -> None:
    parts = []
    if report["dropped_missing_customer_id"]:
        parts.append(
            f"dropped {report['dropped_missing_customer_id']} of {report['rows_in']} rows with a missing "
            f"customer id (column {resolved[Columns.CUSTOMER]!r})"
        )
    if report.get("event_type_missing_as_purchase"):
        parts.append(
            f"{report['event_type_missing_as_purchase']} rows with a missing event type were taken as "
            "'purchase'"
        )
    for msg in parts:
        logger.warning(msg)
        warnings.warn(msg, DataWarning, stacklevel=3)
    if report["return_rows"]:
        logger.info("kept %d return/refund rows (negative quantity or amount)", report["return_rows"])
