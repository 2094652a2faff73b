"""A linear prior for the CLTV booster: the BG/NBD × Gamma-Gamma forecast refined by a Tweedie GLM.

Issue 19's direction "a linear prior on log BG/NBD×GG value": instead of boosting from
``log(bg_gg_expected_value)`` alone, boosting starts from

``log mu = log(bg_gg_expected_value) + b0 + sum_j b_j * z_j``

where the ``z_j`` are the standardised transforms of :data:`LINEAR_COLUMNS` (the log BG/NBD × GG
value itself, so its slope may differ from 1, and log1p of purchase days, total spend, mean order
value, recency and the last 90 days' spend). The coefficients maximise the Tweedie likelihood
(log link, the model's variance power, a small L2 penalty) of the booster's own training rows
(older snapshots plus the non-held-out customers of the latest one), so no held-out or future
label shapes them. Each transformed column is clipped to its training range before use: a linear
model must not extrapolate a cumulative count (purchase days, total spend) far beyond the
histories it was fitted on. A missing value sits at the training mean; a missing BG/NBD × GG value
at the training mean of its log.

The fitted prior is one float array: ``[lows (k), highs (k), means (k), scales (k), offset fill,
intercept, coefficients (k)]``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({c: rng.gamma(2.0, 10.0, 500) for c in LINEAR_COLUMNS})
>>> y = frame["bg_gg_expected_value"].to_numpy() * rng.gamma(1.0, 1.0, 500)
>>> packed = fit_cltv_prior(frame, y, power=1.3)
>>> cltv_prior(packed, frame).shape, valid_packed(packed)
((500,), True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from cxml.churn._linear_prior import design, standardisation

__all__ = ["LINEAR_COLUMNS", "choose_cltv_prior", "cltv_prior", "fit_cltv_prior", "valid_packed"]

#: The columns of the linear correction (the first is also the offset).
LINEAR_COLUMNS = ("bg_gg_expected_value", "n_purchase_days", "spend_total", "order_value_mean",
                  "recency_days", "spend_90d")
_K = len(LINEAR_COLUMNS)
#: L2 penalty on the standardised coefficients (not on the intercept).
_ALPHA = 1e-3
_FLOOR = 1e-3  # a BG/NBD x GG value is > 0 by construction; the floor only guards log(0)


def _offset(frame: pd.DataFrame) -> np.ndarray:
    return np.log(np.maximum(frame[LINEAR_COLUMNS[0]].to_numpy(dtype=np.float64), _FLOOR))


def _design(frame: pd.DataFrame) -> np.ndarray:
    """The log BG/NBD × GG value, then log1p of the other columns (NaN where a value is missing)."""
    return np.column_stack([_offset(frame), design(frame, [f"log1p:{c}" for c in LINEAR_COLUMNS[1:]])])


def _standardised(Z: np.ndarray, packed: np.ndarray) -> np.ndarray:
    low, high, mean, scale = (packed[i * _K:(i + 1) * _K] for i in range(4))
    with np.errstate(invalid="ignore"):
        out = (np.clip(Z, low, high) - mean) / scale
    return np.where(np.isfinite(out), out, 0.0)


def _tweedie(y: np.ndarray, eta: np.ndarray, power: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean negative Tweedie log-likelihood (up to terms free of the mean) of ``y`` at ``exp(eta)``,
    and the two powers of the mean it is made of (``mu**(1-p)``, ``mu**(2-p)``; the gradient's too)."""
    eta = np.clip(eta, -30.0, 30.0)
    mu1, mu2 = np.exp((1.0 - power) * eta), np.exp((2.0 - power) * eta)
    return float(np.mean(-y * mu1 / (1.0 - power) + mu2 / (2.0 - power))), mu1, mu2


def _tweedie_loss(y: np.ndarray, eta: np.ndarray, power: float) -> float:
    return _tweedie(y, eta, power)[0]


