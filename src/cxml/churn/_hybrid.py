"""Point-in-time BG/NBD and Gamma-Gamma features of the LightGBM churn and CLTV models.

At each cutoff the two probabilistic models are fitted on the purchases before it
(:func:`fit_btyd`) and score the customers of that cutoff's summary (:func:`btyd_features`), with the
one BG/NBD scoring function :func:`cxml.churn._bgnbd_math.bgnbd_scores`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cxml.churn._bgnbd_math import bgnbd_scores
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.gamma_gamma import GammaGammaModel
from cxml.churn.summary import time_unit_days
from cxml.exceptions import ConvergenceWarning, DataWarning, InsufficientDataError

__all__ = ["BTYD_COLUMNS", "BTYD_TIME_UNIT", "BTYDParams", "btyd_features", "fit_btyd"]

#: Hybrid feature columns computed from the BG/NBD and Gamma-Gamma models at each cutoff.
BTYD_COLUMNS = (
    "bg_p_alive",
    "bg_expected_purchases",
    "bg_p_no_purchase",
    "gg_expected_order_value",
    "bg_gg_expected_value",
)
#: The summaries of the hybrid features are in weeks (PROTOCOL.md).
BTYD_TIME_UNIT = "W"

#: ``{"bgnbd": params or None, "gamma_gamma": params or None}``
BTYDParams = dict[str, dict[str, float] | None]


def fit_btyd(summary: pd.DataFrame, where: str = "") -> BTYDParams:
    """BG/NBD and Gamma-Gamma parameters fitted on one cutoff's :func:`rfm_summary` (weeks).

    A model that cannot be fitted on these customers (no repeat buyers, a Gamma-Gamma with an
    infinite mean spend) gets ``None``: its feature columns are then NaN, which LightGBM treats as
    missing, and a :class:`cxml.DataWarning` naming ``where`` says why. A fit that stops without
    meeting its convergence test is still used (on a short early snapshot the Gamma-Gamma MLE runs
    off to p → ∞, whose limit is each customer's own mean spend — a usable feature); its
    :class:`cxml.ConvergenceWarning` is passed on with ``where`` added.
    """
    out: BTYDParams = {"bgnbd": None, "gamma_gamma": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        # customers without a usable repeat spend are expected here (one-time buyers, zero-price
        # lines); they get the population mean value, so the GG fit's left-out count is not news
        warnings.simplefilter("ignore", DataWarning)
        problems = []
        try:
            out["bgnbd"] = BGNBDModel(time_unit=BTYD_TIME_UNIT).fit_summary(summary).params_
        except InsufficientDataError as exc:
            problems.append(f"BG/NBD features {where}are NaN: {exc}")
        try:
            gg = GammaGammaModel(time_unit=BTYD_TIME_UNIT).fit_summary(summary)
            if gg.params_["q"] <= 1:
                raise InsufficientDataError(f"fitted q={gg.params_['q']:.3g} <= 1 (infinite mean spend)")
            out["gamma_gamma"] = gg.params_
        except InsufficientDataError as exc:
            problems.append(f"Gamma-Gamma features {where}are NaN: {exc}")
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            warnings.warn(f"{where}{w.message}", ConvergenceWarning, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for msg in problems:
        warnings.warn(msg, DataWarning, stacklevel=2)
    return out


def btyd_features(
    summary: pd.DataFrame,
    params: Mapping[str, Mapping[str, float] | None],
    horizon: pd.Timedelta,
) -> pd.DataFrame:
    """The :data:`BTYD_COLUMNS` of every customer in ``summary`` (same index), from fitted params."""
    n = len(summary)
    out = pd.DataFrame({c: np.full(n, np.nan) for c in BTYD_COLUMNS}, index=summary.index)
    bg_params, gg_params = params.get("bgnbd"), params.get("gamma_gamma")
    if n == 0 or bg_params is None:
        return out
    t = horizon / pd.Timedelta(days=time_unit_days(BTYD_TIME_UNIT))
    p = bg_params
    scores = bgnbd_scores((float(p["r"]), float(p["alpha"]), float(p["a"]), float(p["b"])), summary, t)
    purchases = scores["expected_purchases"].to_numpy()
    out["bg_p_alive"] = scores["p_alive"].to_numpy()
    out["bg_expected_purchases"] = purchases
    out["bg_p_no_purchase"] = scores["p_no_purchase"].to_numpy()
    if gg_params is not None and "monetary_value" in summary.columns:
        gg = GammaGammaModel(time_unit=BTYD_TIME_UNIT).set_fitted_params(
            p=float(gg_params["p"]), q=float(gg_params["q"]), v=float(gg_params["v"])
        )
        x = summary["frequency"].to_numpy(dtype=np.float64)
        value = gg.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy())
        out["gg_expected_order_value"] = value
        out["bg_gg_expected_value"] = purchases * value
    return out
