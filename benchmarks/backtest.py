"""Backtest benchmark (issue 18 §1): do the intervals cover the truth, and what do they say on real data?

(a) **Coverage.** A churn process whose truth is known: customer ``i`` has a latent propensity
``x_i ~ N(0, 1)`` and churns with probability ``sigmoid(x_i)``. The "model" scores
``sigmoid(x_i + e_i)``, ``e_i ~ N(0, 0.5²)``; the "baseline" scores ``sigmoid(x_i + f_i)``,
``f_i ~ N(0, 1)``. The true difference of each metric is measured on 2 000 000 customers of the same
process; then, over ``--seeds`` (200) independent samples of ``--customers`` (1000) customers, the 95 % paired
bootstrap interval of :func:`cxml.evaluate.paired_bootstrap` should contain it about 95 % of the time
(bar: 90–99 %). The pooled interval (three independent "cutoffs", resampled within each, mean of
the differences) is checked the same way.

(b) **Datasets.** :func:`cxml.evaluate.backtest` with its default (fast) models on the CDNOW sample,
Online Retail 2009 and the generated sample, at three or four cutoffs each, 90-day horizon,
1000 resamples; every row goes to the JSON, and the rows whose interval crosses zero are listed.

Usage::

    nice -n 10 python benchmarks/backtest.py [--seeds 200] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import cxml
from cxml.evaluate import backtest, paired_bootstrap
from cxml.evaluate.bootstrap import METRICS, interval, replicate_differences

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "backtest.json"
HORIZON = "90D"
COVERAGE_METRICS = ("roc_auc", "pr_auc", "brier", "lift_at_10")
#: (name, loader key, cutoffs): every cutoff + 90 days lies inside the data
CASES = [
    ("CDNOW", "cdnow", ["1997-10-01", "1997-12-01", "1998-02-01", "1998-04-01"]),
    ("OnlineRetail", "retail", ["2010-05-01", "2010-07-01", "2010-09-01"]),
    ("sample", "sample", ["2024-03-01", "2024-06-01", "2024-09-01"]),
]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Churned (0/1), the model's score and the baseline's score of ``n`` customers."""
    x = rng.normal(0.0, 1.0, n)
    y = (rng.random(n) < _sigmoid(x)).astype(np.float64)
    return y, _sigmoid(x + rng.normal(0.0, 0.5, n)), _sigmoid(x + rng.normal(0.0, 1.0, n))


def _bound(fn: Any, y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    return np.asarray(fn(W, y, score))


def true_differences(n: int = 2_000_000) -> dict[str, float]:
    y, model, base = simulate(n, np.random.default_rng(123_456))
    ones = np.ones((1, n))
    return {m: float(METRICS["churn"][m].fn(ones, y, model)[0] - METRICS["churn"][m].fn(ones, y, base)[0])
            for m in COVERAGE_METRICS}


def run_coverage(seeds: int, n: int, n_boot: int) -> dict[str, Any]:
    truth = true_differences()
    hits = {m: 0 for m in COVERAGE_METRICS}
    pooled_hits = {m: 0 for m in COVERAGE_METRICS}
    widths: dict[str, list[float]] = {m: [] for m in COVERAGE_METRICS}
    t0 = time.perf_counter()
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        for m in COVERAGE_METRICS:
            y, model, base = simulate(n, rng)
            r = paired_bootstrap(m, y, model, base, n_boot=n_boot, random_state=seed)
            hits[m] += r["ci_low"] <= truth[m] <= r["ci_high"]
            widths[m].append(r["ci_high"] - r["ci_low"])
            # pooled: three independent cutoffs, resampled within each, differences averaged
            reps = []
            for _ in range(3):
                y, model, base = simulate(n, rng)
                fn = METRICS["churn"][m].fn
                pair = (partial(_bound, fn, y, model), partial(_bound, fn, y, base))
                reps.append(replicate_differences(n, {"d": pair}, n_boot, rng)["d"])
            low, high = interval(np.mean(reps, axis=0))
            pooled_hits[m] += low <= truth[m] <= high
    return {
        "process": "x ~ N(0,1); churn ~ Bernoulli(sigmoid(x)); model sigmoid(x + N(0, 0.5^2)); "
                   "baseline sigmoid(x + N(0, 1))",
        "customers": n, "seeds": seeds, "n_boot": n_boot, "nominal": 0.95, "bar": [0.90, 0.99],
        "seconds": time.perf_counter() - t0,
        "metrics": {
            m: {"true_difference": truth[m], "coverage": hits[m] / seeds, "pooled_coverage": pooled_hits[m] / seeds,
                "mean_width": float(np.mean(widths[m])),
                "bar_met": bool(0.90 <= hits[m] / seeds <= 0.99 and 0.90 <= pooled_hits[m] / seeds <= 0.99)}
            for m in COVERAGE_METRICS
        },
    }


def run_speed(n: int = 10_000, n_boot: int = 1000) -> dict[str, Any]:
    """Seconds of a 1000-resample paired bootstrap on 10 000 customers, per metric (target: seconds)."""
    rng = np.random.default_rng(0)
    y, model, base = simulate(n, rng)
    actual = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(3.0, 1.0, n))
    pred, other = actual * rng.random(n) + rng.random(n), rng.random(n) * actual.mean()
    seconds = {}
    for task, (truth, m, b) in (("churn", (y, model, base)), ("cltv", (actual, pred, other))):
        for metric in METRICS[task]:
            t0 = time.perf_counter()
            paired_bootstrap(metric, truth, m, b, n_boot=n_boot, random_state=0)
            seconds[metric] = time.perf_counter() - t0
    return {"customers": n, "n_boot": n_boot, "seconds": seconds, "total_seconds": sum(seconds.values()),
            "target_seconds": 60.0, "passes_target": sum(seconds.values()) < 60.0}


