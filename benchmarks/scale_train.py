"""Benchmark: ``cxml train`` on a parquet dataset bigger than its memory budget, per stage (issue 15 §4).

Data: ``cxml.data._scale.write_dataset`` (the sample's BTYD/taste model, partitioned parquet) at
10k/500k, 100k/5M and 1M/50M customers/events (``--sizes`` picks; 1M is run once, near the end,
because five helpers share this 2-core machine). Config: ALS with its defaults (64 factors, 15
iterations) on every purchase row, ``ChurnModel(horizon="90D")`` and ``CLTVModel(horizon="180D")``
with their defaults (4 snapshots, an out-of-time evaluation fit and a final fit each), ``as_of`` =
2025-01-01 (the day after the data end), a real MLflow sqlite store, the bundle logged, the
pyfunc model and the HTML report logged.

The memory budget scales with the data: ``--budget-per-million`` (default 6G, a quarter of this
machine's 24 GB, which is what ``cxml train`` picks by itself for 1M/50M) times customers / 1M, so
every size streams with the same sample share. At ``--in-memory`` sizes (default 10k and 100k) the
in-memory path runs too (budget 20G): the reference in the same run, same machine load.

Each run is a **fresh subprocess** (``cxml.tracking.train``) whose peak RSS is sampled
(``benchmarks/_memory.PeakRSS``) and read from ``ru_maxrss``. Stages (``TrainResult.seconds``):
read+summary (bucketing pass, a look at the buckets, one read of each bucket: BTYD sufficient
statistics, the sample's events, every purchase row), BTYD (BG/NBD and Gamma-Gamma on the counted
rows), LightGBM (churn and CLTV on the sample: evaluation fit, baselines, plots, final fit), ALS
(temporal-split evaluation fit and final fit on every purchase row), logging (bundle, artifacts,
pyfunc model, report). Target (issue 15): 1M/50M < 30 min, peak RSS < 12 GB.

Usage::

    nice -n 10 python benchmarks/scale_train.py                  # 10k and 100k, writes results/scale_train.json
    python benchmarks/scale_train.py --sizes 1M --merge          # add the 1M run to the existing JSON
    python benchmarks/scale_train.py --quick                     # smoke run, writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import _results
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs
from _results import machine_block, write_result

from cxml.data._scale import write_dataset
from cxml.tracking import train

RESULTS = Path(__file__).resolve().parent / "results" / "scale_train.json"
AS_OF = "2025-01-01"
SIZES = {"10k": (10_000, 500_000), "100k": (100_000, 5_000_000), "1M": (1_000_000, 50_000_000)}
TARGETS = {"1M": (1800.0, 12.0)}  # seconds, GB
STAGES = ("read_and_summary", "read", "btyd", "lightgbm", "recommender", "logging")
CONFIG: dict[str, Any] = {
    "recommender": {"model": "als", "k": 10},
    "churn": {"horizon": "90D"},
    "cltv": {"horizon": "180D"},
}
METRICS = ("recommender.ndcg", "recommender.recall", "churn.roc_auc", "churn.pr_auc", "cltv.spearman",
           "cltv.normalized_gini")


def child(spec_path: str) -> int:
    """One training run: ``cxml.tracking.train`` on the dataset, time per stage and peak RSS."""
    spec = json.loads(Path(spec_path).read_text())
    config = {**CONFIG, "events": {"path": spec["data"]},
              "train": {"as_of": AS_OF, "bundle_dir": spec["bundle"], "experiment": "scale-train"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            result = train(config, tracking_uri=spec["uri"], memory_budget=spec["budget"])
            seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "stages": result.seconds, "scale": result.scale,
           "metrics": {k: result.metrics.get(k) for k in METRICS}, "rss_before": mem.before, "peak_rss": mem.peak,
           "maxrss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "loadavg_end": os.getloadavg()}
    Path(spec["result"]).write_text(json.dumps(out, default=str))
    return 0


def run_child(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    load = os.getloadavg()
    result = _results.run_child(str(Path(__file__).resolve()), spec, work)
    result["loadavg_start"] = load
    stages = result["stages"]
    stages["lightgbm"] = stages.pop("churn", 0.0) + stages.pop("cltv", 0.0)
    return result


def dataset(size: str, data_dir: Path) -> Path:
    """The generated dataset of ``size`` (written once; reused while its manifest is there)."""
    n_customers, n_events = SIZES[size]
    path = data_dir / f"train-{size}"
    if not (path / "_cxml_dataset.json").exists():
        t0 = time.perf_counter()
        write_dataset(path, n_customers=n_customers, n_events=n_events, overwrite=True)
        print(f"generated {size} in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def budget_for(size: str, per_million: str) -> int:
    """``per_million`` (e.g. "6G") times customers / 1M, at least the 16 MiB minimum."""
    units = {"M": 2**20, "G": 2**30}
    per = float(per_million[:-1]) * units[per_million[-1].upper()]
    return max(16 * 2**20, int(per * SIZES[size][0] / 1_000_000))


def scale_train_benchmark(sizes: list[str], in_memory: list[str], per_million: str, data_dir: Path,
                          work: Path) -> list[dict[str, Any]]:
    runs = []
    for size in sizes:
        data = dataset(size, data_dir)
        modes = [("streamed", budget_for(size, per_million))] + ([("in-memory", 20 * 2**30)] if size in in_memory
                                                                    else [])
        for mode, budget in modes:
            tag = f"{size}-{mode}"
            spec = {"tag": tag, "data": str(data), "bundle": str(work / f"bundle-{tag}"), "budget": budget,
                    "uri": f"sqlite:///{work / 'mlflow.db'}", "result": str(work / f"result-{tag}.json")}
            print(f"training {tag} (budget {budget / 2**20:.0f} MiB) ...", flush=True)
            r = run_child(spec, work)
            r.update(size=size, mode=mode, customers=SIZES[size][0], events=SIZES[size][1], budget=budget)
            runs.append(r)
            print_run(r)
    return runs


def print_run(r: dict[str, Any]) -> None:
    s, sc, gb = r["stages"], r["scale"], 2**30
    print(f"{r['size']:>5} {r['mode']:>9} buckets {sc.get('scale.buckets', '-')} sample "
          f"{sc.get('scale.sample_customers', r['customers']):,} ({sc.get('scale.sample_fraction', 1.0):.3f}) | "
          + " ".join(f"{k} {s.get(k, float('nan')):.1f}" for k in STAGES if k in s)
          + f" | total {r['seconds']:.1f} s, peak {r['peak_rss'] / gb:.2f} GB (maxrss {r['child_maxrss'] / gb:.2f}),"
          f" load {r['loadavg_start'][0]:.1f}->{r['loadavg_end'][0]:.1f}", flush=True)


def print_table(runs: list[dict[str, Any]]) -> None:
    gb = 2**30
    head = (f"{'size':>5} {'mode':>9} {'budget':>7} {'buckets':>7} {'sample':>8} {'read+sum':>8} {'BTYD':>6} "
            f"{'LightGBM':>8} {'ALS':>7} {'logging':>7} {'total s':>8} {'peak GB':>7} {'load':>5} {'target':>12}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in runs:
        s, sc = r["stages"], r["scale"]
        target = TARGETS.get(r["size"]) if r["mode"] == "streamed" else None
        verdict = "" if target is None else (
            f"{'meets' if r['seconds'] < target[0] and r['child_maxrss'] / gb < target[1] else 'MISSES'}")
        print(f"{r['size']:>5} {r['mode']:>9} {r['budget'] / 2**20:>6.0f}M {sc.get('scale.buckets', '-'):>7} "
              f"{sc.get('scale.sample_fraction', 1.0):>8.3f} {s.get('read_and_summary', s.get('read', 0)):>8.1f} "
              f"{s.get('btyd', 0):>6.1f} {s['lightgbm']:>8.1f} {s.get('recommender', 0):>7.1f} "
              f"{s.get('logging', 0):>7.1f} {r['seconds']:>8.1f} {r['child_maxrss'] / gb:>7.2f} "
              f"{r['loadavg_start'][0]:>5.1f} {verdict:>12}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k"], choices=list(SIZES))
    parser.add_argument("--in-memory", nargs="*", default=["10k", "100k"], help="sizes also trained in memory")
    parser.add_argument("--budget-per-million", default="6G", help="memory budget per million customers")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "cxml-bench-data",
                        help="where the generated datasets are kept between runs")
    parser.add_argument("--merge", action="store_true", help="add these runs to the existing JSON")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write (default results/scale_train.json)")
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    if args.quick:
        SIZES["tiny"] = (4_000, 120_000)
        args.sizes, args.in_memory = ["tiny"], ["tiny"]
    t0, load_start = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cxml-bench-train-", dir=os.environ.get("CXML_BENCH_TMP")) as tmp:
        runs = scale_train_benchmark(args.sizes, args.in_memory, args.budget_per_million, args.data_dir, Path(tmp))
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text())
        runs = [r for r in old.get("runs", []) if (r["size"], r["mode"]) not in {(n["size"], n["mode"]) for n in runs}
                ] + runs
    runs.sort(key=lambda r: (SIZES.get(r["size"], (0,))[0], r["mode"]))
    print_table(runs)
    result = {"benchmark": "scale_train", "quick": args.quick, "as_of": AS_OF, "config": CONFIG,
              "budget_per_million": args.budget_per_million, "runs": runs, "targets": TARGETS,
              "total_seconds": time.perf_counter() - t0,
              "machine": machine_block(load_start)}
    write_result(result, args.out, skip=args.quick or args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
