"""The MBG/NBD model (a second purchase model beside BG/NBD) for the churn model's features.

Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", International Journal of Research in Marketing 24(3), 201-209: as
BG/NBD (Fader, Hardie & Lee 2005), purchases follow a Poisson process with rate
``λ ~ Gamma(r, α)`` while the customer is alive, and after each purchase the customer drops out
with probability ``p ~ Beta(a, b)`` — but MBG/NBD lets the customer drop out at time 0 as well,
so a customer without a repeat purchase is not certainly alive (BG/NBD's blind spot). For a
customer with ``x`` repeat purchases, the last at ``t_x``, observed for ``T`` (one time unit):

* likelihood (eq. 3 of the paper; the same form as lifetimes' ``ModifiedBetaGeoFitter``)::

      L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+T)^-(r+x)
          · [1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)]

* ``P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))``;
* conditional expected purchases in ``(T, T+t]`` (eq. 6)::

      E[X(t)] = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
                / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))

* ``P(no purchase in (T, T+t]) = 1 − P(alive) · (1 − ((α+T)/(α+T+t))^(r+x))``: a customer alive
  at ``T`` cannot drop out before their next purchase, so they make none with probability
  ``E[e^(−λt)]`` under the alive posterior ``λ ~ Gamma(r+x, α+T)``;
* unconditional ``E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b+1; a+b; t/(α+t))]``.

On the CDNOW calibration period (2,357 customers, weeks) the maximum-likelihood parameters are
``r=0.525, α=6.183, a=0.891, b=1.614`` (BTYDplus, Platzer; tests/churn/test_mbgnbd.py checks
both them and the unconditional curve). Fitted by the shared bounded L-BFGS-B of
:mod:`cxml.churn._optim` with the analytic gradient below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1

from cxml.churn._bgnbd_math import hyp2f1_checked
from cxml.churn._linear_prior import clipped_logit
from cxml.churn._optim import FitResult, minimize_log_params
from cxml.churn.summary import last_observed_day
from cxml.features._base import Prepared
from cxml.schema import Columns

__all__ = [
    "MBG_COLUMNS",
    "fit_mbgnbd",
    "mbgnbd_expected_new",
    "mbgnbd_loglik",
    "mbgnbd_scores",
    "mbg_frame",
    "prepared_summary",
]

#: Feature columns of the second purchase model (horizon = the churn model's horizon).
MBG_COLUMNS = ("mbg_p_alive", "mbg_p_no_purchase", "mbg_expected_purchases", "mbg_bg_logit_gap")
_START = np.log(np.array([0.5, 5.0, 1.0, 2.0]))


def _weights(x: np.ndarray, tx: np.ndarray, T: np.ndarray, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """``A4 = log(a/(b+x)) + (r+x)·log((α+T)/(α+t_x))``, the log-odds of "dropped out"."""
    return np.asarray(np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))


def mbgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient w.r.t. ``(r, α, a, b)``, shape ``(4, n)``."""
    r, alpha, a, b = (float(v) for v in params)
    a4 = _weights(x, tx, T, r, alpha, a, b)
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
          + gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
          - (r + x) * np.log(alpha + T) + np.logaddexp(0.0, a4))
    s = expit(a4)
    log_ratio = np.log(alpha + T) - np.log(alpha + tx)
    grad = np.empty((4, len(x)))
    grad[0] = digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T) + s * log_ratio
    grad[1] = r / alpha - (r + x) / (alpha + T) + s * (r + x) * (1.0 / (alpha + T) - 1.0 / (alpha + tx))
    common = digamma(a + b) - digamma(a + b + x + 1)
    grad[2] = common + s / a
    grad[3] = common + digamma(b + x + 1) - digamma(b) - s / (b + x)
    return np.asarray(ll), grad


