"""Streaming batch scoring of a parquet dataset larger than memory, in customer hash buckets.

1. **Bucketing** (:mod:`cxml.batch._buckets`): one pass over the dataset writes every customer's
   past events into one bucket file of a spill directory next to ``out``.
2. **Population**: each bucket's rows as stored give its customers' RFM values; the segments are
   computed once over all of them (:mod:`cxml.batch._population`). Everything else a chunk needs
   comes from the bundle (BG/NBD parameters, popularity for cold start). Pass 1 cannot give the
   RFM values: a customer's events are spread over its batches, ``frequency`` counts distinct
   orders, and ``monetary`` must add the amounts in the in-memory order to be equal to the last bit.
3. **Scoring**: each bucket with customers is one part, read back in (customer, time) order
   (:func:`cxml.batch._buckets.read_bucket`), scored by :func:`cxml.batch.score_chunk` in slices
   of ``chunk_size`` customers (sorted by id) and committed through the journal exactly as the
   in-memory path commits its chunks (sha256, resume, the lock).

**The spill directory** ``.NAME.spill-<random>`` sits next to ``out`` (outside it, and dot-named:
never read as scores). It is made while holding ``out``'s lock and removed when the run ends,
however it ends; a run killed outright (SIGKILL, power loss) leaves it, and the next run of the
same ``out`` deletes it under the lock before bucketing again (the journal keeps its committed
parts, so only the rest is scored).

The rows and values equal the in-memory path's; only how customers are cut into parts differs
(bucket by hash here, sorted id ranges there). Peak memory: one bucket (chosen from the budget)
plus the per-customer population inputs.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.batch._buckets import Spill, read_bucket, read_bucket_rows, spill_buckets
from cxml.batch._budget import bucket_count, spill_batch_rows
from cxml.batch._chunks import Population, cold_start_count, score_chunk
from cxml.batch._journal import FORMAT, Journal
from cxml.batch._lock import OutputLock
from cxml.batch._output import clear_stale, open_journal, progress_bar, refuse_foreign
from cxml.batch._population import population_from_values, rfm_values
from cxml.bundle import MANIFEST, Bundle
from cxml.data.dataset import EventsDataset

__all__ = ["score_dataset"]


def score_dataset(
    bundle: Bundle,
    source: str | os.PathLike[str],
    *,
    as_of: pd.Timestamp,
    out: Path,
    k: int,
    chunk_size: int,
    budget: int,
    overwrite: bool,
    progress: bool,
    on_commit: Callable[[int], None] | None = None,
    reasons: int = 0,
) -> dict[str, Any]:
    """Score a parquet dataset bucket by bucket (module docstring); arguments checked by the caller.

    Returns the summary of :func:`cxml.batch.score_events`, plus ``buckets`` and ``seconds`` (per
    stage: ``bucketing``, ``population``, ``scoring``).
    """
    data = EventsDataset(source)
    n_buckets = bucket_count(data.count_rows(), budget)
    refuse_foreign(out)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    with OutputLock(out):  # the spill directory too belongs to the one writer of ``out``
        clear_spills(out)
        spill_root = Path(tempfile.mkdtemp(prefix=spill_prefix(out), dir=out.parent))
        try:
            start = time.perf_counter()
            spill = spill_buckets(data, as_of, n_buckets, spill_batch_rows(budget), spill_root)
            spill.report.warn(f"events source {str(source)!r}")
            seconds["bucketing"] = time.perf_counter() - start
            journal = open_journal(out, _fingerprint(bundle, spill, as_of, k, chunk_size, reasons),
                                   max(1, int(np.count_nonzero(spill.buyers))), overwrite)
            clear_stale(out)
            journal.forget(journal.damaged_parts())
            summary = journal.success_summary()
            if summary is not None:
                return summary
            if journal.complete:
                journal.mark_incomplete()
            start = time.perf_counter()
            population, parts = _population(spill, as_of)
            seconds["population"] = time.perf_counter() - start
            _score_parts(bundle, spill, parts, journal, population, as_of, k, chunk_size, progress, on_commit,
                         reasons, seconds)
            summary = {
                "customers": len(population.segments) if population.segments is not None else 0,
                "chunks": journal.n_chunks,
                "models": list(bundle.components),
                "cold_start_customers": sum(rec["cold_start"] for rec in journal.parts.values()),
                "ignored_future_events": spill.n_future,
                "as_of": str(as_of),
                "k": k,
                "out": str(out),
                "buckets": n_buckets,
                "seconds": seconds,
            }
            journal.finish(summary)
            return summary
        finally:
            shutil.rmtree(spill_root, ignore_errors=True)


def spill_prefix(out: Path) -> str:
    """Name prefix of the spill directories of ``out`` (next to it: ``.NAME.spill-<random>``)."""
    return f".{out.name}.spill-"


def clear_spills(out: Path) -> list[Path]:
    """Delete the spill directories a killed run of ``out`` left (call holding ``out``'s lock)."""
    stale = [p for p in out.parent.glob(f"{glob.escape(spill_prefix(out))}*") if p.is_dir() and not p.is_symlink()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _population(spill: Spill, as_of: pd.Timestamp) -> tuple[Population, list[int]]:
    """Segments of every customer, and the buckets that hold customers (the parts, in bucket order).

    Needs every customer's whole history, so it cannot come from pass 1's batches (a customer's
    events are spread over them; ``frequency`` counts distinct orders and ``monetary`` must add
    the amounts in the in-memory order to be equal to the last bit): each bucket is read here.
    """
    parts = np.flatnonzero(spill.buyers).tolist()  # a purchase row before as_of: a customer
    # rows as stored: RFM sorts by (customer, time) itself, keeping ties in this (dataset) order
    pieces = [rfm_values(read_bucket_rows(spill, b), as_of) for b in parts]
    values = pd.concat(pieces) if pieces else rfm_values(read_bucket_rows(spill, 0), as_of)
    return population_from_values(values), parts


def _score_parts(bundle: Bundle, spill: Spill, parts: list[int], journal: Journal, population: Population,
                 as_of: pd.Timestamp, k: int, chunk_size: int, progress: bool,
                 on_commit: Callable[[int], None] | None, reasons: int, seconds: dict[str, float]) -> None:
    """Score and commit every part the journal lacks: part ``i`` is bucket ``parts[i]``.

    Adds to ``seconds``: ``scoring`` (the whole stage), and within it ``reading`` (bucket files
    back to sorted frames), ``churn``, ``cltv``, ``reasons``, ``recommend`` (as
    :func:`score_chunk` times them) and ``commit`` (parquet part, sha256, journal).
    """
    start = time.perf_counter()
    todo = [i for i in range(journal.n_chunks) if i not in journal.parts]
    for key in ("reading", "churn", "cltv", "reasons", "recommend", "commit"):
        seconds[key] = 0.0
    for n_done, i in enumerate(progress_bar(todo, journal.n_chunks, progress, unit="bucket"), start=1):
        t0 = time.perf_counter()
        past, customers, codes = read_bucket(spill, parts[i] if parts else 0)
        seconds["reading"] += time.perf_counter() - t0
        n_slices = max(1, -(-len(customers) // chunk_size))
        bounds = np.searchsorted(codes, np.arange(n_slices + 1) * chunk_size)
        chunks = [score_chunk(bundle, past.iloc[bounds[j]:bounds[j + 1]],
                              customers[j * chunk_size:(j + 1) * chunk_size], as_of, k, population,
                              reasons=reasons, timings=seconds)
                  for j in range(n_slices)]
        t0 = time.perf_counter()
        journal.commit(i, pd.concat(chunks, ignore_index=True), cold_start_count(bundle, customers))
        seconds["commit"] += time.perf_counter() - t0
        if on_commit is not None:  # test hook: e.g. kill the process after the n-th part
            on_commit(n_done)
    seconds["scoring"] = time.perf_counter() - start


def _fingerprint(bundle: Bundle, spill: Spill, as_of: pd.Timestamp, k: int, chunk_size: int,
                 reasons: int = 0) -> str:
    h = hashlib.sha256(f"{FORMAT}|stream".encode())
    manifest = Path(bundle.path) / MANIFEST
    h.update(manifest.read_bytes() if manifest.exists() else b"")
    h.update(f"{as_of.isoformat()}|{k}|{chunk_size}|{spill.n_buckets}|{int(spill.rows.sum())}".encode())
    if reasons:
        h.update(f"|reasons={reasons}".encode())
    h.update(spill.rows.tobytes())
    h.update(spill.digests.tobytes())
    return h.hexdigest()
