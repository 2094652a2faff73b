"""``score_events``: the resumable, locked, journaled batch run over chunks of customers."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_bool, check_int
from cxml.batch._budget import auto_budget, parse_memory_budget
from cxml.batch._chunks import cold_start_count, population_inputs, score_chunk
from cxml.batch._journal import FORMAT
from cxml.batch._lock import OutputLock
from cxml.batch._output import clear_stale, open_journal, prepare_past, progress_bar, refuse_foreign
from cxml.batch._stream import score_dataset
from cxml.bundle import MANIFEST, Bundle
from cxml.data import as_events, load_events
from cxml.data.dataset import EventsDataset, is_parquet_source
from cxml.schema import Columns, parse_as_of

__all__ = ["score_events"]

def score_events(
    bundle: Bundle,
    events: pd.DataFrame | str | os.PathLike[str],
    *,
    as_of: Any,
    out: str | os.PathLike[str],
    k: int = 10,
    chunk_size: int = 50_000,
    overwrite: bool = False,
    progress: bool = True,
    memory_budget: int | str | None = None,
    reasons: int = 0,
    _on_commit: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Score every customer existing at ``as_of`` into the parquet dataset ``out`` (see :mod:`cxml.batch`).

    Customers are those with a purchase before ``as_of``, sorted by id and cut into chunks of
    ``chunk_size``; chunk ``i`` is scored by :func:`cxml.batch.score_chunk`, written to
    ``part-{i:05d}.parquet`` through a temporary file renamed into place, and recorded in
    ``_journal.json`` with its row count and sha256. When every part is committed the journal is
    marked complete and ``_SUCCESS.json`` (fingerprint and summary) is written.

    Resuming: the fingerprint covers the bundle's ``MANIFEST.sha256``, ``as_of``, ``k``,
    ``chunk_size`` and the events before ``as_of``. When ``out`` holds a journal with the same
    fingerprint, every recorded part is checked against its size and sha256; parts that are
    intact are kept, the others (missing, truncated, altered: a :class:`cxml.CxmlWarning` names
    them) and those never committed are scored. When all parts are intact and the run is complete
    its stored summary is returned without scoring. ``progress`` and ``overwrite`` are not part
    of the fingerprint. One writer at a time: the run holds ``out/_cxml.lock`` (see
    :mod:`cxml.batch`).

    Parameters
    ----------
    bundle
        The loaded bundle (:func:`cxml.bundle.load_bundle`) whose models are applied.
    events
        Events table or path, normalised once by :func:`cxml.as_events` (not modified). Events at
        or after ``as_of`` are dropped, with a :class:`cxml.DataWarning` (and a log warning)
        giving their count.
    as_of
        Date-like scoring time; only events before it are used.
    out
        Directory of the parquet dataset; created (with parents) when absent.
    k
        Items per customer in ``recommended_items`` (integer >= 1; capped at the catalogue size).
    chunk_size
        Customers per chunk and parquet file (integer >= 1); bounds memory.
    overwrite
        When ``out`` holds a cxml scores dataset from a different fingerprint or with a corrupt
        journal: ``False`` raises :class:`cxml.OutputExistsError`, ``True`` deletes it and scores
        from scratch. A dataset with the same fingerprint is resumed whatever its value, and a
        directory without ``_journal.json`` is always refused, never deleted.
    progress
        Show a ``tqdm`` progress bar over the chunks (only when chunks remain to be scored).
    memory_budget
        Bytes (int) or text such as ``"2G"`` (powers of 1024, at least 16 MiB) that scoring a
        parquet dataset may use. When ``events`` is a path to a parquet file or directory and a
        budget is given (or none is and the events would not fit in half the RAM, then a quarter
        of the RAM), the dataset is **streamed** (:mod:`cxml.batch._stream`): customers are
        hashed into buckets of about ``budget / 1500`` events (read in batches of ``budget /
        6000``, :func:`cxml.batch.spill_batch_rows`), written to a spill directory next to ``out``
        (``.NAME.spill-*``, removed at the end; one a killed run left is removed by the next run of
        the same ``out``), and each bucket is one part, scored in slices of
        ``chunk_size`` customers. The rows and values equal the in-memory path's (parts hold
        hash buckets instead of sorted id ranges; the summary adds ``buckets`` and per-stage
        ``seconds``). The budget covers the data; the process itself (Python with pandas,
        pyarrow, LightGBM and the models, about 300 MB) comes on top. Ignored for a DataFrame or
        a csv path, which are scored in memory.
    reasons
        ``N > 0`` adds a ``reasons`` column: the churn model's top-``N`` reasons in words
        (:meth:`cxml.churn.ChurnModel.reasons`) as a list per customer; ``0`` (default) adds none.

    Returns
    -------
    dict
        The run summary, also stored in ``_SUCCESS.json``:

        - ``customers``: number of customers scored (int);
        - ``chunks``: number of chunks / parquet files (int, at least 1);
        - ``models``: names of the models the bundle holds (list of str);
        - ``cold_start_customers``: scored customers unknown to the recommender, served the
          popularity ranking (int; 0 without a recommender), summed over all parts of the run;
        - ``ignored_future_events``: events at or after ``as_of`` that were dropped (int; as
          counted by the call that completed the run);
        - ``as_of``: the parsed ``as_of`` (str of the :class:`pandas.Timestamp`);
        - ``k``: ``k`` (int);
        - ``out``: ``out`` (str).

        The dataset has one row per customer, in the columns of :func:`cxml.batch.score_chunk`:
        ``customer_id``, ``churn_probability`` (with a churn model), ``expected_value`` (with a
        CLTV model), ``segment`` (RFM segment computed once over all customers) and
        ``recommended_items`` (with a recommender). Check :func:`cxml.batch.is_complete` (or read
        with :func:`cxml.batch.read_scores`) before trusting a dataset another process writes.

    Raises
    ------
    ParameterError
        When ``k`` or ``chunk_size`` is not a positive integer, or ``memory_budget`` is not a size.
    SchemaError
        When ``as_of`` is not a date or the events fail validation.
    SourceError
        When ``events`` is a path that does not exist or is not csv/parquet.
    OutputExistsError
        When ``out`` exists without ``_journal.json`` (not a cxml scores dataset), holds scores of
        a different fingerprint or a corrupt journal and ``overwrite`` is false, or another
        process is writing it.
    """
    k = check_int("k", k, minimum=1)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    reasons = check_int("reasons", reasons, minimum=0)
    check_bool("overwrite", overwrite)
    ts = parse_as_of(as_of)
    budget = parse_memory_budget(memory_budget)
    if is_parquet_source(events):
        budget = budget if budget is not None else auto_budget(EventsDataset(events).count_rows())
        if budget is not None:
            return score_dataset(bundle, events, as_of=ts, out=Path(out), k=k, chunk_size=chunk_size,
                                 budget=budget, overwrite=overwrite, progress=progress, on_commit=_on_commit,
                                 reasons=reasons)
    # a path is read with the canonical columns only (a parquet file reads no other column chunk)
    frame = load_events(events, keep_columns=False) if isinstance(events, str | os.PathLike) else events
    past, customers, codes, n_future = prepare_past(as_events(frame), ts)
    n_chunks = max(1, -(-len(customers) // chunk_size))
    root = Path(out)
    refuse_foreign(root)
    root.mkdir(parents=True, exist_ok=True)
    with OutputLock(root):
        fingerprint = _fingerprint(bundle, past, ts, k, chunk_size, reasons)
        journal = open_journal(root, fingerprint, n_chunks, overwrite)
        clear_stale(root)  # left by a killed writer; we hold the lock, so none is live
        journal.forget(journal.damaged_parts())
        summary = journal.success_summary()
        if summary is not None:
            return summary
        if journal.complete:  # complete but _SUCCESS.json lost: rewrite it below
            journal.mark_incomplete()
        todo = [i for i in range(n_chunks) if i not in journal.parts]
        if todo:
            population = population_inputs(past, ts)
            bounds = np.searchsorted(codes, np.arange(n_chunks + 1) * chunk_size)
            for n_done, i in enumerate(progress_bar(todo, n_chunks, progress), start=1):
                ids = customers[i * chunk_size:(i + 1) * chunk_size]
                chunk = score_chunk(bundle, past.iloc[bounds[i]:bounds[i + 1]], ids, ts, k, population,
                                    reasons=reasons)
                journal.commit(i, chunk, cold_start_count(bundle, ids))
                if _on_commit is not None:  # test hook: e.g. kill the process after the n-th part
                    _on_commit(n_done)
        summary = {
            "customers": len(customers),
            "chunks": n_chunks,
            "models": list(bundle.components),
            "cold_start_customers": sum(rec["cold_start"] for rec in journal.parts.values()),
            "ignored_future_events": n_future,
            "as_of": str(ts),
            "k": k,
            "out": str(root),
        }
        journal.finish(summary)
    return summary


def _fingerprint(bundle: Bundle, past: pd.DataFrame, as_of: pd.Timestamp, k: int, chunk_size: int,
                 reasons: int = 0) -> str:
    h = hashlib.sha256(FORMAT.encode())
    manifest = Path(bundle.path) / MANIFEST
    h.update(manifest.read_bytes() if manifest.exists() else b"")
    h.update(f"{as_of.isoformat()}|{k}|{chunk_size}|{len(past)}".encode())
    if reasons:  # only then, so that outputs written before the option keep their fingerprint
        h.update(f"|reasons={reasons}".encode())
    cols = [c for c in Columns.EVENTS if c in past.columns]
    row_hashes = pd.util.hash_pandas_object(past[cols], index=False).to_numpy()
    h.update(np.sort(row_hashes).tobytes())
    return h.hexdigest()


