"""Out-of-time evaluation of fitted churn and CLTV models against the PROTOCOL.md baselines.

:func:`evaluate_churn` / :func:`evaluate_cltv` take a model fitted with events before ``as_of``,
compute the real outcome in ``[as_of, as_of + horizon)`` and score the model *and* the simple
baselines on the same customers (those existing at ``as_of``):

- churn: the recency rule (days since the last purchase), BG/NBD ``−E[purchases in horizon]``,
  BG/NBD ``P(no purchase in horizon)`` and BG/NBD ``1 − P(alive)``;
- CLTV: BG/NBD × Gamma-Gamma expected spend, and the net spend of the previous window of the same
  length (``recent_spend``, a naive "same as last period" forecast).

The baseline BG/NBD and Gamma-Gamma models are fitted on the purchases before ``as_of`` (weeks,
PROTOCOL.md's summary). Score-only baselines (recency, −E[purchases], recent spend) have no
probability, so their Brier score and log-loss are NaN.

Examples
--------
>>> from cxml.churn.evaluation import score_baseline_metrics
>>> score_baseline_metrics([1, 0, 1, 0], [3.0, 1.0, 2.0, 0.5])["roc_auc"]
1.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cxml.churn import _bgnbd_math as bm
from cxml.churn import metrics as M
from cxml.churn._docs import fill_doc
from cxml.churn._lgbm import check_reaches
from cxml.churn._snapshot import SnapshotModel
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.gamma_gamma import GammaGammaModel
from cxml.churn.summary import purchase_rows, summary_at
from cxml.data import as_events
from cxml.exceptions import DataWarning, InsufficientDataError, NotFittedError, ParameterError, SchemaError
from cxml.features._base import prepare
from cxml.features.labels import CHURNED, FUTURE_VALUE, labels_from_prepared
from cxml.schema import Columns, events_before, parse_as_of, parse_horizon

__all__ = [
    "CHURN_BASELINES",
    "baseline_churn_scores",
    "baseline_cltv_values",
    "evaluate_churn",
    "evaluate_cltv",
    "score_baseline_metrics",
]

#: Churn baselines whose ROC-AUC the model must beat (PROTOCOL.md); higher score = more likely to churn.
CHURN_BASELINES = (
    "recency",
    "bgnbd_neg_expected_purchases",
    "bgnbd_p_no_purchase",
    "bgnbd_1_minus_p_alive",
)
_PROBABILITY_BASELINES = ("bgnbd_p_no_purchase", "bgnbd_1_minus_p_alive")
_WEEK = pd.Timedelta(days=7)
#: The per-slice metric columns of the baselines: column -> (metric, baseline score, metric key).
_Extra = dict[str, tuple[Callable[..., Any], np.ndarray, str]]


def score_baseline_metrics(y: Any, score: Any) -> dict[str, float]:
    """The churn metrics that need only a ranking score (Brier and log-loss are NaN).

    Parameters
    ----------
    y
        Outcomes, 1 = churned.
    score
        Higher = more likely to churn.

    Returns
    -------
    dict
        The :func:`cxml.churn.metrics.churn_metrics` keys.
    """
    yy = np.asarray(y, dtype=np.float64)
    return {
        "roc_auc": M.roc_auc(yy, score),
        "pr_auc": M.pr_auc(yy, score),
        "brier": math.nan,
        "log_loss": math.nan,
        "lift_at_10": M.lift_at(yy, score, 0.1),
        "capture_rate_at_10": M.capture_rate_at(yy, score, 0.1),
        "base_rate": float(yy.mean()),
        "n": float(yy.size),
    }


@fill_doc
def baseline_churn_scores(events: Any, as_of: Any, horizon: Any) -> pd.DataFrame:
    """Churn scores of the :data:`CHURN_BASELINES`, indexed by the customers existing at ``as_of``.

    BG/NBD columns are NaN when the model cannot be fitted (no repeat buyers before ``as_of``).

    Parameters
    ----------
    {{events}}
    as_of
        Date-like; only purchases before it are used.
    horizon
        Length of the churn window the BG/NBD scores look at.

    Returns
    -------
    pandas.DataFrame
        One row per existing customer (str index), one column per baseline.
    """
    return _churn_baselines(purchase_rows(as_events(events)), parse_as_of(as_of), parse_horizon(horizon))


def _churn_baselines(purchases: pd.DataFrame, ts: pd.Timestamp, h: pd.Timedelta) -> pd.DataFrame:
    rows = events_before(purchases, ts)
    last = rows.groupby(Columns.CUSTOMER, sort=True)[Columns.TIMESTAMP].max()
    out = pd.DataFrame({"recency": (ts - last) / pd.Timedelta(days=1)})
    out.index = out.index.astype("str")
    for col in CHURN_BASELINES[1:]:
        out[col] = np.nan
    summary = summary_at(purchases, ts, time_unit="W", monetary=False)
    try:
        bg = BGNBDModel(time_unit="W").fit_summary(summary)
    except InsufficientDataError as exc:
        warnings.warn(f"BG/NBD baselines are NaN: {exc}", DataWarning, stacklevel=3)
        return out
    scores = bm.bgnbd_scores(bg._bg_params(), summary, h / _WEEK)
    bg_scores = pd.DataFrame(
        {
            "bgnbd_neg_expected_purchases": -scores["expected_purchases"].to_numpy(),
            "bgnbd_p_no_purchase": scores["p_no_purchase"].to_numpy(),
            "bgnbd_1_minus_p_alive": 1.0 - scores["p_alive"].to_numpy(),
        },
        index=summary.index.astype("str"),
    )
    out[bg_scores.columns] = bg_scores.reindex(out.index)
    return out


@fill_doc
def baseline_cltv_values(events: Any, as_of: Any, horizon: Any) -> pd.DataFrame:
    """``bgnbd_gamma_gamma`` and ``recent_spend`` value forecasts per customer existing at ``as_of``.

    Parameters
    ----------
    {{events}}
    {{as_of}}
    horizon
        Length of the value window (and of the look-back of ``recent_spend``).

    Returns
    -------
    pandas.DataFrame
        One row per existing customer (str index), one column per baseline.
    """
    ev = as_events(events)
    return _cltv_baselines(ev, purchase_rows(ev), parse_as_of(as_of), parse_horizon(horizon))


def _cltv_baselines(events: pd.DataFrame, purchases: pd.DataFrame, ts: pd.Timestamp, h: pd.Timedelta) -> pd.DataFrame:
    stamp = events[Columns.TIMESTAMP].to_numpy()
    window = events.loc[(stamp >= (ts - h).to_datetime64()) & (stamp < ts.to_datetime64())]
    spend_rows = window.loc[window[Columns.EVENT_TYPE].eq("purchase").to_numpy(dtype=bool, na_value=True)]
    recent = spend_rows.groupby(Columns.CUSTOMER)[Columns.AMOUNT].sum()
    summary = summary_at(purchases, ts, time_unit="W")
    index = summary.index.astype("str")
    out = pd.DataFrame({"bgnbd_gamma_gamma": np.nan}, index=index)
    out["recent_spend"] = recent.reindex(index).fillna(0.0).clip(lower=0.0).to_numpy()
    try:
        bg = BGNBDModel(time_unit="W").fit_summary(summary)
        with warnings.catch_warnings():
            # one-time buyers and zero-amount lines are expected; GG uses the repeat buyers by definition
            warnings.simplefilter("ignore", DataWarning)
            gg = GammaGammaModel(time_unit="W").fit_summary(summary)
        out["bgnbd_gamma_gamma"] = gg.value_from_summary(bg, summary, h)
    except (InsufficientDataError, ParameterError) as exc:
        warnings.warn(f"BG/NBD x Gamma-Gamma baseline is NaN: {exc}", DataWarning, stacklevel=3)
    return out


def _check_inputs(model: Any, events: Any, as_of: Any) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timedelta]:
    """The normalised events, ``as_of`` and the model's horizon, after the checks both evaluations share."""
    if not hasattr(model, "booster_"):
        raise NotFittedError(
            f"{type(model).__name__} is not fitted; fit it with events before as_of, then evaluate"
        )
    ev = as_events(events)
    ts, h = parse_as_of(as_of), parse_horizon(model.horizon)
    check_reaches(ev, ts + h, h, f"evaluation needs the outcome window [{ts}, {ts + h}) observed")
    if hasattr(model, "as_of_") and model.as_of_ > ts:
        warnings.warn(
            f"the model was fitted as of {model.as_of_.date()}, after the evaluation as_of {ts.date()}: "
            "its training labels overlap the evaluated window, so the scores are optimistic",
            DataWarning,
            stacklevel=3,
        )
    return ev, ts, h


