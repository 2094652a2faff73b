"""Model construction and honest time-based evaluation for the training harness and the CLI."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_int
from cxml.churn.evaluation import evaluate_churn, evaluate_cltv
from cxml.exceptions import InsufficientDataError
from cxml.recommend import evaluate, temporal_split
from cxml.schema import events_before, parse_as_of, parse_horizon
from cxml.scoring import Scorer
from cxml.tracking._catalog import VALUE_MODELS, nested_recommenders, recommender_classes
from cxml.tracking._plots import model_plots
from cxml.tracking.config import HorizonSection, RecommenderSection

__all__ = ["evaluate_bundle", "flatten_report", "log_model_details", "make_recommender", "train_value_model"]

_EVALUATORS = {"churn": evaluate_churn, "cltv": evaluate_cltv}


def log_model_details(model: Any, out: Path) -> None:
    """Log a fitted model's hyper-parameters to the active MLflow run (what the UI's Parameters shows).

    For an :class:`~cxml.recommend.AutoRecommender` the chosen candidate's parameters are logged as
    ``selected.*`` and its whole leaderboard as ``leaderboard.csv``, so the run says what "auto"
    picked and by how much.
    """
    import mlflow  # imported here: mlflow takes seconds to import; `cxml --help` should not pay for it

    params = {f"model.{k}": v for k, v in model.get_params(deep=False).items() if not hasattr(v, "get_params")}
    params["model.class"] = type(model).__name__
    selected = getattr(model, "best_params_", None)
    if isinstance(selected, dict):
        params.update({f"selected.{k}": v for k, v in selected.items()})
    mlflow.log_params({k: ("None" if v is None else str(v)[:500]) for k, v in params.items()})
    board = getattr(model, "leaderboard_", None)
    if isinstance(board, pd.DataFrame):
        path = out / "leaderboard.csv"
        board.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def make_recommender(section: RecommenderSection, random_state: int) -> Any:
    """A fresh, unfitted recommender of the configured kind (``section`` checked by ``validate_config``)."""
    classes = recommender_classes()
    cls = classes[section.model]
    params = dict(section.params)
    for key in nested_recommenders(cls):  # a wrapped recommender is named in the config
        params[key] = make_recommender(RecommenderSection(model=params[key], k=section.k), random_state)
    accepted = cls().get_params()
    if "random_state" in accepted:
        params.setdefault("random_state", random_state)
    if "k" in accepted:
        params.setdefault("k", section.k)
    return cls(**params)


def flatten_report(report: dict[str, Any]) -> dict[str, float]:
    """``{model: {m: v}, baselines: {b: {m: v}}}`` → ``{m: v, "b.m": v}`` (finite numbers only)."""
    flat: dict[str, float] = {}
    for key, val in report.get("model", {}).items():
        flat[key] = val
    for name, metrics in report.get("baselines", {}).items():
        flat.update({f"{name}.{key}": val for key, val in metrics.items()})
    for key in ("n_customers", "churn_rate"):
        if key in report:
            flat[key] = report[key]
    return {k: float(v) for k, v in flat.items()
            if isinstance(v, int | float | np.floating | np.integer) and np.isfinite(v)}


def train_value_model(
    name: str, section: HorizonSection, random_state: int, events: pd.DataFrame, as_of: pd.Timestamp,
    plot_dir: Path, btyd: Mapping[pd.Timestamp, Any] | None = None,
) -> tuple[Any, dict[str, float], list[Path]]:
    """Evaluate ``name`` ("churn" or "cltv") out of time, then refit it at ``as_of``.

    Evaluation fits at ``as_of − horizon`` and scores the real outcome in ``[as_of − horizon,
    as_of)`` beside the baselines. When the history is too short for that, the metrics are empty
    and a warning says why; the final model is still fitted. Plots are written to ``plot_dir``.
    ``btyd`` (a streamed run: ``events`` are a customer sample) maps each fit's ``as_of`` to the
    BG/NBD and Gamma-Gamma parameters fitted on every customer, which replace the sample's in the
    model's prediction features (``btyd_params_``).
    """
    cls = VALUE_MODELS[name]
    params = {**section.params, "horizon": section.horizon}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", random_state)
    history = events_before(events, as_of)
    valid_as_of = as_of - parse_horizon(section.horizon)
    metrics: dict[str, float] = {}
    plots: list[Path] = []
    try:
        model = _with_population_btyd(cls(**params).fit(history, as_of=valid_as_of), btyd, valid_as_of)
        metrics = flatten_report(_EVALUATORS[name](model, history, valid_as_of))
        plots = model_plots(name, model, history, valid_as_of, plot_dir)
    except InsufficientDataError as exc:
        warnings.warn(f"{name}: no out-of-time evaluation ({exc})", stacklevel=2)
    final = _with_population_btyd(cls(**params).fit(history, as_of=as_of), btyd, as_of)
    return final, metrics, plots


def _with_population_btyd(model: Any, btyd: Mapping[pd.Timestamp, Any] | None, as_of: pd.Timestamp) -> Any:
    """``model`` with the population's BTYD parameters at ``as_of`` (when it uses BTYD features and they are given)."""
    if btyd is not None and getattr(model, "btyd_params_", None) is not None and as_of in btyd:
        model.btyd_params_ = btyd[as_of]
    return model


def evaluate_bundle(model: str | os.PathLike[str], events: pd.DataFrame, *, as_of: Any, k: int = 10,
                    tracking_uri: str | None = None) -> dict[str, float]:
    """Evaluate every model of a bundle on what happened after ``as_of`` (``cxml evaluate``).

    Parameters
    ----------
    model
        A bundle directory or a ``models:/NAME@alias`` URI (see :meth:`cxml.Scorer.load`).
    events
        Canonical events covering the time after ``as_of``.
    as_of
        The cut: models see the events before it and are scored on what happened after.
    k
        Recommendations per customer for the recommender's metrics (an int >= 1).
    tracking_uri
        MLflow tracking URI for ``models:/`` URIs.

    Returns
    -------
    dict of str to float
        ``recommender.*``, ``churn.*`` and ``cltv.*`` metrics.
    """
    k = check_int("k", k, minimum=1)
    ts = parse_as_of(as_of)
    bundle = Scorer.load(model, tracking_uri=tracking_uri).bundle
    metrics: dict[str, float] = {}
    if bundle.recommender is not None:
        train_part, test_part = temporal_split(events, test_start=ts)
        report = evaluate(bundle.recommender, train_part, test_part, k=k)
        metrics.update({f"recommender.{key}": float(v) for key, v in report.items()
                        if isinstance(v, int | float)})
    for name, fn in _EVALUATORS.items():
        fitted = getattr(bundle, name)
        if fitted is not None:
            metrics.update({f"{name}.{key}": v for key, v in flatten_report(fn(fitted, events, ts)).items()})
    return metrics
