"""Pass 1 of a streaming run: every customer's past events into one hash-bucket file of a spill directory.

The dataset is read batch by batch (:class:`cxml.data.dataset.EventsDataset`: canonical columns
only, each batch normalised); events at or after ``as_of`` are dropped and counted; each row goes
to bucket ``stable_bucket(customer_id) mod n``, appended to ``bucket-{b:05d}.parquet`` in the
dataset's row order. A bucket file then holds all past events of its customers, and sorting it by
timestamp (stable) gives their rows in the order the whole table's stable sort gives them.

Each bucket also gets an order-independent digest of its rows (wrapping sum and xor of the row
hashes), from which the run's fingerprint is made without holding every row hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxml.data.dataset import EventsDataset, LoadReport, stable_bucket
from cxml.schema import CANONICAL_DTYPES, STRING_DTYPE, Columns, purchase_mask

__all__ = ["Spill", "read_bucket", "spill_buckets"]

#: bucket files are read once or twice and deleted: fast codec over small files
_COMPRESSION = "lz4"


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
        return self.root / f"bucket-{bucket:05d}.parquet"


def spill_buckets(data: EventsDataset, as_of: pd.Timestamp, n_buckets: int, batch_rows: int, root: Path) -> Spill:
    """Write the past events of ``data`` into ``n_buckets`` bucket files under ``root`` (module docstring)."""
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
    order (one stable arrow sort, no pandas take), the sorted customer ids and each row's code
    into them. The bucket's rows are in dataset order (pass 1 appends them so), which is the
    order of the in-memory path's stable sorts: the frame equals what the in-memory path slices.
    """
    if not spill.rows[bucket]:
        empty = pd.DataFrame({c: pd.Series(dtype=CANONICAL_DTYPES[c]) for c in Columns.EVENTS})
        return empty, np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    table = pq.read_table(spill.path(bucket))
    table = table.take(pc.sort_indices(table, sort_keys=[(Columns.CUSTOMER, "ascending"),
                                                         (Columns.TIMESTAMP, "ascending")]))
    frame = table.to_pandas(types_mapper={pa.string(): STRING_DTYPE, pa.large_string(): STRING_DTYPE}.get)
    frame = frame.astype({c: CANONICAL_DTYPES[c] for c in frame.columns if c in CANONICAL_DTYPES})
    ids = table.column(Columns.CUSTOMER).combine_chunks()
    change = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, change])
    lengths = np.diff(np.r_[starts, len(ids)])
    buyer = np.logical_or.reduceat(purchase_mask(frame).to_numpy(), starts)
    if not buyer.all():
        frame = frame.loc[np.repeat(buyer, lengths)]
    customers = ids.take(pa.array(starts[buyer])).to_numpy(zero_copy_only=False).astype(object)
    codes = np.repeat(np.arange(len(customers), dtype=np.int64), lengths[buyer])
    return frame.reset_index(drop=True), customers, codes
