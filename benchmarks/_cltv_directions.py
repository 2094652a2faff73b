"""CLTV directions of issue 19: every variant of ``CLTVModel`` tried, backtested, with its numbers.

Each direction is a set of :class:`cxml.churn.CLTVModel` parameters run through
:func:`cxml.evaluate.backtest` (``models={"cltv": model}``, 90-day horizon, the cutoffs of
``benchmarks/backtest.py``'s ``CASES``). For every cutoff and the pooled row it records Spearman,
normalized Gini and decile MAPE of the model, the strongest baseline of that cutoff and metric with
the paired-bootstrap interval of the difference, and the point estimates of both baselines
(BG/NBD × Gamma-Gamma and the recent-spend rule). Results accumulate in
``benchmarks/results/cltv_directions.json`` (a run updates the directions it ran and keeps the rest),
so directions that did not help stay on record beside those that did.

Usage::

    nice -n 10 python benchmarks/_cltv_directions.py --list
    nice -n 10 python benchmarks/_cltv_directions.py --directions default,two_stage --datasets cdnow --n-boot 200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import cxml
from cxml.churn import CLTVModel
from cxml.evaluate import backtest
from cxml.evaluate._models import DEFAULT_SNAPSHOT_PARAMS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest import CASES, HORIZON, load  # the cases of the backtest benchmark

OUT = Path(__file__).resolve().parent / "results" / "cltv_directions.json"
METRICS = ("spearman", "normalized_gini", "decile_mape")
_SMALL_TREES = {"num_leaves": 4, "min_data_in_leaf": 100, "lambda_l2": 10.0, "learning_rate": 0.03}
_OLD = {"_trees": "default"}  # CLTVModel before issue 19

#: name -> (what it tests, CLTVModel class settings, CLTVModel parameters on top of the backtest's)
DIRECTIONS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "before": ("the CLTVModel of main before issue 19: Tweedie boosted from the BG/NBD×GG prior, default trees "
               "(15 leaves, 50 rows per leaf, L2 1)", _OLD, {}),
    "default": ("CLTVModel now: small trees below 10,000 training rows (4 leaves, 100 rows per leaf, L2 10)", {}, {}),
    "snapshots4": ("before + 4 training snapshots instead of 2", _OLD, {"n_snapshots": 4}),
    "small_trees": ("before + 4 leaves, 100 rows per leaf, L2 10 (via lgbm_params)", _OLD,
                    {"lgbm_params": _SMALL_TREES}),
    "tiny_trees": ("before + 3 leaves, 200 rows per leaf, L2 20", _OLD,
                   {"lgbm_params": {"num_leaves": 3, "min_data_in_leaf": 200, "lambda_l2": 20.0}}),
    "stumps": ("before + stumps (2 leaves), 100 rows per leaf, L2 10", _OLD,
               {"lgbm_params": {"num_leaves": 2, "min_data_in_leaf": 100, "lambda_l2": 10.0}}),
    "small_slow": ("default + learning rate 0.01", {}, {"lgbm_params": {"learning_rate": 0.01}}),
    "no_prior": ("before + boosting from a constant instead of the BG/NBD×GG prior", _OLD, {"bgnbd_prior": False}),
    "power_1.5": ("before + Tweedie variance power 1.5 instead of 1.3", _OLD, {"tweedie_variance_power": 1.5}),
    "small_snap4": ("default + 4 snapshots", {}, {"n_snapshots": 4}),
    "snap4_decay": ("default + 4 snapshots weighted 0.5^age (latest 1, previous 0.5, ...)",
                    {"_snapshot_decay": 0.5}, {"n_snapshots": 4}),
    "level_total": ("before + level shift so held-out totals match", {**_OLD, "_level": "total"}, {}),
    "small_level": ("default + level shift so held-out totals match", {"_level": "total"}, {}),
    "level_poisson": ("default + Poisson calibration line on held-out: value = exp(shift + slope * log value)",
                      {"_level": "poisson"}, {}),
    "blend_auto": ("default + blend in log space with the BG/NBD×GG prior, weight of the booster's correction "
                   "chosen on held-out", {"_blend": "auto"}, {}),
    "pool_auto": ("default + pool the lowest predictions at their mean (fraction chosen on held-out)",
                  {"_pool_low": "auto"}, {}),
    "pool_0.7": ("default + pool the lowest 70 % of predictions at their mean", {"_pool_low": 0.7}, {}),
}


def make_model(settings: dict[str, Any], params: dict[str, Any]) -> CLTVModel:
    """An unfitted CLTVModel (a subclass when class settings differ) with the backtest's defaults."""
    cls = type("CLTVVariant", (CLTVModel,), dict(settings)) if settings else CLTVModel
    return cls(**{**DEFAULT_SNAPSHOT_PARAMS, "random_state": 0, **params})


