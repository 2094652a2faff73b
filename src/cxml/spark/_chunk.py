"""What runs in a Spark Python worker: a bucket's rows back to canonical events (internal).

Each ``applyInPandas`` call receives the rows of one bucket of customers, in no particular order.
:func:`chunk_events` puts them back in input order (:data:`~cxml.spark._events.ROW`) — the order
the single-machine path sees, so per-customer sums add up in the same order — and normalises
them with :func:`cxml.as_events`, the same boundary every pandas entry point has.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pandas as pd
from pyspark.sql import DataFrame

from cxml.data import as_events
from cxml.exceptions import DataWarning
from cxml.schema import Columns
from cxml.spark._events import ROW, SPARK_TYPES

__all__ = ["BUCKET", "chunk_events", "grouped_apply"]

#: The hash-bucket column of the grouped frames.
BUCKET = "_cxml_bucket"


def chunk_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical events of one bucket, in input order (the bucket and row columns dropped)."""
    frame = frame.sort_values(ROW, kind="stable")
    cols = [c for c in SPARK_TYPES if c in frame.columns]
    frame = frame[cols].reset_index(drop=True)
    if Columns.TIMESTAMP in frame.columns and isinstance(frame[Columns.TIMESTAMP].dtype, pd.DatetimeTZDtype):
        frame[Columns.TIMESTAMP] = frame[Columns.TIMESTAMP].dt.tz_convert("UTC").dt.tz_localize(None)
    with warnings.catch_warnings():
        # the driver filtered rows before bucketing; nothing the normaliser reports is news here
        warnings.simplefilter("ignore", DataWarning)
        return as_events(frame)


def grouped_apply(frame: DataFrame, bucket: str, func: Callable[[pd.DataFrame], pd.DataFrame], schema: str
                  ) -> DataFrame:
    """``frame.groupBy(bucket).applyInPandas(func, schema)`` for a ``functools.partial`` ``func``."""
    with warnings.catch_warnings():
        # PySpark tries to read type hints off the callable and warns that a partial has none
        warnings.filterwarnings("ignore", message="Cannot infer the eval type", category=UserWarning)
        return frame.groupBy(bucket).applyInPandas(func, schema=schema)
