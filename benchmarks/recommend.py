"""Benchmark: cxml recommenders vs popularity and raw implicit ALS (PROTOCOL.md), and ALS speed.

Quality (issue 5 "Quality bars"), per dataset — ML-100K, UCI Online Retail II 2009-2010 (both in
../shared/data) and the committed sample (data/sample/events.csv):

- split exactly as PROTOCOL.md: one global cut at the 0.8 quantile of purchase timestamps
  (``temporal_split(events, test_fraction=0.2)``); test = purchase rows at/after the cut whose
  customer and item appear among the train purchase rows; k = 10, seen items excluded;
- models: popularity, item-kNN and EASE (cxml defaults), cxml ALS defaults, raw
  ``implicit.cpu.als.AlternatingLeastSquares()`` with the library defaults (only ``random_state=0``
  added, for repeatability) on the same user x item count CSR, recommending with implicit's own
  batch ``recommend(userids, user_items[userids], N=10, filter_already_liked_items=True)``; cxml ALS
  tuned on a validation slice carved from train the same way (PROTOCOL rule 5); AutoRecommender
  (defaults); and ALS / EASE tuned on the test period, labelled *oracle* (ceilings, not results);
- every model is scored by the same ``cxml.recommend.evaluate``.

Reference NDCG@10 measured by others with the same protocol (issue 5): ML-100K popularity 0.148,
implicit defaults 0.121, ALS tuned on test 0.176, EASE 0.181; Online Retail 2009 popularity 0.038,
implicit defaults 0.083, EASE 0.094.

Performance (issue 5 "Performance"): synthetic 50k customers x 20k items, 2M purchase rows, 64
factors, 15 iterations. cxml ``ALSRecommender.fit(events)`` + ``recommend(all customers, k=10)``
vs raw implicit doing the same work from the same events frame (factorise ids, build the CSR,
fit, batch recommend, map ids back into a frame), same hyperparameters and threads, ``--repeats``
alternating runs (pass/fail on the median ratio of the pairs: the machine is shared). The seconds
cxml spends outside implicit's own training and top-k are reported too. Peak memory = process RSS
sampled every 20 ms, above the RSS at the start of the call.

Scale (issue 14, ``--scale targets|sweep|all``): grocery-like wide catalogues, see
``benchmarks/_scale_recommend.py``; each run is merged into the ``scale`` section of the results.

Usage::

    nice -n 10 python benchmarks/recommend.py            # everything, writes results/recommend.json
    nice -n 10 python benchmarks/recommend.py --scale targets   # issue 14's first two targets
    nice -n 10 python benchmarks/recommend.py --scale big       # 100k x 50k x 5M rows
    python benchmarks/recommend.py --quick --no-write    # smoke run: sample only, small grids and perf
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs
from _scale_recommend import BIG, SWEEP, TARGETS
from _scale_recommend import run as run_scale
from threadpoolctl import threadpool_limits

import cxml
from cxml.recommend import (
    ALSRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate,
    temporal_split,
)
from cxml.recommend.auto import AutoRecommender
from cxml.recommend.tuning import tune
from cxml.schema import STRING_DTYPE, Columns, purchase_mask, validate_events

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "recommend.json"
SHARED = Path(os.environ.get("CXML_SHARED_DATA", ROOT.parent / "shared" / "data"))
K = 10
METRICS = ("ndcg", "recall", "precision", "map", "mrr", "hit_rate", "coverage", "novelty")
ALS_GRID: dict[str, list[Any]] = {"factors": [32, 64, 128], "regularization": [0.1, 1.0, 10.0],
                                  "alpha": [1.0, 4.0, 10.0], "iterations": [15]}
EASE_GRID: dict[str, list[Any]] = {"l2": [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]}
QUICK_ALS_GRID: dict[str, list[Any]] = {"factors": [32], "regularization": [1.0, 10.0], "alpha": [1.0],
                                        "iterations": [15]}
QUICK_EASE_GRID: dict[str, list[Any]] = {"l2": [100.0, 500.0]}
#: Issue 5, measured by others with the same protocol (NDCG@10).
REFERENCE = {
    "ml100k": {"popularity": 0.148, "implicit_defaults": 0.121, "als_oracle": 0.176, "ease": 0.181},
    "retail2009": {"popularity": 0.038, "implicit_defaults": 0.083, "ease": 0.094},
}


# ---------------------------------------------------------------------------- data
def load(name: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # dirty rows are counted by load_events itself
        if name == "ml100k":
            return cxml.load_events(SHARED / "ml-100k" / "ratings.csv", customer_id="user_id", value="rating")
        if name == "retail2009":
            raw = pd.read_parquet(SHARED / "online-retail-2009" / "transactions.parquet")
            return cxml.load_events(raw, timestamp="invoice_date", item_id="stock_code", price="price",
                                    order_id="invoice")
        return cxml.load_events(ROOT / "data" / "sample" / "events.csv")


# ---------------------------------------------------------------------------- raw implicit
class RawImplicit:
    """implicit's ALS used directly: count CSR from the train purchase rows, implicit's batch recommend."""

    def __init__(self, train: pd.DataFrame, **params: Any) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        rows = train.loc[purchase_mask(train).to_numpy() & train[Columns.ITEM].notna().to_numpy()]
        u, self.users = pd.factorize(rows[Columns.CUSTOMER])
        i, self.items = pd.factorize(rows[Columns.ITEM])
        self.user_items = sp.csr_matrix((np.ones(len(rows), np.float32), (u, i)),
                                        shape=(len(self.users), len(self.items)))
        self.user_items.sum_duplicates()
        with threadpool_limits(1, "blas"):  # implicit warns about multi-threaded BLAS otherwise
            self.model = AlternatingLeastSquares(**params)
            self.model.fit(self.user_items, show_progress=False)

    def recommend(self, customers: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        userids = pd.Index(self.users).get_indexer(np.asarray(customers, dtype=object))
        userids = userids[userids >= 0]
        ids, scores = self.model.recommend(userids, self.user_items[userids], N=k,
                                           filter_already_liked_items=exclude_seen)
        ok = ids >= 0
        return pd.DataFrame({
            Columns.CUSTOMER: np.repeat(np.asarray(self.users)[userids], ids.shape[1])[ok.ravel()],
            Columns.ITEM: np.asarray(self.items)[ids[ok]],
            Columns.SCORE: scores[ok].astype(np.float64),
            Columns.RANK: np.tile(np.arange(1, ids.shape[1] + 1), len(userids))[ok.ravel()],
        })


# ---------------------------------------------------------------------------- quality
def quality(name: str, quick: bool) -> dict[str, Any]:
    events = load(name)
    train, test = temporal_split(events, test_fraction=0.2)
    als_grid, ease_grid = (QUICK_ALS_GRID, QUICK_EASE_GRID) if quick else (ALS_GRID, EASE_GRID)
    rows: list[dict[str, Any]] = []

    def add(model: str, fit: Callable[[], Any], note: str = "") -> Any:
        t0 = time.perf_counter()
        fitted = fit()
        fit_s = time.perf_counter() - t0
        scores = evaluate(fitted, train, test, k=K)
        rows.append({"model": model, **{m: scores[m] for m in METRICS}, "n_users": scores["n_users"],
                     "fit_seconds": round(fit_s, 2), "note": note})
        print(f"  {name:<11}{model:<28}ndcg {scores['ndcg']:.4f}  ({fit_s:.1f}s) {note}", flush=True)
        return fitted

    add("popularity", lambda: PopularityRecommender().fit(train))
    add("item-kNN", lambda: ItemKNNRecommender().fit(train))
    add("EASE", lambda: EASERecommender().fit(train), "l2=200")
    add("implicit defaults", lambda: RawImplicit(train, random_state=0),
        "AlternatingLeastSquares(random_state=0)")
    add("cxml ALS defaults", lambda: ALSRecommender(random_state=0).fit(train))
    fit_train, valid = temporal_split(train, test_fraction=0.2)
    tuned: dict[str, Any] = {}

    def tune_then_refit() -> ALSRecommender:  # timed as one: the search is part of the fit
        tuned.update(tune(ALSRecommender, fit_train, valid, als_grid, k=K).best_params_)
        return ALSRecommender(**tuned).fit(train)

    add("cxml ALS tuned (valid)", tune_then_refit)
    rows[-1]["note"] = json.dumps(tuned)
    auto = add("AutoRecommender", lambda: AutoRecommender(k=K, progress=False).fit(train))
    rows[-1]["note"] = f"chose {auto.best_params_['model']}: " + str(auto.leaderboard_["params"].iloc[0])
    for label, cls, grid in (("ALS tuned on test", ALSRecommender, als_grid),
                             ("EASE tuned on test", EASERecommender, ease_grid)):
        t0 = time.perf_counter()
        oracle = tune(cls, train, test, grid, k=K)
        best = oracle.trials_.iloc[0]
        rows.append({"model": f"{label} (oracle)", **{m: float(best[m]) for m in METRICS},
                     "n_users": best["n_users"], "fit_seconds": round(time.perf_counter() - t0, 2),
                     "note": "ceiling, not a result: " + str(best["params"])})
        print(f"  {name:<11}{label + ' (oracle)':<28}ndcg {best['ndcg']:.4f}", flush=True)
    table = pd.DataFrame(rows)
    nd = dict(zip(table["model"], table["ndcg"], strict=True))
    oracle_best = max(nd["ALS tuned on test (oracle)"], nd["EASE tuned on test (oracle)"])
    bars = {
        "auto_ge_max_popularity_implicit": bool(nd["AutoRecommender"] >= max(nd["popularity"],
                                                                             nd["implicit defaults"])),
        "auto_ge_095_best_oracle": bool(nd["AutoRecommender"] >= 0.95 * oracle_best),
        "tuned_als_gt_implicit_defaults": bool(nd["cxml ALS tuned (valid)"] > nd["implicit defaults"]),
    }
    if name == "sample":
        bars["als_clearly_beats_popularity"] = bool(nd["cxml ALS tuned (valid)"] > 1.5 * nd["popularity"])
    return {
        "dataset": name,
        "events": len(events),
        "train_customers": int(train.loc[purchase_mask(train), Columns.CUSTOMER].nunique()),
        "train_items": int(train.loc[purchase_mask(train), Columns.ITEM].nunique()),
        "cut": test.attrs["cxml_split"]["cut"],
        "test_rows": len(test),
        "table": table,
        "bars": bars,
        "auto_ratio_to_best_oracle": round(nd["AutoRecommender"] / oracle_best, 3),
        "auto_leaderboard": auto.leaderboard_.drop(columns=["fit_seconds"]).head(8).to_dict("records"),
        "reference_ndcg": REFERENCE.get(name, {}),
    }


# ---------------------------------------------------------------------------- performance
def synthetic(n_customers: int, n_items: int, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Purchase events with skewed customer activity and item popularity."""
    rng = np.random.default_rng(seed)
    act = rng.pareto(2.0, n_customers) + 1.0
    cust = rng.choice(n_customers, size=n_rows, p=act / act.sum())
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item = rng.choice(n_items, size=n_rows, p=pop / pop.sum())
    ts = pd.Timestamp("2024-01-01").value + rng.integers(0, 365 * 86_400 * 10**9, n_rows)
    cids = pd.array([f"c{i:06d}" for i in range(n_customers)], dtype=STRING_DTYPE)
    iids = pd.array([f"i{i:06d}" for i in range(n_items)], dtype=STRING_DTYPE)
    return validate_events(pd.DataFrame({
        Columns.CUSTOMER: pd.Series(cids.take(cust), dtype=STRING_DTYPE),
        Columns.TIMESTAMP: ts.astype("datetime64[ns]"),
        Columns.EVENT_TYPE: pd.Series(["purchase"] * n_rows, dtype=STRING_DTYPE),
        Columns.ITEM: pd.Series(iids.take(item), dtype=STRING_DTYPE),
        Columns.QUANTITY: np.ones(n_rows),
        Columns.AMOUNT: np.full(n_rows, 10.0),
        Columns.VALUE: np.full(n_rows, np.nan),
    }))


