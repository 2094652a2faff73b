"""Benchmark: ``Scorer.score`` batch throughput / peak memory, and single-customer recommend latency.

Issue 7 "Performance":

1. **Batch score** (features + churn + CLTV + segment + top-10 recommendations) of 200k customers /
   ~2M events at two chunk sizes. The events come from a vectorised generator written here (about
   10 events per customer: purchases, item views, logins, support contacts over 2023-2024, each
   customer active from an acquisition day for an exponential lifetime), because
   ``cxml.data.sample.generate_sample`` produces ~33 events per customer (200k customers would be
   ~6.7M events). ALS (64 factors), ``ChurnModel`` and ``CLTVModel`` (``n_snapshots=2``, otherwise
   defaults) are fitted once on all events with ``as_of`` = the day after the data end, saved as one
   bundle, and every chunk size is scored at that ``as_of`` in a **fresh subprocess** that reads the
   events parquet and loads the bundle. Reported per configuration: wall seconds of
   ``Scorer.score`` alone, customers/second, the RSS baseline after events + bundle are loaded, the
   peak RSS sampled during ``score`` and the child's RSS high-water mark (``ru_maxrss`` from
   ``os.wait4``, the whole child lifetime). The output dataset is read back and checked (one row per
   customer, no duplicates).
2. **Single-customer latency**: ``Scorer.recommend([c], k=10)`` of one known customer on a
   20k-item ALS model (synthetic zipf interactions, 64 factors) loaded from a bundle, warm, timed with
   ``time.perf_counter_ns`` per call; references in the same run: raw numpy ``U[u] @ V.T`` + masking
   of seen items + ``argpartition`` (the floor), and implicit's ``topk`` (what cxml calls inside).
   Target: p99 < 5 ms. A cProfile of the cxml calls shows where the time goes.

Usage::

    nice -n 10 python benchmarks/scoring.py            # full run, writes results/scoring.json
    python benchmarks/scoring.py --quick               # smoke run (< 60 s), writes nothing
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _results
import numpy as np
import pandas as pd
import psutil
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs
from _results import fit_models

import cxml
from cxml import Scorer
from cxml.bundle import save_bundle
from cxml.recommend import ALSRecommender

RESULTS = Path(__file__).resolve().parent / "results" / "scoring.json"
START = pd.Timestamp("2023-01-01")
SPAN_DAYS = 731  # 2023-01-01 .. 2024-12-31
AS_OF = "2025-01-01"  # the day after the data end: every event is history, every label observed
K = 10
TARGET_P99_MS = 5.0


# ---------------------------------------------------------------------------- data
def generate_events(n_customers: int, n_items: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Canonical events, ~10 per customer: ~4 purchase lines and ~6 engagement events.

    Every customer has at least one purchase (its acquisition order on its first day), so all of
    them exist at ``AS_OF``. Items: 50 categories, each customer buys and views mostly within one
    favourite category; zipf-like popularity inside categories; one log-normal price per item.
    """
    rng = np.random.default_rng(seed)
    # purchases: buy-till-you-die (Poisson orders with a gamma rate, geometric dropout after each
    # order), so the BG/NBD features of the churn and CLTV models have something to fit
    first = rng.uniform(0, SPAN_DAYS - 30, n_customers)
    rate = rng.gamma(1.0, 1 / 40.0, n_customers)  # orders per day
    dropout = rng.beta(1.0, 3.0, n_customers)
    n_buy = np.minimum(rng.geometric(np.maximum(dropout, 1e-3)), 40)
    cust_p = np.repeat(np.arange(n_customers), n_buy)
    starts_p = np.cumsum(n_buy) - n_buy
    gaps = rng.exponential(1.0, len(cust_p)) / np.maximum(rate[cust_p], 1e-3)
    gaps[starts_p] = 0.0  # acquisition order on the first day
    cum = np.cumsum(gaps)
    day_p = first[cust_p] + cum - np.repeat(cum[starts_p], n_buy)
    keep = day_p < SPAN_DAYS
    cust_p, day_p = cust_p[keep], day_p[keep]
    last = np.full(n_customers, -np.inf)
    np.maximum.at(last, cust_p, day_p)
    # engagement: between the first day and 30 days after the last order
    last = np.minimum(last + 30.0, SPAN_DAYS - 1e-3)
    n_eng = rng.poisson(6.0, n_customers)
    cust_e = np.repeat(np.arange(n_customers), n_eng)
    day_e = first[cust_e] + rng.random(len(cust_e)) * (last - first)[cust_e]

    n_cat = 50
    per_cat = max(1, n_items // n_cat)
    taste = rng.integers(0, n_cat, n_customers)

    def items(cust: np.ndarray) -> np.ndarray:
        rank = np.minimum(rng.zipf(1.4, len(cust)), per_cat) - 1
        cat = np.where(rng.random(len(cust)) < 0.7, taste[cust], rng.integers(0, n_cat, len(cust)))
        return np.minimum(cat * per_cat + rank, n_items - 1)

    item_p = items(cust_p)
    price = np.round(rng.lognormal(2.5, 0.8, n_items), 2)
    qty = (1 + rng.poisson(0.3, len(cust_p))).astype(np.float64)
    kind = rng.choice(3, size=len(cust_e), p=[0.6, 0.33, 0.07])  # view, login, support
    item_e = np.where(kind == 0, items(cust_e), -1)

    cust = np.concatenate([cust_p, cust_e])
    day = np.concatenate([day_p, day_e])
    item = np.concatenate([item_p, item_e])
    etype = np.concatenate([np.zeros(len(cust_p), np.int64), kind + 1])
    names = np.array(["purchase", "view", "login", "support"], dtype=object)
    cust_ids = np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 6)).astype(object)
    item_ids = np.char.add("I", np.char.zfill(np.arange(n_items).astype(str), 5)).astype(object)
    frame = pd.DataFrame({
        "customer_id": cust_ids[cust],
        "timestamp": START.to_datetime64() + (day * 86_400).astype("timedelta64[s]"),
        "event_type": names[etype],
        "item_id": np.where(item >= 0, item_ids[np.maximum(item, 0)], None),
        "quantity": np.concatenate([qty, np.full(len(cust_e), np.nan)]),
        "amount": np.concatenate([qty * price[item_p], np.full(len(cust_e), np.nan)]),
    })
    return cxml.load_events(frame.sort_values("timestamp", kind="stable", ignore_index=True))


