"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Purchases of an alive customer follow a Poisson process with rate λ ~ Gamma(r, α); after every
purchase the customer drops out with probability p ~ Beta(a, b). Fitted by maximum likelihood on the
:func:`~cxml.churn.rfm_summary` statistics (frequency x, recency t_x, age T), in log space with
L-BFGS-B on log-parameters, an analytic gradient and a convergence check that is reported
(``converged_``, :class:`cxml.ConvergenceWarning`) instead of being silent. The mathematics lives in
:mod:`cxml.churn._bgnbd_math`; this module is the estimator around it.

Examples
--------
>>> import numpy as np
>>> from cxml.churn import BGNBDModel
>>> bg = BGNBDModel().set_fitted_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
>>> float(np.round(bg.p_alive(frequency=2, recency=30.43, T=38.86), 3))
0.727
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cxml.churn import _bgnbd_math as bm
from cxml.churn._btyd import BTYDModel, FitData, row_weights
from cxml.churn._docs import fill_doc
from cxml.churn.summary import purchase_rows, summary_at, time_unit_days
from cxml.data import as_events
from cxml.exceptions import InsufficientDataError, SchemaError
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["BGNBDModel"]


@fill_doc
class BGNBDModel(BTYDModel):
    """Beta-geometric/NBD model of repeat purchasing and customer dropout.

    Parameters
    ----------
    {{btyd_settings}}

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

    _param_names = ("r", "alpha", "a", "b")

    def _loglik(self, params: np.ndarray, data: FitData) -> tuple[np.ndarray, np.ndarray]:
        x, tx, T, levels = data
        return bm.bgnbd_loglik(params, x, tx, T, levels)

    # ------------------------------------------------------------------ fitting
    @fill_doc
    def fit(self, events: Any, as_of: Any) -> BGNBDModel:
        """Fit on the summary of the purchases before ``as_of``.

        Parameters
        ----------
        {{events}}
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
            When ``events`` does not fit the events schema or ``as_of`` is not a date.
        ParameterError
            When ``penalizer``, ``tol``, ``max_iter``, ``strict``, ``random_state`` or ``time_unit``
            is out of range.
        {{fit_outcomes}}

        Warns
        -----
        ConvergenceWarning
            When the fit does not converge and ``strict=False`` (the parameters are still set).
        """
        self._check_settings()
        rows = purchase_rows(as_events(events))
        return self.fit_summary(summary_at(rows, parse_as_of(as_of), time_unit=self.time_unit, monetary=False))

    @fill_doc
    def fit_summary(self, summary: pd.DataFrame, *, weights: Any = None) -> BGNBDModel:
        """Fit on a summary frame with columns ``frequency, recency, T`` (in ``time_unit``).

        With ``weights``, each row stands for that many customers with the same summary: a
        population of millions collapses to its distinct ``(frequency, recency, T)`` rows with
        counts (e.g. aggregated on Spark or bucket by bucket), and the fit equals the fit on the
        expanded rows.

        Parameters
        ----------
        summary
            An :func:`~cxml.churn.rfm_summary` (or a frame with the same three columns).
        {{summary_weights}}

        Returns
        -------
        BGNBDModel
            ``self``, fitted (see :meth:`fit`).

        Raises
        ------
        SchemaError
            A column is missing or the summary values are invalid.
        {{weights_error}}
        InsufficientDataError
            Fewer than 2 customers, or none with a repeat purchase.
        """
        self._check_settings()
        for col in ("frequency", "recency", "T"):
            if col not in summary.columns:
                raise SchemaError(f"summary has no column {col!r}; expected rfm_summary output")
        x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
        bm.check_customer_arrays(x, tx, T)
        w = row_weights(summary, weights)
        if w.sum() < 2 or not np.any(w[x > 0] > 0):
            raise InsufficientDataError(
                f"BG/NBD needs customers with repeat purchases; got {w.sum():g} customers, "
                f"{w[x > 0].sum():g} with frequency > 0"
            )
        # day-level summaries repeat a lot: the likelihood is evaluated once per distinct row
        rows, inverse = np.unique(np.column_stack([x, tx, T]), axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=w, minlength=len(rows))
        ux, utx, uT = rows.T
        # informed start: alpha on the scale of the observation period, so the time unit does not matter
        start = np.log([1.0, max(float(np.average(T, weights=w)), 1e-3), 1.0, 1.0])
        self._fit_rows((ux, utx, uT, np.unique(ux, return_inverse=True)), counts, start)
        self.summary_ = summary
        return self

    @fill_doc
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

        {{known_params_raises}}
        """
        return self._set_known_params({"r": r, "alpha": alpha, "a": a, "b": b})

    def _bg_params(self) -> bm.BGNBDParams:
        r, alpha, a, b = self._params()
        return r, alpha, a, b

    # ------------------------------------------------------------------ predictions
    @fill_doc
    def predict(self, events: Any, as_of: Any, horizon: Any) -> pd.DataFrame:
        """Expected purchases, P(alive) and P(no purchase) in ``[as_of, as_of + horizon)``.

        Returns one row per customer existing at ``as_of``:
        ``DataFrame[customer_id, expected_purchases, p_alive, p_no_purchase]``.

        Parameters
        ----------
        {{events}}
        as_of
            Date-like prediction date; only purchases before it are summarised (in the model's
            ``time_unit``, see :func:`~cxml.churn.rfm_summary` for the last observed day).
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
            When ``events`` does not fit the events schema, ``as_of`` is not a date or ``horizon``
            is not a positive duration.
        """
        params = self._bg_params()
        rows = purchase_rows(as_events(events))
        summary = summary_at(rows, parse_as_of(as_of), time_unit=self.time_unit, monetary=False)
        t = parse_horizon(horizon) / pd.Timedelta(days=time_unit_days(self.time_unit))
        out = bm.bgnbd_scores(params, summary, t).reset_index(drop=True)
        out.insert(0, Columns.CUSTOMER, summary.index.to_numpy())
        return out.astype({Columns.CUSTOMER: "str"})

    @fill_doc
    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters.

        The three inputs (scalars or arrays) are broadcast together; the result has their shape.

        {{customer_parameters}}

        Returns
        -------
        numpy.ndarray
            float64 log-likelihood of each customer's (x, t_x, T), without the penalty.

        {{bad_arrays}}
        """
        params = np.array(self._bg_params())
        x, tx, TT = bm.as_customer_arrays(frequency, recency, T)
        ll, _ = bm.bgnbd_loglik(params, x.ravel(), tx.ravel(), TT.ravel())
        return np.asarray(ll).reshape(x.shape)

    @fill_doc
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2008 note "Computing P(alive) using the
        BG/NBD model"); 1 for customers with no repeat purchase.

        "Alive" means the customer has not dropped out by the end of the observation period T (in
        :meth:`predict`, the last observed day before ``as_of``); it says nothing about buying again
        soon, for which see :meth:`p_no_purchase`.

        {{customer_parameters}}

        Returns
        -------
        numpy.ndarray
            float64 probabilities in [0, 1], of the broadcast shape of the inputs (0-d for scalars).

        {{bad_arrays}}
        """
        params = self._bg_params()
        return bm.p_alive(params, *bm.as_customer_arrays(frequency, recency, T))

    @fill_doc
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

        Purchases are counted as the model counts them: purchase days, like ``frequency``.

        Parameters
        ----------
        t
            Length of the forecast window after T, in the model's ``time_unit`` (weeks with the
            default ``"W"``: ``t=13`` is 13 weeks; ``pandas.Timedelta("90D") / pandas.Timedelta(weeks=1)``
            converts a duration). A number or array >= 0, broadcast against the customer arrays.
        {{customer_arrays}}

        Returns
        -------
        numpy.ndarray
            float64 expected counts >= 0, of the broadcast shape of ``t`` and the customer arrays
            (a numpy float for scalar inputs).

        {{bad_arrays}}
        """
        return self._in_window(bm.expected_purchases, t, frequency, recency, T)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        """Unconditional E[X(t)] for a customer observed from time 0 (FHL 2005, eq. 9).

        Parameters
        ----------
        t
            Length of the window, in the model's ``time_unit``; a number or array >= 0.

        Returns
        -------
        numpy.ndarray
            float64 expected counts, of the shape of ``t``.
        """
        params = self._bg_params()
        tt = bm.as_time(t)
        zero = np.zeros_like(tt)
        return bm.expected_if_alive(params, tt, zero, zero)

    @fill_doc
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
        {{customer_arrays}}

        Returns
        -------
        numpy.ndarray
            float64 probabilities in [0, 1], of the broadcast shape of ``t`` and the customer
            arrays (0-d for scalars).

        {{bad_arrays}}
        """
        return self._in_window(bm.p_no_purchase, t, frequency, recency, T)

    def _in_window(
        self, formula: Callable[..., np.ndarray], t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """``formula(params, t, x, t_x, T)`` of :mod:`~cxml.churn._bgnbd_math` for the window ``t`` after T."""
        params = self._bg_params()
        x, tx, TT = bm.as_customer_arrays(frequency, recency, T)
        return formula(params, bm.as_time(t), x, tx, TT)