def run_raw(events: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, float], int]:
    from implicit.cpu.als import AlternatingLeastSquares

    t0 = time.perf_counter()
    u, users = pd.factorize(events[Columns.CUSTOMER])
    i, items = pd.factorize(events[Columns.ITEM])
    X = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(len(users), len(items)))
    X.sum_duplicates()
    t1 = time.perf_counter()
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(**params)
        model.fit(X, show_progress=False)
    t2 = time.perf_counter()
    userids = np.arange(len(users))
    ids, scores = model.recommend(userids, X, N=K, filter_already_liked_items=True)
    t3 = time.perf_counter()
    frame = pd.DataFrame({Columns.CUSTOMER: np.repeat(np.asarray(users), K),
                          Columns.ITEM: np.asarray(items)[ids.ravel()], Columns.SCORE: scores.ravel(),
                          Columns.RANK: np.tile(np.arange(1, K + 1), len(users))})
    t4 = time.perf_counter()
    times = {"prepare": t1 - t0, "fit": t2 - t1, "recommend": t3 - t2, "frame": t4 - t3, "total": t4 - t0}
    return times, len(frame)


class _TimedALS(ALSRecommender):
    """ALSRecommender recording the seconds spent inside implicit (training and top-k)."""

    inner: dict[str, float] = {}

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        t0 = time.perf_counter()
        super()._fit(X, rows)
        _TimedALS.inner["implicit_fit"] = time.perf_counter() - t0

    def _rank_fast(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray] | None:
        t0 = time.perf_counter()
        out = super()._rank_fast(*args, **kwargs)
        _TimedALS.inner["implicit_topk"] = time.perf_counter() - t0
        return out