def interaction_events(n_customers: int, n_items: int, per_customer: int, seed: int = 0) -> pd.DataFrame:
    """Purchase-only events for the latency model: zipf item popularity, every item used at least once."""
    rng = np.random.default_rng(seed)
    n = n_customers * per_customer
    cust = rng.integers(0, n_customers, n)
    item = np.minimum(rng.zipf(1.2, n), n_items) - 1
    item[:n_items] = np.arange(n_items)  # so the model really has n_items items
    ts = START.to_datetime64() + rng.integers(0, SPAN_DAYS * 86_400, n).astype("timedelta64[s]")
    return cxml.load_events(pd.DataFrame({
        "customer_id": np.char.add("U", cust.astype(str)),
        "timestamp": ts,
        "item_id": np.char.add("I", item.astype(str)),
    }))


# ---------------------------------------------------------------------------- batch child
def child_score(spec_path: str) -> int:
    """Run in a fresh interpreter: load events + bundle, time ``Scorer.score``, write a JSON result."""
    import resource

    spec = json.loads(Path(spec_path).read_text())
    proc = psutil.Process()
    rss: dict[str, float] = {"after_import": proc.memory_info().rss}
    t0 = time.perf_counter()
    events = pd.read_parquet(spec["events"])
    rss["after_events"] = proc.memory_info().rss
    scorer = Scorer.load(spec["bundle"])
    rss["baseline"] = proc.memory_info().rss
    load_s = time.perf_counter() - t0
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with PeakRSS() as sampler:
        t0 = time.perf_counter()
        summary = scorer.score(events, as_of=spec["as_of"], out=spec["out"], k=K,
                               chunk_size=spec["chunk_size"], progress=False)
        score_s = time.perf_counter() - t0
    result = {
        "load_seconds": load_s,
        "score_seconds": score_s,
        "summary": summary,
        "rss_bytes": rss,
        "peak_during_score_bytes": sampler.peak,
        "maxrss_before_score_bytes": maxrss_before,
        "maxrss_self_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def run_child(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run the child in a fresh process (its own ru_maxrss); check the rows it wrote."""
    result = _results.run_child(str(Path(__file__).resolve()), spec, work)
    result["child_maxrss_bytes"] = result.pop("child_maxrss")
    scored = pd.read_parquet(spec["out"], columns=["customer_id"])["customer_id"]
    result["rows_written"] = len(scored)
    result["duplicates"] = int(scored.duplicated().sum())
    return result


def batch_benchmark(n_customers: int, chunk_sizes: list[int], repeats: int, work: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    events = generate_events(n_customers)
    gen_s = time.perf_counter() - t0
    n_purchases = int((events["event_type"] == "purchase").sum())
    print(f"events: {len(events):,} ({n_purchases:,} purchase lines) for {n_customers:,} customers, "
          f"{events['item_id'].nunique():,} items, generated in {gen_s:.1f}s", flush=True)
    models, fit_s = fit_models(events, AS_OF)
    rec, churn, cltv = models["als"], models["churn"], models["cltv"]
    print("fit seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in fit_s.items()), flush=True)
    bundle = save_bundle(work / "bundle", recommender=rec, churn=churn, cltv=cltv,
                         metadata={"as_of": AS_OF, "benchmark": "scoring"})
    events_path = work / "events.parquet"
    events.to_parquet(events_path, index=False)
    info = {"customers": n_customers, "events": len(events), "purchase_lines": n_purchases,
            "items": int(events["item_id"].nunique()), "generate_seconds": gen_s, "fit_seconds": fit_s,
            "als": {"factors": 64, "iterations": 10},
            "churn": {"horizon": "90D", "n_snapshots": 2, "best_iteration": churn.best_iteration_},
            "cltv": {"horizon": "180D", "n_snapshots": 2, "best_iteration": cltv.best_iteration_},
            "as_of": AS_OF, "k": K}
    del events, rec, churn, cltv
    runs = []
    # forward then backward (A B B A ...), so a drift of the machine's load hits every size alike
    order = [(rep, size) for rep in range(repeats)
             for size in (chunk_sizes if rep % 2 == 0 else chunk_sizes[::-1])]
    for rep, size in order:
        tag = f"{size}-{rep}"
        spec = {"events": str(events_path), "bundle": str(bundle), "as_of": AS_OF, "chunk_size": size,
                "out": str(work / f"scores-{tag}"), "result": str(work / f"result-{tag}.json"), "tag": tag}
        load_before = os.getloadavg()[0]
        res = run_child(spec, work)
        res["chunk_size"], res["repeat"] = size, rep
        res["customers_per_second"] = res["summary"]["customers"] / res["score_seconds"]
        res["loadavg_1min_before"] = load_before
        print(f"chunk_size {size:,}: {res['score_seconds']:.1f}s, "
              f"{res['customers_per_second']:,.0f} customers/s", flush=True)
        runs.append(res)
    return {**info, "runs": runs}


# ---------------------------------------------------------------------------- latency
def percentiles(ns: np.ndarray) -> dict[str, float]:
    ms = ns / 1e6
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()), "mean_ms": float(ms.mean()),
            "calls": len(ms)}


def time_calls(variants: dict[str, tuple[Any, list[Any]]], warmup: int, rounds: int) -> dict[str, np.ndarray]:
    """Nanoseconds per call of every variant; rounds alternate between variants (shared machine)."""
    for fn, args in variants.values():
        for a in args[:warmup]:
            fn(a)
    clock = time.perf_counter_ns
    out: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    for r in range(rounds):
        for name, (fn, args) in variants.items():
            part = np.array_split(np.asarray(args[warmup:], dtype=object), rounds)[r]
            ns = np.empty(len(part), dtype=np.int64)
            for j, a in enumerate(part):
                t0 = clock()
                fn(a)
                ns[j] = clock() - t0
            out[name].append(ns)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def latency_benchmark(n_items: int, n_customers: int, calls: int, work: Path) -> dict[str, Any]:
    from implicit.cpu.topk import topk

    events = interaction_events(n_customers, n_items, per_customer=20)
    t0 = time.perf_counter()
    model = ALSRecommender(factors=64, iterations=5, random_state=0).fit(events)
    fit_s = time.perf_counter() - t0
    path = save_bundle(work / "latency-bundle", recommender=model)
    scorer = Scorer.load(path)
    rec = scorer.bundle.recommender
    U, V, X = rec.user_factors_, rec.item_factors_, rec.user_items_
    known = rec.user_map_.external_ids
    rng = np.random.default_rng(1)
    customer = str(known[0])
    u = int(rec.user_map_.to_internal([customer])[0])
    warm = 100

    def numpy_floor(u: int) -> np.ndarray:
        s = U[u] @ V.T
        s[X.indices[X.indptr[u]:X.indptr[u + 1]]] = -np.inf
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])]

    def implicit_topk(u: int) -> Any:
        return topk(V, U[u:u + 1], K, filter_query_items=X[u],
                    num_threads=0 if rec.n_jobs == -1 else int(rec.n_jobs))

    same = [customer] * (calls + warm)
    rotating = [str(c) for c in rng.choice(known, calls + warm)]
    variants: dict[str, tuple[Any, list[Any]]] = {
        "Scorer.recommend, one known customer": (lambda c: scorer.recommend([c], k=K), same),
        "Scorer.recommend, a random known customer per call": (lambda c: scorer.recommend([c], k=K), rotating),
        "implicit topk (what cxml calls inside)": (implicit_topk, [u] * (calls + warm)),
        "numpy U[u] @ V.T + mask + argpartition (floor)": (numpy_floor, [u] * (calls + warm)),
    }
    loadavg = os.getloadavg()[0]
    rows = {name: percentiles(ns) for name, ns in time_calls(variants, warm, rounds=10).items()}

    # agreement: the floor and cxml recommend the same items for the customer
    cxml_items = scorer.recommend([customer], k=K)["item_id"].tolist()
    floor_items = [str(x) for x in rec.item_map_.to_external(numpy_floor(u))]

    profiler = cProfile.Profile()
    profiler.enable()
    for c in same[:calls]:
        scorer.recommend([c], k=K)
    profiler.disable()
    return {"items": len(rec.item_map_), "customers": len(known), "interactions": int(X.nnz),
            "factors": int(V.shape[1]), "fit_seconds": fit_s, "warmup_calls": warm, "rows": rows,
            "rounds": 10, "loadavg_1min_before": loadavg,
            "same_top_items_as_floor": cxml_items == floor_items, "target_p99_ms": TARGET_P99_MS,
            "profile": profile_rows(profiler, calls)}


