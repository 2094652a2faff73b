"""Files of a saved ChurnModel/CLTVModel: ``params.json``, ``model.txt`` (LightGBM text) and ``.npz``
arrays, never a pickle. Every malformed file — not UTF-8, not JSON, a JSON of the wrong shape, a
garbage LightGBM model, an object or pickled array — is refused with a :class:`cxml.BundleError`
that names the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml._files import read_json_object
from cxml.churn._reference import check_reference
from cxml.exceptions import BundleError
from cxml.schema import parse_horizon

_M = TypeVar("_M")

__all__ = [
    "FORMAT_VERSION",
    "check_btyd_params",
    "check_format",
    "load_booster",
    "load_arrays",
    "read_json",
    "restore",
    "save_model",
    "write_json",
]

#: Version of the directory layout written by ``ChurnModel.save`` / ``CLTVModel.save``.
FORMAT_VERSION = 1

_BTYD_NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "gamma_gamma": ("p", "q", "v")}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default), encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`cxml.BundleError` naming the file for anything else."""
    return read_json_object(path, lambda why: BundleError(f"{str(path)!r} {why}"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp | pd.Timedelta):
        return str(value)
    raise BundleError(f"{type(value).__name__} value {value!r} cannot be written to params.json")


def check_format(meta: Mapping[str, Any], cls_name: str, path: Path) -> None:
    """Refuse a saved model of another class or a newer directory format."""
    if meta.get("class") != cls_name:
        raise BundleError(f"{str(path)!r} holds a {meta.get('class')!r}, not a {cls_name}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise BundleError(
            f"{str(path)!r} has format_version {version!r}; this cxml reads 1 to {FORMAT_VERSION}"
        )


def check_btyd_params(value: Any, path: Path) -> dict[str, dict[str, float] | None] | None:
    """``btyd_params`` of params.json: None, or per model None or its positive finite parameters."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(_BTYD_NAMES):
        raise BundleError(f"{str(path)!r}: btyd_params must be null or an object with keys {sorted(_BTYD_NAMES)}")
    out: dict[str, dict[str, float] | None] = {}
    for model, names in _BTYD_NAMES.items():
        params = value[model]
        if params is None:
            out[model] = None
            continue
        ok = isinstance(params, dict) and set(params) == set(names) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in params.values()
        )
        if not ok:
            raise BundleError(
                f"{str(path)!r}: btyd_params[{model!r}] must be null or positive numbers {list(names)}; "
                f"got {params!r}"
            )
        out[model] = {k: float(params[k]) for k in names}
    return out


def load_booster(path: Path) -> lgb.Booster:
    """The LightGBM text model in ``path``; :class:`cxml.BundleError` when it is missing or garbage."""
    if not path.is_file():
        raise BundleError(f"LightGBM model file {str(path)!r} is missing")
    try:
        text = path.read_text(encoding="utf-8")
        return lgb.Booster(model_str=text)
    except (UnicodeDecodeError, lgb.basic.LightGBMError, ValueError) as exc:
        raise BundleError(f"{str(path)!r} is not a LightGBM text model: {exc}") from exc


def load_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named numeric arrays of an ``.npz`` file (no pickles, no object arrays)."""
    if not path.is_file():
        raise BundleError(f"{str(path)!r} is missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {name: z[name].copy() for name in names}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise BundleError(f"{str(path)!r} is not an npz file with numeric arrays {list(names)}: {exc}") from exc
    return out


def restore(cls: type[_M], root: Path) -> _M:
    """A fitted ``cls`` (a SnapshotModel subclass) from the directory its ``save`` wrote."""
    meta_path = root / "params.json"
    meta = read_json(meta_path)
    check_format(meta, cls.__name__, meta_path)
    try:
        params = dict(meta["params"])
        params["windows"] = tuple(params["windows"])
        model: Any = cls(**params)
        model._check_settings()
        model.feature_names_ = [str(f) for f in meta["feature_names"]]
        model.best_iteration_ = int(meta["best_iteration"])
        model.training_cutoffs_ = [pd.Timestamp(c) for c in meta["training_cutoffs"]]
        model.n_training_rows_ = int(meta["n_training_rows"])
        model.validation_ = str(meta["validation"])
        model.as_of_ = pd.Timestamp(meta["as_of"])
        model.metrics_ = meta["metrics"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(
            f"{str(meta_path)!r} is incomplete or has a bad value for {cls.__name__}: {exc!r}"
        ) from exc
    model.btyd_params_ = check_btyd_params(meta.get("btyd_params", {}), meta_path)
    # a model saved before population references existed has none: its reasons carry no comparison
    model.reference_ = check_reference(meta.get("reference"), meta_path)
    model.booster_ = load_booster(root / "model.txt")
    if model.booster_.num_feature() != len(model.feature_names_):
        raise BundleError(
            f"{str(root)!r}: model.txt has {model.booster_.num_feature()} features but params.json "
            f"lists {len(model.feature_names_)} feature_names"
        )
    model._load_extra(root)
    return model


def save_model(model: Any, root: Path) -> Path:
    """Write a fitted SnapshotModel to directory ``root`` (see its ``save``); returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    model.booster_.save_model(str(root / "model.txt"))
    meta = {
        "class": type(model).__name__,
        "format_version": FORMAT_VERSION,
        "params": {**model.get_params(), "windows": list(model.windows)},
        "as_of": model.as_of_.isoformat(),
        "horizon": str(parse_horizon(model.horizon)),
        "feature_names": list(model.feature_names_),
        "best_iteration": model.best_iteration_,
        "training_cutoffs": [c.isoformat() for c in model.training_cutoffs_],
        "n_training_rows": model.n_training_rows_,
        "validation": model.validation_,
        "btyd_params": model.btyd_params_,
        "metrics": model.metrics_,
        "reference": getattr(model, "reference_", None),
    }
    write_json(root / "params.json", meta)
    model._save_extra(root)
    return root
