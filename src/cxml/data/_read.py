"""Reading an events source so that ids arrive exactly as written.

``pd.read_csv`` guesses a type per column: ``00123`` becomes the number 123 (and meets the
customer ``123``), a 17-digit id in a column with blanks becomes a float and loses its last
digits. So the id columns of a csv are read as text, and integer id columns of a parquet file
are cast to text by pyarrow before pandas sees them.
"""

from __future__ import annotations

import csv
import lzma
import os
import zipfile
import zlib
from collections.abc import Collection, Hashable
from pathlib import Path
from typing import TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from cxml.exceptions import SchemaError, SourceError
from cxml.schema import STRING_DTYPE

__all__ = ["READ_ERRORS", "Source", "arrow_to_frame", "open_parquet_dataset", "read_source"]

Source: TypeAlias = pd.DataFrame | str | os.PathLike[str]

#: what reading a damaged, truncated or mis-encoded file raises (UnicodeDecodeError and
#: pandas' ParserError are ValueErrors; pyarrow's errors derive from ArrowException)
READ_ERRORS = (OSError, ValueError, EOFError, csv.Error, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
                pa.ArrowException)
#: a whole number written from a float column (``12346.0``): the ``.0`` is dropped as for floats
_WHOLE_FLOAT = r"-?\d+\.0+"


def read_source(
    source: Source, id_columns: Collection[Hashable], columns: Collection[Hashable] | None = None
) -> pd.DataFrame:
    """The source as a DataFrame (a DataFrame itself is returned as is, never modified).

    ``id_columns`` are the labels whose values are ids; a file reads them as text. ``columns``
    (``None``: all) are the labels to read from a file; the file's other columns are never read
    (a parquet file or dataset reads only those column chunks).
    """
    if isinstance(source, pd.DataFrame):
        return source
    if not isinstance(source, str | os.PathLike):
        raise SchemaError(
            f"source must be a DataFrame or a path to csv/parquet, got {type(source).__name__}"
        )
    path = _existing(source)
    suffixes = "".join(path.suffixes).lower()
    try:
        if path.is_dir() or suffixes.endswith((".parquet", ".pq")):
            return _read_parquet(path, id_columns, columns)
        if ".csv" in suffixes or ".tsv" in suffixes or suffixes.endswith(".txt"):
            return _read_csv(path, "\t" if ".tsv" in suffixes else ",", id_columns, columns)
    except UnicodeError as exc:
        raise SourceError(
            f"could not read events source {str(path)!r}: it is not UTF-8 text ({exc}); re-save it as "
            "UTF-8, or read it with pandas (encoding=...) and pass the DataFrame"
        ) from exc
    except READ_ERRORS as exc:
        raise SourceError(f"could not read events source {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    raise SourceError(
        f"events source {str(path)!r} has suffix {suffixes or '(none)'!r}; expected .csv or .parquet"
    )


def _existing(source: str | os.PathLike[str]) -> Path:
    try:
        path = Path(source)
        exists = path.exists()
    except (OSError, ValueError, TypeError) as exc:  # an embedded NUL byte, a name too long
        raise SourceError(f"events source {source!r} is not a usable path: {exc}") from exc
    if not exists:
        raise SourceError(f"events source {str(path)!r} does not exist")
    return path


def _read_csv(path: Path, sep: str, id_columns: Collection[Hashable],
              columns: Collection[Hashable] | None) -> pd.DataFrame:
    header = pd.read_csv(path, sep=sep, nrows=0)
    ids = [c for c in header.columns if c in id_columns]
    use = None if columns is None else [c for c in header.columns if c in columns]
    frame = pd.read_csv(path, sep=sep, low_memory=False, dtype=dict.fromkeys(ids, str), usecols=use)
    for c in ids:
        frame[c] = _drop_float_zero(frame[c])
    return frame


def _drop_float_zero(s: pd.Series) -> pd.Series:
    """``12346.0`` -> ``12346`` when EVERY id of the column looks like that (a float column saved as text)."""
    text = s.astype(STRING_DTYPE).str.strip()
    present = text.dropna()
    if present.empty or not present.str.fullmatch(_WHOLE_FLOAT).all():
        return s
    return text.str.replace(r"\.0+$", "", regex=True)


def _read_parquet(path: Path, id_columns: Collection[Hashable], columns: Collection[Hashable] | None) -> pd.DataFrame:
    dataset = open_parquet_dataset(path)  # a file, or a directory of files (hive-partitioned or not)
    use = None if columns is None else [c for c in dataset.schema.names if c in columns]
    return arrow_to_frame(dataset.to_table(columns=use), id_columns)


def open_parquet_dataset(path: Path) -> ds.Dataset:
    """A parquet file or directory as a :class:`pyarrow.dataset.Dataset` (``key=value`` folders are columns).

    Files whose name starts with ``_`` or ``.`` (manifests, journals, temporary files) are skipped.
    """
    return ds.dataset(path, format="parquet", partitioning="hive")


def arrow_to_frame(table: pa.Table, id_columns: Collection[Hashable]) -> pd.DataFrame:
    """``table`` as pandas, with the integer id columns (``id_columns``) as their exact decimal text."""
    frame = table.to_pandas()
    names = table.column_names
    for name in id_columns:
        if not isinstance(name, str) or names.count(name) != 1 or name not in frame.columns:
            continue
        column = table.column(name)
        if pa.types.is_integer(column.type) and pd.api.types.is_float_dtype(frame[name].dtype):
            # an integer column with nulls and no pandas metadata arrives as float64, which rounds
            # ids beyond 2**53: take their exact decimal text from arrow instead
            text = pc.cast(column, pa.string()).to_numpy(zero_copy_only=False)
            frame[name] = pd.Series(text, index=frame.index, dtype=STRING_DTYPE)
    return frame