def profile_rows(profiler: cProfile.Profile, calls: int, top: int = 14) -> list[dict[str, Any]]:
    """Functions with the most cumulative time per recommend call (under cProfile, so inflated)."""
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = file.split("site-packages/")[-1].split("src/")[-1]
        rows.append({"function": f"{where}:{line}({name})", "calls_per_recommend": ncalls / calls,
                     "cum_us_per_recommend": 1e6 * cumtime / calls, "own_us_per_recommend": 1e6 * tottime / calls})
    rows.sort(key=lambda r: -r["cum_us_per_recommend"])
    return [r for r in rows if "profile" not in r["function"] and "<lambda>" not in r["function"]][:top]


# ---------------------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    import implicit
    import lightgbm
    import pyarrow

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "cxml": cxml.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "implicit": implicit.__version__, "lightgbm": lightgbm.__version__, "pyarrow": pyarrow.__version__,
            "psutil": psutil.__version__, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}


def print_tables(batch: dict[str, Any], latency: dict[str, Any]) -> None:
    gb = 2**30
    print(f"\nBatch score: {batch['customers']:,} customers, {batch['events']:,} events "
          f"({batch['purchase_lines']:,} purchase lines, {batch['items']:,} items), k={batch['k']}, "
          "churn + CLTV + segment + top-k, fresh subprocess per row")
    head = (f"{'chunk_size':>10} {'run':>3} {'customers':>9} {'score s':>8} {'cust/s':>8} {'load s':>7} "
            f"{'baseline GB':>11} {'peak in score GB':>16} {'child maxrss GB':>15} {'rows ok':>7} {'load1':>5}")
    print(head)
    print("-" * len(head))
    for r in batch["runs"]:
        ok = r["rows_written"] == r["summary"]["customers"] and r["duplicates"] == 0
        print(f"{r['chunk_size']:>10,} {r['repeat'] + 1:>3} {r['summary']['customers']:>9,} {r['score_seconds']:>8.1f} "
              f"{r['customers_per_second']:>8,.0f} {r['load_seconds']:>7.1f} "
              f"{r['rss_bytes']['baseline'] / gb:>11.2f} {r['peak_during_score_bytes'] / gb:>16.2f} "
              f"{r['child_maxrss_bytes'] / gb:>15.2f} {('yes' if ok else 'NO'):>7} "
              f"{r['loadavg_1min_before']:>5.1f}")
    print(f"\nSingle-customer recommend, k={K}: ALS {latency['factors']} factors, {latency['items']:,} items, "
          f"{latency['customers']:,} customers, warm ({latency['warmup_calls']} warm-up calls, variants "
          f"alternate over {latency['rounds']} rounds; load1 {latency['loadavg_1min_before']:.1f})")
    head = f"{'call':<52} {'calls':>6} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    print(head)
    print("-" * len(head))
    for name, r in latency["rows"].items():
        print(f"{name:<52} {r['calls']:>6} {r['p50_ms']:>7.3f} {r['p90_ms']:>7.3f} {r['p99_ms']:>7.3f} "
              f"{r['max_ms']:>7.2f}")
    p99 = latency["rows"]["Scorer.recommend, one known customer"]["p99_ms"]
    verdict = "meets" if p99 < TARGET_P99_MS else "MISSES"
    print(f"target p99 < {TARGET_P99_MS} ms: {verdict} ({p99:.3f} ms); "
          f"same top-{K} items as the numpy floor: {latency['same_top_items_as_floor']}")
    print("\nWhere a Scorer.recommend call spends its time (cProfile, cumulative µs per call, inflated):")
    for r in latency["profile"]:
        print(f"  {r['cum_us_per_recommend']:>8.1f}  {r['function']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes, < 60 s; writes nothing")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--chunk-sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeats", type=int, default=2, help="scoring runs per chunk size")
    parser.add_argument("--latency-items", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        return child_score(args.child)
    if args.quick:
        args.customers, args.chunk_sizes = 10_000, [2_000, 5_000]
        args.latency_items, args.calls, args.repeats = 5_000, 300, 1
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cxml-bench-scoring-") as tmp:
        work = Path(tmp)
        latency = latency_benchmark(args.latency_items, max(10_000, args.latency_items), args.calls, work)
        batch = batch_benchmark(args.customers, args.chunk_sizes, args.repeats, work)
    print_tables(batch, latency)
    result = {"benchmark": "scoring", "quick": args.quick, "batch": batch, "latency": latency,
              "machine": {**machine(), "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
              "total_seconds": time.perf_counter() - t_start}
    if not (args.quick or args.no_write):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
