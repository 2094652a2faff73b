"""``load_events``: the one way user data becomes a canonical events table.

Handling of imperfect input is documented and counted, never silent:

- rows with a missing ``customer_id`` are **dropped**; a :class:`~cxml.DataWarning` and a log
  record say how many;
- tz-aware timestamps (and strings with offsets) are converted to **naive UTC**; naive input is
  taken to be UTC already; numeric timestamps are unix epoch seconds (``timestamp_unit`` changes that);
- ids of any dtype become strings (``12346.0`` from a float column becomes ``"12346"``);
- negative ``quantity``/``amount`` rows are **kept**: they are returns/refunds;
- exact duplicate rows are **kept** (a customer can buy the same thing twice);
- a missing ``event_type`` value means ``"purchase"`` (counted in the warning);
- unparseable or missing timestamps, non-numeric or infinite numbers, feedback scores outside
  their scale and an empty table raise :class:`~cxml.SchemaError` naming the column, the first
  bad value and the row count.

The counts of everything handled are in ``events.attrs["cxml_load_report"]``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from cxml.data.idmap import to_id_strings
from cxml.exceptions import DataWarning, SchemaError, SourceError
from cxml.schema import CANONICAL_DTYPES, FEEDBACK_RANGES, STRING_DTYPE, Columns, EventTypes, validate_events

__all__ = ["as_events", "is_canonical", "load_events"]

logger = logging.getLogger("cxml.data")

_Source: TypeAlias = pd.DataFrame | str | os.PathLike[str]


def is_canonical(frame: Any) -> bool:
    """Whether ``frame`` already is a canonical events table (every column present with its dtype).

    A cheap check of the columns and dtypes, not of every value: it is what lets
    :func:`as_events` hand back a :func:`load_events` result without copying it.
    """
    if not isinstance(frame, pd.DataFrame) or not frame.columns.is_unique:
        return False
    cols = frame.columns
    return all(c in cols and frame[c].dtype == CANONICAL_DTYPES[c] for c in Columns.EVENTS)


def as_events(source: _Source, *, require: Sequence[str] = ()) -> pd.DataFrame:
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
    events = source if is_canonical(source) else load_events(source)
    return validate_events(events, require=require)


def load_events(
    source: _Source,
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
    keep_columns: bool = True,
) -> pd.DataFrame:
    """Load and validate an events table.

    Parameters
    ----------
    source
        A DataFrame (never modified), or a path to a ``.csv`` (optionally compressed) or
        ``.parquet`` file or a directory of parquet files.
    customer_id, timestamp, item_id, amount, quantity, price, event_type, value, order_id
        The user's column name for each canonical column. ``None`` means the canonical name is
        used when the source has it. ``price`` is only used to compute ``amount = price * quantity``
        when no amount column is given.
    timestamp_unit
        Unit of numeric timestamps (unix epoch), default seconds.
    keep_columns
        Keep the source's other columns (e.g. ``country``) after the canonical ones, untouched.

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
        The path does not exist or is not csv/parquet.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> raw = pd.DataFrame({"cust": [7, 7], "when": ["2024-01-02", "2024-01-01"],
    ...                     "sku": ["A", "B"], "qty": [1, -1], "unit": [2.5, 2.5]})
    >>> ev = cxml.load_events(raw, customer_id="cust", timestamp="when", item_id="sku",
    ...                       quantity="qty", price="unit")
    >>> ev[["customer_id", "item_id", "amount"]].to_dict("list")
    {'customer_id': ['7', '7'], 'item_id': ['B', 'A'], 'amount': [-2.5, 2.5]}
    """
    raw = _read_source(source)
    mapping = {
        Columns.CUSTOMER: customer_id,
        Columns.TIMESTAMP: timestamp,
        Columns.ITEM: item_id,
        Columns.AMOUNT: amount,
        Columns.QUANTITY: quantity,
        Columns.EVENT_TYPE: event_type,
        Columns.VALUE: value,
        Columns.ORDER: order_id,
        "price": price,
    }
    resolved = _resolve_columns(raw, mapping)
    n_in = len(raw)
    if n_in == 0:
        raise SchemaError("the events table is empty (0 rows); expected at least one event")

    report: dict[str, int] = {"rows_in": n_in}
    out: dict[str, Any] = {}

    cust = raw[resolved[Columns.CUSTOMER]]
    missing_cust = _missing_mask(cust)
    report["dropped_missing_customer_id"] = int(missing_cust.sum())
    keep = ~missing_cust
    if not keep.any():
        raise SchemaError(
            f"column {resolved[Columns.CUSTOMER]!r} (customer_id) is missing in all {n_in} rows; "
            "expected customer ids"
        )
    rows = raw.loc[keep] if missing_cust.any() else raw
    out[Columns.CUSTOMER] = to_id_strings(rows[resolved[Columns.CUSTOMER]])
    out[Columns.TIMESTAMP], report["timestamps_converted_to_utc"] = _parse_timestamps(
        rows[resolved[Columns.TIMESTAMP]], resolved[Columns.TIMESTAMP], timestamp_unit
    )

    if resolved.get(Columns.EVENT_TYPE):
        et = rows[resolved[Columns.EVENT_TYPE]]
        et_missing = _missing_mask(et)
        report["event_type_missing_as_purchase"] = int(et_missing.sum())
        et_str = et.astype(STRING_DTYPE).str.strip().str.lower()
        out[Columns.EVENT_TYPE] = et_str.where(~et_missing, EventTypes.PURCHASE).astype(STRING_DTYPE)
    else:
        out[Columns.EVENT_TYPE] = pd.Series(EventTypes.PURCHASE, index=rows.index, dtype=STRING_DTYPE)

    if resolved.get(Columns.ITEM):
        item = rows[resolved[Columns.ITEM]]
        out[Columns.ITEM] = to_id_strings(item).where(~_missing_mask(item))
    else:
        out[Columns.ITEM] = pd.Series(np.nan, index=rows.index, dtype=STRING_DTYPE)

    numeric = {
        c: _to_float(rows[resolved[c]], resolved[c]) if resolved.get(c) else None
        for c in (Columns.QUANTITY, Columns.AMOUNT, Columns.VALUE, "price")
    }
    qty, amt, price_s = numeric[Columns.QUANTITY], numeric[Columns.AMOUNT], numeric["price"]
    if amt is None and price_s is not None:
        if qty is None:
            raise SchemaError(
                f"column {resolved['price']!r} (price) was given without a quantity column; "
                "amount = price * quantity needs both, or pass amount=..."
            )
        amt = price_s * qty
    nan = pd.Series(np.nan, index=rows.index, dtype="float64")
    out[Columns.QUANTITY] = qty if qty is not None else nan
    out[Columns.AMOUNT] = amt if amt is not None else nan.copy()
    out[Columns.VALUE] = numeric[Columns.VALUE] if numeric[Columns.VALUE] is not None else nan.copy()
    if resolved.get(Columns.ORDER):
        out[Columns.ORDER] = to_id_strings(rows[resolved[Columns.ORDER]])

    events = pd.DataFrame(out, index=rows.index)
    _check_feedback_ranges(events, resolved.get(Columns.VALUE))
    report["return_rows"] = int(
        (events[Columns.QUANTITY].lt(0) | events[Columns.AMOUNT].lt(0)).sum()
    )
    if keep_columns:
        used = {c for c in resolved.values() if c}
        extra = [c for c in rows.columns if c not in used and c not in events.columns]
        for c in extra:
            events[c] = rows[c]
    events = events.sort_values(Columns.TIMESTAMP, kind="stable").reset_index(drop=True)
    events = events.astype({c: CANONICAL_DTYPES[c] for c in events.columns if c in CANONICAL_DTYPES})
    report["rows_out"] = len(events)
    events.attrs["cxml_load_report"] = report
    _warn_handled(report, resolved)
    return events


def _read_source(source: _Source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if not isinstance(source, str | os.PathLike):
        raise SchemaError(
            f"source must be a DataFrame or a path to csv/parquet, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise SourceError(f"events source {str(path)!r} does not exist")
    suffixes = "".join(path.suffixes).lower()
    try:
        if path.is_dir() or suffixes.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if ".csv" in suffixes or ".tsv" in suffixes or suffixes.endswith(".txt"):
            sep = "\t" if ".tsv" in suffixes else ","
            return pd.read_csv(path, sep=sep, low_memory=False)
    except (OSError, ValueError) as exc:
        raise SourceError(f"could not read events source {str(path)!r}: {exc}") from exc
    raise SourceError(
        f"events source {str(path)!r} has suffix {suffixes or '(none)'!r}; expected .csv or .parquet"
    )


def _resolve_columns(raw: pd.DataFrame, mapping: dict[str, str | None]) -> dict[str, str]:
    resolved: dict[str, str] = {}
    available = [str(c) for c in raw.columns]
    for canonical, user in mapping.items():
        if user is not None:
            if user not in raw.columns:
                raise SchemaError(
                    f"column {user!r} (given as {canonical}=) is not in the source; "
                    f"available columns: {available}"
                )
            resolved[canonical] = user
        elif canonical in raw.columns:
            resolved[canonical] = canonical
    for req in Columns.REQUIRED:
        if req not in resolved:
            raise SchemaError(
                f"required column {req!r} is missing ({len(raw)} rows); available columns: "
                f"{available}; map yours with load_events(..., {req}='your_column')"
            )
    return resolved


def _missing_mask(s: pd.Series) -> np.ndarray:
    missing = s.isna().to_numpy(dtype=bool, copy=True)
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        blank = s.astype(STRING_DTYPE).str.strip().eq("").to_numpy(dtype=bool, na_value=False)
        missing |= blank
    return missing


def _parse_timestamps(s: pd.Series, name: str, unit: str) -> tuple[pd.Series, int]:
    converted = 0
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        converted = int(s.notna().sum())
        parsed = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        parsed = s
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        parsed = pd.to_datetime(s, unit=unit, errors="coerce")
    else:
        text = s.astype(STRING_DTYPE).str.strip()
        has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True, na=False)
        converted = int(has_offset.sum())
        with warnings.catch_warnings():
            # pandas warns when it falls back to per-element parsing; we retry the failures below
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(text, errors="coerce", utc=True)
        retry = parsed.isna() & text.notna()
        if retry.any():
            parsed.loc[retry] = pd.to_datetime(text[retry], errors="coerce", utc=True, format="mixed")
        parsed = parsed.dt.tz_localize(None)
    # datetime64[ns] spans 1677..2262; a value outside (e.g. the string "1000") is bad input
    lo, hi = pd.Timestamp.min.as_unit("ns"), pd.Timestamp.max.as_unit("ns")
    bad = (parsed.isna() | (parsed < lo) | (parsed > hi)).to_numpy(dtype=bool)
    if bad.any():
        first = s[bad].iloc[0]
        raise SchemaError(
            f"column {name!r} (timestamp) has {int(bad.sum())} missing or unparseable values of "
            f"{len(s)} rows (first: {first!r}); expected dates such as '2024-01-31 12:00'"
        )
    return parsed.astype("datetime64[ns]"), converted


def _to_float(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        raise SchemaError(f"column {name!r} is boolean ({len(s)} rows); expected numbers")
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype("float64")
    else:
        text = s.astype(STRING_DTYPE).str.strip()
        out = pd.to_numeric(text.where(text.ne(""), None), errors="coerce").astype("float64")
        bad = out.isna() & text.notna() & text.ne("")
        if bad.any():
            raise SchemaError(
                f"column {name!r} has {int(bad.sum())} non-numeric values of {len(s)} rows "
                f"(first: {text[bad].iloc[0]!r}); expected numbers"
            )
    inf = np.isinf(out.to_numpy(dtype="float64", na_value=np.nan))
    if inf.any():
        raise SchemaError(
            f"column {name!r} has {int(inf.sum())} infinite values of {len(s)} rows "
            f"(first: {float(out[inf].iloc[0])!r}); expected finite numbers"
        )
    return out


def _check_feedback_ranges(events: pd.DataFrame, value_col: str | None) -> None:
    if value_col is None:
        return
    et = events[Columns.EVENT_TYPE]
    for kind, (lo, hi) in FEEDBACK_RANGES.items():
        v = events.loc[et.eq(kind).to_numpy(dtype=bool, na_value=False), Columns.VALUE]
        bad = v.notna() & ~v.between(lo, hi)
        if bad.any():
            raise SchemaError(
                f"column {value_col!r} (value) has {int(bad.sum())} {kind!r} scores outside "
                f"{lo:g}..{hi:g} (first: {float(v[bad].iloc[0])!r}); expected the {kind.upper()} scale"
            )


def _warn_handled(report: dict[str, int], resolved: dict[str, str]) -> None:
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
