"""Log a :func:`cxml.evaluate.backtest` result to MLflow: a parent run, one nested run per cutoff.

The parent run holds the settings (params), the pooled rows (metrics), the whole table as
``backtest/backtest.csv`` and a plot of every difference with its interval, per cutoff and pooled
(``backtest/backtest_intervals.png``). Each nested run ``cutoff YYYY-MM-DD`` holds that cutoff's
rows and the point estimate of every scorer (model and each baseline).

Metric keys: ``<task>.<metric>.<column>`` with column ``model``, ``baseline``, ``difference``,
``ci_low``, ``ci_high`` (non-finite values are not logged), and ``<task>.<scorer>.<metric>`` for the
scorers; the strongest baseline's name is the param ``<task>.<metric>.baseline_name``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml._uri import resolve_tracking_uri, tracking_uri_context
from cxml.evaluate import COLUMNS, HIGHER_IS_BETTER
from cxml.exceptions import ParameterError

__all__ = ["log_backtest", "plot_backtest"]

_LOGGED = ("model", "baseline", "difference", "ci_low", "ci_high")


def _check(result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame) or not set(COLUMNS) <= set(result.columns):
        raise ParameterError(
            f"result must be the DataFrame cxml.evaluate.backtest returns (columns {list(COLUMNS)}); "
            f"got {type(result).__name__}"
        )
    if result.empty:
        raise ParameterError("result has no rows; run a backtest with at least one cutoff first")
    return result


def _metrics(rows: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, r in rows.iterrows():
        for col in _LOGGED:
            value = float(r[col])
            if math.isfinite(value):
                out[f"{r['task']}.{r['metric']}.{col}"] = value
        out[f"{r['task']}.{r['metric']}.crosses_zero"] = float(bool(r["crosses_zero"]))
    return out


def _params(rows: pd.DataFrame) -> dict[str, str]:
    return {f"{r['task']}.{r['metric']}.baseline_name": str(r["baseline_name"]) for _, r in rows.iterrows()}


def plot_backtest(result: pd.DataFrame, path: str | Path) -> Path:
    """Draw every (task, metric) difference with its interval, per cutoff and pooled, into ``path`` (PNG).

    Parameters
    ----------
    result
        A :func:`cxml.evaluate.backtest` frame.
    path
        The PNG file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    # imported here: matplotlib is slow to import and only logging a backtest draws
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    frame = _check(result)
    panels = list(dict.fromkeys(zip(frame["task"], frame["metric"], strict=True)))
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), squeeze=False)
    for ax, (task, metric) in zip(axes.ravel(), panels, strict=False):
        rows = frame.loc[(frame["task"] == task) & (frame["metric"] == metric)]
        x = np.arange(len(rows))
        diff = rows["difference"].to_numpy(dtype=np.float64)
        low = rows["ci_low"].to_numpy(dtype=np.float64)
        high = rows["ci_high"].to_numpy(dtype=np.float64)
        err = np.vstack([np.nan_to_num(diff - low), np.nan_to_num(high - diff)])
        colors = ["tab:gray" if c else "tab:blue" for c in rows["crosses_zero"]]
        for xi, d, e0, e1, c in zip(x, diff, err[0], err[1], colors, strict=True):
            ax.errorbar([xi], [d], yerr=[[e0], [e1]], fmt="o", color=c, capsize=3)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(x, [str(c) for c in rows["cutoff"]], rotation=30, fontsize=7)
        lower = not HIGHER_IS_BETTER.get(str(metric), True)
        ax.set_title(f"{task}: {metric}" + (" (lower is better)" if lower else ""), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("model − strongest baseline, 95 % interval (grey: crosses zero)", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def log_backtest(
    result: pd.DataFrame,
    *,
    tracking_uri: str | None = None,
    experiment: str = "cxml-backtest",
    run_name: str = "backtest",
    tags: dict[str, str] | None = None,
) -> str:
    """Log a backtest frame to MLflow (see the module docstring); returns the parent run id.

    Parameters
    ----------
    result
        The DataFrame :func:`cxml.evaluate.backtest` returned (its ``attrs`` add the settings and
        every scorer's values when present).
    tracking_uri
        MLflow tracking URI; default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
    experiment
        Experiment name (created when missing).
    run_name
        Name of the parent run.
    tags
        Extra tags of the parent run.

    Returns
    -------
    str
        The parent run's id.

    Raises
    ------
    ParameterError
        When ``result`` is not a backtest frame.
    """
    import mlflow  # imported here: mlflow takes seconds to import and only logging needs it

    frame = _check(result)
    settings = frame.attrs.get("settings", {})
    scores = frame.attrs.get("scores")
    with (
        tracking_uri_context(resolve_tracking_uri(tracking_uri)),
        tempfile.TemporaryDirectory(prefix="cxml-backtest-") as tmp,
    ):
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name) as parent:
            mlflow.set_tags({"cxml.kind": "backtest", **(tags or {})})
            mlflow.log_params({f"backtest.{k}": str(v) for k, v in settings.items()})
            pooled = frame.loc[frame["cutoff"] == "pooled"]
            mlflow.log_metrics(_metrics(pooled))
            for cutoff in [c for c in dict.fromkeys(frame["cutoff"]) if c != "pooled"]:
                rows = frame.loc[frame["cutoff"] == cutoff]
                with mlflow.start_run(run_name=f"cutoff {cutoff}", nested=True):
                    mlflow.set_tag("cxml.cutoff", str(cutoff))
                    mlflow.log_params(_params(rows))
                    metrics = _metrics(rows)
                    if isinstance(scores, pd.DataFrame):
                        mine = scores.loc[scores["cutoff"] == cutoff]
                        metrics.update({f"{r.task}.{r.scorer}.{r.metric}": float(r.value)
                                        for r in mine.itertuples() if math.isfinite(float(r.value))})
                    mlflow.log_metrics(metrics)
            table = Path(tmp) / "backtest.csv"
            frame.to_csv(table, index=False)
            mlflow.log_artifact(str(table), artifact_path="backtest")
            mlflow.log_artifact(str(plot_backtest(frame, Path(tmp) / "backtest_intervals.png")),
                                artifact_path="backtest")
            return str(parent.info.run_id)


def models_for_tasks(tasks: str | None) -> dict[str, Any] | None:
    """``backtest``'s ``models=`` for a comma-separated task list (``"churn,cltv"``); None for all.

    Parameters
    ----------
    tasks
        Task names from ``churn, cltv, recommend`` separated by commas, or None / empty for the default.

    Returns
    -------
    dict or None
        Each task with its default settings (``"auto"`` for recommend).

    Raises
    ------
    ParameterError
        When a name is not a task.
    """
    names = [t.strip() for t in (tasks or "").split(",") if t.strip()]
    if not names:
        return None
    unknown = sorted(set(names) - {"churn", "cltv", "recommend"})
    if unknown:
        raise ParameterError(f"tasks {unknown} are not backtest tasks; expected some of churn, cltv, recommend")
    return {t: ("auto" if t == "recommend" else {}) for t in names}
