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
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from backtest import CASES, HORIZON, load  # benchmarks/ is on sys.path when a script runs

import cxml
from cxml.churn.churn_model import ChurnModel
from cxml.evaluate import backtest

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
    "small_trees": ("smaller, regularised trees (7 leaves, 100 per leaf, l2 10, 0.6 features, lr 0.02)",
                    {**_OFF, "lgbm_params": _SMALL}),
}


class GroupHeldOut(ChurnModel):
    """ChurnModel whose held-out customers are left out of the older snapshots too (tried as a direction)."""

    _group_held_out = True


def _model(params: dict[str, Any]) -> dict[str, Any] | ChurnModel:
    """The ``models["churn"]`` spec: parameters, or an unfitted variant class for a ``"variant"`` key."""
    if "variant" not in params:
        return params
    rest = {"horizon": HORIZON, "random_state": 0, "n_snapshots": 2,
            **{k: v for k, v in params.items() if k != "variant"}}
    return {"group_held_out": GroupHeldOut}[params["variant"]](**rest)


def run(name: str, params: dict[str, Any], datasets: list[str], n_boot: int) -> dict[str, Any]:
    out: dict[str, Any] = {"params": params, "n_boot": n_boot, "datasets": {}}
    for ds, key, cutoffs in CASES:
        if ds not in datasets:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            events = load(key)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--datasets", nargs="*", default=[c[0] for c in CASES])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--final", help="name of the direction kept as ChurnModel's default")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
