"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b, "RFM and CLV").

The value of each repeat transaction of a customer is Gamma(p, ν) with ν ~ Gamma(q, v) across
customers, independent of the purchase process; the model is fitted on the repeat buyers'
(frequency x, mean repeat-day spend m_x) from :func:`~cxml.churn.rfm_summary`.
Together with a fitted :class:`~cxml.churn.BGNBDModel` it gives a CLTV = expected purchases ×
expected value per purchase.

Examples
--------
>>> from cxml.churn import GammaGammaModel
>>> gg = GammaGammaModel().set_fitted_params(p=6.25, q=3.74, v=15.44)
>>> float(gg.conditional_expected_average_profit(frequency=2, monetary_value=22.35).round(2))
24.66
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator

from cxml.churn._optim import minimize_log_params, report_convergence
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.summary import rfm_summary, time_unit_days
from cxml.exceptions import DataWarning, InsufficientDataError, NotFittedError, SchemaError
from cxml.schema import Columns, parse_horizon, validate_events

__all__ = ["GammaGammaModel"]

_PARAMS = ("p", "q", "v")


def _gg_loglik(
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


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend model fitted on repeat buyers.

    Parameters
    ----------
    penalizer
        L2 penalty on (p, q, v) added to the mean negative log-likelihood, as in lifetimes.
    time_unit
        Time unit of the summary it computes (only matters for consistency with a BG/NBD model).
    tol, max_iter, strict, random_state
        As in :class:`~cxml.churn.BGNBDModel`.

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "v"}``.
    log_likelihood_ : float
        Total (unpenalized) log-likelihood over the repeat buyers.
    converged_ : bool
    n_customers_ : int
        Repeat buyers used in the fit.
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

    def fit(self, events: pd.DataFrame, as_of: Any) -> GammaGammaModel:
        """Fit on the repeat buyers existing at ``as_of`` (customers with ``frequency > 0``).

        Parameters
        ----------
        events
            Canonical events table (:func:`cxml.load_events`); the spend comes from the ``amount``
            of its purchase rows (see :func:`~cxml.churn.rfm_summary` for ``monetary_value``).
        as_of
            Date-like cutoff; only events with ``timestamp < as_of`` are used.

        Returns
        -------
        GammaGammaModel
            ``self``, with ``params_``, ``log_likelihood_``, ``converged_``, ``n_iter_``,
            ``gradient_norm_`` and ``n_customers_`` set.

        Raises
        ------
        SchemaError
            When ``events`` is not a canonical events table, ``as_of`` is not a date or
            ``time_unit`` is not a positive fixed duration.
        ValueError
            When ``penalizer`` is negative or not finite.
        InsufficientDataError
            When fewer than 2 repeat buyers with a positive ``monetary_value`` exist at ``as_of``.
        ConvergenceError
            When the fit does not converge and ``strict=True``.

        Warns
        -----
        DataWarning
            When repeat buyers with a missing or non-positive ``monetary_value`` are left out.
        ConvergenceWarning
            When the fit does not converge and ``strict=False`` (the parameters are still set).
        """
        validate_events(events)
        return self.fit_summary(rfm_summary(events, as_of, time_unit=self.time_unit))

    def fit_summary(self, summary: pd.DataFrame) -> GammaGammaModel:
        """Fit on a summary frame with ``frequency`` and ``monetary_value`` columns.

        Customers with ``frequency == 0`` carry no repeat spend and are not used (by definition,
        not counted as dropped). Repeat buyers whose ``monetary_value`` is missing or ``<= 0`` cannot
        enter a Gamma likelihood; they are left out and counted in a :class:`cxml.DataWarning`.
        """
        time_unit_days(self.time_unit)
        if not np.isfinite(self.penalizer) or self.penalizer < 0:
            raise ValueError(f"penalizer={self.penalizer!r} must be a finite number >= 0")
        for col in ("frequency", "monetary_value"):
            if col not in summary.columns:
                raise SchemaError(f"summary has no column {col!r}; expected rfm_summary output")
        x = summary["frequency"].to_numpy(dtype=np.float64)
        m = summary["monetary_value"].to_numpy(dtype=np.float64, na_value=np.nan)
        repeat = x > 0
        usable = repeat & np.isfinite(m) & (m > 0)
        n_left_out = int(repeat.sum() - usable.sum())
        if n_left_out:
            warnings.warn(
                f"GammaGammaModel: {n_left_out} of {int(repeat.sum())} repeat buyers have a missing or "
                "non-positive monetary_value and are left out of the fit",
                DataWarning,
                stacklevel=2,
            )
        if usable.sum() < 2:
            raise InsufficientDataError(
                f"Gamma-Gamma needs at least 2 repeat buyers with positive spend; got {int(usable.sum())}"
            )
        xs, ms = x[usable], m[usable]
        n = len(xs)
        levels = np.unique(xs, return_inverse=True)
        penalizer = float(self.penalizer)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            ll, grad = _gg_loglik(params, xs, ms, levels)
            value = -float(ll.sum()) / n + penalizer * float(np.sum(params**2))
            return value, -grad.sum(axis=1) / n * params + 2 * penalizer * params**2

        # informed start: with p=1, q=2 the prior mean spend p*v/(q-1) is v, set to the observed mean
        x0 = np.log([1.0, 2.0, float(np.mean(ms))])
        jitter = np.random.default_rng(self.random_state).normal(0.0, 0.5, size=3)
        fit = minimize_log_params(objective, [x0, x0 + jitter], tol=self.tol, max_iter=self.max_iter)
        self.params_ = dict(zip(_PARAMS, (float(v) for v in fit.params), strict=True))
        self.log_likelihood_ = float(_gg_loglik(fit.params, xs, ms, levels)[0].sum())
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter
        self.gradient_norm_ = fit.gradient_norm
        self.n_customers_ = n
        report_convergence(fit, "GammaGammaModel", self.strict, self.params_)
        return self

    def set_fitted_params(self, *, p: float, q: float, v: float) -> GammaGammaModel:
        """Use known parameters (e.g. published ones) instead of fitting; returns ``self``.

        Attributes of an earlier fit (log-likelihood, convergence, summary) are removed.

        Parameters
        ----------
        p
            Shape of the Gamma distribution of each transaction's value, Gamma(p, ν).
        q
            Shape of the Gamma distribution of ν across customers; the mean spend is finite only
            for ``q > 1`` (:meth:`conditional_expected_average_profit` needs it).
        v
            Rate of that Gamma distribution of ν, in the currency of ``amount``: the population
            mean spend per transaction is ``p * v / (q - 1)``.

        Returns
        -------
        GammaGammaModel
            ``self``, with ``params_`` set to these values (as floats) and no other fitted attribute.

        Raises
        ------
        ValueError
            When a parameter is not a positive finite number.
        """
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
        values = {"p": p, "q": q, "v": v}
        for name, val in values.items():
            if not np.isfinite(val) or val <= 0:
                raise ValueError(f"{name}={val!r} must be a positive finite number")
        self.params_ = {k: float(val) for k, val in values.items()}
        return self

    def _params(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("this GammaGammaModel is not fitted yet; call fit(events, as_of=...) first")
        return self.params_["p"], self.params_["q"], self.params_["v"]

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """E[spend per transaction | x, m_x] = p (v + x m_x) / (p x + q - 1).

        A weighted average of the population mean p v / (q - 1) and the customer's own mean m_x;
        customers with ``frequency == 0`` (or an unknown m_x) get the population mean. Needs q > 1.

        Parameters
        ----------
        frequency
            Repeat purchase counts x (numbers >= 0, as in :func:`~cxml.churn.rfm_summary`).
        monetary_value
            Mean spend m_x per repeat purchase day, in the currency of ``amount``; NaN (unknown, or
            no repeat purchase) is allowed. Broadcast against ``frequency``.

        Returns
        -------
        numpy.ndarray
            float64 expected spend per future transaction, of the broadcast shape of the inputs.

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        ValueError
            When ``q <= 1``, or ``frequency`` has negative or non-finite values.
        """
        p, q, v = self._params()
        if q <= 1:
            raise ValueError(f"q={q:.4g} <= 1: the Gamma-Gamma mean spend is infinite for these params")
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary_value, dtype=np.float64)
        if np.any(~np.isfinite(x) | (x < 0)):
            raise ValueError("frequency must be finite and >= 0")
        # an unknown own mean carries no information: treat the customer like a one-time buyer
        n_own = np.where(np.isfinite(m), x, 0.0)
        own = n_own * np.nan_to_num(m)
        return np.asarray(p * (v + own) / (p * n_own + q - 1))

    def predict(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """Expected spend per future transaction of every customer existing at ``as_of``.

        Returns ``DataFrame[customer_id, expected_average_value]``.

        Parameters
        ----------
        events
            Canonical events table (:func:`cxml.load_events`).
        as_of
            Date-like prediction date; only events with ``timestamp < as_of`` are used.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``, sorted by ``customer_id`` (str);
            ``expected_average_value`` (float64, currency of ``amount``) is
            :meth:`conditional_expected_average_profit` of the customer's frequency and
            monetary value (the population mean for one-time buyers).

        Raises
        ------
        NotFittedError
            When the model has neither been fitted nor given parameters.
        SchemaError
            When ``events`` is not a canonical events table or ``as_of`` is not a date.
        ValueError
            When ``q <= 1`` (infinite mean spend).
        """
        self._params()
        validate_events(events)
        s = rfm_summary(events, as_of, time_unit=self.time_unit)
        value = self.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
        return pd.DataFrame(
            {Columns.CUSTOMER: s.index.to_numpy(), "expected_average_value": value}
        ).astype({Columns.CUSTOMER: "str"})

    def customer_lifetime_value(
        self,
        bgnbd: BGNBDModel,
        events: pd.DataFrame,
        as_of: Any,
        horizon: Any,
        discount_rate: float = 0.0,
        *,
        discount_period: Any = "30D",
    ) -> pd.DataFrame:
        """Expected spend in ``[as_of, as_of + horizon)``: BG/NBD purchases × Gamma-Gamma value.

        Not discounted by default. With ``discount_rate > 0`` the horizon is cut into steps of
        ``discount_period`` (the last one partial) and the value expected in step k is divided by
        ``(1 + discount_rate) ** k`` (rate per period, cash flows at the end of each step).

        Returns ``DataFrame[customer_id, expected_value]`` for every customer existing at ``as_of``.

        Parameters
        ----------
        bgnbd
            A fitted (or :meth:`~cxml.churn.BGNBDModel.set_fitted_params`) BG/NBD model; its
            ``time_unit`` is used for the summary and the horizon, so its parameters must be in it.
        events
            Canonical events table (:func:`cxml.load_events`).
        as_of
            Date-like prediction date; only events with ``timestamp < as_of`` are used.
        horizon
            Duration of the value window (e.g. ``"365D"``, a :class:`pandas.Timedelta`).
        discount_rate
            Discount rate per ``discount_period`` (``0.01`` = 1 % per period), >= 0; ``0`` (the
            default) means no discounting.
        discount_period
            Duration of one discounting step (default ``"30D"``); only used when
            ``discount_rate > 0``.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``, sorted by ``customer_id`` (str);
            ``expected_value`` (float64) is the expected spend in the window, in the currency of
            ``amount``.

        Raises
        ------
        NotFittedError
            When this model or ``bgnbd`` has neither been fitted nor given parameters.
        SchemaError
            When ``events`` is not a canonical events table, ``as_of`` is not a date, or
            ``horizon`` or ``discount_period`` is not a positive duration.
        ValueError
            When ``discount_rate`` is negative or not finite, or ``q <= 1``.
        """
        self._params()
        validate_events(events)
        if not np.isfinite(discount_rate) or discount_rate < 0:
            raise ValueError(f"discount_rate={discount_rate!r} must be a finite number >= 0")
        s = rfm_summary(events, as_of, time_unit=bgnbd.time_unit)
        unit = pd.Timedelta(days=time_unit_days(bgnbd.time_unit))
        t_total = parse_horizon(horizon) / unit
        x, tx, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
        value = self.conditional_expected_average_profit(x, s["monetary_value"].to_numpy())
        if discount_rate == 0:
            purchases = bgnbd.expected_purchases(t_total, x, tx, T)
        else:
            step = parse_horizon(discount_period, "discount_period") / unit
            ends = np.append(np.arange(step, t_total, step), t_total)
            cumulative = np.stack([bgnbd.expected_purchases(t, x, tx, T) for t in ends])
            per_step = np.diff(cumulative, axis=0, prepend=0.0)
            factors = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1)
            purchases = factors @ per_step
        return pd.DataFrame(
            {Columns.CUSTOMER: s.index.to_numpy(), Columns.EXPECTED_VALUE: purchases * value}
        ).astype({Columns.CUSTOMER: "str"})
