"""``backtest``: rolling-origin evaluation of churn, CLTV and recommendations with intervals.

At every cutoff each model is refitted on the events before it (``fit(events, as_of=cutoff)``
reads nothing later) and scored on what happened in ``[cutoff, cutoff + horizon)``, beside the
baselines of PROTOCOL.md on the same customers:

- churn: recency rule, BG/NBD −E[purchases], BG/NBD P(no purchase), BG/NBD 1 − P(alive)
  (:func:`cxml.churn.evaluation.baseline_churn_scores`);
- CLTV: BG/NBD × Gamma-Gamma and the recent-spend rule (:func:`~cxml.churn.evaluation.baseline_cltv_values`);
- recommendations: popularity, fitted on the same past; test rows are the purchases in the window
  whose customer and item were bought before the cutoff (PROTOCOL.md), ``exclude_seen=True``.

For every metric the **strongest baseline** is the one with the best point estimate on that metric
at that cutoff (chosen per cutoff and per metric, among the baselines that have the metric: a
score-only rule has no Brier score). Choosing the best of several baselines after seeing them
favours the baselines, so the differences are, if anything, conservative. The **interval** is the
paired customer bootstrap of :mod:`cxml.evaluate.bootstrap`. The **pooled** row of a metric is the
plain mean over cutoffs of the model's value, the baseline's value and their difference (each
cutoff weighs the same: each is one forecast origin); its interval resamples customers within each
cutoff, independently, and averages the per-cutoff differences of each resample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxml._checks import check_float, check_int, check_random_state
from cxml.data import as_events
from cxml.evaluate._models import TASKS, parse_models
from cxml.evaluate._tasks import RECOMMEND_METRICS, Comparison, compare_churn, compare_cltv, compare_recommend
from cxml.evaluate.bootstrap import METRICS, interval, replicate_differences
from cxml.exceptions import LeakageError, ParameterError
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["COLUMNS", "HIGHER_IS_BETTER", "backtest"]

#: The columns of the frame :func:`backtest` returns, in order.
COLUMNS = ("cutoff", "task", "metric", "model", "baseline", "baseline_name", "difference", "ci_low", "ci_high",
           "n_customers", "crosses_zero")
#: Direction of every compared metric (the recommendation metrics are all higher = better).
HIGHER_IS_BETTER: Mapping[str, bool] = {
    **{name: m.higher_is_better for task in METRICS.values() for name, m in task.items()},
    **dict.fromkeys(RECOMMEND_METRICS, True),
}


@dataclass
class _Cell:
    """One compared metric at one cutoff: point estimates and the resampled differences."""

    model: float
    baseline: float
    baseline_name: str | None
    replicates: np.ndarray
    n: int


def backtest(
    events: Any,
    cutoffs: Sequence[Any],
    horizon: Any = "90D",
    models: Mapping[str, Any] | None = None,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    k: int = 10,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Refit and score every model at each cutoff against its strongest baseline, with intervals.

    Parameters
    ----------
    events
        Events: a canonical frame, a frame lacking optional columns, or a csv/parquet path.
    cutoffs
        Forecast origins (date-likes, at least one, no duplicates). Every ``cutoff + horizon`` must
        be observed in the events (the last event at most ``min(7 days, horizon / 4) + 1 day``
        before it).
    horizon
        The window after each cutoff whose churn, spend and purchases are scored, e.g. ``"90D"``.
    models
        Which tasks to run and how: a mapping with any of the keys ``"churn"``, ``"cltv"``,
        ``"recommend"``. ``churn``/``cltv``: a dict of :class:`~cxml.churn.ChurnModel` /
        :class:`~cxml.churn.CLTVModel` parameters, or an unfitted model (its ``horizon`` is set
        to ``horizon``). ``recommend``: ``"auto"`` (an :class:`~cxml.recommend.AutoRecommender`
        with ``k``, the ``"small"`` budget and ``random_state``), a registry name (e.g. ``"als"``)
        or an unfitted recommender. Defaults (``None``): churn and CLTV with ``n_snapshots=2``
        (fast), and ``"auto"`` recommendations when the events have item ids.
    n_boot
        Bootstrap resamples per cutoff (an integer >= 1; 1000 for a stable 95 % interval).
    confidence
        Coverage of the intervals, in (0, 1).
    k
        Recommendations per customer and the cut-off of the top-k metrics.
    random_state
        Seed of the models and of the resamples; the same seed gives the same frame (``None``:
        fresh entropy).

    Returns
    -------
    pandas.DataFrame
        One row per (cutoff, task, metric), then one ``cutoff="pooled"`` row per (task, metric):
        ``cutoff`` (ISO date str or ``"pooled"``), ``task`` (``churn``, ``cltv``, ``recommend``),
        ``metric``, ``model`` and ``baseline`` (their values), ``baseline_name`` (the strongest
        baseline; several names joined by ``", "`` on a pooled row), ``difference`` (model −
        baseline), ``ci_low``/``ci_high`` (its interval), ``n_customers`` (evaluated customers;
        their sum on a pooled row) and ``crosses_zero`` (True when the interval contains 0 or
        could not be computed: no clear difference). Lower is better for ``brier, log_loss, mae,
        rmse, decile_mape`` (:data:`HIGHER_IS_BETTER`). ``attrs["scores"]`` holds every scorer's
        point estimates (``cutoff, task, scorer, metric, value``), ``attrs["settings"]`` the
        arguments.

    Raises
    ------
    SchemaError
        When ``events`` is not an events table, or recommendations are asked for without item ids.
    ParameterError
        When a cutoff or setting is invalid or ``models`` names an unknown task or bad parameters.
    LeakageError
        When a cutoff's window ``[cutoff, cutoff + horizon)`` is not fully observed in the events.
    InsufficientDataError
        When a model cannot be fitted before a cutoff (too little history).

    Examples
    --------
    >>> import cxml
    >>> from cxml.data.sample import generate_sample
    >>> ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))
    >>> bt = backtest(ev, ["2024-06-01", "2024-09-01"], models={"churn": {"n_snapshots": 1}}, n_boot=50)
    >>> bt.loc[bt["metric"] == "roc_auc", "cutoff"].tolist()
    ['2024-06-01', '2024-09-01', 'pooled']
    """
    ev = as_events(events)
    h = parse_horizon(horizon)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    confidence = check_float("confidence", confidence, minimum=0.0, exclusive_minimum=True, maximum=1.0)
    if confidence >= 1.0:
        raise ParameterError(f"confidence={confidence} must be below 1 (e.g. 0.95)")
    k = check_int("k", k, minimum=1)
    seed = check_random_state(random_state)
    cuts = _check_cutoffs(ev, cutoffs, h)
    tasks = parse_models(models, ev, k=k, random_state=seed)
    # one stream per (cutoff, task): the resamples of a task do not depend on which other tasks run
    entropy = seed if seed is not None else int(np.random.default_rng().integers(2**63 - 1))
    cells: dict[tuple[str, str], list[_Cell]] = {}
    rows, scores = [], []
    for i, cut in enumerate(cuts):
        for task, model in tasks.items():
            comparison = _compare(task, ev, cut, h, model, k)
            rng = np.random.default_rng([entropy, i, TASKS.index(task)])
            for metric, cell in _cells(comparison, n_boot, rng).items():
                cells.setdefault((task, metric), []).append(cell)
                rows.append(_row(str(cut.date()), task, metric, cell, confidence))
            scores += _point_rows(str(cut.date()), task, comparison)
    rows += [_row("pooled", task, metric, _pool(found), confidence) for (task, metric), found in cells.items()]
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs["scores"] = pd.DataFrame(scores, columns=["cutoff", "task", "scorer", "metric", "value"])
    out.attrs["settings"] = {"cutoffs": [str(c.date()) for c in cuts], "horizon": str(h), "n_boot": n_boot,
                             "confidence": confidence, "k": k, "random_state": random_state,
                             "tasks": list(tasks)}
    return out