def load(key: str) -> pd.DataFrame:
    if key == "cdnow":
        return cxml.load_events(SHARED / "cdnow-sample" / "transactions.csv", timestamp="date")
    if key == "retail":
        raw = pd.read_parquet(SHARED / "online-retail-2009" / "transactions.parquet")
        return cxml.load_events(raw, timestamp="invoice_date", item_id="stock_code", price="price",
                                order_id="invoice")
    return cxml.load_events(ROOT / "data" / "sample" / "events.csv")


def run_case(name: str, key: str, cutoffs: list[str], n_boot: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        events = load(key)
        t0 = time.perf_counter()
        result = backtest(events, cutoffs, horizon=HORIZON, n_boot=n_boot, random_state=0)
        seconds = time.perf_counter() - t0
    rows = json.loads(result.to_json(orient="records"))
    unclear = [f"{r['task']} {r['metric']} @ {r['cutoff']}" for r in rows if r["crosses_zero"]]
    return {"dataset": name, "cutoffs": cutoffs, "horizon": HORIZON, "n_boot": n_boot,
            "tasks": result.attrs["settings"]["tasks"], "seconds": seconds, "rows": rows,
            "crosses_zero": unclear}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def print_coverage(cov: dict[str, Any]) -> None:
    print(f"coverage of the 95 % paired-bootstrap interval: {cov['seeds']} seeds x {cov['customers']} customers, "
          f"{cov['n_boot']} resamples")
    print(f"{'metric':<20} {'true diff':>10} {'coverage':>9} {'pooled':>8} {'width':>8}  bar 90-99 %")
    for m, r in cov["metrics"].items():
        print(f"{m:<20} {r['true_difference']:>10.4f} {r['coverage']:>9.3f} {r['pooled_coverage']:>8.3f} "
              f"{r['mean_width']:>8.4f}  {'MET' if r['bar_met'] else 'MISSED'}")
    print()


def print_case(case: dict[str, Any]) -> None:
    print(f"{case['dataset']}: cutoffs {', '.join(case['cutoffs'])}, horizon {case['horizon']}, "
          f"{case['seconds']:.0f} s")
    print(f"{'cutoff':<11} {'task':<10} {'metric':<19} {'model':>9} {'baseline':>9} {'diff':>9} "
          f"{'95 % interval':>21}  {'strongest baseline':<30}")
    for r in case["rows"]:
        ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        flag = "  crosses 0" if r["crosses_zero"] else ""
        print(f"{r['cutoff']:<11} {r['task']:<10} {r['metric']:<19} {_fmt(r['model']):>9} {_fmt(r['baseline']):>9} "
              f"{_fmt(r['difference']):>9} {ci:>21}  {str(r['baseline_name']):<30}{flag}")
    pooled = [c for c in case["crosses_zero"] if c.endswith("pooled")]
    print(f"intervals crossing zero: {len(case['crosses_zero'])} of {len(case['rows'])} rows; pooled: "
          + (", ".join(pooled) if pooled else "none"))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="coverage repetitions (default 200)")
    parser.add_argument("--customers", type=int, default=1000, help="customers per coverage sample (default 1000)")
    parser.add_argument("--coverage-boot", type=int, default=500, help="resamples per coverage interval (default 500)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--quick", action="store_true", help="20 seeds, 200 resamples, the sample dataset only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/backtest.json alone")
    parser.add_argument("--out", default=str(OUT), help="JSON output path")
    args = parser.parse_args(argv)
    seeds, n_boot, cov_boot = (20, 200, 200) if args.quick else (args.seeds, args.n_boot, args.coverage_boot)
    speed = run_speed(n_boot=n_boot)
    print(f"paired bootstrap, {speed['n_boot']} resamples x {speed['customers']} customers, seconds per metric:")
    print("  " + ", ".join(f"{m} {s:.2f}" for m, s in speed["seconds"].items())
          + f"; all {len(speed['seconds'])} metrics {speed['total_seconds']:.1f} s (target < 60 s)")
    print()
    cov = run_coverage(seeds, args.customers, cov_boot)
    print_coverage(cov)
    cases = []
    for name, key, cutoffs in CASES:
        if args.quick and key != "sample":
            continue
        if key != "sample" and not SHARED.exists():
            print(f"{name}: skipped, {SHARED} is absent")
            continue
        case = run_case(name, key, cutoffs, n_boot)
        print_case(case)
        cases.append(case)
    if not args.no_write:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"benchmark": "backtest", "protocol": "PROTOCOL.md churn/CLTV/recommendation, rolling origin",
                   "cxml_version": cxml.__version__, "python": platform.python_version(), "quick": args.quick,
                   "speed": speed, "coverage": cov, "datasets": cases}
        out.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
