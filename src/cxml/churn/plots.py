"""Plots for churn/CLTV evaluation: lift curve, calibration curve, feature importance.

matplotlib is imported only inside these functions, so ``cxml.churn`` works without it. Each
function draws on ``ax`` (a new figure when ``None``) and returns the Axes.

Examples
--------
>>> from matplotlib.figure import Figure
>>> from cxml.churn.plots import lift_curve
>>> ax = lift_curve([1, 0, 1, 0], [0.9, 0.2, 0.7, 0.4], ax=Figure().subplots())
>>> ax.get_ylabel()
'cumulative lift'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cxml._checks import check_int
from cxml.churn.metrics import _scores, calibration_table
from cxml.exceptions import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["calibration_curve", "feature_importance", "lift_curve"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    try:
        # lazy: matplotlib is heavy and optional; cxml.churn must import without it
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "cxml.churn.plots needs matplotlib; install it with `pip install matplotlib`"
        ) from exc
    _, new_ax = plt.subplots()
    return new_ax


def lift_curve(y: Any, p: Any, ax: Axes | None = None) -> Axes:
    """Cumulative lift of the customers ranked by ``p`` (highest first) against the share targeted.

    The y value at share s is (churn rate among the top s) / (overall churn rate); a random
    ranking is the dashed line at 1. Ties are ordered stably (input order).
    """
    yy, pp = _scores(y, p)
    ax = _axes(ax)
    order = np.argsort(-pp, kind="stable")
    n = yy.size
    share = np.arange(1, n + 1) / n
    base = yy.mean()
    lift = np.cumsum(yy[order]) / np.arange(1, n + 1) / base if base > 0 else np.full(n, np.nan)
    ax.plot(share, lift, label="model")
    ax.axhline(1.0, linestyle="--", color="grey", label="random")
    ax.set_xlabel("share of customers targeted")
    ax.set_ylabel("cumulative lift")
    ax.set_title("Lift curve")
    ax.legend()
    return ax


def calibration_curve(y: Any, p: Any, ax: Axes | None = None, *, n_bins: int = 10) -> Axes:
    """Observed churn rate against the mean predicted probability per equal-count bin."""
    table = calibration_table(y, p, n_bins=n_bins)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label="model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration")
    ax.legend()
    return ax


def feature_importance(
    names: Sequence[str], importances: Any, ax: Axes | None = None, *, top: int = 20
) -> Axes:
    """Horizontal bars of the ``top`` features by absolute importance, largest at the top."""
    values = np.asarray(importances, dtype=np.float64).ravel()
    labels = [str(n) for n in names]
    if len(labels) != values.size:
        raise ParameterError(f"names has {len(labels)} entries but importances has {values.size}")
    top = check_int("top", top, minimum=1)
    keep = np.argsort(-np.abs(values), kind="stable")[: int(top)][::-1]
    ax = _axes(ax)
    ax.barh(np.arange(keep.size), values[keep])
    ax.set_yticks(np.arange(keep.size), [labels[i] for i in keep])
    ax.set_xlabel("importance")
    ax.set_title("Feature importance")
    return ax
