"""Benchmark: BG/NBD (+ Gamma-Gamma) fit time on 25k customers, parameter recovery, holdout check.

Issue 6 target: ``BGNBDModel.fit`` on 25k customers in < 2 s. The customers are simulated from the
BG/NBD generative process with the published CDNOW parameters (r=0.243, alpha=4.414, a=0.793,
b=2.426 per week, Fader, Hardie & Lee 2005) and a Gamma-Gamma spend process with the published
CDNOW spend parameters (p=6.25, q=3.74, v=15.44), first purchases spread over 12 weeks from
1997-01-01 like the CDNOW cohort, observed for 78 weeks. The fit uses the 39 calibration weeks
(``as_of=1997-10-01``); the last 39 weeks are a holdout for the forecast check.

Measured: ``fit_summary`` (the optimiser alone, on the summary table) and ``fit`` (events ->
day-level summary -> optimiser), median of ``--repeats`` runs. Recovery is reported twice: on the
exact continuous-time statistics (pure estimator check) and on the day-level summary that cxml
computes from events (same-day purchases merge, times are rounded to days).

Usage::

    nice -n 10 python benchmarks/bgnbd.py                 # 25k customers, writes results JSON
    python benchmarks/bgnbd.py --customers 2000 --no-write
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

import cxml
from cxml.churn import BGNBDModel, GammaGammaModel

RESULTS = Path(__file__).resolve().parent / "results" / "bgnbd.json"
TRUE_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
START = pd.Timestamp("1997-01-01")
AS_OF = "1997-10-01"
CAL_WEEKS = (pd.Timestamp(AS_OF) - START) / pd.Timedelta(weeks=1)  # 39.0
END_WEEKS = 78.0


def simulate(n_customers: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events of the BG/NBD x Gamma-Gamma process, and the exact calibration statistics.

    Every customer makes a first purchase at a uniform time in weeks [0, 12); repeat purchases
    arrive as a Poisson(lambda) process and the customer drops out right after the G-th repeat
    purchase, G ~ Geometric(p) (so dropout only follows a repeat purchase, as in the likelihood).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n_customers)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n_customers)
    first = rng.uniform(0, 12, n_customers)
    span = END_WEEKS - first
    n_arrivals = rng.poisson(lam * span)
    owner = np.repeat(np.arange(n_customers), n_arrivals)
    times = rng.uniform(0, 1, owner.size) * span[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_arrivals) - n_arrivals, n_arrivals)
    alive = rank < rng.geometric(p)[owner]  # the first G repeat purchases happen, then dropout
    owner, times = owner[alive], times[alive]

    cust = np.concatenate([np.arange(n_customers), owner])
    week = np.concatenate([first, first[owner] + times])
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["v"], n_customers)
    amount = rng.gamma(TRUE_GG["p"], 1 / nu[cust])
    ts = START + pd.to_timedelta(np.round(week * 7 * 86_400), unit="s")
    events = cxml.load_events(
        pd.DataFrame({"customer_id": cust, "timestamp": ts, "quantity": 1.0, "amount": np.round(amount, 2)})
    )

    in_cal = times < CAL_WEEKS - first[owner]
    x = np.bincount(owner[in_cal], minlength=n_customers).astype(float)
    tx = np.zeros(n_customers)
    np.maximum.at(tx, owner[in_cal], times[in_cal])
    repeat_amount = amount[n_customers:][in_cal]
    spend = np.bincount(owner[in_cal], weights=repeat_amount, minlength=n_customers)
    with np.errstate(invalid="ignore"):
        monetary = np.where(x > 0, spend / np.maximum(x, 1), np.nan)
    exact = pd.DataFrame({"frequency": x, "recency": tx, "T": CAL_WEEKS - first, "monetary_value": monetary})
    return events, exact


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    events, exact = simulate(args.customers, args.seed)
    t_summary, _ = _median_time(lambda: cxml.churn.rfm_summary(events, AS_OF), args.repeats)
    t_opt, bg_exact = _median_time(lambda: BGNBDModel().fit_summary(exact), args.repeats)
    t_fit, bg = _median_time(lambda: BGNBDModel().fit(events, as_of=AS_OF), args.repeats)
    t_gg, gg = _median_time(lambda: GammaGammaModel().fit(events, as_of=AS_OF), args.repeats)
    gg_exact = GammaGammaModel().fit_summary(exact)

    pred = bg.predict(events, as_of=AS_OF, horizon=f"{int((END_WEEKS - CAL_WEEKS) * 7)}D")
    hold = events[events["timestamp"] >= pd.Timestamp(AS_OF)]
    actual = len(hold.assign(day=hold["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"]))

    rows = [
        ("rfm_summary (events -> day-level summary)", t_summary, "-"),
        ("BGNBDModel.fit_summary (optimiser only)", t_opt, f"{bg_exact.n_iter_} iter"),
        ("BGNBDModel.fit (events, end to end)", t_fit, f"{bg.n_iter_} iter"),
        ("GammaGammaModel.fit (events, end to end)", t_gg, f"{gg.n_iter_} iter"),
    ]
    print(f"BG/NBD benchmark: {args.customers:,} simulated customers, {len(events):,} purchase events, "
          f"median of {args.repeats}")
    print(f"{'step':<44} {'seconds':>8}  note")
    for name, sec, note in rows:
        print(f"{name:<44} {sec:8.3f}  {note}")
    print(f"target: BGNBDModel.fit < 2 s -> {'PASS' if t_fit < 2 else 'FAIL'}")
    print()
    print(f"{'param':<6} {'true':>8} {'exact-stats fit':>16} {'day-level fit':>14}")
    for k, v in TRUE_BG.items():
        print(f"{k:<6} {v:8.3f} {bg_exact.params_[k]:16.3f} {bg.params_[k]:14.3f}")
    for k, v in TRUE_GG.items():
        print(f"{k:<6} {v:8.3f} {gg_exact.params_[k]:16.3f} {gg.params_[k]:14.3f}")
    print(
        f"converged: exact {bg_exact.converged_}, day-level BG/NBD {bg.converged_}, "
        f"Gamma-Gamma exact {gg_exact.converged_}, day-level {gg.converged_}"
    )
    print(f"holdout weeks 40-78: expected {pred['expected_purchases'].sum():,.0f} repeat purchase days, "
          f"actual {actual:,}")

    result = {
        "benchmark": "bgnbd",
        "n_customers": args.customers,
        "n_events": len(events),
        "repeats": args.repeats,
        "seconds": {
            "rfm_summary": t_summary,
            "bgnbd_fit_summary": t_opt,
            "bgnbd_fit_events": t_fit,
            "gamma_gamma_fit_events": t_gg,
        },
        "target_seconds": 2.0,
        "passes_target": t_fit < 2.0,
        "true_params": {**TRUE_BG, **TRUE_GG},
        "recovered_exact_stats": {**bg_exact.params_, **gg_exact.params_},
        "recovered_day_level": {**bg.params_, **gg.params_},
        "converged": {
            "bgnbd_exact": bg_exact.converged_,
            "bgnbd_day_level": bg.converged_,
            "gamma_gamma_exact": gg_exact.converged_,
            "gamma_gamma_day_level": gg.converged_,
        },
        "holdout": {"expected": float(pred["expected_purchases"].sum()), "actual": actual},
        "env": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "machine": platform.machine(),
        },
    }
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
