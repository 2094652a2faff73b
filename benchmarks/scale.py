"""Benchmark: ``Scorer.score`` streaming a parquet dataset in customer hash buckets, at growing sizes (issue 15).

Data: ``cxml.data._scale.write_dataset`` (the sample's BTYD/taste model, partitioned parquet) at
10k/500k, 100k/5M, 200k/10M and 1M/50M customers/events (``--sizes`` picks). One bundle is fitted
once, in memory, on a customer sample: every event of the first ``--fit-customers`` (5,000)
customers of each generated dataset (ids differ in width between most sizes; an id already
taken from a smaller dataset is not taken again; all datasets share the seed and so the
catalogue): ``ALSRecommender(factors=64, iterations=10)``, ``ChurnModel(horizon="90D",
n_snapshots=2)``, ``CLTVModel(horizon="180D", n_snapshots=2)``, ``as_of`` = the day after the data end. The other
customers are unknown to the recommender and get its popularity ranking (the "cold start" column):
ALS scoring is the cost of the known ones.

Each scoring run is a **fresh subprocess** (``Scorer.load`` + ``Scorer.score(dir, ...)``) so that
its peak RSS (``benchmarks/_memory.PeakRSS`` sampled during ``score``, and the child's
``ru_maxrss``) is its own. Streaming runs report the per-stage seconds the summary carries
(bucketing = pass 1 over the dataset into bucket files, population = RFM values per bucket then
segments, scoring = every bucket read back, scored and committed; within scoring: read, churn,
cltv (each = features + LightGBM), recommend, commit). ``lgbm s`` is the time inside
``lightgbm.Booster.predict`` (a timing wrapper in the child process): the share of the run that is
the bundle's boosters (about 2,000 trees each here), not cxml's data path. At ``--equal-size``
(10 %: 100k/5M) the in-memory path (``memory_budget=None`` on a dataset that fits) is run too:
the outputs must be equal row for row (sorted by customer) and the time ratio is reported.
Targets: 1M/50M < 10 min and < 8 GB, 200k/10M < 3 min and < 2 GB, streaming ≤ 1.2 × in-memory.

Usage::

    nice -n 10 python benchmarks/scale.py                        # every size, writes results/scale.json
    python benchmarks/scale.py --sizes 10k 100k --no-write       # a part
    python benchmarks/scale.py --quick                           # smoke run, writes nothing
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
import numpy as np
import pandas as pd
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs
from _results import fit_models, machine_block, write_result

import cxml
from cxml import Scorer
from cxml.bundle import save_bundle
from cxml.data._scale import write_dataset

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
AS_OF = "2025-01-01"
K = 10
SIZES = {"10k": (10_000, 500_000), "100k": (100_000, 5_000_000), "200k": (200_000, 10_000_000),
         "1M": (1_000_000, 50_000_000)}
TARGETS = {"200k": (180.0, 2.0), "1M": (600.0, 8.0)}  # seconds, GB


def time_lightgbm() -> dict[str, float]:
    """Seconds spent inside ``lightgbm.Booster.predict`` from now on (this process only): the model's share.

    A measuring wrapper around the real method (it still does all the work), installed in the child
    process of one benchmark run, never in the library.
    """
    import lightgbm

    spent = {"lightgbm_predict": 0.0}
    original = lightgbm.Booster.predict

    def predict(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent["lightgbm_predict"] += time.perf_counter() - t0

    lightgbm.Booster.predict = predict  # type: ignore[method-assign]
    return spent


def child(spec_path: str) -> int:
    """One scoring run: load the bundle, score the dataset, record time, peak RSS and LightGBM's share."""
    spec = json.loads(Path(spec_path).read_text())
    scorer = Scorer.load(spec["bundle"])
    lgbm = time_lightgbm()
    load_start = os.getloadavg()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            summary = scorer.score(spec["data"], as_of=AS_OF, out=spec["out"], k=K, progress=False,
                                   memory_budget=spec["budget"], chunk_size=spec["chunk_size"])
            seconds = time.perf_counter() - t0
    result = {"seconds": seconds, "summary": summary, "rss_before": mem.before, "peak_rss": mem.peak,
              "maxrss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              "lightgbm_seconds": lgbm["lightgbm_predict"], "loadavg_start": load_start,
              "loadavg_end": os.getloadavg()[0]}
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def run_child(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    return _results.run_child(str(Path(__file__).resolve()), spec, work)


def customer_sample(datasets: list[Path], per_dataset: int) -> pd.DataFrame:
    """Every event of the first ``per_dataset`` customers (by id) of each dataset (ids differ in width)."""
    frames, seen = [], set()
    for data in datasets:
        first = pd.read_parquet(data / "part-00000.parquet")
        keep = set(np.sort(first["customer_id"].unique())[:per_dataset].tolist()) - seen
        seen |= keep
        frames.append(first[first["customer_id"].isin(keep)])
    return cxml.load_events(pd.concat(frames, ignore_index=True))


def fit_bundle(datasets: list[Path], per_dataset: int, work: Path) -> tuple[Path, dict[str, Any]]:
    events = customer_sample(datasets, per_dataset)
    models, fit = fit_models(events, AS_OF)
    rec, churn, cltv = models["als"], models["churn"], models["cltv"]
    path = save_bundle(work / "bundle", recommender=rec, churn=churn, cltv=cltv, metadata={"as_of": AS_OF})
    info = {"fitted_on": f"the first {per_dataset:,} customers of each dataset", "events": len(events),
            "customers": int(events["customer_id"].nunique()), "fit_seconds": fit,
            "churn_trees": churn.best_iteration_, "cltv_trees": cltv.best_iteration_}
    return path, info


def scale_benchmark(sizes: list[str], budget: str, equal_size: str | None, chunk_size: int, fit_customers: int,
                    work: Path) -> dict[str, Any]:
    datasets: dict[str, dict[str, Any]] = {}
    for name in sizes:
        n_customers, n_events = SIZES[name]
        t0 = time.perf_counter()
        path = write_dataset(work / f"data-{name}", n_customers=n_customers, n_events=n_events, random_state=0)
        rows = int(sum(pq_rows(p) for p in path.glob("part-*.parquet")))
        datasets[name] = {"path": path, "customers": n_customers, "events": rows,
                          "generate_seconds": time.perf_counter() - t0}
        print(f"{name}: {rows:,} events written in {datasets[name]['generate_seconds']:.0f}s", flush=True)
    bundle, fit = fit_bundle([d["path"] for d in datasets.values()], fit_customers, work)
    print(f"bundle fitted on {fit['customers']:,} customers / {fit['events']:,} events: {fit['fit_seconds']}",
          flush=True)
    runs = []
    for name in sizes:
        modes = ["streaming"] + (["in-memory"] if name == equal_size else [])
        for mode in modes:
            tag = f"{name}-{mode}"
            spec = {"bundle": str(bundle), "data": str(datasets[name]["path"]), "out": str(work / f"scores-{tag}"),
                    "result": str(work / f"result-{tag}.json"), "tag": tag, "chunk_size": chunk_size,
                    "budget": budget if mode == "streaming" else None}
            res = run_child(spec, work)
            res.update(size=name, mode=mode, customers=datasets[name]["customers"], events=datasets[name]["events"],
                       loadavg=os.getloadavg()[0])
            print(f"{tag}: {res['seconds']:.1f}s, peak {res['peak_rss'] / 2**30:.2f} GB", flush=True)
            runs.append(res)
    equality = None
    if equal_size in sizes:
        a = pd.read_parquet(work / f"scores-{equal_size}-streaming").sort_values("customer_id", ignore_index=True)
        b = pd.read_parquet(work / f"scores-{equal_size}-in-memory").sort_values("customer_id", ignore_index=True)
        try:
            pd.testing.assert_frame_equal(a, b)
            equality = {"size": equal_size, "equal": True, "rows": len(a)}
        except AssertionError as exc:
            equality = {"size": equal_size, "equal": False, "rows": len(a), "why": str(exc)[:500]}
    return {"budget": budget, "chunk_size": chunk_size, "bundle": fit, "runs": runs, "equality": equality,
            "datasets": {k: {kk: str(vv) if kk == "path" else vv for kk, vv in v.items()} for k, v in datasets.items()}}


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def print_table(result: dict[str, Any]) -> None:
    gb, nan = 2**30, float("nan")
    print(f"\nScorer.score on write_dataset data, k={K}, churn + CLTV + segment + top-{K}; budget "
          f"{result['budget']}, chunk_size {result['chunk_size']:,}; bundle fitted on {result['bundle']['fitted_on']}")
    head = (f"{'size':>5} {'mode':>9} {'customers':>9} {'events':>11} {'buckets':>7} {'bucket s':>8} "
            f"{'popul. s':>8} {'score s':>8} {'read s':>6} {'churn s':>7} {'cltv s':>6} {'recs s':>6} "
            f"{'lgbm s':>6} {'total s':>8} {'peak GB':>7} {'maxrss GB':>9} {'load':>5} {'target':>14}")
    print(head)
    print("-" * len(head))
    for r in result["runs"]:
        sec = r["summary"].get("seconds", {})
        target = TARGETS.get(r["size"]) if r["mode"] == "streaming" else None
        verdict = "" if target is None else (
            f"{'meets' if r['seconds'] < target[0] and r['child_maxrss'] / gb < target[1] else 'MISSES'}"
            f" {target[0] / 60:.0f}m/{target[1]:.0f}G")
        print(f"{r['size']:>5} {r['mode']:>9} {r['summary']['customers']:>9,} {r['events']:>11,} "
              f"{r['summary'].get('buckets', '-'):>7} {sec.get('bucketing', float('nan')):>8.1f} "
              f"{sec.get('population', nan):>8.1f} {sec.get('scoring', nan):>8.1f} {sec.get('reading', nan):>6.1f} "
              f"{sec.get('churn', nan):>7.1f} {sec.get('cltv', nan):>6.1f} {sec.get('recommend', nan):>6.1f} "
              f"{r.get('lightgbm_seconds', nan):>6.1f} {r['seconds']:>8.1f} {r['peak_rss'] / gb:>7.2f} "
              f"{r['child_maxrss'] / gb:>9.2f} {r['loadavg']:>5.1f} {verdict:>14}")
    eq = result["equality"]
    if eq:
        times = {r["mode"]: r["seconds"] for r in result["runs"] if r["size"] == eq["size"]}
        ratio = times["streaming"] / times["in-memory"]
        result["equality"]["time_ratio"] = ratio
        print(f"\n{eq['size']}: streaming output equals in-memory: {eq['equal']} ({eq['rows']:,} rows); "
              f"streaming / in-memory time = {ratio:.2f} (target <= 1.2)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k", "200k", "1M"], choices=list(SIZES))
    parser.add_argument("--budget", default="1G", help="memory_budget of the streaming runs")
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--equal-size", default="100k", help="size at which in-memory runs too")
    parser.add_argument("--fit-customers", type=int, default=5_000,
                        help="the bundle is fitted on the first N customers of each dataset")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write (default results/scale.json)")
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    if args.quick:
        SIZES["tiny"] = (3_000, 100_000)
        args.sizes, args.equal_size, args.budget = ["tiny"], "tiny", "64M"
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cxml-bench-scale-", dir=os.environ.get("CXML_BENCH_TMP")) as tmp:
        result = scale_benchmark(args.sizes, args.budget, args.equal_size, args.chunk_size, args.fit_customers,
                                 Path(tmp))
    print_table(result)
    result.update(benchmark="scale", quick=args.quick, total_seconds=time.perf_counter() - t0,
                  machine=machine_block(load_start))
    write_result(result, args.out, skip=args.quick or args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
