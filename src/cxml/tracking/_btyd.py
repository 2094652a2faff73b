"""BG/NBD and Gamma-Gamma on every customer of a streamed dataset, from sufficient statistics.

Each bucket's :func:`cxml.churn.rfm_summary` (weeks, the unit of the LightGBM models' BTYD features,
PROTOCOL.md) collapses to its distinct ``(frequency, recency, T)`` rows with counts (BG/NBD) and
distinct ``(frequency, monetary_value)`` rows of the repeat buyers with a positive spend
(Gamma-Gamma); the buckets' tables add up (:meth:`SufficientStats.merge`) and the models are fitted
with ``fit_summary(..., weights="count")``, which gives the fit on the expanded rows: every
customer counts, while memory holds only the distinct rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from cxml.churn import BGNBDModel, GammaGammaModel
from cxml.exceptions import ConvergenceWarning, DataWarning, InsufficientDataError

__all__ = ["BTYD_UNIT", "BTYDFit", "SufficientStats", "fit_population", "log_params"]

#: time unit of the summaries: the LightGBM models' BTYD features are fitted in weeks (PROTOCOL.md)
BTYD_UNIT: Final = "W"
_BG = ["frequency", "recency", "T"]
_GG = ["frequency", "monetary_value"]

#: ``{"bgnbd": params or None, "gamma_gamma": params or None}``, as ``ChurnModel.btyd_params_``
BTYDFit = dict[str, dict[str, float] | None]


@dataclass
class SufficientStats:
    """The distinct summary rows with counts of one cutoff, added up bucket by bucket."""

    bgnbd: list[pd.DataFrame] = field(default_factory=list)
    gamma_gamma: list[pd.DataFrame] = field(default_factory=list)
    customers: int = 0

    def add(self, summary: pd.DataFrame) -> None:
        """Add the :func:`~cxml.churn.rfm_summary` of some customers (not seen before)."""
        self.customers += len(summary)
        self.bgnbd.append(_distinct(summary, _BG))
        m = summary["monetary_value"].to_numpy(dtype=np.float64, na_value=np.nan)
        spenders = (summary["frequency"].to_numpy() > 0) & np.isfinite(m) & (m > 0)
        self.gamma_gamma.append(_distinct(summary.loc[spenders], _GG))
        if len(self.bgnbd) >= 64:  # keep the tables small while buckets are added
            self.merge()

    def merge(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The BG/NBD and Gamma-Gamma tables: distinct rows with a ``count`` column."""
        self.bgnbd = [_summed(self.bgnbd, _BG)]
        self.gamma_gamma = [_summed(self.gamma_gamma, _GG)]
        return self.bgnbd[0], self.gamma_gamma[0]


def _distinct(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.groupby(keys, sort=False).size().rename("count").reset_index()


def _summed(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({**{k: pd.Series(dtype=np.float64) for k in keys}, "count": pd.Series(dtype=np.int64)})
    table = pd.concat(parts, ignore_index=True)
    return table.groupby(keys, sort=True)["count"].sum().reset_index()


def fit_population(stats: SufficientStats, where: str) -> BTYDFit:
    """BG/NBD and Gamma-Gamma parameters from the counted rows, as the LightGBM models use them.

    A model that cannot be fitted (no repeat buyer; a Gamma-Gamma whose mean spend is infinite,
    ``q <= 1``) gets ``None`` and a :class:`cxml.DataWarning` naming ``where``; a fit that stops
    short of its convergence test is used, with its :class:`cxml.ConvergenceWarning`.
    """
    bg_rows, gg_rows = stats.merge()
    out: BTYDFit = {"bgnbd": None, "gamma_gamma": None}
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            out["bgnbd"] = BGNBDModel(time_unit=BTYD_UNIT).fit_summary(bg_rows, weights="count").params_
        except InsufficientDataError as exc:
            warnings.warn(f"BG/NBD {where}: not fitted ({exc}); its features are NaN", DataWarning, stacklevel=2)
        try:
            gg = GammaGammaModel(time_unit=BTYD_UNIT).fit_summary(gg_rows, weights="count")
            if gg.params_["q"] <= 1:
                raise InsufficientDataError(f"fitted q={gg.params_['q']:.3g} <= 1 (infinite mean spend)")
            out["gamma_gamma"] = gg.params_
        except InsufficientDataError as exc:
            warnings.warn(f"Gamma-Gamma {where}: not fitted ({exc}); its features are NaN", DataWarning,
                          stacklevel=2)
    return {name: None if p is None else {k: float(v) for k, v in p.items()} for name, p in out.items()}


def log_params(fit: BTYDFit, stats: SufficientStats) -> dict[str, Any]:
    """MLflow params of a population fit: ``btyd.<model>.<param>``, customers and distinct rows."""
    params: dict[str, Any] = {"btyd.customers": stats.customers, "btyd.bgnbd.rows": len(stats.bgnbd[0]),
                              "btyd.gamma_gamma.rows": len(stats.gamma_gamma[0])}
    for name, values in fit.items():
        params.update({f"btyd.{name}.{k}": v for k, v in (values or {}).items()})
    return params
