"""The linear prior of the churn booster: BG/NBD's forecast refined by a logistic regression.

With ``ChurnModel(linear_prior=True)`` (the default) boosting starts from a logistic regression on
a few transformed columns instead of from the BG/NBD logit alone — by default
``logit(bg_p_no_purchase)``, ``log1p(recency_days)``, ``log1p(n_purchase_days)``,
``log1p(tenure_days)``. It is fitted on the booster's own training rows (the older snapshots and
the non-held-out customers of the latest one), so it sees no held-out or future label. On small
shops (CDNOW: 2,357 customers) trees learn few corrections that survive early stopping, and a
handful of coefficients is what the data can support: it corrects BG/NBD where its parametric
shape misses (the backtest in ``benchmarks/results/churn_directions.json``). Columns are
standardised with the training mean/std; a missing value (no BG/NBD fit at a cutoff) sits at the
mean.

A column is named by a spec ``"transform:column[:knot]"``: ``logit`` (a probability), ``log1p``
(a non-negative count or duration), ``raw``, or ``hinge`` (``max(log1p(value) − knot, 0)``, a
piecewise-linear term whose knot is written into the spec). The fitted prior is one float array
``[means (k), scales (k), coefficients (k), intercept]`` (``ChurnModel.linear_prior_``), beside
the specs (``ChurnModel.linear_prior_columns_``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from cxml.schema import Columns

__all__ = ["C_GRID", "LINEAR_PRIOR_COLUMNS", "clipped_logit", "design", "fit_linear_prior", "hinge_specs",
           "linear_prior", "standardisation", "valid_packed", "valid_specs"]

#: The default specs (also those of a model saved before specs were stored).
LINEAR_PRIOR_COLUMNS = ("logit:bg_p_no_purchase", "log1p:recency_days", "log1p:n_purchase_days",
                        "log1p:tenure_days")
#: Candidate inverse L2 strengths, chosen by log-loss on the latest training cutoff (``C="auto"``).
C_GRID = (0.01, 0.1, 1.0, 10.0)
_TRANSFORMS = ("logit", "log1p", "raw", "hinge")


def clipped_logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 − p))`` with ``p`` clipped to ``[1e-6, 1 − 1e-6]``: a probability of exactly 0 or 1
    stays finite (NaN stays NaN)."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q) - np.log1p(-q))


def _column(frame: pd.DataFrame, spec: str) -> np.ndarray:
    kind, name, *knot = spec.split(":")
    v = frame[name].to_numpy(dtype=np.float64)
    if kind == "logit":
        return clipped_logit(v)
    if kind == "raw":
        return v
    logged = np.log1p(np.maximum(v, 0.0))
    return logged if kind == "log1p" else np.maximum(logged - float(knot[0]), 0.0)


def design(frame: pd.DataFrame, specs: Sequence[str]) -> np.ndarray:
    """The transformed columns of ``specs`` (NaN where a value is missing)."""
    return np.column_stack([_column(frame, s) for s in specs])


def standardisation(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of the finite values of ``Z`` (0 and 1 where none, 1
    for a constant column)."""
    with np.errstate(invalid="ignore"):
        finite = np.where(np.isfinite(Z), Z, np.nan)
        mean = np.nan_to_num(np.nanmean(finite, axis=0))
        scale = np.nan_to_num(np.nanstd(finite, axis=0))
    return mean, np.where(scale > 0, scale, 1.0)


def _standardised(Z: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    out = (Z - mean) / scale
    return np.where(np.isfinite(out), out, 0.0)


def hinge_specs(frame: pd.DataFrame, column: str, quantiles: Sequence[float]) -> tuple[str, ...]:
    """``hinge`` specs of ``column`` with knots at ``quantiles`` of its ``log1p`` in ``frame``."""
    v = np.log1p(np.maximum(frame[column].to_numpy(dtype=np.float64), 0.0))
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return ()
    knots = sorted({round(float(q), 4) for q in np.quantile(v, quantiles)})
    return tuple(f"hinge:{column}:{k}" for k in knots)


def _fit(Z: np.ndarray, y: np.ndarray, C: float) -> np.ndarray:
    mean, scale = standardisation(Z)
    lr = LogisticRegression(C=C, max_iter=1000).fit(_standardised(Z, mean, scale), y.astype(int))
    return np.concatenate([mean, scale, lr.coef_[0], lr.intercept_]).astype(np.float64)


def _log_loss(y: np.ndarray, z: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _choose_C(frame: pd.DataFrame, Z: np.ndarray, y: np.ndarray) -> float:
    """The :data:`C_GRID` value with the least log-loss on the latest cutoff's rows when fitted on
    the older cutoffs' (1.0 with a single cutoff or a one-class part)."""
    if Columns.CUTOFF not in frame.columns:
        return 1.0
    cut = frame[Columns.CUTOFF].to_numpy()
    late = cut == cut.max()
    if late.all() or len(np.unique(y[~late])) < 2 or len(np.unique(y[late])) < 2:
        return 1.0
    losses = [_log_loss(y[late], _log_odds(_fit(Z[~late], y[~late], C), Z[late])) for C in C_GRID]
    return float(C_GRID[int(np.argmin(losses))])


def fit_linear_prior(frame: pd.DataFrame, y: np.ndarray, specs: Sequence[str] = LINEAR_PRIOR_COLUMNS,
                     C: float | str = 1.0) -> np.ndarray | None:
    """The packed logistic regression of ``y`` on the ``specs`` columns, or None when it cannot be fitted
    (a column absent, or one class only). ``C="auto"`` picks the L2 strength by time-based
    validation inside ``frame`` (:func:`_choose_C`)."""
    specs = tuple(specs)
    if any(s.split(":")[1] not in frame.columns for s in specs) or len(np.unique(y)) < 2:
        return None
    Z = design(frame, specs)
    strength = _choose_C(frame, Z, y) if C == "auto" else float(C)
    return _fit(Z, y, strength)


def _log_odds(packed: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """The packed prior's log-odds for the transformed columns ``Z`` (:func:`design`)."""
    k = Z.shape[1]
    mean, scale, coef, intercept = packed[:k], packed[k:2 * k], packed[2 * k:3 * k], packed[3 * k]
    return np.asarray(_standardised(Z, mean, scale) @ coef + intercept, dtype=np.float64)


def linear_prior(packed: np.ndarray, frame: pd.DataFrame, specs: Sequence[str] = LINEAR_PRIOR_COLUMNS) -> np.ndarray:
    """The prior's log-odds for every row of ``frame``."""
    return _log_odds(packed, design(frame, specs))


def valid_specs(specs: Sequence[str]) -> bool:
    """Whether strings read from a bundle are column specs."""
    for s in specs:
        parts = s.split(":")
        if len(parts) not in (2, 3) or parts[0] not in _TRANSFORMS or (len(parts) == 3) != (parts[0] == "hinge"):
            return False
        if len(parts) == 3:
            try:
                float(parts[2])
            except ValueError:
                return False
    return True


def valid_packed(packed: np.ndarray, k: int = len(LINEAR_PRIOR_COLUMNS)) -> bool:
    """Whether an array read from a bundle is a packed prior of ``k`` columns (or empty: no prior)."""
    return packed.ndim == 1 and packed.dtype.kind == "f" and len(packed) in (0, 3 * k + 1) \
        and bool(np.all(np.isfinite(packed)))
