"""``BTYDModel``: what the buy-till-you-die models (BG/NBD, Gamma-Gamma) share.

A subclass names its parameters and gives its per-customer log-likelihood (with gradient) and, per
fit, its data and start point; the base stores the keyword-only settings, checks them, runs the
penalised maximum-likelihood fit from two starts (:func:`~cxml.churn._optim.minimize_log_params`),
clears an earlier fit, accepts known parameters and refuses to score before either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from cxml._checks import check_bool, check_float, check_int, check_random_state
from cxml._params import keep_init_args
from cxml.churn._optim import minimize_log_params, report_convergence
from cxml.churn.summary import time_unit_days
from cxml.exceptions import NotFittedError, ParameterError

__all__ = ["BTYDModel", "row_weights"]

#: What the likelihood of a subclass reads: a tuple of per-row arrays (and precomputed levels).
FitData = tuple[Any, ...]


class BTYDModel(BaseEstimator):
    """Base of :class:`~cxml.churn.BGNBDModel` and :class:`~cxml.churn.GammaGammaModel`."""

    #: Names of the fitted parameters, in the order of the likelihood's parameter vector.
    _param_names: ClassVar[tuple[str, ...]] = ()

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
        keep_init_args(self, locals())

    # ------------------------------------------------------------------ subclass hooks
    def _loglik(self, params: np.ndarray, data: FitData) -> tuple[np.ndarray, np.ndarray]:
        """Per-row log-likelihood and its gradient (shape ``(n_params, n_rows)``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared machinery
    def _check_settings(self) -> None:
        """Refuse bad hyper-parameters (:class:`cxml.ParameterError`); called by ``fit``."""
        time_unit_days(self.time_unit)
        check_float("penalizer", self.penalizer, minimum=0.0)
        check_float("tol", self.tol, minimum=0.0, exclusive_minimum=True)
        check_int("max_iter", self.max_iter, minimum=1)
        check_bool("strict", self.strict)
        check_random_state(self.random_state)

    def _clear_fitted(self) -> None:
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)

    def _fit_rows(self, data: FitData, counts: np.ndarray | None, start: np.ndarray) -> None:
        """Penalised ML fit on rows that stand for ``counts`` customers each (``None``: one each).

        The objective is the mean negative log-likelihood per customer plus ``penalizer`` times the
        squared parameters, minimised over log-parameters from the informed ``start`` and a
        jittered copy of it (seeded by ``random_state``). Sets the fitted state.
        """
        self._clear_fitted()
        penalizer = float(self.penalizer)
        mean = _row_mean(counts)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            ll, grad = self._loglik(params, data)
            value = -float(mean(ll)) + penalizer * float(np.sum(params**2))
            return value, -mean(grad) * params + 2 * penalizer * params**2

        x0 = np.asarray(start, dtype=np.float64)
        jitter = np.random.default_rng(check_random_state(self.random_state)).normal(0.0, 0.5, size=len(x0))
        fit = minimize_log_params(objective, [x0, x0 + jitter], tol=float(self.tol), max_iter=int(self.max_iter))
        self.params_ = dict(zip(self._param_names, (float(v) for v in fit.params), strict=True))
        ll, _ = self._loglik(fit.params, data)
        self.log_likelihood_ = float(ll.sum() if counts is None else np.sum(counts * ll))
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter
        self.gradient_norm_ = fit.gradient_norm
        self.n_customers_ = len(ll) if counts is None else int(counts.sum())
        report_convergence(fit, type(self).__name__, bool(self.strict), self.params_)

    def _set_known_params(self, values: dict[str, Any]) -> Self:
        """``set_fitted_params``: every parameter a positive finite number; earlier fit removed."""
        checked = {name: check_float(name, values[name], minimum=0.0, exclusive_minimum=True)
                   for name in self._param_names}
        self._clear_fitted()
        self.params_ = checked
        return self

    def _params(self) -> tuple[float, ...]:
        """The fitted parameters in ``_param_names`` order; :class:`cxml.NotFittedError` before."""
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(events, as_of=...) first"
            )
        return tuple(self.params_[name] for name in self._param_names)


def row_weights(summary: pd.DataFrame, weights: Any) -> np.ndarray:
    """How many customers each summary row stands for: ones, a column of ``summary``, or an array.

    Raises
    ------
    ParameterError
        When ``weights`` names no column, has the wrong length, or holds a negative or non-finite count.
    """
    n = len(summary)
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        if weights not in summary.columns:
            raise ParameterError(f"weights={weights!r} is not a column of the summary ({list(summary.columns)})")
        weights = summary[weights]
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"weights must be numbers, one per summary row ({exc})") from exc
    if w.shape != (n,):
        raise ParameterError(f"weights has shape {w.shape}; expected one count per summary row ({n},)")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ParameterError(f"weights has {int(bad.sum())} negative or non-finite counts of {n} "
                             f"(first: {float(w[bad][0])!r}); expected counts >= 0")
    return w


def _row_mean(counts: np.ndarray | None) -> Callable[[np.ndarray], Any]:
    """Mean over the last axis (customers): plain, or weighted by ``counts`` of identical rows."""
    if counts is None:
        return lambda v: v.sum(axis=-1) / v.shape[-1]
    w = counts / counts.sum()
    # elementwise sums, not BLAS: a tiny gemv can stall on a busy machine's thread pool
    return lambda v: np.sum(v * w, axis=-1)