def _scored(
    model: Any, events: pd.DataFrame, ts: pd.Timestamp, h: pd.Timedelta, task: str
) -> tuple[pd.Series, np.ndarray, pd.DataFrame]:
    """The model's forecast per customer, the real outcome in ``[ts, ts + h)`` and the baselines.

    ``task`` is ``"churn"`` (churn probability vs churned) or ``"cltv"`` (expected vs future
    value). The family's own models predict through their trusted path.
    """
    column, outcome = (
        (Columns.CHURN_PROBABILITY, CHURNED) if task == "churn" else (Columns.EXPECTED_VALUE, FUTURE_VALUE)
    )
    raw = model._predict_trusted(events, ts) if isinstance(model, SnapshotModel) else model.predict(events, ts)
    pred = raw.set_index(Columns.CUSTOMER)[column]
    labels = labels_from_prepared(prepare(events, ts + h), ts, h)
    actual = labels[outcome].reindex(pred.index).to_numpy(dtype=np.float64)
    purchases = purchase_rows(events)
    base = _churn_baselines(purchases, ts, h) if task == "churn" else _cltv_baselines(events, purchases, ts, h)
    return pred, actual, base.reindex(pred.index)


def _slice_labels(events: pd.DataFrame, as_of: pd.Timestamp, customers: pd.Index, slices: Any) -> np.ndarray:
    """One label per customer: a column's most frequent value before ``as_of``, or a given Series."""
    if isinstance(slices, str):
        if slices not in events.columns:
            raise SchemaError(f"slices={slices!r} is not a column of the events; expected e.g. 'country'")
        before = events_before(events, as_of)[[Columns.CUSTOMER, slices]].dropna()
        counts = before.groupby([Columns.CUSTOMER, slices], sort=True).size().reset_index(name="n")
        top = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates(Columns.CUSTOMER)
        labels = top.set_index(Columns.CUSTOMER)[slices]
    elif isinstance(slices, pd.Series):
        labels = slices.copy()
        labels.index = labels.index.astype("str")
    else:
        raise SchemaError(
            f"slices has type {type(slices).__name__}; "
            "expected a column name or a Series customer_id -> label"
        )
    return labels.reindex(customers).astype(object).fillna("unknown").astype(str).to_numpy()