def _check_cutoffs(events: pd.DataFrame, cutoffs: Sequence[Any], h: pd.Timedelta) -> list[pd.Timestamp]:
    """Sorted cutoffs; LeakageError when a window is not observed, ParameterError for bad lists."""
    if isinstance(cutoffs, str | bytes) or not isinstance(cutoffs, Sequence | pd.Index | np.ndarray):
        raise ParameterError(f"cutoffs={cutoffs!r} must be a list of dates, e.g. ['2011-03-01', '2011-06-01']")
    cuts = sorted(parse_as_of(c, "cutoffs") for c in cutoffs)
    if not cuts:
        raise ParameterError("cutoffs is empty; expected at least one date")
    if len(set(cuts)) < len(cuts):
        raise ParameterError(f"cutoffs has duplicates ({[str(c.date()) for c in cuts]}); expected distinct dates")
    if len(events) == 0:
        raise LeakageError("the events table is empty: no cutoff window is observed")
    first, last = events[Columns.TIMESTAMP].min(), events[Columns.TIMESTAMP].max()
    allowed = min(pd.Timedelta(days=7), h / 4) + pd.Timedelta(days=1)
    for cut in cuts:
        if cut <= first:
            raise ParameterError(f"cutoff {cut.date()} is not after the first event ({first}); nothing to fit on")
        if cut + h - last > allowed:
            raise LeakageError(
                f"cutoff {cut.date()} + horizon {h} = {(cut + h).date()} is not observed: the events end at "
                f"{last}; scoring that window would count the unobserved days as churn. Use cutoffs up to "
                f"{(last + allowed - h).date()}"
            )
    return cuts