def run_cxml(events: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, float], int]:
    _TimedALS.inner = {}
    t0 = time.perf_counter()
    model = _TimedALS(**params).fit(events)
    t1 = time.perf_counter()
    recs = model.recommend(model.user_map_.external_ids, k=K)
    t2 = time.perf_counter()
    times = {"fit": t1 - t0, "recommend": t2 - t1, "total": t2 - t0, **_TimedALS.inner}
    times["outside_implicit"] = times["total"] - times["implicit_fit"] - times["implicit_topk"]
    return times, len(recs)


def performance(quick: bool, repeats: int) -> dict[str, Any]:
    shape = (5_000, 2_000, 200_000) if quick else (50_000, 20_000, 2_000_000)
    events = synthetic(*shape)
    params = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "random_state": 0}
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "cxml": []}
    peak: dict[str, float] = {"raw": 0.0, "cxml": 0.0}
    n_out: dict[str, int] = {}
    for _ in range(repeats):  # alternate, so each pair sees about the same machine load
        for engine, fn in (("raw", run_raw), ("cxml", run_cxml)):
            with PeakRSS() as mem:
                times, n_out[engine] = fn(events, params)
            runs[engine].append(times)
            peak[engine] = max(peak[engine], (mem.peak - mem.before) / 1024**3)
            print(f"  perf {engine:<5}" + "  ".join(f"{k} {v:.2f}s" for k, v in times.items()), flush=True)
    best = {e: min(r, key=lambda t: t["total"]) for e, r in runs.items()}
    pair = [c["total"] / r["total"] for r, c in zip(runs["raw"], runs["cxml"], strict=True)]
    n_customers = int(events[Columns.CUSTOMER].nunique())
    raw_outside = [r["prepare"] + r["frame"] for r in runs["raw"]]
    return {
        "customers": n_customers, "items": int(events[Columns.ITEM].nunique()), "purchase_rows": len(events),
        "params": params, "threads": "implicit default (all cores) for both", "repeats": repeats,
        "best_seconds": best, "all_runs": runs,
        "ratio_pairs": [round(x, 3) for x in pair],
        "ratio_median_of_pairs": round(float(np.median(pair)), 3),
        "ratio_best_to_best": round(best["cxml"]["total"] / best["raw"]["total"], 3),
        "cxml_seconds_outside_implicit_median": round(float(np.median([c["outside_implicit"]
                                                                       for c in runs["cxml"]])), 2),
        "raw_seconds_outside_implicit_median": round(float(np.median(raw_outside)), 2),
        "cxml_recommend_customers_per_second": round(n_customers / best["cxml"]["recommend"]),
        "raw_recommend_customers_per_second": round(n_customers / best["raw"]["recommend"]),
        "peak_rss_above_start_gb": {e: round(v, 3) for e, v in peak.items()},
        "rows_out": n_out, "target_ratio": 1.10,
    }


