"""What ``CLTVModel`` may fit on the held-out customers of its latest snapshot after boosting,
and the weights of its training snapshots (issue 19's directions; ``benchmarks/_cltv_directions.py``
measures each, and only what the backtest supported is on by default).

The held-out steps, applied in this order to the raw score (log of the value) at prediction time:

- **blend** (``"auto"``): ``prior + lambda * (raw - prior)``, a blend in log space of the booster
  with the BG/NBD × Gamma-Gamma forecast it was boosted from, ``lambda`` from :data:`BLEND_GRID`
  with the best Spearman + normalized Gini on the held-out customers;
- **level** (``"total"``): a constant added to the log value so that the predicted total of the
  held-out customers equals their observed total (within ``±2``); (``"poisson"``): a line
  ``shift + slope * raw`` fitted by Poisson likelihood on the held-out customers (a calibration of
  both the level and the spread of the log values); either way the ranking is unchanged;
- **pool** (a fraction, or ``"auto"`` for the best of :data:`POOL_GRID`): the customers whose value is
  below that held-out quantile all get the mean predicted value of that group. This raises the
  Spearman correlation where most customers spend nothing in the window (CDNOW: 83-87 %), because
  Spearman counts the tied actual zeros at their mean rank and a tied block of predictions then
  costs no rank variance; the recent-spend rule gets that benefit for free (its zeros are tied).

With every step off (:data:`IDENTITY`) the value is ``exp(raw)``. ``CLTVModel`` uses only the
level shift by default and carries it in its prior, so ``explain`` still adds up to the log value.

Examples
--------
>>> import numpy as np
>>> post = fit_post(np.log(np.array([1.0, 3.0])), None, np.array([2.0, 6.0]), level="total")
>>> round(post["level_shift"], 4)
0.6931
>>> apply_post({**IDENTITY, "pool": [2.0, 1.5]}, np.log(np.array([1.0, 2.0, 3.0])), None)
array([1.5, 2. , 3. ])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cxml.churn import metrics as M
from cxml.exceptions import BundleError, DataWarning

__all__ = ["BLEND_GRID", "IDENTITY", "POOL_GRID", "apply_post", "check_post", "fit_post", "snapshot_weights"]

#: No held-out step: the value is ``exp(raw)``.
IDENTITY: dict[str, Any] = {"blend": 1.0, "slope": 1.0, "level_shift": 0.0, "pool": [0.0, 0.0]}
#: The blend weights of the booster's correction that ``blend="auto"`` chooses from.
BLEND_GRID = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5)
#: The pooled fractions ``pool="auto"`` chooses from on the held-out customers.
POOL_GRID = (0.0, 0.5, 0.6, 0.7, 0.8)
#: A level shift is kept within a factor e**2 of the booster's level (a held-out total of a few
#: big spenders must not rescale everybody by orders of magnitude).
_MAX_SHIFT = 2.0
Pool = tuple[float, float]


def _level_shift(raw: np.ndarray, actual: np.ndarray) -> float:
    """``log(sum(actual) / sum(exp(raw)))`` within ``±2``; 0 when either total is not positive."""
    predicted, observed = float(np.exp(raw).sum()), float(np.sum(actual))
    if not (predicted > 0 and observed > 0 and np.isfinite(predicted)):
        return 0.0
    return float(np.clip(np.log(observed / predicted), -_MAX_SHIFT, _MAX_SHIFT))


def _poisson_line(raw: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """``(slope, shift)`` maximising the Poisson likelihood of ``actual`` under ``exp(shift + slope * raw)``
    (slope within [0.25, 2], shift within ``±2`` of the centred score), by Newton steps."""
    centre = float(np.mean(raw))
    x = raw - centre
    slope, shift = 1.0, _level_shift(raw, actual) - 0.0
    shift += centre  # parameterised on the centred score
    for _ in range(50):
        mu = np.exp(np.clip(shift + slope * x, -50, 50))
        grad = np.array([np.sum(actual - mu), np.sum((actual - mu) * x)])
        hess = np.array([[np.sum(mu), np.sum(mu * x)], [np.sum(mu * x), np.sum(mu * x * x)]])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        shift, slope = shift + float(step[0]), float(np.clip(slope + step[1], 0.25, 2.0))
        if np.max(np.abs(step)) < 1e-8:
            break
    return slope, float(np.clip(shift - slope * centre, -50, 50))


def _pool_at(pred: np.ndarray, fraction: float) -> Pool:
    if fraction <= 0 or pred.size == 0:
        return (0.0, 0.0)
    threshold = float(np.quantile(pred, fraction))
    below = pred < threshold
    return (threshold, float(pred[below].mean())) if below.any() else (0.0, 0.0)


def _score(actual: np.ndarray, pred: np.ndarray) -> float:
    """Spearman + normalized Gini on the held-out customers (NaN counts as 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        values = (M.spearman(actual, pred), M.normalized_gini(actual, pred))
    return float(sum(v for v in values if np.isfinite(v)))


def _pool(pred: np.ndarray, actual: np.ndarray, fraction: float | str | None) -> Pool:
    if fraction is None:
        return (0.0, 0.0)
    if isinstance(fraction, str):  # "auto"; the first (smallest) fraction wins a tie
        pools = [_pool_at(pred, f) for f in POOL_GRID]
        scores = [_score(actual, _apply_pool(p, pred)) for p in pools]
        return pools[int(np.argmax(scores))]
    return _pool_at(pred, float(fraction))


def _apply_pool(pool: Sequence[float], values: np.ndarray) -> np.ndarray:
    threshold, value = pool
    return np.where(values < threshold, value, values)


def _blended(raw: np.ndarray, prior: np.ndarray | None, weight: float) -> np.ndarray:
    return raw if prior is None or weight == 1.0 else prior + weight * (raw - prior)


def fit_post(
    raw: np.ndarray, prior: np.ndarray | None, actual: np.ndarray, *, level: str = "none",
    blend: str = "none", pool: float | str | None = None,
) -> dict[str, Any]:
    """The held-out steps fitted on the held-out raw scores, their prior (or None) and actual values."""
    weight = 1.0
    if blend == "auto" and prior is not None:
        scores = [_score(actual, np.exp(_blended(raw, prior, w))) for w in BLEND_GRID]
        weight = float(BLEND_GRID[int(np.argmax(scores))])
    z = _blended(raw, prior, weight)
    slope, shift = 1.0, 0.0
    if level == "total":
        shift = _level_shift(z, actual)
    elif level == "poisson":
        slope, shift = _poisson_line(z, actual)
    value = np.exp(slope * z + shift)
    return {"blend": weight, "slope": slope, "level_shift": shift, "pool": list(_pool(value, actual, pool))}


def apply_post(post: Mapping[str, Any], raw: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    """Expected values from raw scores (booster + prior) and the prior (or None)."""
    z = _blended(np.asarray(raw, dtype=np.float64), prior, float(post["blend"]))
    return _apply_pool(post["pool"], np.exp(float(post["slope"]) * z + float(post["level_shift"])))


def check_post(value: Any) -> dict[str, Any]:
    """A saved :func:`fit_post` result, checked (:class:`cxml.BundleError` when malformed)."""
    pool: Any = value.get("pool") if isinstance(value, Mapping) and set(value) == set(IDENTITY) else None
    numbers = []
    if isinstance(pool, list) and len(pool) == 2:
        numbers = [value["blend"], value["slope"], value["level_shift"], *pool]
    if not numbers or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                              for v in numbers):
        raise BundleError(f"must be null or {{'blend', 'level_shift', 'pool': [threshold, value]}} of finite "
                          f"numbers; got {value!r}")
    return {"blend": float(value["blend"]), "slope": float(value["slope"]),
            "level_shift": float(value["level_shift"]), "pool": [float(pool[0]), float(pool[1])]}


def snapshot_weights(cutoffs: np.ndarray, decay: float) -> np.ndarray | None:
    """Row weights ``decay ** k`` for the ``k``-th snapshot before the latest one (None when 1)."""
    if decay == 1.0 or len(cutoffs) == 0:
        return None
    distinct = np.unique(cutoffs)
    age = len(distinct) - 1 - np.searchsorted(distinct, cutoffs)
    return np.asarray(float(decay) ** age, dtype=np.float64)
