"""Population references of the churn and CLTV models: where a customer stands among all customers.

At the end of ``fit`` the customers of the latest training snapshot describe "the population":
per feature its percentiles 0, 1, ..., 100 (missing values left out), the median raw score of the
model and the median BG/NBD prior on the raw scale. They are saved in ``params.json`` under
``"reference"``; a model saved before references existed loads with ``reference_ = None``, and
its reasons then carry no population comparison.

Examples
--------
>>> import numpy as np, pandas as pd
>>> ref = population_reference(pd.DataFrame({"n_orders": np.arange(1.0, 101.0)}), np.zeros(100), None)
>>> ref["features"]["n_orders"][50], round(percentile(ref, "n_orders", 96.0), 1)
(50.5, 96.0)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.exceptions import BundleError

__all__ = ["Reference", "check_reference", "median", "percentile", "population_reference"]

#: ``{"features": {name: 101 percentiles or None}, "raw_median": float, "prior_median": float | None}``
Reference = dict[str, Any]

_GRID = np.linspace(0.0, 100.0, 101)


def population_reference(X: pd.DataFrame, raw: np.ndarray, prior: np.ndarray | None) -> Reference:
    """The reference of the customers in the aligned feature rows ``X``.

    Parameters
    ----------
    X
        float64 feature columns, one row per customer of the reference snapshot.
    raw
        The model's raw scores of those rows (BG/NBD prior included).
    prior
        The BG/NBD prior of those rows on the raw scale, or ``None`` without a prior.
    """
    features: dict[str, list[float] | None] = {}
    for name in X.columns:
        values = X[name].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        features[str(name)] = np.percentile(values, _GRID).tolist() if len(values) else None
    return {
        "features": features,
        "raw_median": float(np.median(raw)) if len(raw) else 0.0,
        "prior_median": None if prior is None or not len(prior) else float(np.median(prior)),
    }


def median(ref: Reference | None, feature: str) -> float | None:
    """The population median of ``feature`` (``None`` without a reference for it)."""
    q = None if ref is None else ref["features"].get(feature)
    return None if q is None else float(q[50])


def percentile(ref: Reference | None, feature: str, value: float) -> float | None:
    """Share of the population (in %) below ``value``, ties counted half; ``None`` when unknown."""
    q = None if ref is None else ref["features"].get(feature)
    if q is None or not math.isfinite(value):
        return None
    arr = np.asarray(q)
    below, at_most = int(np.sum(arr < value)), int(np.sum(arr <= value))
    if at_most > below:  # equal to some percentiles (a common count): the middle of their run
        return (below + at_most - 1) / 2.0
    if below in (0, len(arr)):
        return 0.0 if below == 0 else 100.0
    lo, hi = arr[below - 1], arr[below]
    return float(below - 1 + (value - lo) / (hi - lo))


def check_reference(value: Any, path: Path) -> Reference | None:
    """``reference`` of params.json: missing (an older model: ``None``) or a well-formed reference."""
    if value is None:
        return None
    bad = BundleError(
        f"{str(path)!r}: reference must be null or an object with 'features' (name -> 101 numbers or "
        "null), 'raw_median' (a number) and 'prior_median' (a number or null)"
    )
    if not isinstance(value, dict) or not isinstance(value.get("features"), dict):
        raise bad
    if not _number(value.get("raw_median")) or not (value.get("prior_median") is None
                                                    or _number(value["prior_median"])):
        raise bad
    features: dict[str, list[float] | None] = {}
    for name, q in value["features"].items():
        if q is not None and not (isinstance(q, list) and len(q) == len(_GRID) and all(map(_number, q))):
            raise bad
        features[str(name)] = None if q is None else [float(v) for v in q]
    prior = value["prior_median"]
    return {"features": features, "raw_median": float(value["raw_median"]),
            "prior_median": None if prior is None else float(prior)}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