def _sliced_table(
    metric: Callable[..., Any],
    y: np.ndarray,
    p: np.ndarray,
    labels: np.ndarray,
    extra: _Extra,
) -> pd.DataFrame:
    """The per-slice table of the model's metrics plus, per named baseline, one metric column."""
    with warnings.catch_warnings():
        # decile MAPE leaves out bins with no actual spend and warns each time; expected for CLTV
        warnings.simplefilter("ignore", DataWarning)
        table = M.sliced(metric, y, p, labels)
        for column, (fn, score, key) in extra.items():
            table[column] = M.sliced(fn, y, score, labels)[key]
    return table


@fill_doc
def evaluate_churn(model: Any, events: Any, as_of: Any, *, slices: Any = None) -> dict[str, Any]:
    """Score a fitted churn model and the baselines on the real churn in ``[as_of, as_of + horizon)``.

    {{evaluate_args}}

    Returns
    -------
    dict
        ``model`` and ``baselines[name]`` metric dicts (:func:`cxml.churn.metrics.churn_metrics`
        keys), ``best_baseline`` (highest ROC-AUC), ``model_beats_baselines``, sizes, and with
        ``slices`` a ``slices`` DataFrame (one row per slice with its size, the model's metrics and
        each baseline's ROC-AUC). In full: ``as_of`` (ISO str), ``horizon`` (str),
        ``n_customers`` (int), ``churn_rate`` (float), ``model`` (dict), ``baselines`` (dict of
        dicts; a BG/NBD baseline that could not be fitted is left out), ``best_baseline`` (str or
        None), ``model_beats_baselines`` (bool: the model's ROC-AUC is above the best baseline's)
        and, only with ``slices``, ``slices`` (DataFrame with columns ``slice, size``, the
        churn-metric keys and ``<baseline>_roc_auc``; last row ``slice="__all__"``).

    {{evaluate_raises}}
    """
    return _evaluate(model, events, as_of, slices, "churn")


