"""The Gamma-Gamma log-likelihood and its gradient (Fader, Hardie & Lee 2005b, "RFM and CLV")."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

__all__ = ["gg_loglik"]


def gg_loglik(
    params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    x_levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-density of the mean spend m of x transactions, and its gradient w.r.t. (p, q, v).

    Special functions are evaluated once per distinct frequency (``x_levels = np.unique(x,
    return_inverse=True)``) and gathered.
    """
    p, q, v = params
    levels, inverse = x_levels if x_levels is not None else np.unique(x, return_inverse=True)
    pl = p * levels
    lg_l = gammaln(pl + q) - gammaln(pl) - gammaln(q)
    d_pxq_l = digamma(pl + q)
    dp_l = d_pxq_l - digamma(pl)
    dq_l = d_pxq_l - digamma(q)
    px = p * x
    log_total = np.log(x * m + v)
    log_m = np.log(m)
    ll = lg_l[inverse] + q * np.log(v) + (px - 1) * log_m + px * np.log(x) - (px + q) * log_total
    grad = np.empty((3, len(x)))
    grad[0] = x * (dp_l[inverse] + log_m + np.log(x) - log_total)
    grad[1] = dq_l[inverse] + np.log(v) - log_total
    grad[2] = q / v - (px + q) / (x * m + v)
    return ll, grad
