"""The inputs of ``cxml train`` from a parquet dataset bigger than memory, read in customer hash buckets.

1. **Bucketing** (:func:`cxml.batch._buckets.spill_buckets`, the pass streaming scoring makes): the
   dataset is read batch by batch (canonical columns only, each batch normalised like
   :func:`cxml.load_events`) and every event before ``as_of`` (every event when ``as_of`` is not
   configured) goes to the bucket file of its customer, in a spill directory next to the bundle.
2. **A look at the buckets** (customer ids and timestamps only): customers, first and last event,
   so ``as_of`` (default: the day after the last event) and the sample fraction
   (:func:`cxml.tracking._scale.sample_fraction`) are known before any model input is kept.
3. **One read of each bucket** gives
   - the BTYD summaries of its customers at ``as_of`` and at each evaluation cutoff, collapsed to
     counted distinct rows (:class:`~cxml.tracking._btyd.SufficientStats`): every customer counts;
   - every event of its customers in the LightGBM sample (:func:`cxml.tracking._scale.in_sample`);
   - its purchase rows with an item, for the recommender: every customer's.

Peak memory: one bucket, plus the sample, plus the purchase rows (the recommender's matrix is fitted
on all of them).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from cxml.batch import Spill, bucket_count, read_bucket, spill_batch_rows, spill_buckets
from cxml.churn import rfm_summary
from cxml.data.dataset import EventsDataset
from cxml.exceptions import InsufficientDataError
from cxml.schema import CANONICAL_DTYPES, Columns, parse_as_of, purchase_mask
from cxml.tracking._btyd import BTYD_UNIT, SufficientStats
from cxml.tracking._scale import in_sample, sample_fraction
from cxml.tracking.config import TrainConfig

__all__ = ["Streamed", "stream_events"]


@dataclass
class Streamed:
    """What a streamed pass gives the harness (module docstring)."""

    as_of: pd.Timestamp
    fingerprint: dict[str, Any]
    sample: pd.DataFrame
    purchases: pd.DataFrame | None
    statistics: dict[pd.Timestamp, SufficientStats]
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Look:
    """Step 2: what a cheap look at the bucket files tells."""

    customers: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None


def stream_events(cfg: TrainConfig, budget: int, offsets: list[pd.Timedelta]) -> Streamed:
    """Bucket the dataset of ``cfg`` and gather the model inputs (module docstring).

    ``offsets`` are the horizons of the churn/CLTV evaluation cutoffs (``as_of - offset``) whose BTYD
    sufficient statistics are wanted besides ``as_of``'s; without any (no churn/CLTV model) no
    statistics are gathered.
    """
    start = time.perf_counter()
    data = EventsDataset(cfg.events_path)
    n_buckets = bucket_count(data.count_rows(), budget)
    configured = parse_as_of(cfg.as_of) if cfg.as_of else None
    cfg.bundle_dir.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".{cfg.bundle_dir.name}.spill-", dir=cfg.bundle_dir.parent))
    try:
        spill = spill_buckets(data, configured or pd.Timestamp.max, n_buckets, spill_batch_rows(budget), root)
        spill.report.warn(f"events source {str(cfg.events_path)!r}")
        look = _look(spill)
        if look.last is None:
            raise InsufficientDataError(f"events {str(cfg.events_path)!r} hold no event before as_of={cfg.as_of}")
        as_of = configured or look.last.normalize() + pd.Timedelta(days=1)
        history_rows = int(spill.rows.sum())
        fraction = sample_fraction(history_rows, look.customers, budget)
        cutoffs = sorted({as_of, *(as_of - o for o in offsets)}) if offsets else []  # none without churn/CLTV
        streamed = _gather(spill, as_of, cutoffs, fraction, weight=_weight(cfg))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    streamed.fingerprint = {
        "rows": history_rows, "customers": look.customers, "first_event": str(look.first),
        "last_event": str(look.last), "sha256": _digest(spill),
    }
    streamed.params = {
        "scale.streamed": True, "scale.memory_budget": budget, "scale.buckets": n_buckets,
        "scale.sample_fraction": fraction, "scale.sample_customers": int(streamed.sample[Columns.CUSTOMER].nunique()),
        "scale.sample_events": len(streamed.sample), "scale.customers": look.customers,
    }
    streamed.seconds["read_and_summary"] = time.perf_counter() - start
    return streamed


def _weight(cfg: TrainConfig) -> str | None:
    """The recommender's weight column (``None``: no recommender; ``"count"`` needs no column)."""
    return None if cfg.recommender is None else cfg.recommender.weight


def _look(spill: Spill) -> _Look:
    look = _Look()
    for b in np.flatnonzero(spill.rows).tolist():
        table = pq.read_table(spill.path(b), columns=[Columns.CUSTOMER, Columns.TIMESTAMP])
        ts = table.column(Columns.TIMESTAMP).to_numpy()
        look.customers += len(table.column(Columns.CUSTOMER).unique())
        first, last = pd.Timestamp(ts.min()), pd.Timestamp(ts.max())
        look.first = first if look.first is None else min(look.first, first)
        look.last = last if look.last is None else max(look.last, last)
    return look


def _gather(spill: Spill, as_of: pd.Timestamp, cutoffs: list[pd.Timestamp], fraction: float,
            weight: str | None) -> Streamed:
    """Step 3: one read of every bucket."""
    stats = {c: SufficientStats() for c in cutoffs}
    sample: list[pd.DataFrame] = []
    purchases: list[pd.DataFrame] = []
    for b in np.flatnonzero(spill.rows).tolist():
        events = read_bucket(spill, b)[0]  # before as_of (bucketing dropped the rest), customers who bought
        for cut, stat in stats.items():
            stat.add(rfm_summary(events, cut, time_unit=BTYD_UNIT))
        sample.append(events.loc[in_sample(events[Columns.CUSTOMER], fraction)])
        if weight is not None:
            buys = purchase_mask(events).to_numpy() & events[Columns.ITEM].notna().to_numpy()
            purchases.append(events.loc[buys, list(Columns.EVENTS)])
    return Streamed(as_of=as_of, fingerprint={}, sample=_concat(sample), statistics=stats,
                    purchases=_concat(purchases) if weight is not None else None)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts as one canonical frame (an empty one with the canonical columns when there is none)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=CANONICAL_DTYPES[c]) for c in Columns.EVENTS})
    return pd.concat(parts, ignore_index=True)


def _digest(spill: Spill) -> str:
    """sha256 of the row count and of the wrapping sum and xor of every row's hash.

    Independent of the row order, the files and the number of buckets: the same events give the
    same digest (it is not the in-memory path's hash of the ordered table).
    """
    total = np.array([spill.rows.sum()], dtype=np.int64)
    summed = spill.digests[:, 0].sum(dtype=np.uint64, keepdims=True)  # wraps mod 2**64
    xored = np.bitwise_xor.reduce(spill.digests[:, 1], keepdims=True)
    return hashlib.sha256(total.tobytes() + summed.tobytes() + xored.tobytes()).hexdigest()
