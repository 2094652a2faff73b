"""The linear prior of the churn booster: BG/NBD's forecast refined by a logistic regression.

With ``ChurnModel(linear_prior=True)`` (the default) boosting starts from a logistic regression on
four transformed columns instead of from the BG/NBD logit alone: ``logit(bg_p_no_purchase)``,
``log1p(recency_days)``, ``log1p(n_purchase_days)``, ``log1p(tenure_days)``. It is fitted on the
booster's own training rows (the older snapshots and the non-held-out customers of the latest
one), so it sees no held-out or future label. On small shops (CDNOW: 2,357 customers) trees learn
few corrections that survive early stopping, and a four-coefficient model is what the data can
support: it corrects BG/NBD where its parametric shape misses (the backtest in
``benchmarks/results/churn_directions.json``). Columns are standardised with the training
mean/std; a missing value (no BG/NBD fit at a cutoff) sits at the mean.

The fitted prior is one float array: ``[means (4), scales (4), coefficients (4), intercept]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

__all__ = ["LINEAR_PRIOR_COLUMNS", "fit_linear_prior", "linear_prior", "valid_packed"]

LINEAR_PRIOR_COLUMNS = ("bg_p_no_purchase", "recency_days", "n_purchase_days", "tenure_days")
_K = len(LINEAR_PRIOR_COLUMNS)


def _design(frame: pd.DataFrame) -> np.ndarray:
    """The transformed columns (NaN where a value is missing)."""
    p = np.clip(frame[LINEAR_PRIOR_COLUMNS[0]].to_numpy(dtype=np.float64), 1e-6, 1 - 1e-6)
    cols = [np.log(p) - np.log1p(-p)]
    for name in LINEAR_PRIOR_COLUMNS[1:]:
        cols.append(np.log1p(np.maximum(frame[name].to_numpy(dtype=np.float64), 0.0)))
    return np.column_stack(cols)


def _standardised(Z: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    out = (Z - mean) / scale
    return np.where(np.isfinite(out), out, 0.0)


def fit_linear_prior(frame: pd.DataFrame, y: np.ndarray) -> np.ndarray | None:
    """The packed logistic regression of ``y`` on the prior columns, or None when it cannot be fitted
    (a column absent, or one class only)."""
    if any(c not in frame.columns for c in LINEAR_PRIOR_COLUMNS) or len(np.unique(y)) < 2:
        return None
    Z = _design(frame)
    with np.errstate(invalid="ignore"):
        mean = np.nan_to_num(np.nanmean(np.where(np.isfinite(Z), Z, np.nan), axis=0))
        scale = np.nan_to_num(np.nanstd(np.where(np.isfinite(Z), Z, np.nan), axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(_standardised(Z, mean, scale), y.astype(int))
    return np.concatenate([mean, scale, lr.coef_[0], lr.intercept_]).astype(np.float64)


def linear_prior(packed: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """The prior's log-odds for every row of ``frame``."""
    mean, scale, coef, intercept = packed[:_K], packed[_K:2 * _K], packed[2 * _K:3 * _K], packed[3 * _K]
    return np.asarray(_standardised(_design(frame), mean, scale) @ coef + intercept, dtype=np.float64)


def valid_packed(packed: np.ndarray) -> bool:
    """Whether an array read from a bundle is a packed prior (or empty: no prior)."""
    return packed.ndim == 1 and packed.dtype.kind == "f" and len(packed) in (0, 3 * _K + 1) \
        and bool(np.all(np.isfinite(packed)))
