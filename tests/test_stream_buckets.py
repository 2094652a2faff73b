"""Bucket files of a streaming run (issue 15): read back, a bucket is exactly the slice of the in-memory
path's prepared events for its customers (same rows, order, dtypes, customer ids and codes), and the
RFM values of its rows as stored equal those of the sorted rows."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.batch import rows_per_bucket, spill_batch_rows
from cxml.batch._buckets import read_bucket, read_bucket_rows, spill_buckets
from cxml.batch._budget import MIN_BUDGET
from cxml.batch._output import prepare_past
from cxml.batch._population import rfm_values
from cxml.data.dataset import EventsDataset, stable_bucket
from cxml.schema import Columns

AS_OF = pd.Timestamp("2024-07-01")
N_BUCKETS = 4


@pytest.fixture(scope="module")
def spilled(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("buckets")
    events = sample_events.sample(frac=1, random_state=5)  # no file sorted by time or customer
    # ties: many rows of one customer at one timestamp, in an order only the dataset gives
    events.loc[events.index[:300], Columns.TIMESTAMP] = pd.Timestamp("2024-01-01")
    data = root / "events"
    data.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(events)), 4)):
        events.iloc[rows].to_parquet(data / f"part-{i}.parquet", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        (root / "spill").mkdir()
        spill = spill_buckets(EventsDataset(data), AS_OF, N_BUCKETS, 5_000, root / "spill")
        whole = cxml.load_events(data, keep_columns=False)
        past, customers, codes, _ = prepare_past(whole, AS_OF)
    return spill, past.reset_index(drop=True), customers, codes


def test_a_bucket_read_back_is_the_in_memory_slice_of_its_customers(spilled: tuple) -> None:
    spill, past, customers, codes = spilled
    bucket_of = stable_bucket(pd.Series(customers, dtype="str"), N_BUCKETS).to_numpy()
    row_bucket = bucket_of[codes]
    seen = 0
    for b in range(N_BUCKETS):
        frame, ids, local = read_bucket(spill, b)
        mine = np.flatnonzero(bucket_of == b)
        assert len(ids) == len(mine) > 0 and (ids == customers[mine]).all()
        expected = past.loc[row_bucket == b].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame[expected.columns], expected)
        assert (local == np.searchsorted(mine, codes[row_bucket == b])).all()
        seen += len(ids)
    assert seen == len(customers) and spill.buyers.all()


def test_rfm_values_of_a_bucket_as_stored_equal_those_of_its_sorted_rows(spilled: tuple) -> None:
    spill = spilled[0]
    for b in range(N_BUCKETS):
        stored = read_bucket_rows(spill, b)
        assert len(stored) == spill.rows[b] >= len(read_bucket(spill, b)[0])
        pd.testing.assert_frame_equal(rfm_values(stored, AS_OF), rfm_values(read_bucket(spill, b)[0], AS_OF))


def test_an_empty_bucket_reads_as_an_empty_canonical_frame(spilled: tuple, tmp_path: Path) -> None:
    spill = spilled[0]
    spill.rows[0], saved = 0, spill.rows[0]
    try:
        frame, ids, local = read_bucket(spill, 0)
        assert frame.empty and len(ids) == 0 and len(local) == 0
        assert cxml.data.loading.is_canonical(read_bucket_rows(spill, 0))
    finally:
        spill.rows[0] = saved


@pytest.mark.parametrize("budget", [MIN_BUDGET, 256 * 2**20, 2**30, 2**40])
def test_the_bucketing_pass_reads_batches_smaller_than_a_bucket(budget: int) -> None:
    # a read batch costs more per event than a bucket being scored (benchmarks/scale.py): batches of
    # a whole bucket took the bucketing pass 1.7 GB past a 1 GB budget at 1M customers
    assert 1 <= spill_batch_rows(budget) < rows_per_bucket(budget)
    assert spill_batch_rows(budget) == budget // 6_000
