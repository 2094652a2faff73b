"""Resumable batch scoring: ``Scorer.score`` writes a parquet dataset chunk by chunk.

Layout of ``out`` (a directory readable with ``pd.read_parquet(out)``)::

    part-00000.parquet ...   one file per chunk of customers, each renamed into place when complete
    _journal.json            the run's fingerprint and the chunks already committed
    _SUCCESS.json            the run summary, written last

The fingerprint covers the bundle's manifest, ``as_of``, ``k``, ``chunk_size`` and a hash of the
events before ``as_of``. Re-running with the same arguments skips committed chunks, so a killed run
finishes with every customer exactly once. An existing ``out`` from different arguments is refused
unless ``overwrite=True``; a directory that is not a cxml scores dataset is never deleted.

Per-customer features depend only on that customer's own history and the fitted models, so scoring
a chunk gives the same numbers as scoring everybody at once; RFM segments are relative to the whole
population, so they are computed once for all customers before the chunks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxml.data import load_events
from cxml.exceptions import DataWarning, OutputExistsError, SchemaError
from cxml.schema import Columns, parse_as_of, purchase_mask, validate_events

if TYPE_CHECKING:
    from cxml.scoring import Scorer

__all__ = ["score_events"]

logger = logging.getLogger("cxml.batch")
JOURNAL = "_journal.json"
SUCCESS = "_SUCCESS.json"
RECOMMENDED = "recommended_items"


def score_events(
    scorer: Scorer,
    events: pd.DataFrame | str | os.PathLike[str],
    *,
    as_of: Any,
    out: str | os.PathLike[str],
    k: int = 10,
    chunk_size: int = 50_000,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Score every customer existing at ``as_of`` into the parquet dataset ``out`` (see module doc).

    Customers are those with a purchase before ``as_of``, sorted by id and cut into chunks of
    ``chunk_size``; chunk ``i`` is written to ``part-{i:05d}.parquet`` through a temporary file
    renamed into place, then recorded in ``_journal.json``. ``_SUCCESS.json`` (fingerprint and
    summary) is written last.

    Resuming: the fingerprint covers the bundle's ``MANIFEST.sha256``, ``as_of``, ``k``,
    ``chunk_size`` and the events before ``as_of``. When ``out`` holds a journal with the same
    fingerprint, committed chunks are skipped and only the rest are scored; when every chunk is
    committed and ``_SUCCESS.json`` exists, its stored summary is returned without scoring.
    ``progress`` and ``overwrite`` are not part of the fingerprint.

    Parameters
    ----------
    scorer
        The :class:`cxml.Scorer` whose bundle's models are applied.
    events
        Canonical events DataFrame (validated, not modified), or a path read with
        :func:`cxml.load_events` using the canonical column names. Events at or after ``as_of``
        are dropped, with a :class:`cxml.DataWarning` (and a log warning) giving their count.
    as_of
        Date-like scoring time; only events before it are used.
    out
        Directory of the parquet dataset; created (with parents) when absent.
    k
        Items per customer in ``recommended_items`` (integer >= 1).
    chunk_size
        Customers per chunk and parquet file (integer >= 1); bounds memory.
    overwrite
        When ``out`` holds a cxml scores dataset from a different fingerprint: ``False`` raises
        :class:`cxml.OutputExistsError`, ``True`` deletes it and scores from scratch. A dataset
        with the same fingerprint is resumed whatever its value, and a directory without
        ``_journal.json`` is always refused, never deleted.
    progress
        Show a ``tqdm`` progress bar over the chunks (only when chunks remain to be scored).

    Returns
    -------
    dict
        The run summary, also stored in ``_SUCCESS.json``:

        - ``customers``: number of customers scored (int);
        - ``chunks``: number of chunks / parquet files (int, at least 1);
        - ``models``: names of the models the bundle holds (list of str);
        - ``cold_start_customers``: scored customers unknown to the recommender, served the
          popularity ranking (int; 0 without a recommender), summed over all chunks of the run;
        - ``ignored_future_events``: events at or after ``as_of`` that were dropped (int; as
          counted by the call that completed the run);
        - ``as_of``: the parsed ``as_of`` (str of the :class:`pandas.Timestamp`);
        - ``k``: ``k`` (int);
        - ``out``: ``out`` (str).

        The dataset has one row per customer, in these columns: ``customer_id`` (str);
        ``churn_probability`` (float, only when the bundle has a churn model); ``expected_value``
        (float, only with a CLTV model); ``segment`` (str, the RFM segment computed once over all
        customers, see :func:`cxml.segment.rfm_segments`); ``recommended_items`` (only with a
        recommender: list of up to ``k`` item ids, best first, excluding items the customer bought
        in the recommender's training data).

    Raises
    ------
    SchemaError
        When ``k`` or ``chunk_size`` is not a positive integer, ``as_of`` is not a date, or the
        events fail validation.
    SourceError
        When ``events`` is a path that does not exist or is not csv/parquet.
    OutputExistsError
        When ``out`` exists without ``_journal.json`` (not a cxml scores dataset), or holds scores
        of a different fingerprint and ``overwrite`` is false.
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError(f"k={k!r} must be a positive integer")
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise SchemaError(f"chunk_size={chunk_size!r} must be a positive integer")
    ts = parse_as_of(as_of)
    frame = events if isinstance(events, pd.DataFrame) else load_events(events)
    validate_events(frame)
    future = frame[Columns.TIMESTAMP].to_numpy() >= ts.to_datetime64()
    n_future = int(future.sum())
    if n_future:
        msg = (f"ignored {n_future} of {len(frame)} events at or after as_of={ts.date()} "
               "(scoring uses the past only)")
        logger.warning(msg)
        warnings.warn(msg, DataWarning, stacklevel=3)
    past = frame.loc[~future]

    # one stable order by customer makes every chunk a contiguous slice
    customers = np.sort(past.loc[purchase_mask(past).to_numpy(), Columns.CUSTOMER].unique().astype(object))
    codes = pd.Index(customers).get_indexer(past[Columns.CUSTOMER].to_numpy(dtype=object))
    past = past.loc[codes >= 0]
    codes = codes[codes >= 0]
    order = np.argsort(codes, kind="stable")
    past = past.iloc[order]
    codes = codes[order]
    n_chunks = max(1, -(-len(customers) // int(chunk_size)))

    fingerprint = _fingerprint(scorer, past, ts, k, chunk_size)
    root = Path(out)
    journal = _open_journal(root, fingerprint, n_chunks, overwrite)
    done: set[int] = set(journal["done"])
    if (root / SUCCESS).exists() and len(done) == n_chunks:
        return dict(json.loads((root / SUCCESS).read_text())["summary"])

    segments = _segments(scorer, past, ts)
    bounds = np.searchsorted(codes, np.arange(n_chunks + 1) * int(chunk_size))
    todo = [i for i in range(n_chunks) if i not in done]
    cold = int(journal.get("cold_start", 0))
    iterator: Any = todo
    if progress and todo:
        from tqdm.auto import tqdm

        iterator = tqdm(todo, desc="scoring", unit="chunk", initial=len(done), total=n_chunks)
    for i in iterator:
        ids = customers[i * chunk_size:(i + 1) * chunk_size]
        chunk_events = past.iloc[bounds[i]:bounds[i + 1]]
        table, n_cold = _score_chunk(scorer, chunk_events, ids, ts, k, segments)
        part = root / f"part-{i:05d}.parquet"
        tmp = root / f".part-{i:05d}.parquet.tmp"
        table.to_parquet(tmp, index=False)
        os.replace(tmp, part)
        done.add(i)
        cold += n_cold
        _write_json(root / JOURNAL, {**journal, "done": sorted(done), "cold_start": cold})

    summary = {
        "customers": len(customers),
        "chunks": n_chunks,
        "models": list(scorer.models),
        "cold_start_customers": cold,
        "ignored_future_events": n_future,
        "as_of": str(ts),
        "k": int(k),
        "out": str(root),
    }
    _write_json(root / SUCCESS, {"fingerprint": fingerprint, "summary": summary})
    return summary


def _score_chunk(
    scorer: Scorer, events: pd.DataFrame, ids: np.ndarray, as_of: pd.Timestamp, k: int,
    segments: pd.Series | None,
) -> tuple[pd.DataFrame, int]:
    table = pd.DataFrame({Columns.CUSTOMER: pd.array(ids, dtype="str")})
    bundle = scorer.bundle
    if bundle.churn is not None:
        risk = bundle.churn.predict(events, as_of=as_of).set_index(Columns.CUSTOMER)
        table[Columns.CHURN_PROBABILITY] = risk[Columns.CHURN_PROBABILITY].reindex(ids).to_numpy()
    if bundle.cltv is not None:
        value = bundle.cltv.predict(events, as_of=as_of).set_index(Columns.CUSTOMER)
        table[Columns.EXPECTED_VALUE] = value[Columns.EXPECTED_VALUE].reindex(ids).to_numpy()
    if segments is not None:
        table["segment"] = segments.reindex(ids).to_numpy()
    n_cold = 0
    if bundle.recommender is not None:
        rec = bundle.recommender
        n_cold = int(len(rec.user_map_.unknown(ids)))
        recs = rec.recommend(list(ids), k=k, exclude_seen=True)
        lists = recs.groupby(Columns.CUSTOMER, sort=False)[Columns.ITEM].agg(list)
        table[RECOMMENDED] = [lists.get(c, []) for c in ids]
    return table, n_cold


def _segments(scorer: Scorer, past: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series | None:
    try:
        from cxml.segment import rfm_segments
    except ImportError:  # pragma: no cover - segment is part of cxml; kept optional for partial installs
        return None
    seg = rfm_segments(past, as_of=as_of)
    return seg["segment"].astype("str")


def _fingerprint(scorer: Scorer, past: pd.DataFrame, as_of: pd.Timestamp, k: int, chunk_size: int) -> str:
    h = hashlib.sha256()
    manifest = Path(scorer.bundle.path) / "MANIFEST.sha256"
    h.update(manifest.read_bytes() if manifest.exists() else b"")
    h.update(f"{as_of.isoformat()}|{k}|{chunk_size}|{len(past)}".encode())
    cols = [c for c in Columns.EVENTS if c in past.columns]
    row_hashes = pd.util.hash_pandas_object(past[cols], index=False).to_numpy()
    h.update(np.sort(row_hashes).tobytes())
    return h.hexdigest()


def _open_journal(root: Path, fingerprint: str, n_chunks: int, overwrite: bool) -> dict[str, Any]:
    fresh = {"fingerprint": fingerprint, "n_chunks": n_chunks, "done": [], "cold_start": 0}
    if root.exists():
        jpath = root / JOURNAL
        if not jpath.exists():
            raise OutputExistsError(
                f"{str(root)!r} exists and is not a cxml scores dataset (no {JOURNAL}); "
                "choose another out path — cxml will not delete it"
            )
        journal = json.loads(jpath.read_text())
        if journal.get("fingerprint") == fingerprint:
            return dict(journal)
        if not overwrite:
            raise OutputExistsError(
                f"{str(root)!r} holds scores from different inputs (bundle, events, as_of, k or "
                "chunk_size differ); pass overwrite=True to replace them"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    _write_json(root / JOURNAL, fresh)
    return fresh


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    os.replace(tmp, path)
