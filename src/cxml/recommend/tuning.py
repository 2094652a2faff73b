"""``tune``: grid or random search of a recommender's hyperparameters on a validation time slice.

Every trial fits a fresh model on ``train`` and is scored with :func:`cxml.recommend.evaluate` on
``valid`` (PROTOCOL.md: carve ``valid`` from the *train* period with :func:`temporal_split`, never
tune on the test period). Trials are ranked by one metric (NDCG@k by default); ties keep the trial
order, so the result is deterministic.

Default search spaces: :data:`cxml.recommend.DEFAULT_GRIDS`, used when no ``param_grid`` is given,
keyed by the recommender's registry name.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.base import clone

from cxml._checks import check_choice, check_int, check_random_state
from cxml.data import as_events
from cxml.exceptions import MemoryBudgetError, NotFittedError, ParameterError
from cxml.recommend._docs import fill_doc
from cxml.recommend._grids import DEFAULT_GRIDS
from cxml.recommend._matrix import COUNT
from cxml.recommend.base import BaseRecommender
from cxml.recommend.evaluate import EvalSet, prepare_evaluation, score_model

__all__ = ["METRICS", "TuneResult", "param_candidates", "run_trials", "trial_settings", "tune"]

#: Metrics ``tune`` can rank by (keys of :func:`cxml.recommend.evaluate`).
METRICS: Final = ("ndcg", "recall", "precision", "map", "mrr", "hit_rate", "coverage", "novelty")
_DEFAULT_TRIALS: Final = 10


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    trials_
        One row per trial, best first: ``trial`` (order tried), one column per tuned parameter,
        ``params`` (JSON of the tuned parameters), the :func:`evaluate` metrics, ``fit_seconds``
        and ``error`` (why a trial could not run, e.g. EASE over its memory budget; its metrics are NaN).
    best_params_
        Tuned parameters of the best trial.
    best_score_
        Its ``metric`` on the validation slice.
    best_estimator_
        The best trial's model, fitted on ``train``.
    metric, k
        What the trials were ranked by.
    """

    trials_: pd.DataFrame
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: BaseRecommender = field(repr=False)
    metric: str = "ndcg"
    k: int = 10


def param_candidates(
    space: Mapping[str, Sequence[Any]], n_trials: int | None = None, random_state: int | None = 0
) -> list[dict[str, Any]]:
    """Parameter settings to try: the full product of ``space``, or ``n_trials`` of them drawn at random.

    Draws are without replacement and keep grid order, so the result depends only on the seed;
    ``n_trials`` at least the grid size gives the whole grid.

    Examples
    --------
    >>> param_candidates({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    >>> len(param_candidates({"a": [1, 2, 3], "b": [1, 2]}, n_trials=4))
    4
    """
    if not isinstance(space, Mapping) or not space:
        raise ParameterError(f"param_grid={space!r} is not valid; expected a non-empty dict of lists")
    for name, values in space.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
            raise ParameterError(
                f"param_grid[{name!r}]={values!r} is not valid; expected a non-empty list of values"
            )
    if n_trials is not None:
        n_trials = check_int("n_trials", n_trials, minimum=1)
    random_state = check_random_state(random_state)
    names = list(space)
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]
    if n_trials is None or n_trials >= len(grid):
        return grid
    picked = np.random.default_rng(random_state).choice(len(grid), size=n_trials, replace=False)
    return [grid[i] for i in sorted(picked)]


def _template(model_cls: type[BaseRecommender] | BaseRecommender) -> BaseRecommender:
    if isinstance(model_cls, BaseRecommender):
        return clone(model_cls)
    if isinstance(model_cls, type) and issubclass(model_cls, BaseRecommender):
        return model_cls()
    raise ParameterError(
        f"model_cls={model_cls!r} is not valid; expected a recommender class such as ALSRecommender "
        "or an unfitted instance"
    )


def _weight(fit_kwargs: Mapping[str, Any] | None) -> str:
    """The ``weight`` of ``fit_kwargs`` (the one argument ``fit`` takes besides the events)."""
    extra = sorted(set(fit_kwargs or {}) - {"weight"})
    if extra:
        raise ParameterError(f"fit_kwargs names {extra}; a recommender's fit takes only 'weight'")
    return str((fit_kwargs or {}).get("weight", COUNT))


