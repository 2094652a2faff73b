"""Column-level rules of :func:`cxml.load_events`: which columns map where, and numeric values."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from cxml.data._timestamps import as_text
from cxml.exceptions import ParameterError, SchemaError
from cxml.schema import FEEDBACK_RANGES, Columns

#: text that stands for a missing number (pandas writes NaN as "nan" or an empty cell)
_MISSING_TEXT = ("nan", "-nan", "na", "n/a", "null", "none", "<na>")

__all__ = [
    "blank_mask",
    "check_column_mapping",
    "check_feedback_ranges",
    "check_labels",
    "refuse_infinite",
    "resolve_columns",
    "to_float",
]


def check_column_mapping(mapping: Mapping[str, object]) -> dict[str, Hashable | None]:
    """The user's column names (``customer_id="Cust"`` ...): each a str/int label or ``None``."""
    for canonical, user in mapping.items():
        if user is not None and (not isinstance(user, str | int) or isinstance(user, bool)):
            raise ParameterError(
                f"{canonical}={user!r} must be the name of a column in the source (a str), or None"
            )
    return dict(mapping)


def check_labels(raw: pd.DataFrame) -> None:
    """Refuse column labels that cannot be addressed one by one (repeats, several levels)."""
    if isinstance(raw.columns, pd.MultiIndex):
        raise SchemaError(
            f"the source has {raw.columns.nlevels} levels of column labels; expected one flat row "
            "of column names (flatten them, e.g. with frame.columns = ['_'.join(map(str, c)) for c in ...])"
        )
    if not raw.columns.is_unique:
        repeated = list(dict.fromkeys(raw.columns[raw.columns.duplicated()]))
        raise SchemaError(
            f"columns {repeated!r} appear more than once in the source ({len(raw)} rows); "
            "expected each column name once: rename or drop the copies"
        )


def resolve_columns(raw: pd.DataFrame, mapping: Mapping[str, Hashable | None]) -> dict[str, Hashable]:
    """Canonical name -> source label, for the columns the source has (given or canonical names)."""
    resolved: dict[str, Hashable] = {}
    available = list(raw.columns)
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


def blank_mask(s: pd.Series, name: Hashable) -> np.ndarray:
    """Missing values, and strings that are empty or only white space."""
    missing = s.isna().to_numpy(dtype=bool, copy=True)
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        blank = as_text(s, name).str.strip().eq("").to_numpy(dtype=bool, na_value=False)
        missing |= blank
    return missing


def to_float(s: pd.Series, name: Hashable) -> pd.Series:
    """Numbers as float64 (text parsed, blanks missing); booleans, text and infinities are refused."""
    if pd.api.types.is_bool_dtype(s.dtype):
        raise SchemaError(f"column {name!r} is boolean ({len(s)} rows); expected numbers")
    if pd.api.types.is_complex_dtype(s.dtype):
        raise SchemaError(f"column {name!r} holds complex numbers ({len(s)} rows); expected real numbers")
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype("float64")
    else:
        text = as_text(s, name).str.strip()
        blank = text.eq("") | text.str.lower().isin(_MISSING_TEXT)
        out = pd.to_numeric(text.where(~blank, None), errors="coerce").astype("float64")
        bad = out.isna() & text.notna() & ~blank
        if bad.any():
            raise SchemaError(
                f"column {name!r} has {int(bad.sum())} non-numeric values of {len(s)} rows "
                f"(first: {text[bad].iloc[0]!r}); expected numbers"
            )
    refuse_infinite(out, f"column {name!r}")
    return out


def refuse_infinite(values: pd.Series, what: str) -> None:
    """SchemaError naming ``what`` (e.g. ``"column 'amount'"``), the count and the first infinite value."""
    inf = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
    if inf.any():
        raise SchemaError(
            f"{what} has {int(inf.sum())} infinite values of {len(values)} rows "
            f"(first: {float(values[inf].iloc[0])!r}); expected finite numbers"
        )


def check_feedback_ranges(events: pd.DataFrame, value_col: Hashable | None) -> None:
    """Feedback scores (``nps``, ``csat``, ...) must lie on their scale."""
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
