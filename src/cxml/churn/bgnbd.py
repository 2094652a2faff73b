"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Purchases of an alive customer follow a Poisson process with rate λ ~ Gamma(r, α); after every
purchase the customer drops out with probability p ~ Beta(a, b). Fitted by maximum likelihood on the
:func:`~cxml.churn.rfm_summary` statistics (frequency x, recency t_x, age T), in log space with
L-BFGS-B on log-parameters, an analytic gradient and a convergence check that is reported
(``converged_``, :class:`cxml.ConvergenceWarning`) instead of being silent.

Examples
--------
>>> import numpy as np
>>> from cxml.churn import BGNBDModel
>>> bg = BGNBDModel().set_fitted_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
>>> float(np.round(bg.p_alive(frequency=2, recency=30.43, T=38.86), 3))
0.727
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from cxml.churn._optim import minimize_log_params, report_convergence
from cxml.churn.summary import rfm_summary, time_unit_days
from cxml.exceptions import (
    InsufficientDataError,
    NotFittedError,
    SchemaError,
)
from cxml.schema import Columns, parse_horizon, validate_events

__all__ = ["BGNBDModel"]

_PARAMS = ("r", "alpha", "a", "b")
def _bgnbd_loglik(
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


def _hyp2f1(a: Any, b: Any, c: Any, z: Any) -> np.ndarray:
    """Gauss 2F1 for 0 <= z < 1; scipy's value, with a direct power series where it is not finite."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    out = np.array(hyp2f1(a, b, c, z), dtype=np.float64)
    bad = ~np.isfinite(out)
    if np.any(bad):
        out[bad] = _hyp2f1_series(a[bad], b[bad], c[bad], z[bad])
    return out


def _hyp2f1_series(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
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


class BGNBDModel(BaseEstimator):
    """Beta-geometric/NBD model of repeat purchasing and customer dropout.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (r, alpha, a, b) added to the mean negative log-likelihood,
        as in lifetimes; ``0`` is plain maximum likelihood.
    time_unit
        Unit of recency/T and of every time argument (``"W"`` weeks, ``"D"`` days, ``"30D"`` ...).
    tol
        Gradient tolerance of the optimiser; the fit counts as converged when the optimiser reports
        success and the largest gradient component of the mean objective is below ``1000 * tol``.
    max_iter
        Iteration limit of each L-BFGS-B run.
    strict
        Raise :class:`cxml.ConvergenceError` instead of warning when the fit does not converge.
    random_state
        Seed of the jittered second start of the optimiser.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``.
    log_likelihood_ : float
        Total (unpenalized) log-likelihood at ``params_``.
    converged_ : bool
        Whether the optimiser converged (see ``tol``); ``gradient_norm_`` and ``n_iter_`` tell more.
    n_customers_ : int
    summary_ : pandas.DataFrame
        The :func:`rfm_summary` the model was fitted on.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b", "c"],
    ...     "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-05", "2024-03-20",
    ...                   "2024-02-10"]}))
    >>> bg = BGNBDModel().set_fitted_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    >>> bg.predict(ev, as_of="2024-04-01", horizon="90D").columns.tolist()
    ['customer_id', 'expected_purchases', 'p_alive', 'p_no_purchase']
    """

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        time_unit: str = "W",
        tol: float = 1e-7,
        max_iter: int = 2000,
        strict: bool = False,
        random_state: int | None = 0,
    ) -> None:
        self.penalizer = penalizer
        self.time_unit = time_unit
        self.tol = tol
        self.max_iter = max_iter
        self.strict = strict
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, events: pd.DataFrame, as_of: Any) -> BGNBDModel:
        """Fit on the summary of the purchases before ``as_of``.

        Parameters
        ----------
        events
            Canonical events table (:func:`cxml.load_events`); only its purchase rows count.
        as_of
            Date-like cutoff; only events with ``timestamp < as_of`` are used. The
            :func:`~cxml.churn.rfm_summary` (frequency, recency, T) is computed at this date in
            ``time_unit``.

        Returns
        -------
        BGNBDModel
            ``self``, with ``params_``, ``log_likelihood_``, ``converged_``, ``n_iter_``,
            ``gradient_norm_``, ``n_customers_`` and ``summary_`` set.

        Raises
        ------
        SchemaError
            When ``events`` is not a canonical events table, ``as_of`` is not a date or
            ``time_unit`` is not a positive fixed duration.
        ValueError
            When ``penalizer``, ``tol`` or ``max_iter`` is out of range.
        InsufficientDataError
            When fewer than 2 customers exist at ``as_of`` or none has a repeat purchase.
        ConvergenceError
            When the fit does not converge and ``strict=True``.

        Warns
        -----
        ConvergenceWarning
            When the fit does not converge and ``strict=False`` (the parameters are still set).
        """
        validate_events(events)
        return self.fit_summary(rfm_summary(events, as_of, time_unit=self.time_unit, monetary=False))

    def fit_summary(self, summary: pd.DataFrame) -> BGNBDModel:
        """Fit on a summary frame with columns ``frequency, recency, T`` (in ``time_unit``)."""
        self._validate_settings()
        for col in ("frequency", "recency", "T"):
            if col not in summary.columns:
                raise SchemaError(f"summary has no column {col!r}; expected rfm_summary output")
        x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
        _check_summary_arrays(x, tx, T)
        if len(x) < 2 or not np.any(x > 0):
            raise InsufficientDataError(
                f"BG/NBD needs customers with repeat purchases; got {len(x)} customers, "
                f"{int(np.sum(x > 0))} with frequency > 0"
            )
        # day-level summaries repeat a lot: the likelihood is evaluated once per distinct row
        rows, weights = np.unique(np.column_stack([x, tx, T]), axis=0, return_counts=True)
        ux, utx, uT = rows.T
        levels = np.unique(ux, return_inverse=True)
        w = weights / weights.sum()
        penalizer = float(self.penalizer)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            ll, grad = _bgnbd_loglik(params, ux, utx, uT, levels)
            # elementwise sums, not BLAS: a tiny gemv can stall on a busy machine's thread pool
            value = -float(np.sum(w * ll)) + penalizer * float(np.sum(params**2))
            g = -np.sum(grad * w, axis=1) * params + 2 * penalizer * params**2
            return value, g

        # informed start: alpha on the scale of the observation period, so the time unit does not matter
        x0 = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
        jitter = np.random.default_rng(self.random_state).normal(0.0, 0.5, size=4)
        fit = minimize_log_params(objective, [x0, x0 + jitter], tol=self.tol, max_iter=self.max_iter)
        self.params_ = dict(zip(_PARAMS, (float(v) for v in fit.params), strict=True))
        ll, _ = _bgnbd_loglik(fit.params, ux, utx, uT, levels)
        self.log_likelihood_ = float(np.sum(weights * ll))
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter
        self.gradient_norm_ = fit.gradient_norm
        self.n_customers_ = len(x)
        self.summary_ = summary
        report_convergence(fit, "BGNBDModel", self.strict, self.params_)
        return self

    def set_fitted_params(self, *, r: float, alpha: float, a: float, b: float) -> BGNBDModel:
        """Use known parameters (e.g. published ones) instead of fitting; returns ``self``.

        Attributes of an earlier fit (log-likelihood, convergence, summary) are removed.

        Parameters
        ----------
        r
            Shape of the Gamma distribution of the purchase rate λ across customers.
        alpha
            Rate of that Gamma distribution, in the model's ``time_unit`` (λ counts purchases per
            ``time_unit``): parameters published in weeks, such as CDNOW's, need ``time_unit="W"``.
        a
            First shape parameter of the Beta distribution of the dropout probability p.
        b
            Second shape parameter of that Beta distribution.

        Returns
        -------
        BGNBDModel
            ``self``, with ``params_`` set to these values (as floats) and no other fitted attribute.

        Raises
        ------
        ValueError
            When a parameter is not a positive finite number.
        """
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
        values = {"r": r, "alpha": alpha, "a": a, "b": b}
        for name, v in values.items():
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name}={v!r} must be a positive finite number")
        self.params_ = {k: float(v) for k, v in values.items()}
        return self

    def _validate_settings(self) -> None:
        time_unit_days(self.time_unit)
        if not np.isfinite(self.penalizer) or self.penalizer < 0:
            raise ValueError(f"penalizer={self.penalizer!r} must be a finite number >= 0")
        if not self.tol > 0:
            raise ValueError(f"tol={self.tol!r} must be > 0")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter={self.max_iter!r} must be a positive integer")

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("this BGNBDModel is not fitted yet; call fit(events, as_of=...) first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    # ------------------------------------------------------------------ predictions
    def predict(self, events: pd.DataFrame, as_of: Any, horizon: Any) -> pd.DataFrame:
        """Expected purchases, P(alive) and P(no purchase) in ``[as_of, as_of + horizon)``.

        Returns one row per customer existing at ``as_of``:
        ``DataFrame[customer_id, expected_purchases, p_alive, p_no_purchase]``.

        Parameters
        ----------
        events
            Canonical events table (:func:`cxml.load_events`); only purchase rows before ``as_of``
            are used, summarised with :func:`~cxml.churn.rfm_summary` in the model's ``time_unit``.
        as_of
            Date-like prediction date; the customer's observation period ends the day before it.
        horizon
            Duration of the prediction window (e.g. ``"90D"``, a :class:`pandas.Timedelta`); it is
            converted to the model's ``time_unit`` before it is passed on as ``t``.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``, sorted by ``customer_id`` (str):
            ``expected_purchases`` (:meth:`expected_purchases`), ``p_alive`` (:meth:`p_alive`: the
            probability that the customer has not dropped out by ``as_of``) and ``p_no_purchase``
            (:meth:`p_no_purchase`: the probability of no purchase in the window), all float64.

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        SchemaError
            When ``events`` is not a canonical events table, ``as_of`` is not a date or ``horizon``
            is not a positive duration.
        """
        self._params()
        validate_events(events)
        summary = rfm_summary(events, as_of, time_unit=self.time_unit, monetary=False)
        t = parse_horizon(horizon) / pd.Timedelta(days=time_unit_days(self.time_unit))
        x, tx, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
        return pd.DataFrame(
            {
                Columns.CUSTOMER: summary.index.to_numpy(),
                "expected_purchases": self.expected_purchases(t, x, tx, T),
                "p_alive": self.p_alive(x, tx, T),
                "p_no_purchase": self.p_no_purchase(t, x, tx, T),
            }
        ).astype({Columns.CUSTOMER: "str"})

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters.

        The three inputs (scalars or arrays) are broadcast together; the result has their shape.

        Parameters
        ----------
        frequency
            Repeat purchase counts x (integers >= 0, as in :func:`~cxml.churn.rfm_summary`).
        recency
            Time t_x from the first to the last purchase, in the model's ``time_unit`` (weeks with
            the default ``"W"``).
        T
            Time from the first purchase to the end of the observation period (in
            :func:`~cxml.churn.rfm_summary`, the day before ``as_of``), in the model's ``time_unit``
            (weeks with the default ``"W"``); ``recency <= T``.

        Returns
        -------
        numpy.ndarray
            float64 log-likelihood of each customer's (x, t_x, T), without the penalty.

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        ValueError
            When a value is negative or not finite, ``frequency`` is not an integer, or
            ``recency > T``.
        """
        x, tx, TT = _as_arrays(frequency, recency, T)
        ll, _ = _bgnbd_loglik(np.array(self._params()), x.ravel(), tx.ravel(), TT.ravel())
        return np.asarray(ll).reshape(x.shape)

    def _log_alive_odds(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log P(dead at T) − log P(alive at T); −inf for customers without repeat purchases."""
        r, alpha, a, b = self._params()
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.where(x > 0, odds, -np.inf)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2008 note "Computing P(alive) using the
        BG/NBD model"); 1 for customers with no repeat purchase.

        "Alive" means the customer has not dropped out by the end of the observation period T (in
        :meth:`predict`, the day before ``as_of``); it says nothing about buying again soon, for
        which see :meth:`p_no_purchase`.

        Parameters
        ----------
        frequency
            Repeat purchase counts x (integers >= 0, as in :func:`~cxml.churn.rfm_summary`).
        recency
            Time t_x from the first to the last purchase, in the model's ``time_unit`` (weeks with
            the default ``"W"``).
        T
            Time from the first purchase to the end of the observation period (in
            :func:`~cxml.churn.rfm_summary`, the day before ``as_of``), in the model's ``time_unit``
            (weeks with the default ``"W"``); ``recency <= T``.

        Returns
        -------
        numpy.ndarray
            float64 probabilities in [0, 1], of the broadcast shape of the inputs (0-d for scalars).

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        ValueError
            When a value is negative or not finite, ``frequency`` is not an integer, or
            ``recency > T``.
        """
        x, tx, TT = _as_arrays(frequency, recency, T)
        return np.asarray(expit(-self._log_alive_odds(x, tx, TT)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

        Purchases are counted as the model counts them: purchase days, like ``frequency``.

        Parameters
        ----------
        t
            Length of the forecast window after T, in the model's ``time_unit`` (weeks with the
            default ``"W"``: ``t=13`` is 13 weeks; ``pandas.Timedelta("90D") / pandas.Timedelta(weeks=1)``
            converts a duration). A number or array >= 0, broadcast against the customer arrays.
        frequency
            Repeat purchase counts x (integers >= 0, as in :func:`~cxml.churn.rfm_summary`).
        recency
            Time t_x from the first to the last purchase, in the model's ``time_unit`` (weeks with
            the default ``"W"``).
        T
            Time from the first purchase to the end of the observation period (in
            :func:`~cxml.churn.rfm_summary`, the day before ``as_of``), in the model's ``time_unit``
            (weeks with the default ``"W"``); ``recency <= T``.

        Returns
        -------
        numpy.ndarray
            float64 expected counts >= 0, of the broadcast shape of ``t`` and the customer arrays
            (a numpy float for scalar inputs).

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        ValueError
            When ``t`` or a customer value is negative or not finite, ``frequency`` is not an
            integer, or ``recency > T``.
        """
        x, tx, TT = _as_arrays(frequency, recency, T)
        tt = _as_time(t)
        return np.asarray(self._expected_if_alive(tt, x, TT) * self.p_alive(x, tx, TT))

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """Unconditional E[X(t)] for a customer observed from time 0 (FHL 2005, eq. 9)."""
        tt = _as_time(t)
        zero = np.zeros_like(tt)
        return self._expected_if_alive(tt, zero, zero)

    def _expected_if_alive(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Expected purchases in (T, T+t] of a customer alive at T, whose posterior is
        Gamma(r + x, alpha + T) x Beta(a, b + x): eq. (9) with updated parameters.

        Written through Euler's transformation
        ``(1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)``, c = a+b+x-1, whose
        first two parameters stay small: the direct form's 2F1(r+x, b+x; ...) overflows or loses
        precision for large x, the transformed series converges faster the larger x is.
        """
        r, alpha, a, b = self._params()
        # (a+b+x-1)/(a-1) * [1 - ...] is 0/0 at a == 1; the limit is smooth, so step just off it
        if abs(a - 1.0) < 1e-7:
            a = 1.0 + 1e-7
        c = a + b + x - 1
        log1m_z = np.log(alpha + T) - np.log(alpha + T + t)
        z = -np.expm1(log1m_z)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite only for runaway fits (NaN out)
            tail = np.exp((a - 1) * log1m_z) * _hyp2f1(a + b - 1 - r, a - 1, c, z)
            return np.asarray(c / (a - 1) * (1.0 - tail))

    def p_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T), in closed form (exact, not an approximation).

        A BG/NBD customer can only drop out right after a purchase, so a customer alive at T makes
        no purchase in the next t exactly when the Poisson clock does not tick: E[exp(-λt)] under
        the alive-customer posterior λ ~ Gamma(r + x, alpha + T). Hence
        ``P = 1 - P(alive) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``.

        It is the probability that the customer makes no purchase at all in the next ``t``, either
        because they have dropped out or because an alive customer happens not to buy: the
        model's churn probability for a window of length ``t``.

        Parameters
        ----------
        t
            Length of the window after T, in the model's ``time_unit`` (weeks with the default
            ``"W"``); a number or array >= 0, broadcast against the customer arrays.
        frequency
            Repeat purchase counts x (integers >= 0, as in :func:`~cxml.churn.rfm_summary`).
        recency
            Time t_x from the first to the last purchase, in the model's ``time_unit`` (weeks with
            the default ``"W"``).
        T
            Time from the first purchase to the end of the observation period (in
            :func:`~cxml.churn.rfm_summary`, the day before ``as_of``), in the model's ``time_unit``
            (weeks with the default ``"W"``); ``recency <= T``.

        Returns
        -------
        numpy.ndarray
            float64 probabilities in [0, 1], of the broadcast shape of ``t`` and the customer
            arrays (0-d for scalars).

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        ValueError
            When ``t`` or a customer value is negative or not finite, ``frequency`` is not an
            integer, or ``recency > T``.
        """
        x, tx, TT = _as_arrays(frequency, recency, T)
        tt = _as_time(t)
        r, alpha, _, _ = self._params()
        buys_if_alive = -np.expm1((r + x) * (np.log(alpha + TT) - np.log(alpha + TT + tt)))
        return np.asarray(1.0 - self.p_alive(x, tx, TT) * buys_if_alive)


def _as_arrays(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, tx, TT = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    )
    _check_summary_arrays(x, tx, TT)
    return x, tx, TT


def _check_summary_arrays(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    for name, v in (("frequency", x), ("recency", tx), ("T", T)):
        bad = ~np.isfinite(v) | (v < 0)
        if np.any(bad):
            raise ValueError(
                f"{name} has {int(bad.sum())} negative or non-finite values "
                f"(first: {v[bad].flat[0]!r}); expected finite numbers >= 0"
            )
    if np.any(tx > T + 1e-9):
        raise ValueError(f"recency > T for {int(np.sum(tx > T + 1e-9))} customers; expected recency <= T")
    if np.any(np.abs(x - np.round(x)) > 1e-9):
        raise ValueError("frequency has non-integer values; expected counts of repeat purchase days")


def _as_time(t: Any) -> np.ndarray:
    tt = np.asarray(t, dtype=np.float64)
    if np.any(~np.isfinite(tt) | (tt < 0)):
        raise ValueError(f"t={t!r} must be finite and >= 0 (in the model's time_unit)")
    return tt
