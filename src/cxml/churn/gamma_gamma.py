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

from cxml._checks import check_float
from cxml.churn import _bgnbd_math as bm
from cxml.churn._btyd import BTYDModel, FitData, row_weights
from cxml.churn._docs import fill_doc
from cxml.churn._gg_math import gg_loglik
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.summary import purchase_rows, summary_at, time_unit_days
from cxml.data import as_events
from cxml.exceptions import DataWarning, InsufficientDataError, ParameterError, SchemaError
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["GammaGammaModel"]

_PARAMS = ("p", "q", "v")


@fill_doc
class GammaGammaModel(BTYDModel):
    """Gamma-Gamma spend model fitted on repeat buyers.

    Parameters
    ----------
    {{btyd_settings}}

    ``time_unit`` only sets the unit of the summary the model computes (it matters for consistency
    with a BG/NBD model, not for the spend parameters).

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

    _param_names = ("p", "q", "v")

    def _loglik(self, params: np.ndarray, data: FitData) -> tuple[np.ndarray, np.ndarray]:
        x, m, levels = data
        return gg_loglik(params, x, m, levels)

    @fill_doc
    def fit(self, events: Any, as_of: Any) -> GammaGammaModel:
        """Fit on the repeat buyers existing at ``as_of`` (customers with ``frequency > 0``).

        The spend comes from the ``amount`` of the purchase rows (see :func:`~cxml.churn.rfm_summary`
        for ``monetary_value``).

        Parameters
        ----------
        {{events}}
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
            When ``events`` does not fit the events schema or ``as_of`` is not a date.
        ParameterError
            When a setting (``penalizer``, ``tol``, ``time_unit`` ...) is out of range.
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
        self._check_settings()
        rows = purchase_rows(as_events(events))
        return self.fit_summary(summary_at(rows, parse_as_of(as_of), time_unit=self.time_unit))

    @fill_doc
    def fit_summary(self, summary: pd.DataFrame, *, weights: Any = None) -> GammaGammaModel:
        """Fit on a summary frame with ``frequency`` and ``monetary_value`` columns.

        Customers with ``frequency == 0`` carry no repeat spend and are not used (by definition,
        not counted as dropped). Repeat buyers whose ``monetary_value`` is missing or ``<= 0`` cannot
        enter a Gamma likelihood; they are left out and counted in a :class:`cxml.DataWarning`.
        With ``weights``, each row stands for that many customers with the same summary.

        Parameters
        ----------
        summary
            An :func:`~cxml.churn.rfm_summary` (or a frame with those two columns).
        {{summary_weights}}

        Returns
        -------
        GammaGammaModel
            ``self``, fitted (see :meth:`fit`).

        Raises
        ------
        SchemaError
            A column is missing.
        {{weights_error}}
        InsufficientDataError
            Fewer than 2 repeat buyers with positive spend.
        """
        self._check_settings()
        for col in ("frequency", "monetary_value"):
            if col not in summary.columns:
                raise SchemaError(f"summary has no column {col!r}; expected rfm_summary output")
        x = summary["frequency"].to_numpy(dtype=np.float64)
        m = summary["monetary_value"].to_numpy(dtype=np.float64, na_value=np.nan)
        w = row_weights(summary, weights)
        repeat = (x > 0) & (w > 0)
        usable = repeat & np.isfinite(m) & (m > 0)
        n_left_out = int(round(w[repeat].sum() - w[usable].sum()))
        if n_left_out:
            warnings.warn(
                f"GammaGammaModel: {n_left_out} of {w[repeat].sum():g} repeat buyers have a missing or "
                "non-positive monetary_value and are left out of the fit",
                DataWarning,
                stacklevel=2,
            )
        if w[usable].sum() < 2:
            raise InsufficientDataError(
                f"Gamma-Gamma needs at least 2 repeat buyers with positive spend; got {w[usable].sum():g}"
            )
        xs, ms, ws = x[usable], m[usable], w[usable]
        # informed start: with p=1, q=2 the prior mean spend p*v/(q-1) is v, set to the observed mean
        start = np.log([1.0, 2.0, float(np.average(ms, weights=ws))])
        self._fit_rows((xs, ms, np.unique(xs, return_inverse=True)), None if weights is None else ws, start)
        return self

    @fill_doc
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

        {{known_params_raises}}
        """
        return self._set_known_params({"p": p, "q": q, "v": v})

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
        ParameterError
            When ``q <= 1``, or ``frequency`` has negative or non-finite values.
        """
        p, q, v = self._params()
        if q <= 1:
            raise ParameterError(f"q={q:.4g} <= 1: the Gamma-Gamma mean spend is infinite for these params")
        try:
            x = np.asarray(frequency, dtype=np.float64)
            m = np.asarray(monetary_value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"frequency and monetary_value must be numbers or arrays of numbers: {exc}") from exc
        if np.any(~np.isfinite(x) | (x < 0)):
            raise ParameterError("frequency must be finite and >= 0")
        # an unknown own mean carries no information: treat the customer like a one-time buyer
        n_own = np.where(np.isfinite(m), x, 0.0)
        own = n_own * np.nan_to_num(m)
        return np.asarray(p * (v + own) / (p * n_own + q - 1))

    @fill_doc
    def predict(self, events: Any, as_of: Any) -> pd.DataFrame:
        """Expected spend per future transaction of every customer existing at ``as_of``.

        Returns ``DataFrame[customer_id, expected_average_value]``.

        Parameters
        ----------
        {{events}}
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
            When ``events`` does not fit the events schema or ``as_of`` is not a date.
        ParameterError
            When ``q <= 1`` (infinite mean spend).
        """
        self._params()
        rows = purchase_rows(as_events(events))
        s = summary_at(rows, parse_as_of(as_of), time_unit=self.time_unit)
        value = self.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
        return _customer_frame(s.index, "expected_average_value", value)

    @fill_doc
    def customer_lifetime_value(
        self,
        bgnbd: BGNBDModel,
        events: Any,
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
        {{events}}
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
            When ``events`` does not fit the events schema, ``as_of`` is not a date, or
            ``horizon`` or ``discount_period`` is not a positive duration.
        ParameterError
            When ``discount_rate`` is negative or not finite, ``bgnbd`` is not a BG/NBD model, or
            ``q <= 1``.
        """
        self._params()
        if not isinstance(bgnbd, BGNBDModel):
            raise ParameterError(f"bgnbd={bgnbd!r} must be a fitted BGNBDModel")
        bgnbd._params()
        rate = check_float("discount_rate", discount_rate, minimum=0.0)
        rows = purchase_rows(as_events(events))
        s = summary_at(rows, parse_as_of(as_of), time_unit=bgnbd.time_unit)
        value = self.value_from_summary(bgnbd, s, parse_horizon(horizon), rate, discount_period)
        return _customer_frame(s.index, Columns.EXPECTED_VALUE, value)

    def value_from_summary(
        self,
        bgnbd: BGNBDModel,
        summary: pd.DataFrame,
        horizon: pd.Timedelta,
        discount_rate: float = 0.0,
        discount_period: Any = "30D",
    ) -> np.ndarray:
        """:meth:`customer_lifetime_value` of the customers of a summary in ``bgnbd.time_unit``.

        Parameters
        ----------
        bgnbd
            A fitted BG/NBD model whose ``time_unit`` the summary is in.
        summary
            An :func:`~cxml.churn.rfm_summary` with ``monetary_value``.
        horizon
            Length of the value window.
        discount_rate
            Rate per ``discount_period`` (checked by the caller), ``0`` for none.
        discount_period
            Duration of one discounting step.

        Returns
        -------
        numpy.ndarray
            Expected spend in the window, one value per row of ``summary``.
        """
        params = bgnbd._bg_params()
        unit = pd.Timedelta(days=time_unit_days(bgnbd.time_unit))
        t_total = horizon / unit
        x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
        value = self.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy())
        if discount_rate == 0:
            return np.asarray(bm.expected_purchases(params, np.float64(t_total), x, tx, T) * value)
        step = parse_horizon(discount_period, "discount_period") / unit
        ends = np.append(np.arange(step, t_total, step), t_total)
        cumulative = np.stack([bm.expected_purchases(params, np.float64(t), x, tx, T) for t in ends])
        per_step = np.diff(cumulative, axis=0, prepend=0.0)
        factors = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1)
        return np.asarray((factors @ per_step) * value)


def _customer_frame(index: pd.Index, column: str, values: np.ndarray) -> pd.DataFrame:
    """``DataFrame[customer_id (str), column]`` of per-customer values."""
    return pd.DataFrame({Columns.CUSTOMER: index.to_numpy(), column: values}).astype({Columns.CUSTOMER: "str"})
