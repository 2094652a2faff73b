"""Recommender directories without pickle: ``params.json``, ``arrays.npz``, id maps as parquet.

Layout of a saved model directory::

    params.json     {"format": "cxml.recommender", "format_version": 1, "cxml_version": ...,
                     "class": "ALSRecommender", "params": {...}, "state": {...}}
    arrays.npz      numpy arrays, read with allow_pickle=False
    users.parquet   IdMap.to_frame() of the customers
    items.parquet   IdMap.to_frame() of the items
"""

from __future__ import annotations

import json
import math
from os import PathLike
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml.data import IdMap
from cxml.exceptions import BundleError

__all__ = ["FORMAT_VERSION", "csr_arrays", "csr_from", "read", "write"]

FORMAT: Final = "cxml.recommender"
FORMAT_VERSION: Final = 1


def csr_arrays(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}__data": m.data,
        f"{prefix}__indices": m.indices,
        f"{prefix}__indptr": m.indptr,
        f"{prefix}__shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from(arrays: dict[str, np.ndarray], prefix: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}__shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}__data"], arrays[f"{prefix}__indices"], arrays[f"{prefix}__indptr"]), shape=shape
    )


def write(
    path: str | PathLike[str],
    class_name: str,
    params: dict[str, Any],
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    user_map: IdMap,
    item_map: IdMap,
) -> None:
    from cxml import __version__

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
    src = Path(path)
    meta_path = src / "params.json"
    if not meta_path.is_file():
        raise BundleError(f"{src} is not a saved recommender: params.json is missing")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{meta_path}: format {meta.get('format')!r} version {meta.get('format_version')!r} is not "
            f"supported; expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    try:
        with np.load(src / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        users = IdMap.from_frame(pd.read_parquet(src / "users.parquet"))
        items = IdMap.from_frame(pd.read_parquet(src / "items.parquet"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{src}: cannot read the saved recommender ({exc})") from exc
    return str(meta["class"]), dict(meta["params"]), dict(meta["state"]), arrays, users, items


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return False
