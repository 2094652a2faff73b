"""``recommend.py --scale``: recommenders on grocery-like wide catalogues (issue 14).

Each (data set, model) runs in a fresh child process so peak RSS is the model's own footprint
(data included): fit time, recommend-all time (every train customer, k=10), peak RSS during
fit + recommend-all (benchmarks/_memory.py PeakRSS, absolute, sampled every 20 ms), and NDCG@10
under PROTOCOL.md (temporal_split at the 0.8 purchase quantile, seen items excluded). Data: below
100k customers ``generate_sample(n_customers, n_items, n_events=..., purchase_share=1.0,
basket_size=8.0, zipf_exponent=1.0, n_categories=n_items // 100)``; from 100k customers
``cxml.data._scale.write_dataset`` (same knobs) then ``cxml.load_events(dir)``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs

import cxml
from cxml.data._scale import write_dataset
from cxml.data.sample import generate_sample
from cxml.recommend import (
    ALSRecommender,
    AutoRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate,
    temporal_split,
)

GB = 1024**3
#: (customers, items, purchase rows, models): the issue's targets first, then the sweep.
TARGETS: list[dict[str, Any]] = [
    {"customers": 2_500, "items": 20_000, "rows": 75_000, "target": "auto < 60 s, peak < 2 GB",
     "models": ["auto", "popularity", "itemknn", "als", "ease"]},
    {"customers": 20_000, "items": 20_000, "rows": 1_000_000, "target": "auto < 120 s, peak < 3 GB; "
     "time_budget=10: fit < 30 s", "models": ["auto", "auto_budget10", "popularity", "itemknn", "als", "ease"]},
]
BIG: list[dict[str, Any]] = [
    {"customers": 100_000, "items": 50_000, "rows": 5_000_000, "target": "auto < 600 s, peak < 6 GB",
     "models": ["auto"]},
]
#: items 5k / 20k / 50k / 100k at 10k customers, then customers 50k and 200k at 20k items; 30 purchase
#: rows per customer throughout; Auto on two points (its search is bounded by time_budget=120).
SWEEP: list[dict[str, Any]] = [
    *({"customers": 10_000, "items": n, "rows": 300_000,
       "models": ["popularity", "itemknn", "als", "ease", *(["auto"] if n == 20_000 else [])]}
      for n in (5_000, 20_000, 50_000, 100_000)),
    {"customers": 50_000, "items": 20_000, "rows": 1_500_000,
     "models": ["popularity", "itemknn", "als", "ease", "auto"]},
    {"customers": 200_000, "items": 20_000, "rows": 6_000_000, "models": ["popularity", "itemknn", "als", "ease"]},
]


def make(name: str) -> Any:
    return {"auto": lambda: AutoRecommender(progress=False),
            "auto_budget10": lambda: AutoRecommender(time_budget=10, progress=False),
            "popularity": PopularityRecommender, "itemknn": ItemKNNRecommender, "als": ALSRecommender,
            "ease": lambda: EASERecommender(max_items=2_500)}[name]()


def load(customers: int, items: int, rows: int, cache: Path) -> Any:
    knobs = {"n_events": rows, "purchase_share": 1.0, "basket_size": 8.0, "zipf_exponent": 1.0,
             "n_categories": max(items // 100, 1)}
    if customers < 100_000:
        return generate_sample(customers, items, random_state=0, **knobs)
    out = cache / f"{customers}x{items}x{rows}"
    if not (out / "_cxml_dataset.json").exists():
        write_dataset(out, n_customers=customers, n_items=items, random_state=0, **knobs)
    return cxml.load_events(out)


def one(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one (data set, model) in this process; the row of the results table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        events = load(spec["customers"], spec["items"], spec["rows"], Path(spec["cache"]))
        train, test = temporal_split(events, test_fraction=0.2)
        del events
        model = make(spec["model"])
        customers = train["customer_id"].unique()
        with PeakRSS() as mem:
            start = time.perf_counter()
            model.fit(train)
            fit = time.perf_counter() - start
            model.recommend(customers, k=10)
            rec = time.perf_counter() - start - fit
        ndcg = evaluate(model, train, test, k=10)["ndcg"]
    row = {k: spec[k] for k in ("customers", "items", "rows", "model")}
    row.update(fit_seconds=round(fit, 2), recommend_all_seconds=round(rec, 2), total_seconds=round(fit + rec, 2),
               peak_rss_gb=round(mem.peak / GB, 3), rss_before_gb=round(mem.before / GB, 3),
               ndcg=round(float(ndcg), 4), train_items=int(train["item_id"].nunique()))
    if isinstance(model, AutoRecommender):
        board = model.leaderboard_
        row["winner"] = str(board.loc[board["selected"], "model"].iloc[0])  # not always the best NDCG (guard)
        row["best_validation_model"] = str(board["model"].iloc[0])
        row["trials_run"] = int(board["ndcg"].notna().sum())
        skipped = board[board["note"].str.startswith("skipped")]
        row["trials_skipped"] = int(len(skipped))
        row["skipped"] = [f"{c} {p}: {n}" for c, p, n in zip(skipped["candidate"], skipped["params"],
                                                              skipped["note"], strict=True)]
    return row


def run(specs: list[dict[str, Any]], timeout: float,
        on_row: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Every (data set, model) of ``specs`` in a child process; a timeout is a row too.

    ``on_row(rows so far)`` is called after each run, so a long sweep keeps what it measured."""
    rows: list[dict[str, Any]] = []
    cache = Path(tempfile.gettempdir()) / "cxml-scale"
    for spec in specs:
        for model in spec["models"]:
            task = {**spec, "model": model, "cache": str(cache)}
            label = f"{spec['customers']:>7,} x {spec['items']:>7,} x {spec['rows']:>9,} {model:<14}"
            try:
                done = subprocess.run([sys.executable, __file__, json.dumps(task)], capture_output=True,
                                      text=True, timeout=timeout, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                row = {**{k: spec[k] for k in ("customers", "items", "rows")}, "model": model,
                       "error": f"not finished within {timeout:.0f} s"}
            except subprocess.CalledProcessError as exc:
                row = {**{k: spec[k] for k in ("customers", "items", "rows")}, "model": model,
                       "error": exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else str(exc)}
            if "target" in spec:
                row["target"] = spec["target"]
            rows.append(row)
            if on_row is not None:
                on_row(rows)
            print(f"{label} " + (f"fit {row['fit_seconds']:7.1f} s  recommend-all {row['recommend_all_seconds']:6.1f} s"
                                 f"  peak {row['peak_rss_gb']:5.2f} GB  NDCG@10 {row['ndcg']:.4f}"
                                 + (f"  ({row['trials_run']} run, {row['trials_skipped']} skipped)"
                                    if "trials_run" in row else "") if "error" not in row else row["error"]),
                  flush=True)
    return rows


if __name__ == "__main__":
    print(json.dumps(one(json.loads(sys.argv[1]))))
