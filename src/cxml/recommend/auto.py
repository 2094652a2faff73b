"""``AutoRecommender``: tune the candidates on the last time slice of the training events, try a
blend of the best personal model with popularity, pick the winner by NDCG@k and refit it.

It composes its winner the way scikit-learn's ``GridSearchCV`` composes ``best_estimator_``:
``best_`` holds the fitted state and does the work of recommend, similar_items, history fold-in,
repeat blending and forget_customers; nothing is copied from it. save/load behave as for every
recommender (the winner is saved through :func:`cxml.recommend.blend.pack_model`, no pickle).
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Final, Self

import numpy as np
import pandas as pd
from sklearn.base import clone

from cxml._checks import check_bool, check_choice, check_float, check_fraction, check_int, check_random_state
from cxml._params import keep_init_args
from cxml.data import as_events
from cxml.exceptions import BundleError, DataWarning, InsufficientDataError, ParameterError
from cxml.recommend._cost import build_seconds, score_seconds, shape_of
from cxml.recommend._docs import fill_doc
from cxml.recommend._grids import BUDGETS
from cxml.recommend._matrix import COUNT
from cxml.recommend._search import Budget, guarded_choice, run_blends, run_schedule, schedule
from cxml.recommend._state import FitState, build_state, saved_text
from cxml.recommend.als import ALSRecommender
from cxml.recommend.base import BaseRecommender
from cxml.recommend.baselines import ItemKNNRecommender, PopularityRecommender
from cxml.recommend.blend import BlendRecommender, pack_model, unpack_model
from cxml.recommend.ease import EASERecommender, ease_items
from cxml.recommend.evaluate import EvalSet, prepare_evaluation
from cxml.recommend.split import split_at, split_cut
from cxml.recommend.tuning import METRICS, trial_settings
from cxml.schema import Columns

__all__ = ["AutoRecommender"]

#: The models AutoRecommender can choose from, by registry name.
CANDIDATES: Final = {cls.name: cls for cls in (ALSRecommender, EASERecommender, ItemKNNRecommender,
                                               PopularityRecommender)}


@fill_doc
class AutoRecommender(BaseRecommender):
    """The default recommender: tunes the candidates on the last time slice, refits the winner.

    ``fit(events)`` carves a validation slice from ``events`` the way PROTOCOL.md carves a test
    slice (cut at the ``1 - valid_fraction`` quantile of purchase timestamps; validation = purchases
    after the cut whose customer and item were bought before it), tunes each candidate on the
    :data:`~cxml.recommend.BUDGETS` entry of ``budget`` (ALS: factors, regularization,
    alpha, iterations; EASE: l2, on the 2,500 most popular items, skipped when its item-item matrix
    would exceed its memory budget;
    item-kNN: k_neighbors, shrinkage; popularity: time decay), tries :class:`BlendRecommender` of the
    best personal model with the best popularity at weights 0.25 / 0.5 / 0.75, picks the best
    NDCG@``k`` on validation and refits it on all ``events``. When no validation slice can be
    carved (too little history) it uses popularity and says so with a :class:`~cxml.DataWarning`.

    Parameters
    ----------
    k
        Cutoff of the selection metric (``recommend`` still takes any ``k``).
    candidates
        Any of ``"als", "ease", "itemknn", "popularity"`` (a tuple, or one comma-separated string).
    budget
        ``"small"`` (13 fits and 3 blends, a few seconds on 2,000 customers), ``"medium"`` (about
        30 fits) or ``"large"`` (about 70).
    valid_fraction
        Share of the purchase timeline held out for validation.
    blend
        Also try blends of the best personal model with popularity.
    random_state
        Seed of ALS and of the random draws of larger budgets.
    {{repeat_params}}
    time_budget
        Seconds the whole ``fit`` may take, the refit of the winner included (None: no limit).
        Before each trial its cost (fit, validation ranking, and the refit should it win) is
        predicted by a cost model calibrated on benchmarks; a trial that would not fit is skipped
        and listed with the reason. Trials run in rounds (the first setting of every candidate, then
        the second, ...), cheapest first within a round. The choices depend only on the data's
        shape, the parameters and the seed, except on a machine slower than predicted: then the
        clock also skips trials (their note says so), and which ones depends on timing.
    progress
        Show a tqdm progress bar over the trials.

    Attributes
    ----------
    leaderboard_ : pandas.DataFrame
        Every trial: ``candidate, model, params`` (JSON of the tuned parameters), the
        :func:`evaluate` metrics on validation, ``n_users``, ``fit_seconds``, ``predicted_seconds``
        (the cost model's prediction), ``note`` (why a trial was skipped, e.g. ``"skipped:
        predicted 45.0 s + 9.0 s refit > 12.0 s left of time_budget=120 s"``), ``trial`` (the
        order tried) and ``selected``; best NDCG first, skipped trials last. The best NDCG is
        selected unless it is a personal model whose lead over the best popularity trial is within
        the validation noise (the mean paired per-user NDCG difference is at most one standard
        error): then popularity is selected and the passed-over trial's note says so.
    best_ : BaseRecommender
        The winner refitted on all events; it serves every call.
    best_params_ : dict
        ``{"model": class name, **its parameters}``; a blend also lists ``inner__*`` parameters.

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": list("aabbccab"),
    ...     "timestamp": pd.date_range("2024-01-01", periods=8, freq="D"), "item_id": list("xyxyxzzy")}))
    >>> auto = AutoRecommender(candidates=("itemknn", "popularity"), k=2, progress=False).fit(ev)
    >>> auto.leaderboard_.columns[:3].tolist(), len(auto.recommend(["c", "new"], k=2))
    (['candidate', 'model', 'params'], 3)
    """

    def __init__(
        self,
        *,
        k: int = 10,
        candidates: tuple[str, ...] | str = ("als", "ease", "itemknn", "popularity"),
        budget: str = "small",
        valid_fraction: float = 0.2,
        blend: bool = True,
        random_state: int | None = 0,
        repeat_weight: float = 0.5,
        repeat_half_life: float | None = 90.0,
        time_budget: float | None = 120.0,
        progress: bool = True,
    ) -> None:
        # the shared keywords are listed here, not passed on through **shared, to keep their place
        # in the signature (BaseRecommender's checks and docs still apply; a test pins the defaults)
        keep_init_args(self, locals())

    name = "auto"
    candidates: tuple[str, ...] | str  # a str after set_params or load, made a tuple again by _restore

    def _candidate_names(self) -> list[str]:
        raw = self.candidates.split(",") if isinstance(self.candidates, str) else self.candidates
        names = [str(n).strip() for n in raw] if isinstance(raw, list | tuple) else []
        if not names or set(names) - set(CANDIDATES) or len(set(names)) != len(names):
            raise ParameterError(f"candidates={self.candidates!r} is not valid; expected distinct names "
                                 f"among {sorted(CANDIDATES)}")
        return names

    def _check_params(self) -> None:
        self._candidate_names()
        check_int("k", self.k, minimum=1)
        check_choice("budget", self.budget, tuple(BUDGETS))
        check_fraction("valid_fraction", self.valid_fraction)
        check_bool("blend", self.blend)
        check_random_state(self.random_state)
        check_bool("progress", self.progress)
        if self.time_budget is not None:
            check_float("time_budget", self.time_budget, minimum=0.0, exclusive_minimum=True)

    def _template(self, name: str, n_rows: int = 0) -> BaseRecommender:
        extra: dict[str, Any] = {}
        if name == "als":
            # on small matrices implicit's thread start-up costs more than it saves (results do not
            # depend on the thread count)
            extra = {"random_state": self.random_state, "n_jobs": 1 if n_rows < _SMALL_ROWS else -1}
        elif name == "ease" and "max_items" in CANDIDATES[name]().get_params(deep=False):
            # the most popular items only: a dense inverse past a few thousand items costs minutes
            extra = {"max_items": _EASE_MAX_ITEMS}
        return CANDIDATES[name](repeat_weight=self.repeat_weight, repeat_half_life=self.repeat_half_life,
                                **extra)

    # ------------------------------------------------------------------ fit
    def fit(self, events: Any, *, weight: str = COUNT) -> Self:
        """Tune the candidates on the last time slice of ``events``, then refit the winner on all of them.

        Parameters
        ----------
        events
            Events (a canonical frame, a frame lacking optional columns, or a csv/parquet path);
            needs ``item_id``.
        weight
            Interaction weight, as for every recommender.

        Returns
        -------
        self
        """
        events = as_events(events, require=[Columns.ITEM])
        self._check_all_params()
        self._clear_fitted()
        # quiet about dirty rows: the refit reports them once
        board, winner = self._select(events, weight, Budget(self.time_budget))
        best = clone(winner)._fit_events(events, weight)
        self.best_, self.leaderboard_, self.best_params_ = best, board, _describe(winner)
        return self

    def _select(self, events: pd.DataFrame, weight: str, budget: Budget) -> tuple[pd.DataFrame, BaseRecommender]:
        records: list[dict[str, Any]] = []
        with warnings.catch_warnings():
            # dirty rows would be reported by every trial; the final fit on all events reports them once
            warnings.simplefilter("ignore", DataWarning)
            try:
                cut = split_cut(events, test_fraction=float(self.valid_fraction))
                train, valid = split_at(events, cut)
                specs = self._tune_all(train, prepare_evaluation(train, valid), weight, records, len(events), budget)
            except InsufficientDataError as exc:
                reason = str(exc)
            else:
                scored = [r for r in records if np.isfinite(r.get("ndcg", np.nan))]
                reason = "" if scored else "no candidate could be evaluated: " + "; ".join(
                    str(r["note"]) for r in records)
        if reason:
            warnings.warn(f"AutoRecommender: no usable validation slice ({reason}); using popularity",
                          DataWarning, stacklevel=3)
            # the trials skipped (or refused) stay listed with their reasons, after the fallback
            board = _board([{"candidate": "popularity", "model": "PopularityRecommender", "params": "{}",
                             "note": f"fallback without validation: {reason}", "trial": 0},
                            *({**r, "trial": i + 1} for i, r in enumerate(records))])
            board["selected"] = board["trial"] == 0
            return board, self._template("popularity")
        chosen = guarded_choice(records)
        board = _board(records)
        board["selected"] = board["trial"] == chosen
        return board, specs[chosen]

    def _tune_all(
        self, train: pd.DataFrame, data: EvalSet, weight: str, records: list[dict[str, Any]], n_all: int,
        budget: Budget,
    ) -> dict[int, BaseRecommender]:
        """Append a record per trial (run or skipped) to ``records``; return each trial's unfitted model."""
        specs: dict[int, BaseRecommender] = {}
        state = build_state(train, weight, self.repeat_half_life)
        shape = shape_of(state.user_items, len(train), len(data.users))
        full = shape.scaled(n_all)
        # planned time starts with the predicted cost of the split and the validation set: the same
        # for the same data, so the plan does not depend on how fast this machine happened to be
        budget.planned = 2 * build_seconds(shape)
        plan = []
        for name in self._candidate_names():
            template = self._template(name, len(train))
            m = ease_items(shape.n_items, template.get_params(deep=False).get("max_items"))
            if isinstance(template, EASERecommender) and m**2 * 8 > template.max_memory_bytes:
                note = (f"skipped: {shape.n_items} items need a {m**2 * 8 / 2**30:.1f} GiB item-item "
                        f"matrix, above max_memory_bytes={template.max_memory_bytes:,}")
                records.append({"candidate": name, "model": "EASERecommender", "params": "{}", "note": note})
                continue
            space = BUDGETS[self.budget][name]
            grid, n_trials = (None, space) if isinstance(space, int) else (space, None)
            settings, fixed = trial_settings(template, grid, n_trials, self.random_state)
            plan.append((name, clone(template).set_params(**fixed), settings))
        trials = schedule(plan, shape, full)
        best = run_schedule(trials, state, data, int(self.k), budget, bool(self.progress), records, specs)
        personal = [b for name, b in best.items() if name != "popularity"]
        if self.blend and personal:
            _, inner, refit = max(personal, key=lambda b: b[0])
            pop = best["popularity"][1] if "popularity" in best else PopularityRecommender()._learn(state)
            assert isinstance(pop, PopularityRecommender)
            cost = score_seconds(inner.name, inner.get_params(deep=False), shape) + score_seconds("blend", {}, shape)
            run_blends(inner, lambda w: BlendRecommender.from_fitted(inner, pop, w), _BLEND_WEIGHTS, cost,
                       refit + build_seconds(full), data, int(self.k), budget, records, specs)
        for i, rec in enumerate(records):
            rec["trial"] = i
        return specs

    # ------------------------------------------------------------------ composition: best_ does the work
    def _state(self) -> FitState:
        return self.best_._state()

    def _is_fitted(self) -> bool:
        return "best_" in vars(self)

    def _recommend(
        self, cust: np.ndarray, k: int, exclude_seen: bool, items: np.ndarray | None, history: pd.DataFrame | None
    ) -> pd.DataFrame:
        return self.best_._recommend(cust, k, exclude_seen, items, history)

    def _similar(self, items: np.ndarray, k: int) -> pd.DataFrame:
        return self.best_._similar(items, k)

    def _forget(self, ids: np.ndarray) -> None:
        self.best_._forget(ids)

    # ------------------------------------------------------------------ persistence
    def _state_arrays(self) -> dict[str, np.ndarray]:
        board = self.leaderboard_.to_json(orient="split", index=False, double_precision=15)
        extra = json.dumps({"best_params": self.best_params_}, sort_keys=True)
        return {"leaderboard": np.array(board), "extra": np.array(extra), **pack_model(self.best_, "best__")}

    def _saved_params(self) -> dict[str, Any]:
        # JSON params hold no tuples: candidates are saved as one comma-separated string
        return {**super()._saved_params(), "candidates": ",".join(self._candidate_names())}

    def _restore(self, state: FitState, arrays: dict[str, np.ndarray]) -> None:
        if isinstance(self.candidates, str):
            self.candidates = tuple(self.candidates.split(","))
        self.best_ = unpack_model(arrays, "best__", state)
        try:
            board = json.loads(saved_text(arrays, "leaderboard"))
            self.leaderboard_ = _board([dict(zip(board["columns"], row, strict=True)) for row in board["data"]])
            self.best_params_ = dict(json.loads(saved_text(arrays, "extra"))["best_params"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"saved arrays 'state__leaderboard' / 'state__extra' are malformed ({exc})") from exc


_BLEND_WEIGHTS: Final = (0.25, 0.5, 0.75)
_SMALL_ROWS: Final = 1_000_000
_EASE_MAX_ITEMS: Final = 2_500
_NUMERIC: Final = (*METRICS, "n_users", "fit_seconds", "predicted_seconds")
_BOARD: Final = ("candidate", "model", "params", *_NUMERIC, "note", "trial", "selected")


def _describe(model: BaseRecommender) -> dict[str, Any]:
    out: dict[str, Any] = {"model": type(model).__name__}
    for key, value in model.get_params(deep=False).items():
        if isinstance(value, BaseRecommender):
            out[f"{key}__model"] = type(value).__name__
            out.update({f"{key}__{k}": v for k, v in value.get_params(deep=False).items()})
        else:
            out[key] = value
    return out


def _board(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Leaderboard in a fixed column order, best NDCG first (ties keep trial order)."""
    frame = pd.DataFrame.from_records(records).reindex(columns=list(_BOARD))
    frame[list(_NUMERIC)] = frame[list(_NUMERIC)].astype(np.float64)
    frame["note"] = frame["note"].fillna("").astype(str)
    frame["trial"] = frame["trial"].astype(np.int64)
    frame["selected"] = frame["selected"].astype(object).fillna(False).astype(bool)
    frame = frame.sort_values(["ndcg", "trial"], ascending=[False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)
