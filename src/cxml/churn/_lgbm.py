"""Training-set machinery of the LightGBM churn and CLTV models.

- one set of LightGBM defaults and the deterministic parameters (``deterministic``,
  ``force_row_wise``, one seed, fixed threads);
- the multi-snapshot training set: cutoffs whose label windows end by ``as_of``, each with the
  :mod:`cxml.features` columns, both labels and the point-in-time BG/NBD features
  (:mod:`cxml.churn._hybrid`), all from ONE preparation of the events;
- the held-out split and the alignment of a feature frame to the fitted feature list.

Examples
--------
>>> import pandas as pd
>>> from cxml.churn._lgbm import align_features
>>> align_features(pd.DataFrame({"a": [1], "z": [2]}), ["a", "b"]).columns.tolist()
['a', 'b']
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxml.churn._hybrid import BTYD_COLUMNS, BTYD_TIME_UNIT, BTYDParams, btyd_features, fit_btyd
from cxml.churn.summary import summary_at
from cxml.exceptions import DataWarning, InsufficientDataError, ParameterError
from cxml.features import CHURNED, FUTURE_VALUE, snapshot_cutoffs
from cxml.features._base import Prepared, prepare
from cxml.features.core import features_from_prepared
from cxml.features.labels import labels_from_prepared
from cxml.schema import Columns

__all__ = [
    "LGBM_DEFAULTS",
    "MIN_SNAPSHOT_CUSTOMERS",
    "SMALL_TREES",
    "align_features",
    "customer_index",
    "finite_baselines",
    "check_reaches",
    "lgbm_params",
    "plan_cutoffs",
    "snapshot_frames",
    "snapshot_problem",
    "split_by_customer",
]

#: A labelled snapshot with fewer customers than this is too small to train or validate on.
MIN_SNAPSHOT_CUSTOMERS = 20
#: LightGBM settings both models start from (each adds its objective and metric).
LGBM_DEFAULTS: Mapping[str, Any] = {
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
}

#: ChurnModel's tree settings on top of :data:`LGBM_DEFAULTS` (issue 19's backtest: smaller, more
#: regularised trees rank as well or better on CDNOW, Online Retail and the sample).
SMALL_TREES: Mapping[str, Any] = {
    "num_leaves": 7,
    "min_data_in_leaf": 100,
    "lambda_l2": 10.0,
    "feature_fraction": 0.6,
    "learning_rate": 0.02,
}


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
            raise ParameterError(f"lgbm_params={user!r} must be a dict of LightGBM parameters or None")
        for bad in ("is_unbalance", "scale_pos_weight"):
            if bad in user:
                raise ParameterError(
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
    events: pd.DataFrame,
    purchases: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon: pd.Timedelta,
    n: int,
    step: pd.Timedelta | None,
) -> list[pd.Timestamp]:
    """Snapshot cutoffs (oldest first) whose label windows end by ``as_of`` and that have customers.

    ``purchases`` are the purchase rows of the (trusted) ``events``.

    Raises :class:`cxml.InsufficientDataError` when the data do not reach ``as_of`` (the latest label
    window would not be observed) or when no cutoff has a customer with an earlier purchase.
    """
    cuts = snapshot_cutoffs(as_of, horizon, n, step=step)
    check_reaches(events, as_of, horizon, f"fit(as_of={as_of.date()}) trains on label windows ending by as_of")
    ts = purchases[Columns.TIMESTAMP].to_numpy()
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
    purchases: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    horizon: pd.Timedelta,
    *,
    windows: Sequence[pd.Timedelta],
    use_btyd: bool,
    require_both_classes: bool,
    require_spend: bool = False,
    extra: Callable[[Prepared, pd.Timestamp], pd.DataFrame | None] | None = None,
) -> tuple[list[pd.DataFrame], list[str]]:
    """Labelled hybrid snapshots (one frame per cutoff, oldest first) and the feature names.

    ``events`` are trusted (normalised by the caller) and prepared once for every cutoff;
    ``purchases`` are their purchase rows (:func:`cxml.churn.summary.purchase_rows`), summarised
    per cutoff for the BG/NBD features. ``extra(prepared, cutoff)`` adds a model's own feature
    columns (read only from rows before the cutoff), or ``None``. Older snapshots that are too small
    or have one class are dropped with a :class:`cxml.DataWarning`; when the latest one is,
    :class:`cxml.InsufficientDataError`.
    """
    prepared = prepare(events, max(cutoffs) + horizon)
    # every snapshot gets the engagement types / feedback kinds seen before the latest cutoff
    latest = features_from_prepared(prepared, cutoffs[-1], windows)
    types, kinds = latest.attrs["cxml_event_types"], latest.attrs["cxml_feedback_types"]
    names = list(latest.columns)
    added = None if extra is None else extra(prepared, cutoffs[-1])
    extra_names = [] if added is None else list(added.columns)
    parts = []
    for i, cut in enumerate(cutoffs):
        x = latest if i == len(cutoffs) - 1 else features_from_prepared(
            prepared, cut, windows, event_types=types, feedback_types=kinds
        )
        # labels only read [cut, cut + horizon), which ends by the fit's as_of
        labels = labels_from_prepared(prepared, cut, horizon).reindex(x.index)
        if extra_names and extra is not None:
            more = added if i == len(cutoffs) - 1 else extra(prepared, cut)
            x = x.join(pd.DataFrame(more).reindex(x.index))
        snap = x.assign(
            **{
                Columns.CUTOFF: cut,
                CHURNED: labels[CHURNED].to_numpy(),
                FUTURE_VALUE: labels[FUTURE_VALUE].to_numpy(),
            }
        )
        if use_btyd and len(snap):
            summary = summary_at(purchases, cut, time_unit=BTYD_TIME_UNIT)
            fitted = fit_btyd(summary, f"at cutoff {cut.date()} ")
            btyd = btyd_features(summary, fitted, horizon).reindex(x.index)
            snap = x.join(btyd).join(snap.drop(columns=names + extra_names))
        problem = snapshot_problem(snap, require_both_classes, require_spend)
        if problem is None:
            parts.append(snap)
        elif i == len(cutoffs) - 1:
            raise InsufficientDataError(
                f"the latest training snapshot (cutoff {cut.date()}, labels [{cut.date()}, "
                f"{(cut + horizon).date()})) {problem}; it is needed for early stopping and "
                "calibration. Use an as_of with more history or a different horizon"
            )
        else:
            warnings.warn(f"training snapshot at cutoff {cut.date()} {problem}; it is left out", DataWarning,
                          stacklevel=3)
    names += extra_names
    if use_btyd:
        names += list(BTYD_COLUMNS)
    return parts, names


def hybrid_features(
    features: pd.DataFrame, purchases: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta,
    params: BTYDParams,
) -> pd.DataFrame:
    """``features`` joined with the BG/NBD features at ``cutoff`` from already fitted ``params``."""
    summary = summary_at(purchases, cutoff, time_unit=BTYD_TIME_UNIT)
    return features.join(btyd_features(summary, params, horizon).reindex(features.index))


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


def align_features(frame: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """``frame`` with exactly ``feature_names`` as float64 columns: missing ones NaN, extra dropped."""
    return frame.reindex(columns=list(feature_names)).astype(np.float64)


def finite_baselines(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The baseline scores that are finite for every customer; the others are left out with a
    :class:`~cxml.DataWarning` (a BG/NBD that could not be fitted at the validation cutoff gives
    NaN or infinite scores, and a metric on those would compare with nothing real)."""
    kept: dict[str, np.ndarray] = {}
    for name, values in scores.items():
        bad = int((~np.isfinite(values)).sum())
        if bad:
            warnings.warn(f"validation baseline {name!r} left out: {bad} of {len(values)} customers have no "
                          "finite score (BG/NBD could not be fitted at the validation cutoff)",
                          DataWarning, stacklevel=4)
        else:
            kept[name] = values
    return kept


def customer_index(customers: Any) -> pd.Index:
    """Customer ids as a str Index; a single str (or other scalar id) is ONE customer."""
    if isinstance(customers, str | bytes | int | np.integer):
        customers = [customers]
    if not isinstance(customers, Iterable) or isinstance(customers, dict):
        raise ParameterError(f"customers={customers!r} must be a customer id or a list of ids")
    return pd.Index([str(c) for c in customers])
