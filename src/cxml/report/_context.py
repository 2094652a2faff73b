"""What every section of the report is made of, and the shared inputs the sections read.

A :class:`Section` is plain data (title, a one-line takeaway in words, charts as ``data:`` URIs,
tables of already formatted strings, notes); the template only lays it out. :class:`Context`
holds the trusted events and the scorer, and computes each shared frame (RFM segments, churn
risk, expected value) once, on first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxml.schema import Columns, parse_horizon
from cxml.scoring import Scorer
from cxml.segment import rfm_segments

__all__ = ["Chart", "Context", "Section", "Table", "fmt_int", "fmt_money", "fmt_num", "fmt_pct", "money_digits"]


@dataclass
class Chart:
    """One inline image: its ``data:image/png;base64`` URI and a text alternative."""

    uri: str
    alt: str


@dataclass
class Table:
    """A table of formatted cells; ``numeric[j]`` right-aligns column ``j``."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    caption: str = ""


@dataclass
class Section:
    """One titled part of the report: a takeaway sentence, then charts, tables and notes."""

    key: str
    title: str
    takeaway: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """The trusted inputs of one report; shared frames are computed on first use."""

    events: pd.DataFrame
    as_of: pd.Timestamp
    scorer: Scorer
    catalogue: pd.DataFrame | None = None
    evaluation: Any = None
    reasons: pd.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def has(self, model: str) -> bool:
        """Whether the bundle holds ``model`` (``recommender``, ``churn`` or ``cltv``)."""
        return model in self.scorer.models

    def model(self, name: str) -> Any:
        """The bundle's fitted ``name`` model."""
        return getattr(self.scorer.bundle, name)

    def horizon(self, name: str) -> pd.Timedelta:
        """The outcome window of the bundle's ``churn`` or ``cltv`` model."""
        return parse_horizon(self.model(name).horizon)

    def _cached(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def rfm(self) -> pd.DataFrame:
        """:func:`cxml.segment.rfm_segments` at ``as_of`` (index ``customer_id``)."""
        return self._cached("rfm", lambda: rfm_segments(self.events, self.as_of))

    @property
    def risk(self) -> pd.Series:
        """Churn probability per customer at ``as_of`` (index ``customer_id``)."""
        return self._cached(
            "risk",
            lambda: self.scorer.churn_risk(self.events, self.as_of).set_index(Columns.CUSTOMER)[
                Columns.CHURN_PROBABILITY
            ],
        )

    @property
    def value(self) -> pd.Series:
        """CLTV expected value per customer at ``as_of`` (index ``customer_id``)."""
        return self._cached(
            "value",
            lambda: self.scorer.cltv(self.events, self.as_of).set_index(Columns.CUSTOMER)[Columns.EXPECTED_VALUE],
        )

    def segment_of(self, customers: pd.Index) -> pd.Series:
        """RFM segment name per customer (``"unknown"`` for customers without one)."""
        return self.rfm["segment"].astype(str).reindex(customers).fillna("unknown")


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_int(x: Any) -> str:
    """``1,234`` (``–`` when missing)."""
    return f"{round(float(x)):,}" if _finite(x) else "–"


def fmt_money(x: Any, digits: int | None = None) -> str:
    """An amount without currency: ``12,345`` from 1,000 up, else two decimals (``–`` when missing).

    ``digits`` fixes the decimals (see :func:`money_digits` for one choice per table column).
    """
    if not _finite(x):
        return "–"
    if digits is None:
        digits = 0 if abs(float(x)) >= 1000 else 2
    return f"{float(x):,.{digits}f}"


def money_digits(values: Any) -> int:
    """Decimals for a column of amounts: none when the largest is 100 or more, else two."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    return 0 if v.size and np.isfinite(v).any() and np.nanmax(v) >= 100 else 2


def fmt_pct(x: Any, digits: int = 0) -> str:
    """A fraction as a percentage: ``0.123`` -> ``12 %`` (``–`` when missing)."""
    return f"{100 * float(x):.{digits}f} %" if _finite(x) else "–"


def fmt_num(x: Any) -> str:
    """A metric value: four significant digits, strings unchanged (``–`` when missing)."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    return f"{float(x):.4g}" if _finite(x) else "–"


def change_words(new: float, old: float) -> str:
    """``"12 % above"`` / ``"5 % below"`` / ``"the same as"`` (relative change of ``new`` against ``old``)."""
    if old == 0 or not (_finite(new) and _finite(old)):
        return "not comparable with"
    rel = (new - old) / abs(old)
    if abs(rel) < 0.005:
        return "about the same as"
    return f"{abs(rel) * 100:.0f} % {'above' if rel > 0 else 'below'}"
