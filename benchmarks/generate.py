"""Benchmark: the synthetic data generator, in memory and as a partitioned parquet dataset.

Issue 15 target: ``write_dataset`` (``cxml sample --format parquet-dataset``) writes 100k
customers / 5 M events in < 2 min, 1 M / 50 M in minutes, with peak memory bounded by the block,
not the total. Issue 14 needs grocery-like in-memory samples (20k items, big sparse baskets);
their generation time is reported too.

Each case runs in a fresh subprocess, so its peak RSS (sampled every 20 ms from
``/proc/self/statm`` by ``_memory.PeakRSS``) is its own and not what an earlier case left in the
allocator. Datasets go to a temporary directory that is removed afterwards.

Usage::

    nice -n 10 python benchmarks/generate.py                     # writes results/generate.json
    python benchmarks/generate.py --quick --no-write              # smoke run
    python benchmarks/generate.py --datasets 1000000:50000000      # the 1 M / 50 M case alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs

from cxml.data.sample import generate_sample, write_dataset

RESULTS = Path(__file__).resolve().parent / "results" / "generate.json"
GB = 1024**3
#: (customers, events) of the dataset writer runs
DATASETS = [(100_000, 5_000_000), (200_000, 10_000_000), (1_000_000, 50_000_000)]
QUICK_DATASETS = [(5_000, 200_000), (10_000, 400_000)]
#: in-memory generate_sample cases: issue 14's grocery-like catalogues
IN_MEMORY: list[dict[str, Any]] = [
    {"n_customers": 2_500, "n_items": 20_000, "n_events": 75_000},
    {"n_customers": 20_000, "n_items": 20_000, "n_events": 1_000_000},
]
QUICK_IN_MEMORY: list[dict[str, Any]] = [{"n_customers": 2_500, "n_items": 20_000, "n_events": 75_000}]
#: what makes baskets grocery-like: purchases only, ~8 lines, Zipf popularity, many categories
GROCERY: dict[str, Any] = {"purchase_share": 1.0, "basket_size": 8.0, "zipf_exponent": 1.0}


def run_dataset(customers: int, events: int, tmp_dir: str) -> dict[str, Any]:
    """Write one dataset (default knobs) and measure it; the directory is removed afterwards."""
    out = Path(tempfile.mkdtemp(dir=tmp_dir)) / "events"
    try:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            write_dataset(out, n_customers=customers, n_events=events)
            seconds = time.perf_counter() - t0
        manifest = json.loads((out / "_cxml_dataset.json").read_text())
        disk = sum(p.stat().st_size for p in out.iterdir())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    rows = manifest["counts"]["rows"]
    return {
        "case": "write_dataset",
        "customers": customers,
        "target_events": events,
        "rows": rows,
        "target_deviation_pct": round(100 * (rows / events - 1), 2),
        "parts": manifest["counts"]["parts"],
        "block_customers": manifest["block_customers"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_gb": round(mem.peak / GB, 3),
        "peak_above_start_gb": round((mem.peak - mem.before) / GB, 3),
        "disk_mb": round(disk / 2**20, 1),
    }


def run_in_memory(kwargs: dict[str, Any]) -> dict[str, Any]:
    """One grocery-like generate_sample call."""
    n_categories = max(15, kwargs["n_items"] // 100)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        ev = generate_sample(random_state=0, n_categories=n_categories, **GROCERY, **kwargs)
        seconds = time.perf_counter() - t0
    lines = ev.loc[ev["quantity"].gt(0).to_numpy()]
    return {
        "case": "generate_sample (grocery-like)",
        "customers": kwargs["n_customers"],
        "items": kwargs["n_items"],
        "target_events": kwargs["n_events"],
        "rows": len(ev),
        "target_deviation_pct": round(100 * (len(ev) / kwargs["n_events"] - 1), 2),
        "distinct_items_bought": int(lines["item_id"].nunique()),
        "lines_per_order": round(float(lines.groupby("order_id").size().mean()), 2),
        "seconds": round(seconds, 2),
        "rows_per_s": round(len(ev) / seconds),
        "peak_rss_gb": round(mem.peak / GB, 3),
        "peak_above_start_gb": round((mem.peak - mem.before) / GB, 3),
    }


def in_subprocess(case: dict[str, Any], tmp_dir: str) -> dict[str, Any]:
    """Run one case in a fresh interpreter (clean peak RSS); returns its measurements."""
    cmd = [sys.executable, __file__, "--one", json.dumps(case), "--tmp-dir", tmp_dir]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def one(case: dict[str, Any], tmp_dir: str) -> dict[str, Any]:
    if case["kind"] == "dataset":
        return run_dataset(case["customers"], case["events"], tmp_dir)
    return run_in_memory(case["kwargs"])


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'case':<32}{'customers':>11}{'rows':>12}{'dev %':>7}{'seconds':>9}{'rows/s':>11}{'peak GB':>9}"
    print(head + f"{'above GB':>10}")
    for r in rows:
        print(
            f"{r['case']:<32}{r['customers']:>11,}{r['rows']:>12,}{r['target_deviation_pct']:>7.1f}"
            f"{r['seconds']:>9.2f}{r['rows_per_s']:>11,}{r['peak_rss_gb']:>9.3f}{r['peak_above_start_gb']:>10.3f}"
        )


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [(int(c), int(e)) for c, e in (pair.split(":") for pair in text.split(",") if pair)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=parse_sizes, default=None,
                    help="customers:events pairs for write_dataset, comma separated")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--no-in-memory", action="store_true", help="skip the generate_sample cases")
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir(), help="where datasets are written")
    ap.add_argument("--no-write", action="store_true", help="do not write results/generate.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one case, JSON on stdout
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(json.loads(args.one), args.tmp_dir)))
        return 0

    sizes = args.datasets or (QUICK_DATASETS if args.quick else DATASETS)
    cases: list[dict[str, Any]] = [{"kind": "dataset", "customers": c, "events": e} for c, e in sizes]
    if not args.no_in_memory:
        cases += [{"kind": "memory", "kwargs": kw} for kw in (QUICK_IN_MEMORY if args.quick else IN_MEMORY)]
    rows = [in_subprocess(case, args.tmp_dir) for case in cases]
    print_table(rows)
    written = [r for r in rows if r["case"] == "write_dataset"]
    extrapolated = None
    largest: dict[str, Any] = max(written, key=lambda r: r["rows"]) if written else {"rows": 0}
    if 0 < largest["rows"] < 45_000_000:  # no 50 M run: say what one would take
        extrapolated = round(50_000_000 / largest["rows_per_s"])
        print(f"1 M customers / 50 M events extrapolated from {largest['rows']:,} rows "
              f"at {largest['rows_per_s']:,} rows/s: ~{extrapolated} s")
    result = {
        "benchmark": "generate",
        "rows": rows,
        "extrapolated_50M_seconds": extrapolated,
        "targets": {"write_dataset_100k_5M_seconds": 120, "peak_rss_flat_in_size": True},
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
        },
    }
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