@fill_doc
def evaluate_cltv(model: Any, events: Any, as_of: Any, *, slices: Any = None) -> dict[str, Any]:
    """Score a fitted CLTV model and the baselines on the real net spend in ``[as_of, as_of + horizon)``.

    Same arguments as :func:`evaluate_churn`. Returns ``model`` and ``baselines[name]`` dicts of
    :func:`cxml.churn.metrics.cltv_metrics`, ``model_beats_baselines`` (Spearman and normalized Gini
    both >= BG/NBD × Gamma-Gamma), sizes and optionally the ``slices`` table.

    {{evaluate_args}}

    Returns
    -------
    dict
        ``as_of`` (ISO str), ``horizon`` (str), ``n_customers`` (int), ``mean_actual_value``
        (float), ``model`` (dict of :func:`cxml.churn.metrics.cltv_metrics`), ``baselines``
        (``bgnbd_gamma_gamma`` and ``recent_spend`` metric dicts; a baseline with NaN forecasts is
        left out), ``model_beats_baselines`` (bool; False without the BG/NBD × Gamma-Gamma
        baseline) and, only with ``slices``, ``slices`` (DataFrame with columns ``slice, size``, the
        CLTV-metric keys and, when that baseline exists, ``bgnbd_gamma_gamma_spearman``; last row
        ``slice="__all__"``).

    {{evaluate_raises}}
    """
    return _evaluate(model, events, as_of, slices, "cltv")


def _evaluate(model: Any, events: Any, as_of: Any, slices: Any, task: str) -> dict[str, Any]:
    """:func:`evaluate_churn` (``task="churn"``) or :func:`evaluate_cltv` (``task="cltv"``)."""
    ev, ts, h = _check_inputs(model, events, as_of)
    pred, actual, base = _scored(model, ev, ts, h, task)
    p = pred.to_numpy()
    judge, metric = (_judge_churn, M.churn_metrics) if task == "churn" else (_judge_cltv, M.cltv_metrics)
    result, extra = judge(actual, p, base)
    out: dict[str, Any] = {**_sizes(ts, h, actual), **result}
    if slices is not None:
        out["slices"] = _sliced_table(metric, actual, p, _slice_labels(ev, ts, pred.index, slices), extra)
    return out


def _judge_churn(y: np.ndarray, p: np.ndarray, base: pd.DataFrame) -> tuple[dict[str, Any], _Extra]:
    """The churn result after the sizes, and the baselines' ROC-AUC columns of the slices table."""
    baselines: dict[str, dict[str, float]] = {}
    for name in CHURN_BASELINES:
        s = base[name].to_numpy(dtype=np.float64)
        if np.isnan(s).any():
            continue
        probability = name in _PROBABILITY_BASELINES
        baselines[name] = M.churn_metrics(y, s) if probability else score_baseline_metrics(y, s)
    model_metrics = M.churn_metrics(y, p)
    best = max(baselines, key=lambda k: _nan_low(baselines[k]["roc_auc"])) if baselines else None
    result = {
        "churn_rate": float(np.mean(y)),
        "model": model_metrics,
        "baselines": baselines,
        "best_baseline": best,
        "model_beats_baselines": bool(
            best is not None and model_metrics["roc_auc"] > baselines[best]["roc_auc"]
        ),
    }
    return result, {f"{name}_roc_auc": (M.roc_auc, base[name].to_numpy(), "roc_auc") for name in baselines}


def _judge_cltv(actual: np.ndarray, p: np.ndarray, base: pd.DataFrame) -> tuple[dict[str, Any], _Extra]:
    """The CLTV result after the sizes, and the BG/NBD × Gamma-Gamma Spearman column of the slices table."""
    with warnings.catch_warnings():
        # decile MAPE leaves out bins with no actual spend and warns each time; expected for CLTV
        warnings.simplefilter("ignore", DataWarning)
        model_metrics = M.cltv_metrics(actual, p)
        baselines = {
            name: M.cltv_metrics(actual, base[name].to_numpy())
            for name in base.columns
            if not base[name].isna().any()
        }
    ref = baselines.get("bgnbd_gamma_gamma")
    result = {
        "mean_actual_value": float(np.mean(actual)),
        "model": model_metrics,
        "baselines": baselines,
        "model_beats_baselines": bool(
            ref is not None
            and model_metrics["spearman"] >= ref["spearman"]
            and model_metrics["normalized_gini"] >= ref["normalized_gini"]
        ),
    }
    extra: _Extra = {} if ref is None else {
        "bgnbd_gamma_gamma_spearman": (M.spearman, base["bgnbd_gamma_gamma"].to_numpy(), "spearman")
    }
    return result, extra


def _sizes(ts: pd.Timestamp, h: pd.Timedelta, outcome: np.ndarray) -> dict[str, Any]:
    """The keys every evaluation result starts with: when, how long, how many customers."""
    return {"as_of": ts.isoformat(), "horizon": str(h), "n_customers": len(outcome)}


def _nan_low(v: float) -> float:
    return -math.inf if math.isnan(v) else v

