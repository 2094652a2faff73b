"""Which EASE restriction keeps accuracy: NDCG@10 (PROTOCOL.md split) of EASE on all items vs on
the ``max_items`` most popular ones, next to popularity and item-kNN, on Online Retail 2009 (4k
items), ML-100K and a grocery-like wide catalogue.

Usage::

    nice -n 10 python benchmarks/_ease_items.py [--datasets retail2009,ml100k,wide]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import cxml
from cxml.data.sample import generate_sample
from cxml.recommend import EASERecommender, ItemKNNRecommender, PopularityRecommender, evaluate, temporal_split

MAX_ITEMS = (500, 1000, 2500, 4000, 8000, None)


def wide() -> Any:
    return generate_sample(2_500, 20_000, n_events=75_000, purchase_share=1.0, basket_size=8.0,
                           zipf_exponent=1.0, n_categories=200, random_state=0)


def run(name: str, events: Any) -> list[dict[str, Any]]:
    train, test = temporal_split(events, test_fraction=0.2)
    n_items = train["item_id"].nunique()
    models: list[tuple[str, Any]] = [("popularity", PopularityRecommender()),
                                     ("itemknn", ItemKNNRecommender())]
    models += [(f"ease max_items={m}", EASERecommender(max_items=m, max_memory_bytes=2 * 1024**3))
               for m in MAX_ITEMS if m is None or m < n_items]
    rows = []
    for label, model in models:
        start = time.perf_counter()
        try:
            model.fit(train)
        except cxml.MemoryBudgetError as exc:
            print(f"{name:<11} {label:<22} refused: {exc}")
            continue
        seconds = time.perf_counter() - start
        ndcg = evaluate(model, train, test, k=10)["ndcg"]
        rows.append({"dataset": name, "model": label, "ndcg": ndcg, "fit_seconds": seconds, "items": n_items})
        print(f"{name:<11} {label:<22} items {n_items:>6}  NDCG@10 {ndcg:.4f}  fit {seconds:6.1f} s", flush=True)
    return rows


def main() -> None:
    from recommend import load  # benchmarks/ is on sys.path when a script runs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="retail2009,ml100k,wide")
    args = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        for name in args.datasets.split(","):
            run(name, wide() if name == "wide" else load(name))


if __name__ == "__main__":
    main()
