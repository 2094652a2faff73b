"""ChurnModel variants tried for issue 19 that did not become defaults (used by ``_churn_directions.py``).

:class:`ChurnVariant` is a :class:`cxml.churn.ChurnModel` whose class settings switch on one
direction each; ``_churn_directions.py`` builds a subclass per direction with
``type("Variant", (ChurnVariant,), settings)``. Every choice inside ``fit`` still reads only data
before the fit's ``as_of`` (the snapshots, their labels and the held-out customers of the latest
one), exactly as ChurnModel does.

- ``_second_model``: the MBG/NBD outputs of :mod:`cxml.churn._mbgnbd` (P(alive), P(no purchase in
  the horizon), expected purchases) as booster features, fitted point-in-time at every cutoff
  (and once at ``as_of`` for predictions); with ``_logit_gap`` also ``logit(MBG/NBD P(no purchase))
  − logit(BG/NBD P(no purchase))``, where the two purchase models disagree;
- ``_prior_extra`` / ``_prior_hinges`` / ``_prior_C``: a richer linear prior (more column specs,
  hinge terms on log recency at training quantiles, L2 strength by time-based validation);
- ``_n_bags``: seed averaging of the booster (:func:`average_boosters` merges them into one);
- ``_recent_weight``: the latest snapshot's rows weighted higher in the booster's loss;
- ``_grid``: LightGBM settings chosen by the held-out customers' ROC-AUC inside ``fit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml.churn import _lgbm
from cxml.churn._bgnbd_math import bgnbd_scores
from cxml.churn._linear_prior import LINEAR_PRIOR_COLUMNS, hinge_specs
from cxml.churn._mbgnbd import fit_mbgnbd, mbg_frame, prepared_summary
from cxml.churn.bgnbd import BGNBDModel
from cxml.churn.churn_model import ChurnModel
from cxml.churn.summary import purchase_rows, summary_at
from cxml.exceptions import InsufficientDataError
from cxml.features._base import Prepared
from cxml.schema import Columns, parse_horizon

_SCALED = ("leaf_value=", "internal_value=")


def _trees(model: str) -> tuple[str, list[list[str]], str]:
    """(header, trees as lists of lines, trailer) of a LightGBM text model."""
    head, _, rest = model.partition("\nTree=")
    body, sep, tail = ("Tree=" + rest).partition("end of trees")
    trees = [("Tree=" + block).strip().splitlines() for block in body.split("Tree=") if block.strip()]
    return head, trees, sep + tail


def _scaled(line: str, factor: float) -> str:
    for key in _SCALED:
        if line.startswith(key):
            return key + " ".join(repr(float(v) * factor) for v in line[len(key):].split())
    return line


def average_boosters(boosters: Sequence[lgb.Booster], rounds: Sequence[int]) -> lgb.Booster:
    """One booster whose raw score is the mean of ``boosters``' raw scores (each cut at its
    ``rounds``): all their trees with every leaf and internal value divided by ``k``, so
    ``pred_contrib`` and ``save`` still see one model."""
    factor = 1.0 / len(boosters)
    header, trailer, blocks = "", "", []
    for i, (booster, n) in enumerate(zip(boosters, rounds, strict=True)):
        head, trees, tail = _trees(booster.model_to_string(num_iteration=n))
        if i == 0:
            header, trailer = head, tail
        for tree in trees:
            blocks.append("\n".join([f"Tree={len(blocks)}"] + [_scaled(line, factor) for line in tree[1:]]))
    # tree_sizes would index the old byte offsets: without it LightGBM parses the trees in order
    header = "\n".join(line for line in header.splitlines() if not line.startswith("tree_sizes="))
    return lgb.Booster(model_str=header + "\n\n" + "\n\n\n".join(blocks) + "\n\n\n" + trailer)


def _mbg_params(summary: pd.DataFrame) -> np.ndarray | None:
    """MBG/NBD parameters fitted on a summary in weeks (None with fewer than 20 customers)."""
    if len(summary) < 20:
        return None
    x, tx, T = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    return fit_mbgnbd(x, tx, T).params


class ChurnVariant(ChurnModel):
    """ChurnModel with the issue-19 directions that were measured and not kept (all off here)."""

    _second_model: ClassVar[bool] = False
    _logit_gap: ClassVar[bool] = False
    _prior_extra: ClassVar[tuple[str, ...]] = ()
    _prior_hinges: ClassVar[tuple[float, ...]] = ()
    _n_bags: ClassVar[int] = 1
    _recent_weight: ClassVar[float] = 1.0
    _grid: ClassVar[tuple[dict[str, Any], ...]] = ()

    def _fit_trusted(self, events: pd.DataFrame, ts: pd.Timestamp) -> ChurnVariant:
        self._fitting = True
        try:
            super()._fit_trusted(events, ts)
        finally:
            self._fitting = False
        self.mbgnbd_params_ = None
        if self._second_model and self.use_bgnbd_features:
            self.mbgnbd_params_ = _mbg_params(summary_at(purchase_rows(events), ts, time_unit="W", monetary=False))
        return self

    def _extra_features(self, prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame | None:
        frame = super()._extra_features(prepared, cutoff)
        if not (self._second_model and self.use_bgnbd_features):
            return frame
        summary = prepared_summary(prepared, cutoff)
        params = _mbg_params(summary) if getattr(self, "_fitting", False) else self.mbgnbd_params_
        weeks = parse_horizon(self.horizon) / pd.Timedelta(days=7)
        mbg = mbg_frame(summary, params, weeks, self._bg_p_no_purchase(summary, weeks) if self._logit_gap else None)
        mbg = mbg if self._logit_gap else mbg.drop(columns="mbg_bg_logit_gap")
        return mbg if frame is None else frame.join(mbg)

    def _bg_p_no_purchase(self, summary: pd.DataFrame, weeks: float) -> np.ndarray | None:
        """BG/NBD's P(no purchase) of ``summary`` (fitted on it during fit, else the fit's as_of params)."""
        if getattr(self, "_fitting", False):
            try:
                p = BGNBDModel(time_unit="W").fit_summary(summary).params_
            except InsufficientDataError:
                return None
        else:
            p = (self.btyd_params_ or {}).get("bgnbd")
        if p is None:
            return None
        scores = bgnbd_scores((p["r"], p["alpha"], p["a"], p["b"]), summary, weeks)
        return scores["p_no_purchase"].to_numpy(dtype=np.float64)

    def _prior_specs(self, train: pd.DataFrame) -> tuple[str, ...]:
        specs = (*LINEAR_PRIOR_COLUMNS, *(s for s in self._prior_extra if s.split(":")[1] in train.columns))
        return specs + (hinge_specs(train, "recency_days", self._prior_hinges) if self._prior_hinges else ())

    def _train(self, params: dict[str, Any], train: pd.DataFrame, valid: pd.DataFrame | None, names: list[str],
               rounds: int | None = None) -> lgb.Booster:
        if self._grid and valid is not None:
            tried = [super(ChurnVariant, self)._train({**params, **g}, train, valid, names) for g in self._grid]
            best = int(np.argmax([float(b.best_score["valid_0"]["auc"]) for b in tried]))
            self.grid_choice_ = self._grid[best]
            return tried[best]
        if self._n_bags <= 1 and self._recent_weight == 1.0:
            return super()._train(params, train, valid, names, rounds)
        each = getattr(self, "_bag_rounds", [rounds] * self._n_bags) if valid is None else []
        boosters = []
        for i in range(self._n_bags):
            p = {**params, "seed": int(params["seed"]) + i}
            data = lgb.Dataset(_lgbm.align_features(train, names), label=self._label(train),
                               init_score=self._prior(train), weight=self._weights(train))
            if valid is None:
                boosters.append(lgb.train(p, data, num_boost_round=int(each[i] or self.max_rounds)))
                continue
            vdata = lgb.Dataset(_lgbm.align_features(valid, names), label=self._label(valid),
                                init_score=self._prior(valid), reference=data)
            boosters.append(lgb.train(p, data, num_boost_round=int(self.max_rounds), valid_sets=[vdata],
                                      callbacks=[lgb.early_stopping(int(self.early_stopping_rounds), verbose=False)]))
        self._bag_rounds = [b.best_iteration if b.best_iteration > 0 else b.current_iteration() for b in boosters]
        return average_boosters(boosters, self._bag_rounds)

    def _weights(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self._recent_weight == 1.0:
            return None
        cut = frame[Columns.CUTOFF].to_numpy()
        return np.where(cut == cut.max(), self._recent_weight, 1.0)
