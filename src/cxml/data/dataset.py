"""Events as a parquet dataset: read batch by batch, only the canonical columns, normalised.

A path to a parquet file or a directory of parquet files (``part-*.parquet``, or ``key=value``
hive folders) is opened as a :class:`pyarrow.dataset.Dataset`; :func:`iter_event_batches` yields
canonical events frames of a bounded number of rows, each normalised by
:func:`cxml.data.load_events` exactly as the whole table would be (ids, timestamps, event types,
numbers are converted row by row). Only the canonical columns (and ``order_id``) are read.

What a batch cannot see: a column-wide decision. Text timestamps such as ``05/01/2024`` are read
in the day/month order detected per batch, so a dataset should store timestamps as parquet
timestamps (the :mod:`cxml.data._scale` generator and pandas do).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from cxml.data._read import READ_ERRORS, arrow_to_frame, open_parquet_dataset
from cxml.data.loading import load_events
from cxml.exceptions import DataWarning, SchemaError, SourceError
from cxml.schema import Columns

__all__ = ["READ_COLUMNS", "EventsDataset", "LoadReport", "is_parquet_source", "stable_bucket"]

#: the source columns scoring reads (as :func:`cxml.as_events` maps them: canonical names, ``price``)
READ_COLUMNS = (*Columns.EVENTS, Columns.ORDER, "price")
_ID_COLUMNS = (Columns.CUSTOMER, Columns.ITEM, Columns.ORDER)
#: record batches and files pyarrow's scanner may read ahead of :meth:`EventsDataset.batches`'
#: consumer (its defaults, 16 and 4, buffer up to 64 batches: a whole 5M-event dataset)
READAHEAD_BATCHES = 1
READAHEAD_FILES = 1


def is_parquet_source(source: object) -> bool:
    """Whether ``source`` is a path to a parquet file or to a directory (of parquet files)."""
    if not isinstance(source, str | os.PathLike):
        return False
    try:
        path = Path(source)
        return path.is_dir() or (path.is_file() and "".join(path.suffixes).lower().endswith((".parquet", ".pq")))
    except (OSError, ValueError):
        return False


@dataclass
class LoadReport:
    """Counts summed over the batches of a dataset (as ``attrs["cxml_load_report"]`` of one load)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, report: dict[str, int]) -> None:
        for key, value in report.items():
            self.counts[key] = self.counts.get(key, 0) + int(value)

    def warn(self, source: str) -> None:
        """One :class:`cxml.DataWarning` for what every batch handled (instead of one per batch)."""
        dropped = self.counts.get("dropped_missing_customer_id", 0)
        as_purchase = self.counts.get("event_type_missing_as_purchase", 0)
        parts = []
        if dropped:
            parts.append(f"dropped {dropped} of {self.counts.get('rows_in', 0)} rows with a missing customer id")
        if as_purchase:
            parts.append(f"{as_purchase} rows with a missing event type were taken as 'purchase'")
        if parts:
            warnings.warn(f"{source}: " + "; ".join(parts), DataWarning, stacklevel=3)


class EventsDataset:
    """A parquet file or directory read as canonical events, batch by batch (see the module docstring).

    Parameters
    ----------
    path
        A parquet file or a directory of parquet files (hive-partitioned or not).

    Raises
    ------
    SourceError
        When the path does not exist or cannot be opened as parquet.
    SchemaError
        When it lacks ``customer_id`` or ``timestamp``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"events source {str(self.path)!r} does not exist")
        try:
            self._dataset = open_parquet_dataset(self.path)
        except READ_ERRORS as exc:
            raise SourceError(f"could not open parquet dataset {str(self.path)!r}: {exc}") from exc
        names = self._dataset.schema.names
        missing = [c for c in Columns.REQUIRED if c not in names]
        if missing:
            raise SchemaError(f"parquet dataset {str(self.path)!r} has no column {missing[0]!r}; "
                              f"available columns: {names}; expected canonical events")
        self.columns = [c for c in names if c in READ_COLUMNS]

    def count_rows(self) -> int:
        """Rows in the dataset (from the parquet metadata; nothing is decoded)."""
        try:
            return int(self._dataset.count_rows())
        except READ_ERRORS as exc:
            raise SourceError(f"could not read parquet dataset {str(self.path)!r}: {exc}") from exc

    def batches(self, batch_rows: int, report: LoadReport) -> Iterator[pd.DataFrame]:
        """Canonical events of about ``batch_rows`` rows at a time, in the dataset's row order.

        Each batch is normalised by :func:`cxml.load_events` (its warnings are summed in
        ``report`` instead of repeated per batch); a batch whose customer ids are all missing
        is dropped and counted.
        """
        scanner = self._dataset.scanner(columns=self.columns, batch_size=min(batch_rows, 1 << 20),
                                        batch_readahead=READAHEAD_BATCHES, fragment_readahead=READAHEAD_FILES)
        pending: list[pa.RecordBatch] = []
        size = 0
        try:
            for batch in scanner.to_batches():
                pending.append(batch)
                size += batch.num_rows
                if size >= batch_rows:
                    yield from self._load(pending, report)
                    pending, size = [], 0
            if size:
                yield from self._load(pending, report)
        except READ_ERRORS as exc:
            if isinstance(exc, SchemaError | SourceError):
                raise
            raise SourceError(f"could not read parquet dataset {str(self.path)!r}: {exc}") from exc

    def _load(self, pending: list[pa.RecordBatch], report: LoadReport) -> Iterator[pd.DataFrame]:
        table = pa.Table.from_batches(pending)
        n_missing = table.column(Columns.CUSTOMER).null_count
        if n_missing == table.num_rows:  # load_events refuses an all-missing table; the dataset may not be
            report.add({"rows_in": n_missing, "dropped_missing_customer_id": n_missing})
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            events = load_events(arrow_to_frame(table, _ID_COLUMNS), keep_columns=False)
        report.add(events.attrs.get("cxml_load_report", {}))
        yield events


def stable_bucket(customers: pd.Series, n_buckets: int) -> pd.Series:
    """Bucket ``0..n_buckets-1`` of each customer id: a fixed-key hash, the same in every process and run."""
    hashed = pd.util.hash_pandas_object(customers, index=False, categorize=True).to_numpy()
    return pd.Series(hashed % n_buckets, index=customers.index)

