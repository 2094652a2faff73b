"""Pass 1 of a streaming run: every customer's past events into one hash-bucket file of a spill directory.

The dataset is read batch by batch (:class:`cxml.data.dataset.EventsDataset`: canonical columns
only, each batch normalised); events at or after ``as_of`` are dropped and counted; each row goes
to bucket ``stable_bucket(customer_id) mod n``, appended to ``bucket-{b:05d}.parquet`` in the
dataset's row order (one row group per batch and bucket, lz4: the files are temporary). A bucket
file then holds all past events of its customers, and a stable sort of it by (customer, time)
gives their rows in the order the in-memory path's stable sorts give them.

Each bucket also gets an order-independent digest of its rows (wrapping sum and xor of the row
hashes), from which the run's fingerprint is made without holding every row hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxml.data.dataset import EventsDataset, LoadReport, stable_bucket
from cxml.schema import CANONICAL_DTYPES, STRING_DTYPE, Columns, purchase_mask

__all__ = ["Spill", "read_bucket", "read_bucket_rows", "spill_buckets"]

#: bucket files are read once or twice and deleted: fast codec over small files
_COMPRESSION = "lz4"
_STRINGS = {pa.string(): STRING_DTYPE, pa.large_string(): STRING_DTYPE}


@dataclass
class Spill:
    """The bucket files of a run and what pass 1 counted."""

    root: Path
    n_buckets: int
    rows: np.ndarray  # past events per bucket
    buyers: np.ndarray  # bool per bucket: holds a purchase row (so at least one customer to score)
    digests: np.ndarray  # (n_buckets, 2) uint64: wrapping sum and xor of the row hashes
    n_future: int = 0
    report: LoadReport = field(default_factory=LoadReport)

    def path(self, bucket: int) -> Path:
        """The parquet file of ``bucket`` (an index below ``n_buckets``) under ``root``."""
        return self.root / f"bucket-{bucket:05d}.parquet"


def spill_buckets(data: EventsDataset, as_of: pd.Timestamp, n_buckets: int, batch_rows: int, root: Path) -> Spill:
    """Write the past events of ``data`` into ``n_buckets`` bucket files under ``root`` (module docstring).

    Parameters
    ----------
    data
        The events dataset, read batch by batch.
    as_of
        Events at or after it are dropped and counted (``Spill.n_future``).
    n_buckets
        Number of customer hash buckets (:func:`cxml.batch.bucket_count`).
    batch_rows
        Rows per read batch.
    root
        Directory of the bucket files (created by the caller; the caller deletes it).

    Returns
    -------
    Spill
        The bucket files and, per bucket, its past rows, whether it holds a purchase and its digest.
    """
    spill = Spill(root, n_buckets, np.zeros(n_buckets, np.int64), np.zeros(n_buckets, bool),
                  np.zeros((n_buckets, 2), np.uint64))
    writers: dict[int, pq.ParquetWriter] = {}
    schema: pa.Schema | None = None
    try:
        for events in data.batches(batch_rows, spill.report):
            future = events[Columns.TIMESTAMP].to_numpy() >= as_of.to_datetime64()
            spill.n_future += int(future.sum())
            past = events.loc[~future] if future.any() else events
            if not len(past):
                continue
            table = pa.Table.from_pandas(past, preserve_index=False).replace_schema_metadata(None)
            schema = schema or table.schema
            table = table.cast(schema)
            bucket = stable_bucket(past[Columns.CUSTOMER], n_buckets).to_numpy()
            hashes = pd.util.hash_pandas_object(past, index=False).to_numpy()
            spill.buyers[bucket[purchase_mask(past).to_numpy()]] = True
            order = np.argsort(bucket, kind="stable")
            bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            table, hashes = table.take(order), hashes[order]  # one take; each bucket is then a slice
            for b in np.flatnonzero(np.diff(bounds)).tolist():
                lo, hi = int(bounds[b]), int(bounds[b + 1])
                if b not in writers:
                    writers[b] = pq.ParquetWriter(spill.path(b), schema, compression=_COMPRESSION,
                                                  write_statistics=False)
                writers[b].write_table(table.slice(lo, hi - lo), row_group_size=hi - lo)
                spill.rows[b] += hi - lo
                part = hashes[lo:hi]
                spill.digests[b, 0:1] += part.sum(dtype=np.uint64)  # an array add wraps mod 2**64 silently
                spill.digests[b, 1] ^= np.bitwise_xor.reduce(part)
    finally:
        for writer in writers.values():
            writer.close()
    return spill


def read_bucket(spill: Spill, bucket: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The past events of one bucket's customers, as :func:`cxml.batch._output.prepare_past` gives them.

    Rows of customers with a purchase, sorted by (customer, timestamp) with ties in the dataset's
    order, the sorted customer ids and each row's code into them. The bucket's rows are in
    dataset order (pass 1 appends them so), so the frame equals what the in-memory path slices.
    The order is two stable numpy sorts of integer codes (customers ranked once) and one arrow
    take of the rows: no string sort, no pandas take.

    Parameters
    ----------
    spill
        What :func:`spill_buckets` wrote.
    bucket
        The bucket's index (below ``spill.n_buckets``).
    """
    if not spill.rows[bucket]:
        return _empty(), np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    table = pq.read_table(spill.path(bucket))
    encoded = table.column(Columns.CUSTOMER).combine_chunks().dictionary_encode()
    uniques = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    by_id = np.argsort(uniques, kind="stable")  # str order (code points), as np.sort of the ids
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[by_id] = np.arange(len(uniques))
    code = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    buyer = np.bincount(code[_purchases(table)], minlength=len(uniques)) > 0
    keep = np.flatnonzero(buyer[code])
    ts = table.column(Columns.TIMESTAMP).to_numpy().view("int64")[keep]
    by_time = np.argsort(ts, kind="stable")
    order = keep[by_time[np.argsort(code[keep][by_time], kind="stable")]]
    frame = table.take(order).to_pandas(types_mapper=_STRINGS.get)
    frame = frame.astype({c: CANONICAL_DTYPES[c] for c in frame.columns if c in CANONICAL_DTYPES})
    dense = np.cumsum(buyer) - 1  # rank among the customers with a purchase
    return frame, uniques[by_id][buyer], dense[code[order]]


def read_bucket_rows(spill: Spill, bucket: int) -> pd.DataFrame:
    """The past events of one bucket as stored (dataset order, every customer): for per-customer sums."""
    if not spill.rows[bucket]:
        return _empty()
    frame = pq.read_table(spill.path(bucket)).to_pandas(types_mapper=_STRINGS.get)
    return frame.astype({c: CANONICAL_DTYPES[c] for c in frame.columns if c in CANONICAL_DTYPES})


def _purchases(table: pa.Table) -> np.ndarray:
    """:func:`cxml.schema.purchase_mask` of the rows of ``table`` (only the columns it reads)."""
    columns = [c for c in (Columns.EVENT_TYPE, Columns.QUANTITY, Columns.AMOUNT) if c in table.column_names]
    return purchase_mask(table.select(columns).to_pandas(types_mapper=_STRINGS.get)).to_numpy()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=CANONICAL_DTYPES[c]) for c in Columns.EVENTS})
