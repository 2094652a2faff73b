"""Shared machinery of the LightGBM churn and CLTV models.

- deterministic LightGBM parameters (``deterministic``, ``force_row_wise``, one seed, fixed threads);
- point-in-time *hybrid* features: the :func:`cxml.features.customer_features` columns plus the
  outputs of a BG/NBD and a Gamma-Gamma model fitted on the purchases before the same cutoff;
- the multi-snapshot training set and its checks (cutoffs with customers, both classes);
- alignment of a new feature frame to the fitted feature list, and the text/JSON/npz file helpers
  used by ``save``/``load`` (no pickle anywhere).

Examples
--------
>>> import pandas as pd
>>> from cxml.churn._lgbm import align_features
>>> align_features(pd.DataFrame({"a": [1], "z": [2]}), ["a", "b"]).columns.tolist()
['a', 'b']
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.gamma_gamma import GammaGammaModel
from cxml.churn.summary import rfm_summary, time_unit_days
from cxml.exceptions import (
    BundleError,
    ConvergenceWarning,
    DataWarning,
    InsufficientDataError,
    SchemaError,
)
from cxml.features import (
    CHURNED,
    FUTURE_VALUE,
    churn_labels,
    customer_features,
    future_value,
    snapshot_cutoffs,
)
from cxml.schema import Columns, purchase_mask

__all__ = [
    "BTYD_COLUMNS",
    "FORMAT_VERSION",
    "MIN_SNAPSHOT_CUSTOMERS",
    "align_features",
    "check_reaches",
    "btyd_features",
    "fit_btyd",
    "lgbm_params",
    "read_json",
    "snapshot_frames",
    "snapshot_problem",
    "write_json",
]

#: Version of the directory layout written by ``ChurnModel.save`` / ``CLTVModel.save``.
FORMAT_VERSION = 1
#: A labelled snapshot with fewer customers than this is too small to train or validate on.
MIN_SNAPSHOT_CUSTOMERS = 20
#: Hybrid feature columns computed from the BG/NBD and Gamma-Gamma models at each cutoff.
BTYD_COLUMNS = (
    "bg_p_alive",
    "bg_expected_purchases",
    "bg_p_no_purchase",
    "gg_expected_order_value",
    "bg_gg_expected_value",
)
_BTYD_TIME_UNIT = "W"


def lgbm_params(
    base: Mapping[str, Any], user: Mapping[str, Any] | None, *, random_state: int, n_jobs: int
) -> dict[str, Any]:
    """``base`` updated by the user's ``lgbm_params``, with the determinism settings forced on top.

    The seed, thread count and ``deterministic``/``force_row_wise`` always win: they are what makes
    the same ``random_state`` give the same model. ``is_unbalance``/``scale_pos_weight`` are refused
    because reweighting the classes breaks the calibration of the probabilities.
    """
    params = dict(base)
    if user is not None:
        if not isinstance(user, Mapping):
            raise SchemaError(f"lgbm_params={user!r} must be a dict of LightGBM parameters or None")
        for bad in ("is_unbalance", "scale_pos_weight"):
            if bad in user:
                raise SchemaError(
                    f"lgbm_params[{bad!r}] is not allowed: class reweighting distorts the calibrated "
                    "probabilities; the model calibrates on a held-out snapshot instead"
                )
        params.update(user)
    params.update(
        deterministic=True,
        force_row_wise=True,
        seed=int(random_state),
        num_threads=int(n_jobs),
        verbosity=-1,
    )
    return params


def check_common_settings(horizon: Any, n_snapshots: Any, random_state: Any, n_jobs: Any) -> None:
    """Validate the constructor arguments shared by both models (called from ``fit``)."""
    if isinstance(n_snapshots, bool) or not isinstance(n_snapshots, int | np.integer) or n_snapshots < 1:
        raise SchemaError(f"n_snapshots={n_snapshots!r} must be a positive integer")
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise SchemaError(f"random_state={random_state!r} must be an integer (it seeds LightGBM)")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise SchemaError(f"n_jobs={n_jobs!r} must be a positive integer (LightGBM threads)")


# --------------------------------------------------------------------------- BG/NBD features
def fit_btyd(summary: pd.DataFrame, where: str = "") -> dict[str, dict[str, float] | None]:
    """BG/NBD and Gamma-Gamma parameters fitted on one cutoff's :func:`rfm_summary` (weeks).

    A model that cannot be fitted on these customers (no repeat buyers, a Gamma-Gamma with an
    infinite mean spend) gets ``None``: its feature columns are then NaN, which LightGBM treats as
    missing, and a :class:`cxml.DataWarning` naming ``where`` says why. A fit that stops without
    meeting its convergence test is still used (on a short early snapshot the Gamma-Gamma MLE runs
    off to p → ∞, whose limit is each customer's own mean spend — a usable feature); its
    :class:`cxml.ConvergenceWarning` is passed on with ``where`` added.
    """
    out: dict[str, dict[str, float] | None] = {"bgnbd": None, "gamma_gamma": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        # customers without a usable repeat spend are expected here (one-time buyers, zero-price
        # lines); they get the population mean value, so the GG fit's left-out count is not news
        warnings.simplefilter("ignore", DataWarning)
        problems = []
        try:
            out["bgnbd"] = BGNBDModel(time_unit=_BTYD_TIME_UNIT).fit_summary(summary).params_
        except InsufficientDataError as exc:
            problems.append(f"BG/NBD features {where}are NaN: {exc}")
        try:
            gg = GammaGammaModel(time_unit=_BTYD_TIME_UNIT).fit_summary(summary)
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
    x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    t = horizon / pd.Timedelta(days=time_unit_days(_BTYD_TIME_UNIT))
    bg = BGNBDModel(time_unit=_BTYD_TIME_UNIT).set_fitted_params(**bg_params)
    purchases = bg.expected_purchases(t, x, tx, T)
    out["bg_p_alive"] = bg.p_alive(x, tx, T)
    out["bg_expected_purchases"] = purchases
    out["bg_p_no_purchase"] = bg.p_no_purchase(t, x, tx, T)
    if gg_params is not None and "monetary_value" in summary.columns:
        gg = GammaGammaModel(time_unit=_BTYD_TIME_UNIT).set_fitted_params(**gg_params)
        value = gg.conditional_expected_average_profit(x, summary["monetary_value"].to_numpy())
        out["gg_expected_order_value"] = value
        out["bg_gg_expected_value"] = purchases * value
    return out


def hybrid_frame(
    features: pd.DataFrame,
    events: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon: pd.Timedelta,
    params: Mapping[str, Mapping[str, float] | None] | None,
) -> tuple[pd.DataFrame, dict[str, dict[str, float] | None]]:
    """``features`` (indexed by customer) joined with the BG/NBD features at ``cutoff``.

    ``params=None`` fits the BG/NBD and Gamma-Gamma models on the purchases before ``cutoff``
    (training snapshots); given params are reused (prediction with the fitted models).
    """
    summary = rfm_summary(events, cutoff, time_unit=_BTYD_TIME_UNIT)
    where = f"at cutoff {cutoff.date()} "
    fitted = fit_btyd(summary, where) if params is None else {k: _copy(v) for k, v in params.items()}
    btyd = btyd_features(summary, fitted, horizon)
    return features.join(btyd.reindex(features.index)), fitted


def _copy(params: Mapping[str, float] | None) -> dict[str, float] | None:
    return None if params is None else {k: float(v) for k, v in params.items()}


# --------------------------------------------------------------------------- snapshots
def check_reaches(events: pd.DataFrame, end: pd.Timestamp, horizon: pd.Timedelta, what: str) -> None:
    """Raise :class:`cxml.InsufficientDataError` unless the events reach (almost) up to ``end``.

    A window ending at ``end`` counts as observed when the latest event of any type is at most
    ``min(7 days, horizon / 4)`` plus one day before ``end``: a log that simply has no events on the
    last days (a weekend, a bank holiday — Online Retail has none on 2010-05-31) is still complete,
    while data that stop weeks early would make everybody look churned.
    """
    if len(events) == 0:
        raise InsufficientDataError(f"{what}, but the events table is empty")
    last = pd.Timestamp(events[Columns.TIMESTAMP].max())
    allowed = min(pd.Timedelta(days=7), horizon / 4) + pd.Timedelta(days=1)
    if end - last > allowed:
        raise InsufficientDataError(
            f"{what}, but the events end at {last}, {end - last} before {end.date()} (more than the "
            f"{allowed} allowed for days without events); the window is not observed. Use an earlier "
            "date or events that reach it"
        )


def _show(td: pd.Timedelta) -> str:
    return f"{td.days}D" if td % pd.Timedelta(days=1) == pd.Timedelta(0) else str(td)


def plan_cutoffs(
    events: pd.DataFrame, as_of: pd.Timestamp, horizon: pd.Timedelta, n: int, step: Any
) -> list[pd.Timestamp]:
    """Snapshot cutoffs (oldest first) whose label windows end by ``as_of`` and that have customers.

    Raises :class:`cxml.InsufficientDataError` when the data do not reach ``as_of`` (the latest label
    window would not be observed) or when no cutoff has a customer with an earlier purchase.
    """
    cuts = snapshot_cutoffs(as_of, horizon, n, step=step)
    check_reaches(events, as_of, horizon, f"fit(as_of={as_of.date()}) trains on label windows ending by as_of")
    ts = events[Columns.TIMESTAMP].to_numpy()[purchase_mask(events).to_numpy()]
    if len(ts) == 0:
        raise InsufficientDataError("the events have no purchase rows; churn/CLTV models need purchases")
    first = pd.Timestamp(ts.min())
    usable = [c for c in cuts if c > first]
    if not usable:
        raise InsufficientDataError(
            f"no fully observed training snapshot: with horizon={_show(horizon)} the latest cutoff "
            f"whose label window ends by as_of={as_of.date()} is {cuts[-1].date()}, but the first "
            f"purchase is at {first}, so no customer exists at any cutoff. A snapshot needs a "
            f"purchase before its cutoff: use as_of > {first + horizon} (first purchase + horizon) "
            "or a shorter horizon"
        )
    if len(usable) < len(cuts):
        warnings.warn(
            f"{len(cuts) - len(usable)} of {len(cuts)} snapshot cutoffs "
            f"({', '.join(str(c.date()) for c in cuts if c <= first)}) are on or before the first "
            f"purchase ({first}) and have no customers; training uses the other {len(usable)}",
            DataWarning,
            stacklevel=3,
        )
    return usable


def snapshot_frames(
    events: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: pd.Timedelta,
    *,
    windows: Sequence[Any],
    use_btyd: bool,
    require_both_classes: bool,
    require_spend: bool = False,
) -> tuple[list[pd.DataFrame], list[dict[str, dict[str, float] | None]], list[str]]:
    """Labelled hybrid snapshots (one frame per cutoff, oldest first), their BTYD params and the
    feature names. Older snapshots that are too small or have one class are dropped with a
    :class:`cxml.DataWarning`; when the latest one is, :class:`cxml.InsufficientDataError`."""
    # every snapshot gets the engagement types / feedback kinds seen before the latest cutoff
    latest = customer_features(events, cutoffs[-1], windows=windows)
    types, kinds = latest.attrs["cxml_event_types"], latest.attrs["cxml_feedback_types"]
    names = list(latest.columns)
    parts, params = [], []
    for i, cut in enumerate(cutoffs):
        x = latest if i == len(cutoffs) - 1 else customer_features(
            events, cut, windows=windows, event_types=types, feedback_types=kinds
        )
        # labels only read [cut, cut + horizon), which ends by the fit's as_of
        snap = x.assign(
            **{
                Columns.CUTOFF: cut,
                CHURNED: churn_labels(events, cut, horizon).reindex(x.index).to_numpy(),
                FUTURE_VALUE: future_value(events, cut, horizon).reindex(x.index).to_numpy(),
            }
        )
        fitted: dict[str, dict[str, float] | None] = {}
        if use_btyd and len(snap):
            feats, fitted = hybrid_frame(snap[names], events, cut, horizon, None)
            snap = feats.join(snap.drop(columns=names))
        problem = snapshot_problem(snap, require_both_classes, require_spend)
        if problem is None:
            parts.append(snap)
            params.append(fitted)
        elif i == len(cutoffs) - 1:
            raise InsufficientDataError(
                f"the latest training snapshot (cutoff {cut.date()}, labels [{cut.date()}, "
                f"{(cut + horizon).date()})) {problem}; it is needed for early stopping and "
                "calibration. Use an as_of with more history or a different horizon"
            )
        else:
            warnings.warn(
                f"training snapshot at cutoff {cut.date()} {problem}; it is left out",
                DataWarning,
                stacklevel=3,
            )
    if use_btyd:
        names += list(BTYD_COLUMNS)
    return parts, params, names


def snapshot_problem(snap: pd.DataFrame, require_both_classes: bool, require_spend: bool) -> str | None:
    """Why a labelled frame cannot be trained or validated on (``None`` when it can)."""
    if len(snap) < MIN_SNAPSHOT_CUSTOMERS:
        return f"has {len(snap)} customers (< {MIN_SNAPSHOT_CUSTOMERS})"
    if require_spend and not snap[FUTURE_VALUE].sum() > 0:
        return "has no spend in its label window (do the purchase events carry amounts?)"
    if require_both_classes:
        n_churn = int(snap[CHURNED].sum())
        if n_churn in (0, len(snap)):
            kind = "churned" if n_churn else "stayed"
            return f"has one class only: all {len(snap)} customers {kind}"
    return None


def split_by_customer(
    frame: pd.DataFrame, fraction: float, random_state: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic split of one snapshot's customers into (train, held-out ``fraction``)."""
    ids = np.asarray(frame.index.unique(), dtype=object)
    rng = np.random.default_rng(random_state)
    held = set(rng.permutation(ids)[: max(1, round(fraction * len(ids)))].tolist())
    mask = frame.index.isin(list(held))
    return frame.loc[~mask], frame.loc[mask]


# --------------------------------------------------------------------------- frames and files
def align_features(frame: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """``frame`` with exactly ``feature_names`` as float64 columns: missing ones NaN, extra dropped."""
    return frame.reindex(columns=list(feature_names)).astype(np.float64)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default), encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{str(path)!r} is missing or not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{str(path)!r} does not hold a JSON object")
    return data


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp | pd.Timedelta):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def check_format(meta: Mapping[str, Any], cls_name: str, path: Path) -> None:
    """Refuse a saved model of another class or a newer directory format."""
    if meta.get("class") != cls_name:
        raise BundleError(f"{str(path)!r} holds a {meta.get('class')!r}, not a {cls_name}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(
            f"{str(path)!r} has format_version {version!r}; this cxml reads up to {FORMAT_VERSION}"
        )


def load_booster(path: Path) -> lgb.Booster:
    if not path.is_file():
        raise BundleError(f"LightGBM model file {str(path)!r} is missing")
    return lgb.Booster(model_file=str(path))

