"""Probability calibration of the churn booster's log-odds: centred isotonic or Platt, stored as arrays."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["Calibrator", "apply_calibrator", "fit_calibrator"]

Calibrator = tuple[str, np.ndarray, np.ndarray]


def fit_calibrator(method: str | None, raw: np.ndarray, y: np.ndarray) -> Calibrator:
    """Map raw log-odds to probabilities: isotonic (interpolation knots), Platt (slope/intercept)."""
    if method is None:
        return ("none", np.zeros(0), np.zeros(0))
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y.astype(int))
        return ("sigmoid", np.array([float(lr.coef_[0, 0])]), np.array([float(lr.intercept_[0])]))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    # Centred isotonic regression (Oron & Flournoy 2017): knots at the mean score of each PAV block
    # instead of a step function, so the map is strictly increasing between the first and last block
    # centres and keeps the booster's ranking (a step function ties whole blocks and costs ROC-AUC).
    fitted = iso.predict(raw)
    order = np.argsort(raw, kind="stable")
    xs, ys = raw[order], fitted[order]
    starts = np.flatnonzero(np.r_[True, ys[1:] != ys[:-1]])
    sizes = np.diff(np.r_[starts, len(xs)])
    centres = np.add.reduceat(xs, starts) / sizes
    # A pure end block (all churned / none churned) would map to exactly 1 / 0: more certainty than
    # N held-out customers can support. Clamping the block values to [1/2N, 1 - 1/2N] is monotone,
    # so the ranking is unchanged, and the exponential tails then stay strictly inside (0, 1).
    eps = 0.5 / max(len(raw), 1)
    levels = np.clip(ys[starts], eps, 1.0 - eps)
    return ("isotonic", centres.astype(np.float64), levels.astype(np.float64))


def apply_calibrator(cal: Calibrator, raw: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] from raw log-odds (the same maths before and after ``load``)."""
    kind, x, y = cal
    raw = np.asarray(raw, dtype=np.float64)
    if kind == "none":
        return np.asarray(expit(raw))
    if kind == "sigmoid":
        return np.asarray(expit(x[0] * raw + y[0]))
    return _centred_isotonic(raw, x, y)


def _centred_isotonic(raw: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear between the block centres; beyond the end centres an exponential approach to half the
    end level (``y[0] / 2`` below, ``1 - (1 - y[-1]) / 2`` above) whose slope matches the end segment,
    so the whole map is continuous, strictly increasing and strictly inside (0, 1)."""
    p = np.interp(raw, x, y)
    if len(x) < 2:
        return np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        below, above = raw < x[0], raw > x[-1]
        if y[0] > 0 and np.any(below):
            p[below] = 0.5 * y[0] * (1.0 + np.exp(2.0 * lo_slope / y[0] * (raw[below] - x[0])))
        if y[-1] < 1 and np.any(above):
            gap = 1.0 - y[-1]
            p[above] = 1.0 - 0.5 * gap * (1.0 + np.exp(-2.0 * hi_slope / gap * (raw[above] - x[-1])))
    return np.clip(p, 0.0, 1.0)
