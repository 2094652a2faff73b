"""Calibrate the recommender cost model (``cxml.recommend._cost.COEFFICIENTS``) on this machine.

Generates grocery-like baskets of a few sizes, times every candidate's fit (on a built state, as
AutoRecommender runs trials), the ranking of ``n_eval`` customers and the build of the interaction
matrix, then fits each model's coefficients by non-negative least squares on the relative error
(every timing weighs the same whatever its size) and prints them in the form ``_cost.py`` keeps.

Usage::

    nice -n 10 python benchmarks/_calibrate_recommend.py [--quick] [--out timings.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import numpy as np
from scipy.optimize import nnls

from cxml.data.sample import generate_sample
from cxml.exceptions import DataWarning
from cxml.recommend._cost import features, shape_of
from cxml.recommend._state import build_state
from cxml.recommend.als import ALSRecommender
from cxml.recommend.baselines import ItemKNNRecommender, PopularityRecommender
from cxml.recommend.blend import BlendRecommender
from cxml.recommend.ease import EASERecommender

#: (customers, items, purchase rows)
SIZES = [(2_000, 2_000, 40_000), (20_000, 5_000, 600_000), (2_500, 20_000, 75_000), (10_000, 20_000, 300_000),
         (5_000, 10_000, 150_000)]
QUICK_SIZES = [(1_000, 1_000, 20_000), (2_000, 4_000, 40_000)]
CLASSES: dict[str, Any] = {"als": ALSRecommender, "ease": EASERecommender, "itemknn": ItemKNNRecommender,
                           "popularity": PopularityRecommender}
TRIALS: list[tuple[str, dict[str, Any]]] = [
    ("popularity", {"half_life": None}), ("popularity", {"half_life": 30.0}),
    ("itemknn", {"k_neighbors": 50}), ("itemknn", {"k_neighbors": 200}),
    ("als", {"factors": 32, "iterations": 15}), ("als", {"factors": 128, "iterations": 15}),
    ("ease", {"max_items": 1000}), ("ease", {"max_items": 2500}), ("ease", {"max_items": 4000}),
]


def grocery(n_customers: int, n_items: int, n_rows: int, seed: int = 0) -> Any:
    return generate_sample(n_customers, n_items, n_events=n_rows, purchase_share=1.0, basket_size=8.0,
                           zipf_exponent=1.0, n_categories=max(n_items // 100, 1), random_state=seed)


def measure(sizes: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n_c, n_i, n_r in sizes:
        ev = grocery(n_c, n_i, n_r)
        start = time.perf_counter()
        state = build_state(ev, "count", 90.0)
        build = time.perf_counter() - start
        n_eval = min(2_000, state.user_items.shape[0])
        shape = shape_of(state.user_items, len(ev), n_eval)
        out.append({"name": "build", "params": {}, "shape": vars(shape), "fit": build, "score": 0.0})
        users = state.user_map.external_ids[:n_eval]
        for name, params in TRIALS:
            extra = {"n_jobs": 1, "random_state": 0} if name == "als" else {}
            model = CLASSES[name](**params, **extra)
            start = time.perf_counter()
            model._learn(state)
            fit = time.perf_counter() - start
            start = time.perf_counter()
            model.recommend(users, k=10)
            score = time.perf_counter() - start
            out.append({"name": name, "params": params, "shape": vars(shape), "fit": fit, "score": score})
            if name == "popularity":
                pop = model
            elif name in ("als", "ease") and params.get("factors", 0) != 128:  # the blend's extra over its inner
                start = time.perf_counter()
                BlendRecommender.from_fitted(model, pop, 0.5).recommend(users, k=10)
                extra = max(time.perf_counter() - start - score, 0.0)
                out.append({"name": "blend", "params": {}, "shape": vars(shape), "fit": 0.0, "score": extra})
            print(f"{n_c:>7} x {n_i:>6} x {n_r:>8}  {name:<10} {json.dumps(params):<40} fit {fit:7.2f} s  "
                  f"score {score:6.2f} s", flush=True)
    return out


def _nnls(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    scale = A.max(axis=0)
    scale[scale == 0] = 1.0
    w = 1.0 / np.maximum(y, 0.05)  # relative error, floored so tiny timings do not dominate
    coef, _ = nnls((A / scale) * w[:, None], y * w)
    return np.asarray(coef / scale)


def fit_coefficients(timings: list[dict[str, Any]]) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    from cxml.recommend._cost import Shape

    coefs: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for name in (*CLASSES, "blend"):
        rows = [t for t in timings if t["name"] == name]
        feats = [features(name, t["params"], Shape(**t["shape"])) for t in rows]
        fit = _nnls(np.vstack([f for f, _ in feats]), np.array([t["fit"] for t in rows]))
        score = _nnls(np.vstack([s for _, s in feats]), np.array([t["score"] for t in rows]))
        coefs[name] = (tuple(float(f"{c:.3g}") for c in fit), tuple(float(f"{c:.3g}") for c in score))
    build = [t for t in timings if t["name"] == "build"]
    b = _nnls(np.array([[1.0, t["shape"]["n_rows"]] for t in build]), np.array([t["fit"] for t in build]))
    coefs["build"] = (tuple(float(f"{c:.3g}") for c in b), ())
    return coefs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two tiny sizes (a smoke run)")
    parser.add_argument("--out", help="also write the raw timings to this JSON file")
    parser.add_argument("--timings", help="refit the coefficients from timings written by --out")
    args = parser.parse_args()
    if args.timings:
        with open(args.timings) as f:
            timings = json.load(f)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            timings = measure(QUICK_SIZES if args.quick else SIZES)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(timings, f, indent=1)
    print("COEFFICIENTS = {")
    for name, (fit, score) in fit_coefficients(timings).items():
        print(f"    {name!r}: ({fit}, {score}),")
    print("}")


if __name__ == "__main__":
    main()
