"""AutoRecommender's search inside a time budget (internal).

Every trial's cost is predicted by :mod:`cxml.recommend._cost` before it runs: the fit on the train
slice, the ranking of the validation customers, and — because the winner is refit on all events
inside the same budget — the refit of whichever of this trial and the best so far would win. Trials
run in rounds (the first setting of every candidate, then the second, ...), cheapest first within a
round, so a short budget still tries every candidate once. A trial is skipped, with the reason in
its ``note``, when its predicted cost does not fit:

- the *planned* time left (budget minus the predicted cost of what ran before): this depends only
  on the data's shape, the parameters and the seed, so the same call makes the same choices;
- the time actually left on the clock: on a machine slower than the calibration (or busy), this
  skips trials the plan admitted — the one way timing changes which trials run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from sklearn.base import clone
from tqdm.auto import tqdm

from cxml.exceptions import MemoryBudgetError
from cxml.recommend._cost import Shape, build_seconds, fit_seconds, score_seconds
from cxml.recommend._state import FitState
from cxml.recommend.base import BaseRecommender
from cxml.recommend.evaluate import EvalSet, score_model_users
from cxml.recommend.tuning import METRICS

__all__ = ["NOISE_SE", "USER_NDCG", "Budget", "Trial", "guarded_choice", "run_schedule", "schedule"]

_NO_LIMIT: Final = float("inf")
#: Key of a trial record holding the NDCG@k of every validation user (not a leaderboard column).
USER_NDCG: Final = "_user_ndcg"
#: A personal model must beat the best popularity by more than this many standard errors of the
#: paired per-user NDCG difference on validation, else popularity is selected. Measured on
#: generated grocery baskets: 2.5k x 20k x 75k, EASE-blend led by 0.6 SE and lost to popularity on
#: test (0.131 vs 0.135); 10k x 20k x 300k, EASE led by 1.6 SE and won on test (0.140 vs 0.136).
NOISE_SE: Final = 1.0


@dataclass
class Trial:
    """One planned trial: an unfitted model, its tuned parameters and its predicted costs (seconds)."""

    candidate: str
    model: BaseRecommender
    params: dict[str, Any]
    cost: float  # fit on the train slice + ranking the validation customers
    refit: float  # build + fit on all events, should it win
    round: int = 0
    record: dict[str, Any] = field(default_factory=dict)


class Budget:
    """Seconds left of a time budget, as planned (predicted costs) and on the clock."""

    def __init__(self, seconds: float | None, spent_planned: float = 0.0) -> None:
        self.seconds = _NO_LIMIT if seconds is None else float(seconds)
        self.start = time.perf_counter()
        self.planned = spent_planned

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)

    def admit(self, cost: float, reserve: float) -> str:
        """``""`` when ``cost`` plus the refit ``reserve`` fits (and book it), else why not."""
        need = cost + reserve
        planned_left, left = self.seconds - self.planned, self.left()
        if need > planned_left:
            return (f"skipped: predicted {cost:.1f} s + {reserve:.1f} s refit > {max(planned_left, 0):.1f} s "
                    f"left of time_budget={self.seconds:g} s")
        if need > left:
            return (f"skipped: predicted {cost:.1f} s + {reserve:.1f} s refit > {max(left, 0):.1f} s left on "
                    f"the clock of time_budget={self.seconds:g} s (the machine ran slower than predicted)")
        self.planned += cost
        return ""


def schedule(
    candidates: Iterable[tuple[str, BaseRecommender, list[dict[str, Any]]]], train: Shape, full: Shape
) -> list[Trial]:
    """Trials in the order to run them: by round, cheapest first within a round."""
    trials = []
    for name, template, settings in candidates:
        for r, params in enumerate(settings):
            model = clone(template).set_params(**params)
            both = {**template.get_params(deep=False), **params}
            cost = fit_seconds(name, both, train) + score_seconds(name, both, train)
            refit = build_seconds(full) + fit_seconds(name, both, full)
            trials.append(Trial(name, model, params, cost, refit, r))
    return sorted(trials, key=lambda t: (t.round, t.cost))


def _skip(trial: Trial, note: str) -> dict[str, Any]:
    return {"candidate": trial.candidate, "model": type(trial.model).__name__,
            "params": json.dumps(trial.params, sort_keys=True), "note": note,
            "predicted_seconds": trial.cost}


def _run_one(trial: Trial, state: FitState, data: EvalSet, k: int) -> dict[str, Any]:
    rec = _skip(trial, "")
    start = time.perf_counter()
    try:
        trial.model._check_all_params()
        trial.model._learn(state)
    except MemoryBudgetError as exc:  # a setting the data cannot afford is a result, not a crash
        return {**rec, "note": f"{type(exc).__name__}: {exc}"}
    scores, users = score_model_users(trial.model, data, k)
    return {**rec, **{m: float(scores[m]) for m in METRICS}, "n_users": int(scores["n_users"]),
            "fit_seconds": time.perf_counter() - start, USER_NDCG: users}


def run_schedule(
    trials: list[Trial], state: FitState, data: EvalSet, k: int, budget: Budget, progress: bool,
    records: list[dict[str, Any]], specs: dict[int, BaseRecommender],
) -> dict[str, tuple[float, BaseRecommender, float]]:
    """Run what fits ``budget``; append a record per trial (skipped ones too) and its unfitted model.

    Returns the best fitted model of each candidate that ran: ``name -> (ndcg, model, refit seconds)``.
    """
    best: dict[str, tuple[float, BaseRecommender, float]] = {}
    bar = tqdm(trials, desc="AutoRecommender", unit="trial", disable=not progress, leave=False)
    for trial in bar:
        bar.set_postfix_str(f"{trial.candidate} {json.dumps(trial.params, sort_keys=True)}", refresh=False)
        reserve = max([trial.refit, *(b[2] for b in best.values())])
        note = budget.admit(trial.cost, reserve)
        if note and trial.candidate == "popularity" and "popularity" not in best:
            # popularity is the fallback anyway and the cheapest trial: one is always scored, so that
            # even a budget the data outgrows leaves a measured model on the leaderboard
            budget.planned += trial.cost
            rec = _run_one(trial, state, data, k)
            rec["note"] = rec["note"] or (f"run although {note.removeprefix('skipped: ')}: one popularity "
                                          "trial is always scored")
        else:
            rec = _skip(trial, note) if note else _run_one(trial, state, data, k)
        specs[len(records)] = clone(trial.model)
        records.append(rec)
        score = float(rec.get("ndcg", np.nan))
        if np.isfinite(score) and (trial.candidate not in best or score > best[trial.candidate][0]):
            best[trial.candidate] = (score, trial.model, trial.refit)
    bar.close()
    return best


def run_blends(
    inner: BaseRecommender, make: Callable[[float], BaseRecommender], weights: Iterable[float], cost: float,
    reserve: float, data: EvalSet, k: int, budget: Budget, records: list[dict[str, Any]],
    specs: dict[int, BaseRecommender],
) -> None:
    """Score blends of the fitted ``inner`` model (``make(weight)``) within ``budget``."""
    for w in weights:
        blend = make(w)
        params = {"inner": type(inner).__name__, "weight": w,
                  "popularity_half_life": blend.get_params(deep=False).get("popularity_half_life")}
        rec = {"candidate": "blend", "model": type(blend).__name__, "note": "",
               "params": json.dumps(params, sort_keys=True), "predicted_seconds": cost}
        note = budget.admit(cost, reserve)
        specs[len(records)] = clone(blend)
        if note:
            records.append({**rec, "note": note})
            continue
        start = time.perf_counter()
        scores, users = score_model_users(blend, data, k)
        records.append({**rec, **{m: scores[m] for m in (*METRICS, "n_users")},
                        "fit_seconds": time.perf_counter() - start, USER_NDCG: users})


def guarded_choice(records: list[dict[str, Any]]) -> int:
    """The index of the record to select; when it is not the best NDCG, the passed-over record's note says why.

    The best NDCG on validation wins unless it is a personal model (or blend) whose lead over the
    best popularity trial is within the validation noise: the mean of the paired per-user NDCG
    differences must exceed :data:`NOISE_SE` standard errors, else popularity is selected. On wide,
    sparse catalogues a personal model that ties popularity on validation tends to lose on test.
    """
    scored = [i for i, r in enumerate(records) if np.isfinite(r.get("ndcg", np.nan))]
    best = max(scored, key=lambda i: (records[i]["ndcg"], -i))
    pops = [i for i in scored if records[i]["candidate"] == "popularity"]
    if records[best]["candidate"] == "popularity" or not pops:
        return best
    pop = max(pops, key=lambda i: (records[i]["ndcg"], -i))
    a, b = records[best].get(USER_NDCG), records[pop].get(USER_NDCG)
    if a is None or b is None or len(a) != len(b) or len(a) < 2:
        return best
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    margin = NOISE_SE * float(diff.std(ddof=1)) / np.sqrt(len(diff))
    if float(diff.mean()) > margin:
        return best
    records[best]["note"] = (f"not selected: NDCG@k {float(diff.mean()):+.4f} over the best popularity is "
                             f"within the validation noise ({NOISE_SE:g} x its standard error = {margin:.4f})")
    return pop
