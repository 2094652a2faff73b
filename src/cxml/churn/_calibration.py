"""Probability calibration of the churn booster's log-odds: centred isotonic or Platt, stored as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from cxml.exceptions import BundleError

__all__ = ["BLEND_GRID", "Calibrator", "apply_calibrator", "blend_weight", "fit_calibrator", "load_blend_weight"]

Calibrator = tuple[str, np.ndarray, np.ndarray]
#: Candidate weights of the calibrated model in the blend with BG/NBD's probability.
BLEND_GRID = np.linspace(0.0, 1.0, 21)


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


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def blend_weight(method: str | None, raw: np.ndarray, y: np.ndarray, prior: np.ndarray, seed: int) -> float:
    """Weight of the calibrated model in ``w · model + (1 − w) · prior`` with the least log-loss.

    Cross-fitted on the held-out customers: each half is scored by a calibrator fitted on the other
    half, so the weight does not reward the calibrator for fitting its own data. Rows without a
    finite prior are left out; with fewer than 20 usable rows the model keeps its full weight.
    """
    ok = np.isfinite(prior) & np.isfinite(raw)
    if ok.sum() < 20:
        return 1.0
    raw, y, prior = raw[ok], y[ok], prior[ok]
    half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    p = np.empty(len(y))
    for part in (half, ~half):
        if len(np.unique(y[~part])) < 2:
            return 1.0
        p[part] = apply_calibrator(fit_calibrator(method, raw[~part], y[~part]), raw[part])
    losses = [_log_loss(y, w * p + (1 - w) * prior) for w in BLEND_GRID]
    return float(BLEND_GRID[int(np.argmin(losses))])


def load_blend_weight(path: Path) -> float:
    """The blend weight stored beside a calibrator (1.0 for a model saved before blending)."""
    with np.load(path, allow_pickle=False) as z:
        if "blend" not in z.files:
            return 1.0
        w = z["blend"]
    if w.shape != (1,) or w.dtype.kind != "f" or not 0.0 <= float(w[0]) <= 1.0:
        raise BundleError(f"{str(path)!r} holds a blend weight {w!r}; expected one float in [0, 1]")
    return float(w[0])
