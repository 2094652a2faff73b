"""Shared maximum-likelihood machinery of the BTYD models: bounded L-BFGS-B on log-parameters
with an explicit convergence check (lifetimes' silent non-convergence is the failure we avoid)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from cxml.exceptions import ConvergenceError, ConvergenceWarning

__all__ = ["FitResult", "minimize_log_params", "report_convergence"]

# log-parameter box: wide enough for any time unit, narrow enough that exp() never overflows
_LOG_BOUND = 25.0
# a fitted value closer to a box edge than this is an MLE at infinity/zero, not an interior optimum
_EDGE = 1e-6


@dataclass(frozen=True)
class FitResult:
    params: np.ndarray
    objective: float
    converged: bool
    n_iter: int
    gradient_norm: float
    message: str


def minimize_log_params(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: list[np.ndarray],
    *,
    tol: float,
    max_iter: int,
) -> FitResult:
    """L-BFGS-B on log-parameters from several starts; keeps the best and checks its convergence.

    Converged means: scipy reports success, the largest component of the projected gradient of
    the (per-customer) objective is below ``1000 * tol``, and no parameter sits on the box edge.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])
    best = None
    for x0 in starts:
        res = minimize(
            objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"gtol": tol, "ftol": 1e-13, "maxiter": max_iter},
        )
        if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
            best = res
    assert best is not None
    _, grad = objective(best.x)
    at_low = best.x <= -_LOG_BOUND + _EDGE
    at_high = best.x >= _LOG_BOUND - _EDGE
    projected = np.where((at_low & (grad > 0)) | (at_high & (grad < 0)), 0.0, grad)
    grad_norm = float(np.max(np.abs(projected)))
    problems = []
    if not best.success:
        problems.append(f"optimiser stopped: {best.message}")
    if not np.isfinite(best.fun) or grad_norm > 1000 * tol:
        problems.append(f"gradient norm {grad_norm:.3g} > {1000 * tol:.3g}")
    if np.any(at_low | at_high):
        problems.append("a parameter reached the edge of its range (the data do not identify it)")
    return FitResult(
        params=np.exp(best.x), objective=float(best.fun), converged=not problems,
        n_iter=int(best.nit), gradient_norm=grad_norm, message="; ".join(problems) or "converged",
    )


def report_convergence(fit: FitResult, model: str, strict: bool, params: dict[str, float]) -> None:
    if fit.converged:
        return
    shown = ", ".join(f"{k}={v:.4g}" for k, v in params.items())
    msg = f"{model} did not converge ({fit.message}); params {shown} are unreliable"
    if strict:
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