def trial_settings(
    template: BaseRecommender, param_grid: Mapping[str, Sequence[Any]] | None, n_trials: int | None,
    random_state: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The parameter settings to try, and the parameters fixed for every trial (as :func:`tune` does)."""
    name = type(template).__name__
    if param_grid is None:
        if template.name not in DEFAULT_GRIDS:
            raise ParameterError(
                f"param_grid=None but {name} has no default search space; give param_grid "
                f"(default spaces exist for {sorted(DEFAULT_GRIDS)})"
            )
        param_grid = DEFAULT_GRIDS[template.name]
        n_trials = _DEFAULT_TRIALS if n_trials is None else n_trials
    valid_names = template.get_params(deep=False)
    unknown = sorted(set(param_grid) - set(valid_names))
    if unknown:
        raise ParameterError(
            f"param_grid names {unknown} that {name} does not take; expected some of {sorted(valid_names)}"
        )
    fixed: dict[str, Any] = {}
    if "random_state" in valid_names and "random_state" not in param_grid:
        fixed["random_state"] = random_state
    return param_candidates(param_grid, n_trials, random_state), fixed


@fill_doc
def tune(
    model_cls: type[BaseRecommender] | BaseRecommender,
    train: Any,
    valid: Any,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_trials: int | None = None,
    *,
    k: int = 10,
    metric: str = "ndcg",
    random_state: int | None = 0,
    fit_kwargs: Mapping[str, Any] | None = None,
) -> TuneResult:
    """Search hyperparameters of a recommender, ranking trials by ``metric``@``k`` on ``valid``.

    Parameters
    ----------
    model_cls
        A recommender class, or an unfitted instance whose other parameters are kept (e.g.
        ``ALSRecommender(n_jobs=1)``).
    train, valid
        Events (frames or csv/parquet paths): every trial is fitted on ``train`` and evaluated on ``valid`` (typically
        ``temporal_split(train, test_fraction=0.2)``).
    param_grid
        Dict of lists; its full product is tried, unless
    n_trials
        is given: that many settings drawn at random (seeded by ``random_state``) from ``param_grid``
        or, without one, from the model's :data:`~cxml.recommend.DEFAULT_GRIDS` entry. With neither, 10 settings
        are drawn from the default space.
    k, metric
        Ranking cutoff and the :func:`evaluate` key to maximise.
    random_state
        Seed of the draw; also given to models that take a ``random_state`` not set in the grid.
    fit_kwargs
        Passed to every ``fit``: only ``{"weight": ...}`` (e.g. ``{"weight": "quantity"}``).

    Returns
    -------
    TuneResult
        ``trials_`` (all trials, best first), ``best_params_``, ``best_score_`` and
        ``best_estimator_`` (fitted on ``train``).

    Examples
    --------
    {{split_example}}
    >>> train, valid = temporal_split(ev, test_start="2024-02-01")
    >>> res = tune(PopularityRecommender, train, valid, {"half_life": [None, 30.0]}, k=1)
    >>> res.best_params_, res.best_score_
    ({'half_life': None}, 1.0)
    """
    metric = check_choice("metric", metric, METRICS)
    k = check_int("k", k, minimum=1)
    random_state = check_random_state(random_state)
    weight = _weight(fit_kwargs)
    template = _template(model_cls)
    settings, fixed = trial_settings(template, param_grid, n_trials, random_state)
    train = as_events(train)
    data = prepare_evaluation(train, as_events(valid))
    models = (clone(template).set_params(**fixed, **params) for params in settings)
    return run_trials(models, settings, train, weight, data, k, metric)


def run_trials(
    models: Any, settings: list[dict[str, Any]], train: pd.DataFrame, weight: str, data: EvalSet, k: int,
    metric: str,
) -> TuneResult:
    """Fit each of ``models`` (one per setting) on canonical ``train`` and score it on ``data`` (trusted)."""
    records: list[dict[str, Any]] = []
    best: tuple[float, int, BaseRecommender] | None = None
    last_error: Exception | None = None
    for trial, (params, model) in enumerate(zip(settings, models, strict=True)):
        record: dict[str, Any] = {"trial": trial, **params, "params": json.dumps(params, sort_keys=True)}
        start = time.perf_counter()
        try:
            model._fit_events(train, weight)
        except MemoryBudgetError as exc:  # a setting the data cannot afford is a result, not a crash
            last_error = exc
            records.append({**record, **dict.fromkeys(METRICS, np.nan), "fit_seconds": np.nan,
                            "error": f"{type(exc).__name__}: {exc}"})
            continue
        fit_seconds = time.perf_counter() - start
        scores = score_model(model, data, k)
        records.append({**record, **{m: float(scores[m]) for m in METRICS},
                        "n_users": int(scores["n_users"]), "fit_seconds": fit_seconds, "error": ""})
        score = float(scores[metric])
        if best is None or score > best[0]:
            best = (score, trial, model)
    if best is None:
        raise last_error if last_error is not None else NotFittedError("no trial could be fitted")
    trials = pd.DataFrame.from_records(records)
    trials = trials.sort_values([metric, "trial"], ascending=[False, True], na_position="last", kind="stable")
    return TuneResult(
        trials_=trials.reset_index(drop=True),
        best_params_=dict(settings[best[1]]),
        best_score_=best[0],
        best_estimator_=best[2],
        metric=metric,
        k=k,
    )
