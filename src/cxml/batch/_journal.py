"""The journal of a scores dataset: which parts are committed, with their row count and sha256.

``_journal.json`` holds the run's fingerprint, the number of parts and, per committed part, its
row count, sha256 and cold-start count; ``complete`` turns true (and ``_SUCCESS.json`` appears)
only when every part is committed. A rerun verifies each recorded part against its hash and
scores again any part that is missing, truncated or altered. Every write is a temporary file
renamed into place, so a crash leaves either the old or the new version of a file.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from cxml._files import file_sha256, read_json_object
from cxml.exceptions import CxmlWarning, OutputExistsError, SourceError

__all__ = ["JOURNAL", "SUCCESS", "Journal", "is_complete", "part_name", "read_scores"]

JOURNAL: Final = "_journal.json"
SUCCESS: Final = "_SUCCESS.json"
#: Written into every journal; a journal without it (older cxml, or damaged) is not resumed.
FORMAT: Final = "cxml.scores/2"
_PART: Final = re.compile(r"part-(\d{5,})\.parquet")


def part_name(index: int) -> str:
    """File name of part ``index``."""
    return f"part-{index:05d}.parquet"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Journal:
    """The committed state of the scores dataset in ``root`` (see the module docstring)."""

    root: Path
    fingerprint: str
    n_chunks: int
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)
    complete: bool = False

    @classmethod
    def load(cls, root: Path) -> Journal:
        """Read ``root/_journal.json``; :class:`OutputExistsError` says how it is corrupt."""
        path = root / JOURNAL
        raw = read_json_object(path, lambda why: _corrupt(path, why))
        if raw.get("format") != FORMAT:
            raise _corrupt(path, f"not a {FORMAT} journal (written by another cxml version, or damaged)")
        fingerprint, n_chunks, parts = raw.get("fingerprint"), raw.get("n_chunks"), raw.get("parts")
        if not isinstance(fingerprint, str) or not isinstance(n_chunks, int) or not isinstance(parts, dict):
            raise _corrupt(path, "fingerprint, n_chunks or parts has the wrong type")
        journal = cls(root, fingerprint, n_chunks, complete=raw.get("complete") is True)
        for key, rec in parts.items():
            match = _PART.fullmatch(key)
            if not (match and int(match.group(1)) < n_chunks and _valid_record(rec)):
                raise _corrupt(path, f"part entry {key!r}: {rec!r} is not a committed part record")
            journal.parts[int(match.group(1))] = rec
        return journal

    def save(self) -> None:
        parts = {part_name(i): self.parts[i] for i in sorted(self.parts)}
        write_json(self.root / JOURNAL, {"format": FORMAT, "fingerprint": self.fingerprint,
                                         "n_chunks": self.n_chunks, "complete": self.complete, "parts": parts})

    def damaged_parts(self) -> list[int]:
        """Recorded parts whose file is missing, truncated or altered (each hashed once)."""
        bad = []
        for i, rec in sorted(self.parts.items()):
            path = self.root / part_name(i)
            if not path.is_file() or path.stat().st_size != rec["bytes"] or file_sha256(path) != rec["sha256"]:
                bad.append(i)
        return bad

    def forget(self, bad: list[int]) -> None:
        """Drop the records of damaged parts (with a warning) so that they are scored again."""
        if not bad:
            return
        names = ", ".join(part_name(i) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.warn(f"{len(bad)} committed parts of {str(self.root)!r} are missing or changed "
                      f"({names}); scoring them again", CxmlWarning, stacklevel=2)
        for i in bad:
            del self.parts[i]
        self.mark_incomplete()

    def mark_incomplete(self) -> None:
        (self.root / SUCCESS).unlink(missing_ok=True)
        self.complete = False
        self.save()

    def commit(self, index: int, table: pd.DataFrame, cold_start: int) -> None:
        """Write part ``index`` atomically, hash it once, and record it."""
        path = self.root / part_name(index)
        tmp = self.root / f".{path.name}.tmp-{os.getpid()}"
        table.to_parquet(tmp, index=False)
        rec = {"rows": len(table), "bytes": tmp.stat().st_size, "sha256": file_sha256(tmp),
               "cold_start": int(cold_start)}
        os.replace(tmp, path)
        self.parts[index] = rec
        self.save()

    def finish(self, summary: dict[str, Any]) -> None:
        """Record that every part is committed: ``complete`` in the journal, then ``_SUCCESS.json``."""
        self.complete = True
        self.save()
        write_json(self.root / SUCCESS, {"fingerprint": self.fingerprint, "summary": summary})

    def success_summary(self) -> dict[str, Any] | None:
        """The summary in ``_SUCCESS.json`` when the journal is complete (parts are not hashed here)."""
        if not self.complete or len(self.parts) != self.n_chunks:
            return None
        try:
            success = read_json_object(self.root / SUCCESS, lambda why: _corrupt(self.root / SUCCESS, why))
        except OutputExistsError:
            return None
        if success.get("fingerprint") != self.fingerprint:
            return None
        summary = success.get("summary")
        return dict(summary) if isinstance(summary, dict) else None


def _valid_record(rec: Any) -> bool:
    if not isinstance(rec, dict):
        return False
    ints = all(isinstance(rec.get(key), int) and rec[key] >= 0 for key in ("rows", "bytes", "cold_start"))
    digest = rec.get("sha256")
    return ints and isinstance(digest, str) and len(digest) == 64


def _corrupt(path: Path, why: str) -> OutputExistsError:
    return OutputExistsError(
        f"the scores journal {str(path)!r} is corrupt: {why}; cxml cannot tell which parts are "
        "complete — pass overwrite=True to score everything again"
    )


def is_complete(out: str | os.PathLike[str]) -> bool:
    """Whether ``out`` holds a complete scores dataset (every part committed and intact).

    A run that is still going, was killed, or whose parts were deleted or changed since is
    partial: ``pd.read_parquet(out)`` would silently return only some customers. Rerunning the
    same :meth:`cxml.Scorer.score` call completes it.

    Parameters
    ----------
    out
        The output directory given to :meth:`cxml.Scorer.score`.

    Returns
    -------
    bool
        ``True`` when the journal is marked complete, ``_SUCCESS.json`` matches it and every part
        matches its recorded size and sha256 (each part is hashed once); ``False`` otherwise,
        including when ``out`` is absent or not a cxml scores dataset.
    """
    root = Path(out)
    if not (root / JOURNAL).is_file():
        return False
    try:
        journal = Journal.load(root)
    except OutputExistsError:
        return False
    return journal.success_summary() is not None and not journal.damaged_parts()


def read_scores(out: str | os.PathLike[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Read a scores dataset, refusing one that is partial (see :func:`is_complete`).

    Parameters
    ----------
    out
        The output directory given to :meth:`cxml.Scorer.score`.
    columns
        Columns to read; ``None`` reads all.

    Returns
    -------
    pandas.DataFrame
        One row per scored customer (parts in order).

    Raises
    ------
    SourceError
        When ``out`` is not a complete cxml scores dataset.
    """
    if not is_complete(out):
        raise SourceError(
            f"{str(out)!r} is not a complete cxml scores dataset (absent, still being written, killed, "
            "or a part is missing or changed); rerun the same Scorer.score call to complete it"
        )
    return pd.read_parquet(out, columns=columns)
