"""Issue 19 (churn half): every direction tried for ChurnModel, with its backtest numbers.

Each direction is a set of :class:`cxml.churn.ChurnModel` parameters; it is backtested exactly as
``benchmarks/backtest.py`` does (same datasets, cutoffs, 90-day horizon, refit at every cutoff,
paired bootstrap against the strongest baseline of each cutoff and metric), churn task only.
Recorded per dataset and cutoff: ROC-AUC − strongest baseline with its interval, Brier and
log-loss − the best purchase-model probability, with theirs. The results accumulate in
``benchmarks/results/churn_directions.json`` (one entry per direction name; rerunning a name
replaces it).

Usage::

    nice -n 10 python benchmarks/_churn_directions.py NAME [NAME ...] [--n-boot 200] [--datasets CDNOW ...]
    nice -n 10 python benchmarks/_churn_directions.py --list
    nice -n 10 python benchmarks/_churn_directions.py --in-period [--datasets CDNOW ...]

Directions that need code beyond ChurnModel's parameters (the MBG/NBD features, a richer linear
prior, seed averaging, recent-snapshot weights, a tree grid inside ``fit``) are class settings of
``_churn_variants.ChurnVariant``. ``--in-period`` stores, per dataset and cutoff, what models
cross-fitted on that cutoff's OWN labels reach against the strongest baseline: not a forecast, and
not a strict bound either (the forecast trains on two snapshots and starts from the BG/NBD prior,
and at some cutoffs it beats them), but a measure of how much ranking signal beyond the baseline
the features show at that cutoff.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from _churn_variants import ChurnVariant
from backtest import CASES, HORIZON, load  # benchmarks/ is on sys.path when a script runs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

import cxml
from cxml.churn import _lgbm
from cxml.churn import metrics as M
from cxml.churn._linear_prior import LINEAR_PRIOR_COLUMNS, design
from cxml.churn.churn_model import ChurnModel
from cxml.churn.summary import purchase_rows
from cxml.evaluate import backtest, paired_bootstrap
from cxml.features import CHURNED
from cxml.features.core import parse_windows
from cxml.schema import Columns

OUT = Path(__file__).resolve().parent / "results" / "churn_directions.json"
METRICS = ("roc_auc", "brier", "log_loss")

#: round 2's tree settings (ChurnModel's defaults before issue 19 made them smaller)
_ROUND2_TREES: dict[str, Any] = {"num_leaves": 15, "min_data_in_leaf": 50, "lambda_l2": 1.0, "feature_fraction": 0.8,
                                 "learning_rate": 0.03}
_OFF: dict[str, Any] = {"rhythm_features": False, "blend": False, "linear_prior": False,
                        "calibration": "isotonic", "lgbm_params": _ROUND2_TREES}
_SIG: dict[str, Any] = {**_OFF, "calibration": "sigmoid"}
_SMALL: dict[str, Any] = {"num_leaves": 7, "min_data_in_leaf": 100, "lambda_l2": 10.0, "feature_fraction": 0.6,
                          "learning_rate": 0.02}
#: name -> (what it tries, ChurnModel parameters on top of the backtest defaults)
DIRECTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("ChurnModel's defaults now (= sig_rhythm_lin_blend_small)", {}),
    "before": ("round-2 defaults as backtested (2 snapshots, isotonic, BG/NBD prior)", _OFF),
    "cal_sigmoid": ("Platt calibration of the raw log-odds instead of centred isotonic",
                    {**_OFF, "calibration": "sigmoid"}),
    "cal_none": ("no calibrator: the booster's own sigmoid (it starts from the BG/NBD logit)",
                 {**_OFF, "calibration": None}),
    "rhythm": ("customer-rhythm features (features/rhythm.py), no blend", {**_OFF, "rhythm_features": True}),
    "blend": ("isotonic model blended with BG/NBD P(no purchase), weight cross-fitted on the held-out "
              "customers (least log-loss)", {**_OFF, "blend": True}),
    "rhythm_blend": ("rhythm features + blend", {**_OFF, "rhythm_features": True, "blend": True}),
    "snap4": ("4 training snapshots instead of 2", {**_OFF, "n_snapshots": 4}),
    "sig_rhythm": ("Platt + rhythm features", {**_SIG, "rhythm_features": True}),
    "sig_blend": ("Platt + blend with BG/NBD P(no purchase)", {**_SIG, "blend": True}),
    "sig_rhythm_blend": ("Platt + rhythm features + blend", {**_SIG, "rhythm_features": True, "blend": True}),
    "sig_rhythm_snap4": ("Platt + rhythm + 4 snapshots", {**_SIG, "rhythm_features": True, "n_snapshots": 4}),
    "sig_rhythm_snap6_30d": ("Platt + rhythm + 6 snapshots 30 days apart",
                             {**_SIG, "rhythm_features": True, "n_snapshots": 6, "snapshot_step": "30D"}),
    "sig_rhythm_lin": ("Platt + rhythm + linear prior (logistic regression on logit BG/NBD P(no purchase), "
                       "log recency, log purchase days, log tenure; boosting starts from it)",
                       {**_SIG, "rhythm_features": True, "linear_prior": True}),
    "sig_rhythm_lin_blend": ("Platt + rhythm + linear prior + blend",
                             {**_SIG, "rhythm_features": True, "linear_prior": True, "blend": True}),
    "sig_rhythm_lin_small": ("Platt + rhythm + linear prior + small regularised trees",
                             {**_SIG, "rhythm_features": True, "linear_prior": True, "lgbm_params": _SMALL}),
    "sig_rhythm_lin_blend_snap4": ("Platt + rhythm + linear prior + blend + 4 snapshots",
                                   {**_SIG, "rhythm_features": True, "linear_prior": True, "blend": True,
                                    "n_snapshots": 4}),
    "sig_rhythm_lin_blend_small": ("Platt + rhythm + linear prior + blend + small regularised trees",
                                   {**_SIG, "rhythm_features": True, "linear_prior": True, "blend": True,
                                    "lgbm_params": _SMALL}),
    "sig_lin_blend": ("Platt + linear prior + blend, no rhythm features",
                      {**_SIG, "linear_prior": True, "blend": True}),
    "sig_rhythm_lin_blend_group": ("Platt + rhythm + linear prior + blend; held-out customers left out of the "
                                   "older snapshots too", {**_SIG, "rhythm_features": True, "linear_prior": True,
                                                           "blend": True, "variant": "group_held_out"}),
    "sig_rhythm_lin_blend_group_snap6_30d": ("... + group held-out + 6 snapshots 30 days apart",
                                             {**_SIG, "rhythm_features": True, "linear_prior": True,
                                              "blend": True, "variant": "group_held_out", "n_snapshots": 6,
                                              "snapshot_step": "30D"}),
    "sig_lin_blend_1round": ("Platt + linear prior + blend with one boosting round: the linear prior alone",
                             {**_SIG, "linear_prior": True, "blend": True, "max_rounds": 1}),
    "sig_rhythm_small": ("Platt + rhythm + small regularised trees",
                         {**_SIG, "rhythm_features": True, "lgbm_params": _SMALL}),
    # ---- round 4 (issue 19, CDNOW margin): on top of the defaults
    "mbg_features": ("defaults + MBG/NBD (Batislam et al. 2007) P(alive), P(no purchase in the horizon) and "
                     "expected purchases as booster features, fitted point-in-time at every cutoff",
                     {"variant": {"_second_model": True}}),
    "mbg_gap": ("defaults + MBG/NBD features + their disagreement with BG/NBD (logit MBG P(no purchase) - logit "
                "BG/NBD P(no purchase)) as booster features", {"variant": {"_second_model": True, "_logit_gap": True}}),
    "mbg_prior": ("defaults + MBG/NBD features + logit MBG/NBD P(no purchase) and P(alive) in the linear prior",
                  {"variant": {"_second_model": True,
                               "_prior_extra": ["logit:mbg_p_no_purchase", "logit:mbg_p_alive"]}}),
    "prior_rhythm": ("defaults + rhythm columns in the linear prior (log survival, log1p recency/median gap, "
                     "recent share)", {"variant": {"_prior_extra": [
                         "raw:rhythm_log_survival", "log1p:rhythm_recency_over_median",
                         "raw:rhythm_recent_share_90d"]}}),
    "prior_hinge": ("defaults + hinge terms on log1p(recency) at its 25/50/75 % training quantiles in the "
                    "linear prior", {"variant": {"_prior_hinges": [0.25, 0.5, 0.75]}}),
    "prior_auto_C": ("defaults + the linear prior's L2 strength chosen by log-loss on the latest training "
                     "cutoff (fitted on the older one)", {"variant": {"_prior_C": "auto"}}),
    "prior_rich": ("defaults + rhythm columns + recency hinges + bg expected purchases / p_alive in the linear "
                   "prior, L2 chosen by time-based validation",
                   {"variant": {"_prior_C": "auto", "_prior_hinges": [0.25, 0.5, 0.75], "_prior_extra": [
                       "raw:rhythm_log_survival", "log1p:rhythm_recency_over_median",
                       "raw:rhythm_recent_share_90d", "log1p:bg_expected_purchases", "logit:bg_p_alive"]}}),
    "bag3": ("defaults + 3 boosters with seeds 0, 1, 2 (bagging and feature sampling differ), each early-stopped "
             "on the held-out customers, averaged into one booster", {"variant": {"_n_bags": 3}}),
    "bag5": ("defaults + 5 seed-averaged boosters", {"variant": {"_n_bags": 5}}),
    "recent_w2": ("defaults + the latest snapshot's rows weighted 2x in the booster's loss",
                  {"variant": {"_recent_weight": 2.0}}),
    "refit": ("defaults + refit=True (retrain on every snapshot incl. the held-out customers for the "
              "early-stopped rounds)", {"refit": True}),
    "snap3": ("defaults + 3 snapshots", {"n_snapshots": 3}),
    "grid_trees": ("defaults + tree settings chosen inside fit by held-out ROC-AUC (the early-stopping customers) "
                   "among small trees (default), round-2 trees and stumps-like trees (3 leaves, 200 per leaf)",
                   {"variant": {"_grid": [{}, _ROUND2_TREES, {"num_leaves": 3, "min_data_in_leaf": 200}]}}),
    "small_trees": ("smaller, regularised trees (7 leaves, 100 per leaf, l2 10, 0.6 features, lr 0.02)",
                    {**_OFF, "lgbm_params": _SMALL}),
}


#: what a direction's numbers showed, when a number alone would mislead (written beside its entry)
NOTES: dict[str, str] = {
    "prior_rich": "failure, not noise: logit(BG/NBD P(alive)) sits at its clip in the training rows (std 0.02), "
                  "and the BG/NBD fitted at as_of 2010-09-01 (a=0.004) moves it by 250 standard deviations, so "
                  "the prior collapses at that cutoff (ROC-AUC 0.41); a standardised linear prior needs inputs "
                  "that vary in training (clipping the standardised inputs to +-8 sd was tried and dropped: "
                  "the BG/NBD logit legitimately reaches 15 sd, and the default then lost 0.0004 on CDNOW)",
    "mbg_prior": "failure at Online Retail 2010-09-01, as prior_rich: logit(MBG/NBD P(alive)) barely varies in "
                 "training and the prior collapses at that cutoff (Brier 0.49, ROC-AUC equal to BG/NBD's)",
    "grid_trees": "the only round-4 direction above the default on CDNOW (+0.0015 pooled), but -0.0013 on the "
                  "sample and 3x the booster training: not kept",
}


class GroupHeldOut(ChurnModel):
    """ChurnModel whose held-out customers are left out of the older snapshots too (tried as a direction)."""

    _group_held_out = True


def _model(params: dict[str, Any]) -> dict[str, Any] | ChurnModel:
    """The ``models["churn"]`` spec: parameters, or an unfitted variant for a ``"variant"`` key (a
    named class, or a dict of ChurnModel class settings such as ``_second_model``)."""
    if "variant" not in params:
        return params
    rest = {"horizon": HORIZON, "random_state": 0, "n_snapshots": 2,
            **{k: v for k, v in params.items() if k != "variant"}}
    variant = params["variant"]
    if isinstance(variant, dict):
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in variant.items()}
        return type("Variant", (ChurnVariant,), settings)(**rest)
    return {"group_held_out": GroupHeldOut}[variant](**rest)


def _cases(datasets: list[str]) -> Iterator[tuple[str, pd.DataFrame, list[str]]]:
    """``(dataset, events, cutoffs)`` of the backtest cases named in ``datasets``; warnings stay silenced
    while the caller works on each (the generator is suspended inside the ``catch_warnings`` block)."""
    for ds, key, cutoffs in CASES:
        if ds in datasets:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield ds, load(key), cutoffs


def run(name: str, params: dict[str, Any], datasets: list[str], n_boot: int) -> dict[str, Any]:
    out: dict[str, Any] = {"params": params, "n_boot": n_boot, "datasets": {}}
    for ds, events, cutoffs in _cases(datasets):
        t0 = time.perf_counter()
        bt = backtest(events, cutoffs, horizon=HORIZON, models={"churn": _model(params)}, n_boot=n_boot,
                      random_state=0)
        rows = bt[bt["metric"].isin(METRICS)]
        out["datasets"][ds] = {
            "seconds": time.perf_counter() - t0,
            "rows": [{k: (v if not isinstance(v, float) else round(v, 5)) for k, v in r.items()}
                     for r in rows[["cutoff", "metric", "model", "baseline", "baseline_name", "difference",
                                    "ci_low", "ci_high"]].to_dict("records")],
        }
        for r in out["datasets"][ds]["rows"]:
            print(f"{name:<18} {ds:<13} {r['cutoff']:<11} {r['metric']:<9} {r['model']:.4f} "
                  f"{r['baseline']:.4f} {r['difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] "
                  f"{r['baseline_name']}", flush=True)
    return out


def _oof(snap: pd.DataFrame, names: list[str], y: np.ndarray) -> dict[str, np.ndarray]:
    """Out-of-fold (5-fold, stratified) scores of two models fitted on the cutoff's own labels."""
    X = _lgbm.align_features(snap, names)
    D = design(snap, LINEAR_PRIOR_COLUMNS)
    D = np.nan_to_num((D - np.nanmean(D, axis=0)) / np.nanstd(D, axis=0))
    out = {"linear_prior_columns": np.zeros(len(y)), "lightgbm_all_features": np.zeros(len(y))}
    params = {"objective": "binary", "verbosity": -1, "seed": 0, "deterministic": True, "num_threads": 1,
              **_lgbm.LGBM_DEFAULTS, **_lgbm.SMALL_TREES}
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(D, y):
        out["linear_prior_columns"][te] = LogisticRegression(max_iter=2000).fit(D[tr], y[tr]).decision_function(D[te])
        booster = lgb.train(params, lgb.Dataset(X.iloc[tr], y[tr]), 300)
        out["lightgbm_all_features"][te] = booster.predict(X.iloc[te], raw_score=True)
    return out