# ---------------------------------------------------------------------------- report
def print_quality(results: list[dict[str, Any]]) -> None:
    cols = ["ndcg", "recall", "precision", "map", "mrr", "hit_rate", "coverage", "novelty"]
    head = "".join(f"{c:>10}" for c in cols)
    print(f"\n{'dataset':<11}{'model':<28}{head}{'n_users':>9}{'fit s':>8}")
    for r in results:
        for row in r["table"].to_dict("records"):
            print(f"{r['dataset']:<11}{row['model']:<28}" + "".join(f"{row[c]:>10.4f}" for c in cols)
                  + f"{int(row['n_users']):>9}{row['fit_seconds']:>8.1f}")
        print(f"{'':<11}notes: " + "; ".join(f"{row['model']}: {row['note']}" for row in
                                            r["table"].to_dict("records") if row["note"]))
    print("\nbars (pass/fail):")
    for r in results:
        bars = "  ".join(f"{k}={'PASS' if v else 'FAIL'}" for k, v in r["bars"].items())
        print(f"  {r['dataset']:<11}{bars}  (auto / best oracle = {r['auto_ratio_to_best_oracle']})")


def _clean(obj: Any) -> Any:
    """JSON-ready copy: NaN becomes null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return None if not np.isfinite(obj) else round(obj, 6)
    return obj


def _machine() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_avg_1m": os.getloadavg()[0]}


def scale_main(which: str, timeout: float, write: bool) -> int:
    """Run the wide-catalogue targets and/or sweep; merge them into results/recommend.json."""
    sets = {"targets": TARGETS, "big": BIG, "sweep": SWEEP}
    names = list(sets) if which == "all" else [which]

    def save(name: str, rows: list[dict[str, Any]]) -> None:  # after every run: a long sweep keeps its rows
        if not write:
            return
        out = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"benchmark": "recommend"}
        section = out.get("scale", {})
        section[name] = rows
        section["machine"] = _machine()
        section[f"{name}_timeout_seconds"] = timeout
        out["scale"] = section
        RESULTS.write_text(json.dumps(_clean(out), indent=2, default=str, allow_nan=False) + "\n")

    for name in names:
        run_scale(sets[name], timeout, on_row=lambda rows, name=name: save(name, rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="sample only, small grids, 5k x 2k perf problem; writes nothing (smoke run)")
    ap.add_argument("--datasets", default=None, help="comma list of ml100k,retail2009,sample")
    ap.add_argument("--repeats", type=int, default=None, help="alternating perf runs (default 2, quick 1)")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--perf-only", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="do not write results/recommend.json")
    ap.add_argument("--scale", choices=["targets", "big", "sweep", "all"], default=None,
                    help="wide-catalogue runs (issue 14) instead of the quality/perf runs; merged into the "
                         "'scale' section of results/recommend.json")
    ap.add_argument("--scale-timeout", type=float, default=900.0, help="seconds per (data set, model) run")
    args = ap.parse_args(argv)
    if args.scale:
        return scale_main(args.scale, args.scale_timeout, write=not args.no_write)
    names = args.datasets.split(",") if args.datasets else (["sample"] if args.quick else
                                                           ["ml100k", "retail2009", "sample"])
    started = time.perf_counter()
    results = [] if args.perf_only else [quality(n, args.quick) for n in names]
    perf = None if args.no_perf else performance(args.quick, args.repeats or (1 if args.quick else 3))
    print_quality(results)
    if perf is not None:
        b = perf["best_seconds"]
        print(f"\nperformance: {perf['customers']:,} customers x {perf['items']:,} items, "
              f"{perf['purchase_rows']:,} rows, 64 factors, 15 iterations (best of {perf['repeats']})")
        print(f"  raw implicit: prepare {b['raw']['prepare']:.2f}s fit {b['raw']['fit']:.2f}s recommend "
              f"{b['raw']['recommend']:.2f}s frame {b['raw']['frame']:.2f}s total {b['raw']['total']:.2f}s")
        print(f"  cxml ALS:     fit {b['cxml']['fit']:.2f}s recommend {b['cxml']['recommend']:.2f}s "
              f"total {b['cxml']['total']:.2f}s")
        med = perf["ratio_median_of_pairs"]
        print(f"  ratio cxml / raw, same work: median of pairs {med:.3f} [{'PASS' if med <= 1.10 else 'FAIL'} "
              f"<= 1.10], pairs {perf['ratio_pairs']}, best/best {perf['ratio_best_to_best']:.3f}")
        print(f"  seconds outside implicit's own fit/top-k (median): cxml "
              f"{perf['cxml_seconds_outside_implicit_median']:.2f}s, "
              f"raw {perf['raw_seconds_outside_implicit_median']:.2f}s")
        print(f"  recommend: cxml {perf['cxml_recommend_customers_per_second']:,} customers/s, raw "
              f"{perf['raw_recommend_customers_per_second']:,} customers/s; peak RSS above start GB "
              f"{perf['peak_rss_above_start_gb']}")
    print(f"\n(total {time.perf_counter() - started:.0f}s)")
    if args.quick:
        print("(quick smoke run: results/recommend.json left as it is)")
    elif not args.no_write:
        out = {
            "benchmark": "recommend", "protocol": "PROTOCOL.md recommendation, k=10, exclude_seen=True",
            "quick": args.quick,
            "datasets": [{**r, "table": r["table"].to_dict("records")} for r in results],
            "performance": perf,
            "machine": _machine(),
        }
        if RESULTS.exists():  # the --scale section is written by its own runs: keep it
            previous = json.loads(RESULTS.read_text())
            if "scale" in previous:
                out["scale"] = previous["scale"]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(_clean(out), indent=2, default=str, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
