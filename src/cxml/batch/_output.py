"""What every batch run shares: the output directory's guard, its journal, the progress bar."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.batch._journal import JOURNAL, Journal
from cxml.batch._lock import LOCK
from cxml.exceptions import DataWarning, OutputExistsError
from cxml.schema import Columns, purchase_mask

__all__ = ["clear_stale", "open_journal", "prepare_past", "progress_bar", "refuse_foreign"]

logger = logging.getLogger("cxml.batch")


def prepare_past(frame: pd.DataFrame, ts: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Events before ``ts`` of existing customers sorted by customer, the sorted ids, their codes."""
    future = frame[Columns.TIMESTAMP].to_numpy() >= ts.to_datetime64()
    n_future = int(future.sum())
    if n_future:
        msg = (f"ignored {n_future} of {len(frame)} events at or after as_of={ts.date()} "
               "(scoring uses the past only)")
        logger.warning(msg)
        warnings.warn(msg, DataWarning, stacklevel=4)
    past = frame.loc[~future]
    # one stable order by customer makes every chunk a contiguous slice
    customers = np.sort(past.loc[purchase_mask(past).to_numpy(), Columns.CUSTOMER].unique().astype(object))
    codes = pd.Index(customers).get_indexer(past[Columns.CUSTOMER].to_numpy(dtype=object))
    past = past.loc[codes >= 0]
    codes = codes[codes >= 0]
    order = np.argsort(codes, kind="stable")
    return past.iloc[order], customers, codes[order], n_future


def progress_bar(todo: list[int], total: int, show: bool, unit: str = "chunk") -> Any:
    """``todo`` wrapped in a ``tqdm`` bar over ``total`` parts (``todo`` itself when no bar is shown)."""
    if not (show and todo):
        return todo
    from tqdm.auto import tqdm  # tqdm.auto probes for notebook widgets on import: only when a bar is shown

    return tqdm(todo, desc="scoring", unit=unit, initial=total - len(todo), total=total)


def refuse_foreign(root: Path) -> None:
    """Refuse an existing ``root`` that is not a cxml scores dataset (cxml never deletes it)."""
    if root.exists() and (not root.is_dir() or (
            not (root / JOURNAL).exists() and not all(_ours(p.name) for p in root.iterdir()))):
        raise OutputExistsError(
            f"{str(root)!r} exists and is not a cxml scores dataset (no {JOURNAL}); "
            "choose another out path — cxml will not delete it"
        )


def clear_stale(root: Path) -> None:
    """Delete temporary files a killed writer left (call while holding the lock: none is live)."""
    for stale in [p for p in root.iterdir() if p.name != LOCK and _ours(p.name)]:
        stale.unlink(missing_ok=True)


def _ours(name: str) -> bool:
    """The lock, or a temporary file a killed writer left (``.part-00000.parquet.tmp-<pid>``)."""
    return name == LOCK or (name.startswith(".") and ".tmp-" in name)


def open_journal(root: Path, fingerprint: str, n_chunks: int, overwrite: bool) -> Journal:
    """The journal to continue: the existing one when its fingerprint matches, else a fresh one."""
    if (root / JOURNAL).exists():
        try:
            journal = Journal.load(root)
        except OutputExistsError:
            if not overwrite:
                raise
        else:
            if journal.fingerprint == fingerprint:
                return journal
            if not overwrite:
                raise OutputExistsError(
                    f"{str(root)!r} holds scores from different inputs (bundle, events, as_of, k or "
                    "chunk_size differ); pass overwrite=True to replace them"
                )
        _clear(root)
    fresh = Journal(root, fingerprint, n_chunks)
    fresh.save()
    return fresh


def _clear(root: Path) -> None:
    """Delete a cxml scores dataset's files, keeping the lock we hold; the journal goes last."""
    for entry in sorted(root.iterdir(), key=lambda p: p.name == JOURNAL):
        if entry.name == LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
