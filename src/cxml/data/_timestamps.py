"""The timestamp column of :func:`cxml.load_events`: datetimes, unix numbers and date strings.

Strings such as ``05/01/2024`` are read in ONE order for the whole column, never value by value
(pandas' own inference reads the first value month-first and a later ``25/01/2024`` day-first):

- a first field above 12 somewhere means day/month/year; a second field above 12 means
  month/day/year; both in one column is refused as inconsistent;
- a column in which no value settles the order is refused, naming ``dayfirst=`` and
  ``timestamp_format=``, unless every value reads the same either way (``01/01/2024``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxml._checks import check_bool, check_choice
from cxml.data.idmap import to_id_strings
from cxml.exceptions import CxmlError, ParameterError, SchemaError
from cxml.schema import STRING_DTYPE

__all__ = ["TimestampOptions", "as_text", "parse_timestamps"]

logger = logging.getLogger("cxml.data")

#: day and month (1-2 digits each, either order), the year (4 or 2 digits), then anything not a digit (a time)
_NUMERIC_DATE = r"^(?P<a>\d{1,2})[/.\- ](?P<b>\d{1,2})[/.\- ](?P<y>\d{4}|\d{2})(?P<rest>\D.*)?$"
_OFFSET = r"(?:[+-]\d\d:?\d\d|Z)$"
_UNITS = ("D", "h", "m", "s", "ms", "us", "ns")
_SETTLE = "pass load_events(..., dayfirst=True) for day/month/year, dayfirst=False for month/day/year, " \
          "or an explicit timestamp_format='%d/%m/%Y'"


@dataclass(frozen=True)
class TimestampOptions:
    """How to read the timestamp column (the ``load_events`` arguments, checked)."""

    unit: str = "s"
    dayfirst: bool | None = None
    fmt: str | None = None

    @classmethod
    def checked(cls, unit: object, dayfirst: object, fmt: object) -> TimestampOptions:
        """Validate the three arguments; bad ones raise :class:`~cxml.ParameterError`."""
        unit_ = check_choice("timestamp_unit", unit, _UNITS)
        first = None if dayfirst is None else check_bool("dayfirst", dayfirst)
        if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
            raise ParameterError(
                f"timestamp_format={fmt!r} must be a strptime format such as '%d/%m/%Y %H:%M'"
            )
        if fmt is not None and first is not None:
            raise ParameterError(
                f"give dayfirst= or timestamp_format=, not both (got dayfirst={first!r}, "
                f"timestamp_format={fmt!r}); the format already fixes the order"
            )
        return cls(unit=str(unit_), dayfirst=first, fmt=fmt)


def as_text(s: pd.Series, name: Hashable) -> pd.Series:
    """``s`` as pandas strings (bytes decoded); text that is not valid UTF-8 is a SchemaError."""
    try:
        return s.astype(STRING_DTYPE)
    except UnicodeError as exc:
        raise SchemaError(
            f"column {name!r} holds values that are not valid UTF-8 text ({len(s)} rows): {exc}"
        ) from exc


def parse_timestamps(s: pd.Series, name: Hashable, options: TimestampOptions) -> tuple[pd.Series, int]:
    """Naive-UTC ``datetime64[ns]`` timestamps and how many values were converted from another zone.

    Raises :class:`~cxml.SchemaError` naming the column, the count and the first bad value when a
    value is missing, unparseable, outside 1677..2262, or when the day/month order is unclear.
    """
    try:
        parsed, converted = _parse(s, name, options)
    except CxmlError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:  # pandas' own parsers, on values we did not foresee
        raise SchemaError(f"column {name!r} (timestamp) could not be read as dates ({len(s)} rows): {exc}") from exc
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


def _parse(s: pd.Series, name: Hashable, options: TimestampOptions) -> tuple[pd.Series, int]:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None), int(s.notna().sum())
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s, 0
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("integer", "floating", "mixed-integer-float"):
        s = pd.to_numeric(s, errors="coerce")  # python numbers in an object column are unix times too
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    if options.fmt is not None:
        text = to_id_strings(s, name) if numeric else as_text(s, name).str.strip()  # 20240131 -> "20240131"
        return _with_format(text, options.fmt), _count_offsets(text)
    if numeric:
        if pd.api.types.is_complex_dtype(s.dtype):
            raise SchemaError(f"column {name!r} (timestamp) holds complex numbers; expected dates")
        return pd.to_datetime(s, unit=options.unit, errors="coerce"), 0
    text = as_text(s, name).str.strip()
    text = _numeric_dates_to_iso(text, name, options.dayfirst)
    return _parse_text(text), _count_offsets(text)


def _count_offsets(text: pd.Series) -> int:
    return int(text.str.contains(_OFFSET, regex=True, na=False).sum())


def _with_format(text: pd.Series, fmt: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    except ValueError as exc:  # the format itself is broken ('%Q'); mismatching values are NaT
        raise ParameterError(f"timestamp_format={fmt!r} cannot be used: {exc}") from exc
    return parsed.dt.tz_localize(None)


def _parse_text(text: pd.Series) -> pd.Series:
    """ISO and other unambiguous text; numeric dates are already ISO here, so the per-value retry
    keeps pandas' default month-first reading (``dayfirst=True`` would read ``2024-01-05`` as May 1st)."""
    with warnings.catch_warnings():
        # pandas warns when it falls back to per-element parsing; we retry the failures below
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(text, errors="coerce", utc=True)
        retry = parsed.isna() & text.notna()
        if retry.any():
            again = pd.to_datetime(text[retry], errors="coerce", utc=True, format="mixed")
            parsed = parsed.astype(again.dtype) if parsed.dtype != again.dtype else parsed
            parsed.loc[retry] = again
    return parsed.dt.tz_localize(None)