def _tweedie_fit(X: np.ndarray, y: np.ndarray, offset: np.ndarray, power: float) -> np.ndarray:
    """Intercept and coefficients maximising the Tweedie likelihood of ``y`` under
    ``exp(offset + b0 + X b)`` with an L2 penalty on ``b`` (L-BFGS)."""
    n = len(y)
    A = np.column_stack([np.ones(n), X])

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        value, mu1, mu2 = _tweedie(y, offset + A @ b, power)
        value += 0.5 * _ALPHA * b[1:] @ b[1:]
        grad = A.T @ (mu2 - y * mu1) / n
        grad[1:] += _ALPHA * b[1:]
        return float(value), grad

    start = np.zeros(A.shape[1])
    start[0] = np.log(max(float(y.mean()), 1e-9)) - np.log(float(np.mean(np.exp(offset))))
    return np.asarray(minimize(loss, start, jac=True, method="L-BFGS-B").x, dtype=np.float64)


def fit_cltv_prior(frame: pd.DataFrame, y: np.ndarray, *, power: float) -> np.ndarray | None:
    """The packed prior fitted on ``frame``'s rows and their values ``y``, or None when it cannot be
    fitted (a column absent, no BG/NBD × GG value, or no spend)."""
    if any(c not in frame.columns for c in LINEAR_COLUMNS) or not np.sum(y) > 0:
        return None
    Z = _design(frame)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    if np.isnan(Z[:, 0]).all():
        return None
    with np.errstate(invalid="ignore"):
        low, high = np.nan_to_num(np.nanmin(Z, axis=0)), np.nan_to_num(np.nanmax(Z, axis=0))
    mean, scale = standardisation(Z)
    fill = float(mean[0])
    head = np.concatenate([low, high, mean, scale, [fill]])
    offset = np.where(np.isnan(Z[:, 0]), fill, Z[:, 0])
    coef = _tweedie_fit(_standardised(Z, head), np.asarray(y, dtype=np.float64), offset, float(power))
    return np.concatenate([head, coef]).astype(np.float64)


def choose_cltv_prior(
    frame: pd.DataFrame, y: np.ndarray, cutoffs: np.ndarray, *, power: float
) -> tuple[np.ndarray | None, dict[str, float]]:
    """The linear prior fitted on every row when it wins out of time, else None (the BG/NBD × GG prior).

    Out of time: both priors are fitted on the rows of the older snapshots only — the linear one by
    :func:`fit_cltv_prior`, the BG/NBD × GG value with a fitted level — and compared by their Tweedie
    loss on the rows of the latest snapshot in ``frame``. A linear model can drift where the feature
    distribution moves between snapshots (a young shop whose histories lengthen with every cutoff);
    this check is what such a drift fails. With one snapshot there is nothing to check out of time,
    and the BG/NBD × GG prior is kept. Returns the prior and the two losses (NaN when not compared).
    """
    y = np.asarray(y, dtype=np.float64)
    newer = cutoffs == cutoffs.max() if len(cutoffs) else np.zeros(0, dtype=bool)
    losses = {"linear": float("nan"), "bgnbd": float("nan")}
    old = fit_cltv_prior(frame.loc[~newer], y[~newer], power=power) if (~newer).any() else None
    if old is None or not newer.any():
        return None, losses
    offset = _offset(frame)
    known = np.isfinite(offset)
    fill = float(offset[known & ~newer].mean()) if (known & ~newer).any() else 0.0
    offset = np.where(known, offset, fill)
    level = _tweedie_fit(np.zeros((int((~newer).sum()), 0)), y[~newer], offset[~newer], power)[0]
    losses = {"linear": _tweedie_loss(y[newer], cltv_prior(old, frame.loc[newer]), power),
              "bgnbd": _tweedie_loss(y[newer], offset[newer] + level, power)}
    if not losses["linear"] < losses["bgnbd"]:
        return None, losses
    return fit_cltv_prior(frame, y, power=power), losses


def cltv_prior(packed: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """The prior's log value for every row of ``frame``."""
    Z = _design(frame)
    fill, intercept, coef = packed[4 * _K], packed[4 * _K + 1], packed[4 * _K + 2:]
    offset = np.where(np.isfinite(Z[:, 0]), Z[:, 0], fill)
    return np.asarray(offset + intercept + _standardised(Z, packed) @ coef, dtype=np.float64)


def valid_packed(packed: object) -> bool:
    """Whether a value read from a bundle is a packed prior."""
    arr = np.asarray(packed) if isinstance(packed, list | np.ndarray) else None
    return arr is not None and arr.ndim == 1 and arr.dtype.kind in "fi" and len(arr) == 5 * _K + 2 \
        and bool(np.all(np.isfinite(arr)))
