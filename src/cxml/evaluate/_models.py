"""The ``models=`` argument of :func:`cxml.evaluate.backtest`: which tasks, with which unfitted models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cxml.churn.churn_model import ChurnModel
from cxml.churn.cltv_model import CLTVModel
from cxml.exceptions import ParameterError, SchemaError
from cxml.recommend import AutoRecommender, BaseRecommender, make_recommender
from cxml.schema import Columns

__all__ = ["DEFAULT_SNAPSHOT_PARAMS", "TASKS", "parse_models"]

#: Tasks in the order they run and are reported.
TASKS = ("churn", "cltv", "recommend")
#: What makes the default churn and CLTV models fast enough to refit at every cutoff.
DEFAULT_SNAPSHOT_PARAMS: Mapping[str, Any] = {"n_snapshots": 2}


def _has_items(events: pd.DataFrame) -> bool:
    return Columns.ITEM in events.columns and bool(events[Columns.ITEM].notna().any())


def _snapshot_model(task: str, spec: Any, random_state: int | None) -> ChurnModel | CLTVModel:
    cls = ChurnModel if task == "churn" else CLTVModel
    if isinstance(spec, cls):
        return spec
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ParameterError(
            f"models[{task!r}]={spec!r} is not valid; expected a dict of {cls.__name__} parameters or an "
            f"unfitted {cls.__name__}"
        )
    params = {**DEFAULT_SNAPSHOT_PARAMS, "random_state": random_state, **spec}
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ParameterError(f"models[{task!r}] has unknown {cls.__name__} parameters {unknown}")
    return cls(**params)


def _recommender(spec: Any, k: int, random_state: int | None) -> BaseRecommender:
    if isinstance(spec, BaseRecommender):
        return spec
    if spec is None or spec == "auto":
        return AutoRecommender(k=k, budget="small", random_state=random_state)
    if isinstance(spec, str):
        return make_recommender(spec)
    raise ParameterError(f"models['recommend']={spec!r} is not valid; expected 'auto', a recommender name "
                         "(e.g. 'als') or an unfitted recommender")


def parse_models(
    models: Mapping[str, Any] | None, events: pd.DataFrame, *, k: int, random_state: int | None
) -> dict[str, Any]:
    """The unfitted model of every task to run, in :data:`TASKS` order (see ``backtest``'s ``models``)."""
    if models is None:
        models = {"churn": None, "cltv": None, **({"recommend": "auto"} if _has_items(events) else {})}
    if not isinstance(models, Mapping) or not models:
        raise ParameterError(f"models={models!r} must be a non-empty dict with keys from {list(TASKS)}")
    unknown = sorted(str(t) for t in models if t not in TASKS)
    if unknown:
        raise ParameterError(f"models has unknown tasks {unknown}; expected keys from {list(TASKS)}")
    if "recommend" in models and not _has_items(events):
        raise SchemaError(f"models asks for 'recommend' but the events have no {Columns.ITEM!r} values")
    out: dict[str, Any] = {}
    for task in TASKS:
        if task in models:
            spec = models[task]
            if task == "recommend":
                out[task] = _recommender(spec, k, random_state)
            else:
                out[task] = _snapshot_model(task, spec, random_state)
    return out