def in_period(datasets: list[str], n_boot: int) -> dict[str, Any]:
    """How much ranking signal beyond the strongest baseline the features show AT each cutoff: models
    fitted by 5-fold cross-validation on that cutoff's own labels (not a forecast, which only sees
    earlier labels), with the paired-bootstrap interval."""
    out: dict[str, Any] = {}
    horizon = pd.Timedelta(HORIZON)
    for ds, events, cutoffs in _cases(datasets):
        model = ChurnModel(horizon=HORIZON)
        parts, names = _lgbm.snapshot_frames(
            events, purchase_rows(events), [pd.Timestamp(c) for c in cutoffs], horizon,
            windows=parse_windows(model.windows), use_btyd=True, require_both_classes=True,
            extra=model._extra_features)
        rows = []
        for snap in parts:
            y = snap[CHURNED].to_numpy(dtype=float)
            bases = {"bgnbd_neg_expected_purchases": -snap["bg_expected_purchases"].to_numpy(),
                     "bgnbd_p_no_purchase": snap["bg_p_no_purchase"].to_numpy(),
                     "recency": snap["recency_days"].to_numpy(dtype=float)}
            best = max(bases, key=lambda k: M.roc_auc(y, bases[k]))
            for name, score in _oof(snap, names, y).items():
                r = paired_bootstrap("roc_auc", y, score, bases[best], n_boot=n_boot, random_state=0)
                rows.append({"cutoff": str(snap[Columns.CUTOFF].iloc[0].date()), "name": name,
                             "baseline_name": best, **{k: round(float(v), 5) for k, v in r.items()}})
                print(f"in-period {ds:<13} {rows[-1]['cutoff']} {name:<22} {r['difference']:+.4f} "
                      f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] vs {best}", flush=True)
        out[ds] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--datasets", nargs="*", default=[c[0] for c in CASES])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--final", help="name of the direction kept as ChurnModel's default")
    parser.add_argument("--in-period", action="store_true",
                        help="also measure models cross-fitted on each cutoff's own labels (see the docstring)")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, params) in DIRECTIONS.items():
            print(f"{name:<18} {what}  {params}")
        return 0
    path = Path(args.out)
    stored = json.loads(path.read_text()) if path.exists() else {"benchmark": "churn_directions", "directions": {}}
    stored["n_boot"] = args.n_boot
    if args.final:
        stored["final"] = args.final
    for name, note in NOTES.items():
        if name in stored["directions"]:
            stored["directions"][name]["note"] = note
    if args.in_period:
        stored.pop("ceiling", None)
        stored["in_period"] = {**stored.get("in_period", {}), **in_period(args.datasets, args.n_boot)}
        path.write_text(json.dumps(stored, indent=2, allow_nan=True) + "\n")
    for name in args.names:
        what, params = DIRECTIONS[name]
        result = run(name, params, args.datasets, args.n_boot)
        result["what"] = what
        result["cxml_version"] = cxml.__version__
        entry = stored["directions"].setdefault(name, {"what": what, "params": params, "datasets": {}})
        entry.update(what=what, params=params, n_boot=args.n_boot)
        entry["datasets"].update(result["datasets"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2, allow_nan=True) + "\n")
    path.write_text(json.dumps(stored, indent=2, allow_nan=True) + "\n")  # the notes, with no name given
    return 0


if __name__ == "__main__":
    sys.exit(main())
