"""Recommender directories without pickle: ``params.json``, ``arrays.npz``, id maps as parquet.

Layout of a saved model directory::

    params.json     {"format": "cxml.recommender", "format_version": 1, "cxml_version": ...,
                     "class": "ALSRecommender", "params": {...}, "state": {...}}
    arrays.npz      numpy arrays, read with allow_pickle=False
    users.parquet   IdMap.to_frame() of the customers
    items.parquet   IdMap.to_frame() of the items

Reading checks the shape of everything before a model sees it: malformed JSON, a missing key, an
object array, a pickle, a sparse matrix whose indices point outside its shape or an unreadable id
map raise :class:`~cxml.BundleError` naming the file (and the key), never a raw parser error.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from os import PathLike
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml._files import read_json_object
from cxml._version import __version__
from cxml.data import IdMap
from cxml.exceptions import BundleError

__all__ = ["FORMAT_VERSION", "csr_arrays", "csr_from", "read", "write"]

FORMAT: Final = "cxml.recommender"
FORMAT_VERSION: Final = 1


class Section(dict[str, Any]):
    """A dict read from a bundle file: a missing key raises :class:`BundleError` naming file and key."""

    def __init__(self, items: dict[str, Any], source: Path | str) -> None:
        super().__init__(items)
        self.source = str(source)

    def __missing__(self, key: str) -> Any:
        raise BundleError(f"{self.source!r} has no {key!r}; the saved model is incomplete")


def csr_arrays(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}__data": m.data,
        f"{prefix}__indices": m.indices,
        f"{prefix}__indptr": m.indptr,
        f"{prefix}__shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from(arrays: dict[str, np.ndarray], prefix: str) -> sp.csr_matrix:
    """The CSR matrix stored under ``prefix`` after checking its parts fit together."""
    source = getattr(arrays, "source", "arrays.npz")
    data, indices, indptr, shape = (arrays[f"{prefix}__{part}"] for part in ("data", "indices", "indptr", "shape"))
    problem = _csr_problem(data, indices, indptr, shape)
    if problem:
        raise BundleError(f"{source!r}: sparse matrix {prefix!r} is malformed: {problem}")
    n_rows, n_cols = (int(x) for x in shape)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def _csr_problem(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: np.ndarray) -> str:
    """What is wrong with these CSR parts (empty when nothing is)."""
    if shape.ndim != 1 or len(shape) != 2 or shape.dtype.kind not in "iu" or (shape < 0).any():
        return f"shape {shape.tolist()!r} is not two non-negative integers"
    n_rows, n_cols = (int(x) for x in shape)
    if any(a.ndim != 1 for a in (data, indices, indptr)):
        return "data, indices and indptr must be 1-D"
    if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" or data.dtype.kind not in "biuf":
        return f"dtypes data={data.dtype}, indices={indices.dtype}, indptr={indptr.dtype} are not numeric"
    if len(indptr) != n_rows + 1 or (len(indptr) and indptr[0] != 0) or (np.diff(indptr) < 0).any():
        return f"indptr (length {len(indptr)}) is not a non-decreasing 0-based pointer over {n_rows} rows"
    if int(indptr[-1]) != len(indices) or len(indices) != len(data):
        return f"indptr ends at {int(indptr[-1])} but there are {len(indices)} indices and {len(data)} values"
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_cols):
        return f"column indices span [{int(indices.min())}, {int(indices.max())}], outside [0, {n_cols})"
    return ""


def write(
    path: str | PathLike[str],
    class_name: str,
    params: dict[str, Any],
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    user_map: IdMap,
    item_map: IdMap,
) -> None:
    for key, value in params.items():
        if not _json_safe(value):
            raise BundleError(
                f"parameter {key}={value!r} cannot be saved as JSON; use an int, float, str, bool or None"
            )
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cxml_version": __version__,
        "class": class_name,
        "params": params,
        "state": state,
    }
    np.savez(out / "arrays.npz", allow_pickle=False, **arrays)
    user_map.to_frame().to_parquet(out / "users.parquet", index=False)
    item_map.to_frame().to_parquet(out / "items.parquet", index=False)
    (out / "params.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


def read(
    path: str | PathLike[str],
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, np.ndarray], IdMap, IdMap]:
    """Class name, params, state, arrays and the two id maps of a saved recommender, all checked.

    ``state`` and ``arrays`` raise :class:`BundleError` naming their file for a missing key.
    """
    src = Path(path)
    meta_path = src / "params.json"
    if not meta_path.is_file():
        raise BundleError(f"{src} is not a saved recommender: params.json is missing")
    meta = read_json_object(meta_path, lambda why: BundleError(f"{str(meta_path)!r} {why}"))
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{meta_path}: format {meta.get('format')!r} version {meta.get('format_version')!r} is not "
            f"supported; expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    name = meta.get("class")
    if not isinstance(name, str):
        raise BundleError(f"{str(meta_path)!r}: 'class' is {name!r}; expected the model's class name")
    for key in ("params", "state"):
        if not isinstance(meta.get(key), dict):
            raise BundleError(f"{str(meta_path)!r}: {key!r} is missing or not a JSON object")
    arrays = _read_npz(src / "arrays.npz")
    users = _read_id_map(src / "users.parquet")
    items = _read_id_map(src / "items.parquet")
    return name, dict(meta["params"]), Section(meta["state"], meta_path), arrays, users, items


class _Arrays(Section):
    def __missing__(self, key: str) -> Any:
        raise BundleError(f"{self.source!r} has no array {key!r}; the saved model is incomplete")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as npz:
                arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # object arrays and pickles end here: allow_pickle=False refuses them with a ValueError
        raise BundleError(f"{str(path)!r} is not a numpy archive of plain arrays: {exc}") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise BundleError(f"{str(path)!r} holds a single array, not a numpy .npz archive")
    return _Arrays(arrays, path)


def _read_id_map(path: Path) -> IdMap:
    try:
        return IdMap.from_frame(pd.read_parquet(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise BundleError(f"{str(path)!r} is not a readable id map: {type(exc).__name__}: {exc}") from exc


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return False