def fit_mbgnbd(x: np.ndarray, tx: np.ndarray, T: np.ndarray, *, tol: float = 1e-7, max_iter: int = 3000) -> FitResult:
    """Maximum-likelihood ``(r, α, a, b)`` on customer arrays (one time unit); ``objective`` is the
    mean negative log-likelihood. Distinct ``(x, t_x, T)`` rows are fitted once with their counts."""
    X = np.column_stack([x, tx, T]).astype(np.float64)
    rows, counts = np.unique(X, axis=0, return_counts=True)
    w = counts / counts.sum()
    xu, txu, Tu = rows[:, 0], rows[:, 1], rows[:, 2]

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = mbgnbd_loglik(params, xu, txu, Tu)
        value = -float(w @ ll)
        g = -(grad @ w) * params  # chain rule to log-parameters
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return 1e10, np.zeros(4)
        return value, g

    starts = [_START, np.log(np.array([0.25, 4.0, 0.8, 2.5]))]
    return minimize_log_params(objective, starts, tol=tol, max_iter=max_iter)


def mbgnbd_scores(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, t: float) -> pd.DataFrame:
    """P(alive), P(no purchase in ``(T, T+t]``) and expected purchases in it, per customer."""
    r, alpha, a, b = (float(v) for v in params)
    with np.errstate(all="ignore"):
        a4 = _weights(x, tx, T, r, alpha, a, b)
        p_alive = expit(-a4)
        survive = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        hyp = hyp2f1_checked(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
        # valid for any a != 1 (with a < 1 both factors are negative; CDNOW's a is 0.891)
        expected = (a + b + x) / (a - 1) * (1.0 - survive * hyp) * p_alive
    return pd.DataFrame({
        "p_alive": p_alive,
        "p_no_purchase": 1.0 - p_alive * (1.0 - survive),
        "expected_purchases": np.where(np.isfinite(expected), expected, np.nan),
    })


def mbgnbd_expected_new(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Expected purchases in ``(0, t]`` of a new customer (the unconditional curve)."""
    r, alpha, a, b = (float(v) for v in params)
    t = np.asarray(t, dtype=np.float64)
    return np.asarray(b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, t / (alpha + t))))


def prepared_summary(p: Prepared, cutoff: pd.Timestamp, unit_days: float = 7.0) -> pd.DataFrame:
    """``frequency, recency, T`` (``unit_days`` units) of the customers with a purchase row before
    ``cutoff``, as :func:`cxml.churn.summary.summary_at` computes them, from prepared arrays."""
    pm = p.is_purchase & (p.ts < cutoff.value)
    c, d = p.cust[pm], p.day[pm].astype(np.int64)
    new_day = np.ones(len(c), dtype=bool)
    new_day[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    day_cust, day_num = c[new_day], d[new_day]
    nc = p.n_customers
    n_days = np.bincount(day_cust, minlength=nc)
    first = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, day_cust, day_num)
    last = np.full(nc, -1, dtype=np.int64)
    np.maximum.at(last, day_cust, day_num)
    exists = n_days > 0
    out = pd.DataFrame({
        "frequency": (n_days[exists] - 1).astype(np.float64),
        "recency": (last[exists] - first[exists]) / unit_days,
        "T": (last_observed_day(cutoff) - first[exists]) / unit_days,
    }, index=p.ids[exists])
    out.index.name = Columns.CUSTOMER
    return out


def mbg_frame(summary: pd.DataFrame, params: np.ndarray | None, horizon_units: float,
              bg_p_no_purchase: np.ndarray | None = None) -> pd.DataFrame:
    """The :data:`MBG_COLUMNS` of the customers of ``summary`` (NaN without ``params``).

    ``mbg_bg_logit_gap`` is ``logit(MBG/NBD P(no purchase)) − logit(BG/NBD P(no purchase))``: where
    the two purchase models disagree (NaN without ``bg_p_no_purchase``)."""
    n = len(summary)
    out = pd.DataFrame({c: np.full(n, np.nan) for c in MBG_COLUMNS}, index=summary.index)
    if params is None or n == 0:
        return out
    x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    scores = mbgnbd_scores(params, x, tx, T, horizon_units)
    out["mbg_p_alive"] = scores["p_alive"].to_numpy()
    out["mbg_p_no_purchase"] = scores["p_no_purchase"].to_numpy()
    out["mbg_expected_purchases"] = scores["expected_purchases"].to_numpy()
    if bg_p_no_purchase is not None:
        out["mbg_bg_logit_gap"] = clipped_logit(out["mbg_p_no_purchase"].to_numpy()) - clipped_logit(bg_p_no_purchase)
    return out
