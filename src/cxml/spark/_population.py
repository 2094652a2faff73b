"""Population-wide RFM inputs on Spark: exact quintile cut points from value counts (internal).

:func:`cxml.segment.rfm_segments` scores each of recency, frequency and monetary value with
``score = 1 + floor((rank - 1) * 5 / n)`` (``rank`` the minimum rank of ties). For a value ``v``,
``rank - 1`` is the number of values below ``v``, so ``score(v) >= j`` exactly when ``v`` exceeds
the ``q_j``-th smallest value, ``q_j = ceil((j - 1) * n / 5)``. Four order statistics per metric
(:class:`RfmCuts`) therefore reproduce the scores of every customer without the population on one
machine: a chunk applies them to its own customers. The order statistics are read from the
distinct values and their counts, aggregated in Spark (one row per distinct value reaches the
driver: days of recency, order counts, spend amounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame

from cxml.features.core import features_of_trusted
from cxml.schema import Columns
from cxml.segment import name_segments
from cxml.spark._chunk import chunk_events, grouped_apply

__all__ = ["RFM_VALUES", "RfmCuts", "per_customer_rfm", "rfm_cuts", "rfm_values"]

#: (feature column, sign): recency is ranked reversed (recent = 5), as rfm_segments does
RFM_VALUES = (("recency_days", -1.0), ("n_orders", 1.0), ("spend_total", 1.0))


def rfm_values(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Signed RFM values of every customer of a trusted events chunk (the values rfm_segments ranks)."""
    x = features_of_trusted(events, as_of, windows=(), event_types=[], feedback_types=[])
    out = pd.DataFrame({name: sign * x[name].to_numpy(dtype=np.float64) for name, sign in RFM_VALUES})
    out.insert(0, Columns.CUSTOMER, x.index.to_numpy(dtype=object))
    return out


@dataclass(frozen=True)
class RfmCuts:
    """The four order statistics per RFM metric that decide its quintile scores."""

    cuts: tuple[tuple[float, ...], ...]

    def segments(self, values: pd.DataFrame) -> pd.Series:
        """``customer_id -> segment`` (str) of the customers in ``values`` (from :func:`rfm_values`)."""
        scores = [
            1 + (values[name].to_numpy(dtype=np.float64)[:, None] > np.asarray(cut)[None, :]).sum(axis=1)
            for (name, _), cut in zip(RFM_VALUES, self.cuts, strict=True)
        ]
        names = name_segments(*scores)
        return pd.Series(names, index=values[Columns.CUSTOMER].to_numpy(dtype=object), dtype="str")


def _order_statistics(counts: pd.DataFrame, name: str) -> tuple[float, ...]:
    """The ``q_j``-th smallest values (j = 2..5) from distinct values and their counts."""
    counts = counts.sort_values(name, kind="stable")
    cumulative = np.cumsum(counts["count"].to_numpy(dtype=np.int64))
    n = int(cumulative[-1]) if len(cumulative) else 0
    if n == 0:
        return ()
    values = counts[name].to_numpy(dtype=np.float64)
    q = [-(-(j - 1) * n // 5) for j in range(2, 6)]  # ceil((j - 1) * n / 5), exact in integers
    return tuple(float(values[np.searchsorted(cumulative, qj, side="left")]) for qj in q)


def rfm_cuts(values: DataFrame) -> RfmCuts:
    """The :class:`RfmCuts` of a Spark frame of per-customer :func:`rfm_values` (one row per customer)."""
    cuts = []
    for name, _ in RFM_VALUES:
        counts = values.groupBy(name).count().toPandas()
        cuts.append(_order_statistics(counts, name))
    return RfmCuts(cuts=tuple(cuts))


def per_customer_rfm(past: DataFrame, bucket: str, as_of: pd.Timestamp) -> DataFrame:
    """Spark frame of :func:`rfm_values`: each bucket of customers computed by the pandas feature code."""
    schema = ", ".join([f"{Columns.CUSTOMER} string", *(f"{name} double" for name, _ in RFM_VALUES)])
    return grouped_apply(past, bucket, partial(_bucket_rfm, as_of=as_of), schema)


def _bucket_rfm(frame: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    return rfm_values(chunk_events(frame), as_of)