def _compare(task: str, events: pd.DataFrame, cut: pd.Timestamp, h: pd.Timedelta, model: Any, k: int) -> Comparison:
    if task == "churn":
        return compare_churn(events, cut, h, model)
    if task == "cltv":
        return compare_cltv(events, cut, h, model)
    return compare_recommend(events, cut, h, model, k)


def _best(values: Mapping[str, float], higher: bool) -> str | None:
    finite = {name: v for name, v in values.items() if math.isfinite(v)}
    if not finite:
        return None
    return (max if higher else min)(finite, key=lambda name: finite[name])


def _cells(comparison: Comparison, n_boot: int, rng: np.random.Generator) -> dict[str, _Cell]:
    """Point estimates of every scorer, the strongest baseline per metric, and the resampled differences."""
    ones = np.ones((1, comparison.n))
    model = comparison.scorers["model"]
    baselines = {name: fns for name, fns in comparison.scorers.items() if name != "model"}
    pairs, found = {}, {}
    for metric, fn in model.items():
        points = {name: float(fns[metric](ones)[0]) for name, fns in baselines.items() if metric in fns}
        best = _best(points, HIGHER_IS_BETTER[metric])
        found[metric] = (float(fn(ones)[0]), best, points.get(best, math.nan) if best else math.nan)
        if best is not None:
            pairs[metric] = (fn, baselines[best][metric])
    reps = replicate_differences(comparison.n, pairs, n_boot, rng)
    return {
        metric: _Cell(value, base, best, reps.get(metric, np.full(n_boot, np.nan)), comparison.n)
        for metric, (value, best, base) in found.items()
    }


def _pool(cells: list[_Cell]) -> _Cell:
    """The pooled cell: means over cutoffs; each resample averages the per-cutoff differences."""
    names = sorted({c.baseline_name for c in cells if c.baseline_name})
    return _Cell(
        float(np.mean([c.model for c in cells])),
        float(np.mean([c.baseline for c in cells])),
        ", ".join(names) or None,
        np.mean(np.vstack([c.replicates for c in cells]), axis=0),
        int(sum(c.n for c in cells)),
    )


def _row(cutoff: str, task: str, metric: str, cell: _Cell, confidence: float) -> dict[str, Any]:
    low, high = interval(cell.replicates, confidence)
    difference = cell.model - cell.baseline
    return {"cutoff": cutoff, "task": task, "metric": metric, "model": cell.model, "baseline": cell.baseline,
            "baseline_name": cell.baseline_name, "difference": difference, "ci_low": low, "ci_high": high,
            "n_customers": cell.n, "crosses_zero": not (low > 0 or high < 0)}


def _point_rows(cutoff: str, task: str, comparison: Comparison) -> list[dict[str, Any]]:
    ones = np.ones((1, comparison.n))
    return [{"cutoff": cutoff, "task": task, "scorer": name, "metric": metric, "value": float(fn(ones)[0])}
            for name, fns in comparison.scorers.items() for metric, fn in fns.items()]
