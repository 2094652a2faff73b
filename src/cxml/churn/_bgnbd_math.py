"""The BG/NBD model's mathematics: log-likelihood with gradient, and the closed-form scores.

Plain functions of the parameter tuple ``(r, alpha, a, b)`` and the customer arrays (frequency x,
recency t_x, age T, all in one time unit), so that :class:`~cxml.churn.BGNBDModel`, the hybrid
features of the LightGBM models and the evaluation baselines score customers with one piece of
code (:func:`bgnbd_scores`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1

from cxml.exceptions import ParameterError

__all__ = [
    "BGNBDParams",
    "as_customer_arrays",
    "as_time",
    "bgnbd_loglik",
    "bgnbd_scores",
    "check_customer_arrays",
    "expected_if_alive",
    "expected_purchases",
    "hyp2f1_checked",
    "hyp2f1_series",
    "p_alive",
    "p_no_purchase",
]

BGNBDParams = tuple[float, float, float, float]


def bgnbd_loglik(
    params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    x_levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient w.r.t. (r, alpha, a, b), shape (4, n).

    The special functions depend on the customer only through the integer frequency, which takes
    few distinct values: they are evaluated once per level (``x_levels = np.unique(x,
    return_inverse=True)``, computed here when not given) and gathered.
    """
    r, alpha, a, b = params
    levels, inverse = x_levels if x_levels is not None else np.unique(x, return_inverse=True)
    # B(a, b+x)/B(a, b) and B(a+1, b+x-1)/B(a, b) through gammaln; x == 0 never uses the second
    x1 = np.maximum(levels, 1.0)
    lg_bx1 = gammaln(b + x1 - 1)
    lg_abx = gammaln(a + b + levels)
    base = gammaln(a + b) - gammaln(a) - gammaln(b)
    head_l = gammaln(r + levels) - gammaln(r) + r * np.log(alpha)
    beta1_l = base + gammaln(a) + gammaln(b + levels) - lg_abx
    beta2_l = base + gammaln(a + 1) + lg_bx1 - lg_abx
    d_ab, d_abx = digamma(a + b), digamma(a + b + levels)
    d_r_l = digamma(r + levels) - digamma(r) + np.log(alpha)
    da1_l = d_ab - d_abx
    da2_l = digamma(a + 1) - digamma(a) + d_ab - d_abx
    db1_l = digamma(b + levels) - digamma(b) + d_ab - d_abx
    db2_l = digamma(b + x1 - 1) - digamma(b) + d_ab - d_abx

    repeat = x > 0
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + tx)
    term1 = beta1_l[inverse] - (r + x) * log_aT
    term2 = np.where(repeat, beta2_l[inverse] - (r + x) * log_atx, -np.inf)
    mix = np.logaddexp(term1, term2)
    w1 = np.exp(term1 - mix)
    w2 = 1.0 - w1
    grad = np.empty((4, len(x)))
    grad[0] = d_r_l[inverse] - w1 * log_aT - w2 * log_atx
    grad[1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx))
    grad[2] = w1 * da1_l[inverse] + w2 * da2_l[inverse]
    grad[3] = w1 * db1_l[inverse] + np.where(repeat, w2 * db2_l[inverse], 0.0)
    return head_l[inverse] + mix, grad


def hyp2f1_checked(a: Any, b: Any, c: Any, z: Any) -> np.ndarray:
    """Gauss 2F1 for 0 <= z < 1; scipy's value, with a direct power series where it is not finite."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    out = np.array(hyp2f1(a, b, c, z), dtype=np.float64)
    bad = ~np.isfinite(out)
    if np.any(bad):
        out[bad] = hyp2f1_series(a[bad], b[bad], c[bad], z[bad])
    return out


def hyp2f1_series(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Direct power series; where even it overflows (parameters of a fit that ran off to the edge
    of its range, already reported by a ConvergenceWarning) the value is NaN and callers see a
    non-finite score, quietly rather than with a numpy RuntimeWarning per call."""
    term = np.ones_like(z)
    total = np.ones_like(z)
    with np.errstate(over="ignore", invalid="ignore"):
        for n in range(200_000):
            term = term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z
            total = total + term
            if np.all(~np.isfinite(total) | (np.abs(term) <= 1e-15 * np.abs(total))):
                break
    return np.where(np.isfinite(total), total, np.nan)


