"""Model construction, honest time-based evaluation and plots for the training harness and CLI."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.exceptions import InsufficientDataError
from cxml.schema import events_before, parse_as_of, parse_horizon
from cxml.tracking.config import ChurnSection, RecommenderSection

__all__ = ["evaluate_bundle", "flatten_report", "log_model_details", "make_recommender", "train_value_model"]


def log_model_details(model: Any, out: Path) -> None:
    """Log a fitted model's hyper-parameters to the active MLflow run (what the UI's Parameters shows).

    For an :class:`~cxml.recommend.AutoRecommender` the chosen candidate's parameters are logged as
    ``selected.*`` and its whole leaderboard as ``leaderboard.csv``, so the run says what "auto"
    picked and by how much.
    """
    import mlflow

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
    """A fresh, unfitted recommender of the configured kind."""
    import cxml.recommend

    names = {"auto": "AutoRecommender", "als": "ALSRecommender", "ease": "EASERecommender",
             "itemknn": "ItemKNNRecommender", "popularity": "PopularityRecommender"}
    cls = getattr(cxml.recommend, names[section.model])
    params = dict(section.params)
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
    name: str, section: ChurnSection, random_state: int, events: pd.DataFrame, as_of: pd.Timestamp,
    plot_dir: Path,
) -> tuple[Any, dict[str, float], list[Path]]:
    """Evaluate ``name`` ("churn" or "cltv") out of time, then refit it at ``as_of``.

    Evaluation fits at ``as_of − horizon`` and scores the real outcome in ``[as_of − horizon,
    as_of)`` beside the baselines. When the history is too short for that, the metrics are empty
    and a warning says why; the final model is still fitted. Plots are written to ``plot_dir``.
    """
    from cxml.churn import ChurnModel, CLTVModel
    from cxml.churn.evaluation import evaluate_churn, evaluate_cltv

    cls = ChurnModel if name == "churn" else CLTVModel
    params = {**section.params, "horizon": section.horizon}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", random_state)
    history = events_before(events, as_of)
    valid_as_of = as_of - parse_horizon(section.horizon)
    metrics: dict[str, float] = {}
    plots: list[Path] = []
    try:
        model = cls(**params).fit(history, as_of=valid_as_of)
        evaluate = evaluate_churn if name == "churn" else evaluate_cltv
        metrics = flatten_report(evaluate(model, history, valid_as_of))
        plots = _plots(name, model, history, valid_as_of, plot_dir)
    except InsufficientDataError as exc:
        warnings.warn(f"{name}: no out-of-time evaluation ({exc})", stacklevel=2)
    final = cls(**params).fit(history, as_of=as_of)
    return final, metrics, plots


def _plots(name: str, model: Any, events: pd.DataFrame, as_of: pd.Timestamp, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from cxml.churn import plots
    from cxml.features import churn_labels

    paths: list[Path] = []
    imp = model.feature_importance()
    fig, ax = plt.subplots(figsize=(7, 6))
    plots.feature_importance(imp.iloc[:, 0].astype(str).tolist(), imp.iloc[:, 1].to_numpy(), ax=ax)
    paths.append(_save(fig, out / f"{name}_feature_importance.png"))
    if name == "churn":
        risk = model.predict(events, as_of=as_of).set_index("customer_id")["churn_probability"]
        y = churn_labels(events, as_of, model.horizon).reindex(risk.index).to_numpy()
        for kind, fn in (("lift", plots.lift_curve), ("calibration", plots.calibration_curve)):
            fig, ax = plt.subplots(figsize=(6, 5))
            fn(y, risk.to_numpy(), ax=ax)
            paths.append(_save(fig, out / f"churn_{kind}.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def evaluate_bundle(model: str | os.PathLike[str], events: pd.DataFrame, *, as_of: Any, k: int = 10,
                    tracking_uri: str | None = None) -> dict[str, float]:
    """Evaluate every model of a bundle on what happened after ``as_of`` (``cxml evaluate``)."""
    from cxml.scoring import Scorer

    scorer = Scorer.load(model, tracking_uri=tracking_uri)
    ts = parse_as_of(as_of)
    bundle = scorer.bundle
    metrics: dict[str, float] = {}
    if bundle.recommender is not None:
        from cxml.recommend import evaluate, temporal_split

        train_part, test_part = temporal_split(events, test_start=ts)
        report = evaluate(bundle.recommender, train_part, test_part, k=k)
        metrics.update({f"recommender.{key}": float(v) for key, v in report.items()
                        if isinstance(v, int | float)})
    for name in ("churn", "cltv"):
        fitted = getattr(bundle, name)
        if fitted is None:
            continue
        from cxml.churn.evaluation import evaluate_churn, evaluate_cltv

        fn = evaluate_churn if name == "churn" else evaluate_cltv
        metrics.update({f"{name}.{key}": v for key, v in flatten_report(fn(fitted, events, ts)).items()})
    return metrics