def _numeric_dates_to_iso(text: pd.Series, name: Hashable, dayfirst: bool | None) -> pd.Series:
    """Rewrite ``dd/mm/yyyy``-like values as ISO ``yyyy-mm-dd`` in the column's one date order.

    Vectorised in pyarrow (re2), so a column of ISO dates costs one regex scan.
    """
    arr = pa.array(text)
    parts = pc.extract_regex(arr, _NUMERIC_DATE)
    hit = parts.is_valid().to_numpy(zero_copy_only=False)
    if not hit.any():
        return text
    parts = parts.filter(pa.array(hit))
    first = pc.cast(parts.field("a"), pa.int64()).to_numpy()
    second = pc.cast(parts.field("b"), pa.int64()).to_numpy()
    if dayfirst is None:
        dayfirst = _detect_order(text[hit], first, second, name)
    years = pc.cast(parts.field("y"), pa.int64()).to_numpy()
    short = pc.utf8_length(parts.field("y")).to_numpy() == 2
    years = np.where(short & (years < 69), years + 2000, np.where(short, years + 1900, years))  # strptime's %y
    day, month = (first, second) if dayfirst else (second, first)
    iso = pc.binary_join_element_wise(
        *(pc.utf8_lpad(pc.cast(pa.array(v), pa.string()), width, "0") for v, width in
          ((years, 4), (month, 2), (day, 2))), "-"
    )
    iso = pc.binary_join_element_wise(iso, pc.cast(parts.field("rest"), pa.string()), "")
    # a month above 12 in the chosen order is unparseable, never re-read the other way round
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    iso = pc.if_else(pa.array(valid), iso, pa.scalar(None, pa.string()))
    out = pc.replace_with_mask(arr, pa.array(hit), pc.cast(iso, arr.type))
    return pd.Series(pd.array(out, dtype=STRING_DTYPE), index=text.index)


def _detect_order(values: pd.Series, first: np.ndarray, second: np.ndarray, name: Hashable) -> bool:
    day_first, month_first = first > 12, second > 12
    if day_first.any() and month_first.any():
        a, b = values[day_first].iloc[0], values[month_first].iloc[0]
        raise SchemaError(
            f"column {name!r} (timestamp) mixes date orders: {int(day_first.sum())} values such as {a!r} "
            f"can only be day/month/year and {int(month_first.sum())} such as {b!r} only month/day/year "
            f"({len(values)} numeric dates); fix the data, or {_SETTLE}"
        )
    if day_first.any() or month_first.any():
        order = "day/month/year" if day_first.any() else "month/day/year"
        logger.info("column %r: numeric dates read as %s", name, order)
        return bool(day_first.any())
    differ = first != second
    if differ.any():
        raise SchemaError(
            f"column {name!r} (timestamp) has {int(differ.sum())} ambiguous dates such as "
            f"{values[differ].iloc[0]!r} that read as day/month or month/day, and no value in the "
            f"column settles the order (no first or second field above 12); {_SETTLE}"
        )
    return True  # every value reads the same in either order (01/01/2024)