def _row(r: dict[str, Any], scores: dict[tuple[str, str, str], float]) -> dict[str, Any]:
    out = {k: r[k] for k in ("cutoff", "metric", "model", "baseline", "baseline_name", "difference", "ci_low",
                             "ci_high", "crosses_zero", "n_customers")}
    for base in ("bgnbd_gamma_gamma", "recent_spend"):
        out[base] = scores.get((r["cutoff"], base, r["metric"]))
    return out


def run_direction(model: CLTVModel, key: str, cutoffs: list[str], n_boot: int) -> dict[str, Any]:
    """Backtest one set of CLTVModel parameters on one dataset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        warnings.simplefilter("ignore", cxml.ConvergenceWarning)
        events = load(key)
        t0 = time.perf_counter()
        result = backtest(events, cutoffs, horizon=HORIZON, models={"cltv": model}, n_boot=n_boot,
                          random_state=0)
        seconds = time.perf_counter() - t0
    sc = result.attrs["scores"]
    scores = {(c, s, m): float(v) for c, s, m, v in sc[["cutoff", "scorer", "metric", "value"]].itertuples(index=False)}
    pooled: dict[tuple[str, str, str], float] = {}
    for (_cut, s, m), v in scores.items():
        pooled[("pooled", s, m)] = pooled.get(("pooled", s, m), 0.0) + v / len(cutoffs)
    scores.update(pooled)
    rows = [_row(r, scores) for r in json.loads(result.to_json(orient="records")) if r["metric"] in METRICS]
    return {"cutoffs": cutoffs, "n_boot": n_boot, "seconds": seconds, "rows": rows}


def _print(name: str, dataset: str, res: dict[str, Any]) -> None:
    print(f"{name} / {dataset} ({res['seconds']:.0f} s)")
    for r in res["rows"]:
        flag = "" if not r["crosses_zero"] else "  crosses 0"
        print(f"  {r['cutoff']:<11}{r['metric']:<16}{r['model']:.4f}  bg×gg {r['bgnbd_gamma_gamma']:.4f}  "
              f"recent {r['recent_spend']:.4f}  diff {r['difference']:+.4f} [{r['ci_low']:+.4f}, "
              f"{r['ci_high']:+.4f}] vs {r['baseline_name']}{flag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directions", default="default", help="comma-separated names (see --list) or 'all'")
    parser.add_argument("--datasets", default="cdnow,retail,sample", help="comma-separated: cdnow, retail, sample")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (1000 for final numbers)")
    parser.add_argument("--list", action="store_true", help="list the directions and exit")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--out", default=str(OUT), help="JSON output path (updated, not replaced)")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, settings, params) in DIRECTIONS.items():
            print(f"{name:<16} {what}  {settings} {params}")
        return 0
    names = list(DIRECTIONS) if args.directions == "all" else args.directions.split(",")
    keys = args.datasets.split(",")
    out = Path(args.out)
    payload = json.loads(out.read_text()) if out.exists() else {}
    payload.setdefault("benchmark", "cltv_directions")
    payload.setdefault("directions", {})
    for name in names:
        what, settings, params = DIRECTIONS[name]
        entry = payload["directions"].setdefault(name, {})
        entry.update(description=what, settings=settings, params=params)
        entry.setdefault("datasets", {})
        for dataset, key, cutoffs in CASES:
            if key not in keys:
                continue
            res = run_direction(make_model(settings, params), key, cutoffs, args.n_boot)
            _print(name, dataset, res)
            entry["datasets"][dataset] = res
            if not args.no_write:
                payload["cxml_version"] = cxml.__version__
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
