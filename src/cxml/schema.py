"""The canonical events schema: column names, dtypes, validation and time helpers.

Every cxml entry point works on one *events table* with the columns of :class:`Columns`.
:func:`cxml.load_events` builds it from user data; :func:`validate_events` checks that a frame
already follows it (cheaply: dtypes and required columns, not every value).

Examples
--------
>>> import pandas as pd
>>> from cxml.schema import Columns, purchase_mask
>>> ev = pd.DataFrame({Columns.CUSTOMER: ["a", "a"], Columns.QUANTITY: [2.0, -1.0]})
>>> purchase_mask(ev).tolist()
[True, False]
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from cxml.exceptions import ParameterError, SchemaError

__all__ = [
    "CANONICAL_DTYPES",
    "Columns",
    "EventTypes",
    "FEEDBACK_RANGES",
    "STRING_DTYPE",
    "events_before",
    "parse_as_of",
    "parse_horizon",
    "purchase_mask",
    "validate_events",
]

#: a duration string that is only a number ("90", "1.5e3"): pandas would read it as nanoseconds
_NUMBER_ONLY: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

#: pandas' own string dtype (``"str"``): arrow-backed, missing values are ``NaN``.
STRING_DTYPE: Final = pd.StringDtype(na_value=np.nan)


class Columns:
    """Canonical column names. Use these constants instead of string literals."""

    CUSTOMER: Final = "customer_id"
    TIMESTAMP: Final = "timestamp"
    EVENT_TYPE: Final = "event_type"
    ITEM: Final = "item_id"
    QUANTITY: Final = "quantity"
    AMOUNT: Final = "amount"
    VALUE: Final = "value"
    #: optional: groups lines of one order/invoice (frequency can count orders)
    ORDER: Final = "order_id"

    # Output columns shared by models and the Scorer.
    SCORE: Final = "score"
    RANK: Final = "rank"
    SIMILAR_ITEM: Final = "similar_item_id"
    CHURN_PROBABILITY: Final = "churn_probability"
    EXPECTED_VALUE: Final = "expected_value"
    CUTOFF: Final = "cutoff"

    REQUIRED: Final = (CUSTOMER, TIMESTAMP)
    #: every canonical events column, in output order (``order_id`` only when given)
    EVENTS: Final = (CUSTOMER, TIMESTAMP, EVENT_TYPE, ITEM, QUANTITY, AMOUNT, VALUE)


class EventTypes:
    """Well-known ``event_type`` values. Any other string is an engagement type."""

    PURCHASE: Final = "purchase"
    VIEW: Final = "view"
    LOGIN: Final = "login"
    SUPPORT: Final = "support"
    NPS: Final = "nps"
    CSAT: Final = "csat"
    CES: Final = "ces"
    RATING: Final = "rating"

    FEEDBACK: Final = (NPS, CSAT, CES, RATING)


#: Valid score range (inclusive) of each feedback event type's ``value``.
FEEDBACK_RANGES: Final[dict[str, tuple[float, float]]] = {
    EventTypes.NPS: (0.0, 10.0),
    EventTypes.CSAT: (1.0, 5.0),
    EventTypes.CES: (1.0, 7.0),
    EventTypes.RATING: (0.0, 10.0),
}

CANONICAL_DTYPES: Final[dict[str, Any]] = {
    Columns.CUSTOMER: STRING_DTYPE,
    Columns.TIMESTAMP: np.dtype("datetime64[ns]"),
    Columns.EVENT_TYPE: STRING_DTYPE,
    Columns.ITEM: STRING_DTYPE,
    Columns.QUANTITY: np.dtype("float64"),
    Columns.AMOUNT: np.dtype("float64"),
    Columns.VALUE: np.dtype("float64"),
    Columns.ORDER: STRING_DTYPE,
}


def validate_events(events: pd.DataFrame, *, require: Sequence[str] = ()) -> pd.DataFrame:
    """Check that ``events`` is a canonical events table and return it unchanged.

    This is the cheap check every model's ``fit``/``predict`` runs on its input: the frame must
    have been made by :func:`cxml.load_events` (or follow the same schema). ``require`` names
    optional columns the caller needs to hold at least one value (e.g. ``item_id`` for recommenders).

    Parameters
    ----------
    events
        The frame to check (not copied, not modified).
    require
        Canonical column names that must be present with at least one non-missing value.

    Returns
    -------
    pandas.DataFrame
        ``events`` itself, so the call can be chained.

    Raises
    ------
    SchemaError
        Naming the column that is missing, has the wrong dtype, or (for ``require``) holds no value.

    Examples
    --------
    >>> import cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-01"]}))
    >>> validate_events(ev) is ev
    True
    >>> validate_events(ev, require=["item_id"])
    Traceback (most recent call last):
    ...
    cxml.exceptions.SchemaError: column 'item_id' has no values (1 rows); it is needed here
    """
    if not isinstance(events, pd.DataFrame):
        raise SchemaError(
            f"expected an events DataFrame (from cxml.load_events), got {type(events).__name__}"
        )
    for col in Columns.EVENTS:
        if col not in events.columns:
            raise SchemaError(
                f"column {col!r} is missing from the events table ({len(events)} rows); "
                "build it with cxml.load_events(...)"
            )
    ts = events[Columns.TIMESTAMP]
    if not pd.api.types.is_datetime64_dtype(ts.dtype) or isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            f"column 'timestamp' has dtype {ts.dtype}; expected naive datetime64 (use cxml.load_events)"
        )
    for col in (Columns.QUANTITY, Columns.AMOUNT, Columns.VALUE):
        if not pd.api.types.is_float_dtype(events[col].dtype):
            raise SchemaError(f"column {col!r} has dtype {events[col].dtype}; expected float64")
    for col in require:
        if col not in events.columns or events[col].notna().sum() == 0:
            raise SchemaError(f"column {col!r} has no values ({len(events)} rows); it is needed here")
    return events


def purchase_mask(events: pd.DataFrame) -> pd.Series:
    """Boolean mask of *purchase rows* (PROTOCOL.md): event_type "purchase" and a positive quantity.

    Row by row: when ``quantity`` is known it must be > 0; otherwise when ``amount`` is known it
    must be > 0; a purchase event with neither is a purchase. Returns/refunds (negative rows) are
    therefore not purchases, but they still count in net spend.
    """
    n = len(events)
    is_purchase = (
        events[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy(dtype=bool, na_value=False)
        if Columns.EVENT_TYPE in events.columns
        else np.ones(n, dtype=bool)
    )
    q = _float_or_nan(events, Columns.QUANTITY, n)
    a = _float_or_nan(events, Columns.AMOUNT, n)
    positive = np.where(~np.isnan(q), q > 0, np.where(~np.isnan(a), a > 0, True))
    return pd.Series(is_purchase & positive, index=events.index, name="is_purchase")


def _float_or_nan(events: pd.DataFrame, col: str, n: int) -> np.ndarray:
    if col not in events.columns:
        return np.full(n, np.nan)
    return events[col].to_numpy(dtype="float64", na_value=np.nan)


def parse_as_of(value: Any, name: str = "as_of") -> pd.Timestamp:
    """Parse a date-like ``as_of`` into a naive UTC :class:`pandas.Timestamp`.

    Parameters
    ----------
    value
        A date string such as ``"2011-09-01"`` or ``"2011-09-01 12:30"``, a ``datetime``/``date``,
        a ``numpy.datetime64``, a ``Timestamp``. A time of day is kept exactly. A time-zone-aware
        value is converted to UTC and its time zone dropped; a naive one is kept as is. Numbers
        (int, float, bool) are refused: ``20110901`` would otherwise be read as nanoseconds.
    name
        The argument's name, used in error messages (default ``"as_of"``).

    Returns
    -------
    pandas.Timestamp
        Naive, nanosecond unit.

    Raises
    ------
    ParameterError
        When ``value`` is ``None``, a number, cannot be parsed, is ``NaT``, or lies outside the
        dates pandas can hold (1677-09-22 .. 2262-04-11).

    Examples
    --------
    >>> parse_as_of("2011-09-01")
    Timestamp('2011-09-01 00:00:00')
    >>> parse_as_of("2011-09-01T12:30:00+02:00")
    Timestamp('2011-09-01 10:30:00')
    """
    example = "expected a date such as '2011-09-01' or '2011-09-01 12:00'"
    if value is None:
        raise ParameterError(f"{name} is required; {example}")
    if isinstance(value, numbers.Number):  # int, float, bool, numpy scalars
        raise ParameterError(f"{name}={value!r} is a number, not a date; {example}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParameterError(f"{name}={value!r} is not a date; {example}") from exc
    if ts is pd.NaT:
        raise ParameterError(f"{name}={value!r} is not a date; {example}")
    try:
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.as_unit("ns")
    except (ValueError, OverflowError) as exc:  # OutOfBoundsDatetime: beyond datetime64[ns]
        raise ParameterError(
            f"{name}={value!r} is outside the dates pandas can hold (1677-09-22 .. 2262-04-11); {example}"
        ) from exc


def parse_horizon(value: Any, name: str = "horizon") -> pd.Timedelta:
    """Parse a positive duration (``"90D"``, ``90`` days, a ``Timedelta``).

    Parameters
    ----------
    value
        A number (int or float, not bool) of days, or anything :class:`pandas.Timedelta` accepts
        that names its unit: a string such as ``"90D"`` or ``"12h"``, a ``datetime.timedelta``, a
        ``numpy.timedelta64``, a ``Timedelta``. A string without a unit (``"90"``) is refused:
        pandas would read it as nanoseconds.
    name
        The argument's name, used in error messages (default ``"horizon"``).

    Returns
    -------
    pandas.Timedelta
        Strictly positive.

    Raises
    ------
    ParameterError
        When ``value`` is not a duration, has no unit, or is zero, negative or missing (``None``, ``NaT``).

    Examples
    --------
    >>> parse_horizon("90D")
    Timedelta('90 days 00:00:00')
    >>> parse_horizon(30)
    Timedelta('30 days 00:00:00')
    """
    if isinstance(value, str) and _NUMBER_ONLY.fullmatch(value.strip()):
        raise ParameterError(
            f"{name}={value!r} has no unit; write e.g. '{value.strip()}D' for days "
            f"(or pass the number {value.strip()} for days)"
        )
    try:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
            td = pd.Timedelta(days=float(value))
        else:
            td = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParameterError(f"{name}={value!r} is not a duration; expected e.g. '90D'") from exc
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise ParameterError(f"{name}={value!r} must be a positive duration such as '90D'")
    return td


def events_before(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows with ``timestamp < as_of`` (the point-in-time rule), as a view-like slice.

    Parameters
    ----------
    events
        Canonical events table (not validated here).
    as_of
        A :class:`pandas.Timestamp` (e.g. from :func:`parse_as_of`); rows at or after it are left out.

    Returns
    -------
    pandas.DataFrame
        The rows of ``events`` before ``as_of``, with their original index and columns.
    """
    return events.loc[events[Columns.TIMESTAMP].to_numpy() < as_of.to_datetime64()]