def p_alive(params: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive at T | x, t_x, T); 1 for customers without repeat purchases (FHL 2008 note)."""
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.asarray(expit(-np.where(x > 0, log_odds, -np.inf)))


def expected_if_alive(params: BGNBDParams, t: np.ndarray | np.float64, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Expected purchases in (T, T+t] of a customer alive at T, whose posterior is
    Gamma(r + x, alpha + T) x Beta(a, b + x): FHL 2005 eq. (9) with updated parameters.

    Written through Euler's transformation
    ``(1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)``, c = a+b+x-1, whose
    first two parameters stay small: the direct form's 2F1(r+x, b+x; ...) overflows or loses
    precision for large x, the transformed series converges faster the larger x is.
    """
    r, alpha, a, b = params
    # (a+b+x-1)/(a-1) * [1 - ...] is 0/0 at a == 1; the limit is smooth, so step just off it
    if abs(a - 1.0) < 1e-7:
        a = 1.0 + 1e-7
    c = a + b + x - 1
    log1m_z = np.log(alpha + T) - np.log(alpha + T + t)
    z = -np.expm1(log1m_z)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite only for runaway fits (NaN out)
        tail = np.exp((a - 1) * log1m_z) * hyp2f1_checked(a + b - 1 - r, a - 1, c, z)
        return np.asarray(c / (a - 1) * (1.0 - tail))


def expected_purchases(
    params: BGNBDParams, t: np.ndarray | np.float64, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    return np.asarray(expected_if_alive(params, t, x, T) * p_alive(params, x, tx, T))


def p_no_purchase(
    params: BGNBDParams, t: np.ndarray | np.float64, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T) = 1 − P(alive) (1 − ((α+T)/(α+T+t))^(r+x))."""
    r, alpha, _, _ = params
    buys_if_alive = -np.expm1((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return np.asarray(1.0 - p_alive(params, x, tx, T) * buys_if_alive)


def bgnbd_scores(params: BGNBDParams, summary: pd.DataFrame, t: float) -> pd.DataFrame:
    """``expected_purchases``, ``p_alive`` and ``p_no_purchase`` in a window of length ``t`` (in the
    summary's time unit) for every customer of an :func:`~cxml.churn.rfm_summary` (same index)."""
    x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    tt = np.float64(t)
    return pd.DataFrame(
        {
            "expected_purchases": expected_purchases(params, tt, x, tx, T),
            "p_alive": p_alive(params, x, tx, T),
            "p_no_purchase": p_no_purchase(params, tt, x, tx, T),
        },
        index=summary.index,
    )


def as_customer_arrays(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three customer inputs as broadcast float64 arrays, checked."""
    try:
        x, tx, TT = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (frequency, recency, T)))
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"frequency, recency and T must be numbers or arrays of one broadcastable shape: {exc}"
        ) from exc
    check_customer_arrays(x, tx, TT)
    return x, tx, TT


def check_customer_arrays(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    """Refuse negative or non-finite values, a non-integer frequency and ``recency > T``."""
    for name, v in (("frequency", x), ("recency", tx), ("T", T)):
        bad = ~np.isfinite(v) | (v < 0)
        if np.any(bad):
            raise ParameterError(
                f"{name} has {int(bad.sum())} negative or non-finite values "
                f"(first: {v[bad].flat[0]!r}); expected finite numbers >= 0"
            )
    if np.any(tx > T + 1e-9):
        raise ParameterError(f"recency > T for {int(np.sum(tx > T + 1e-9))} customers; expected recency <= T")
    if np.any(np.abs(x - np.round(x)) > 1e-9):
        raise ParameterError("frequency has non-integer values; expected counts of repeat purchase days")


def as_time(t: Any) -> np.ndarray:
    """A window length ``t`` (number or array) as float64, finite and >= 0."""
    try:
        tt = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"t={t!r} must be a number or array of numbers (in the model's time_unit)") from exc
    if np.any(~np.isfinite(tt) | (tt < 0)):
        raise ParameterError(f"t={t!r} must be finite and >= 0 (in the model's time_unit)")
    return tt
