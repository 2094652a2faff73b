"""Issue 19 (CLTV half): how much ranking signal beyond the baselines the features hold AT each cutoff.

The churn half of this probe is ``_churn_directions.py --in-period``. Here, at every backtest cutoff
(``benchmarks/backtest.py``'s ``CASES``, 90-day horizon), models are fitted by 5-fold
cross-validation on that cutoff's OWN value labels (spend in the next 90 days) and scored out of
fold. This is hindsight, not a forecast: the models see labels from the very window they rank. If
even they cannot beat a baseline by the issue's margin, a forecast that only sees earlier labels
has little hope to. It is evidence, not a proof: another feature or learner might find more.

Recorded per dataset and cutoff, with 95 % paired-bootstrap intervals: Spearman − the recent-spend
rule and normalized Gini − BG/NBD × Gamma-Gamma, for

- ``tweedie_from_bgg``: LightGBM Tweedie boosted from log BG/NBD×GG (CLTVModel's learner and prior);
- ``tweedie_plain``: the same from a constant;
- ``rank_target``: LightGBM L2 on the within-cutoff percentile rank of spend (a ranking score);
- ``rank_plus_recent``: ``rank_target`` with the recent-spend rule and its 0/1 "spent recently" flag
  given as features too (so it can learn to reproduce the rule's ties).

``--tied`` also records, per cutoff, what ties alone are worth to Spearman: CLTVModel's default
forecast (fitted on the past only, as in the backtest), and the same forecast with its lowest ``n0``
customers set to their mean forecast, ``n0`` being the number of customers the recent-spend rule
ties at zero. Spearman's numerator does not depend on the order inside a block of equal truths (the
non-buyers), while ties shrink the variance of the forecast's ranks in its denominator; the tied
forecast carries strictly less information, yet ranks "better".

Usage::

    nice -n 10 python benchmarks/_cltv_in_period.py [--datasets CDNOW ...] [--n-boot 1000] [--tied]

Results go to ``benchmarks/results/cltv_directions.json`` under ``"in_period"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from cxml.churn import CLTVModel, _lgbm
from cxml.churn.cltv_model import SMALL_TREES
from cxml.churn.evaluation import baseline_cltv_values
from cxml.churn.summary import purchase_rows
from cxml.evaluate import paired_bootstrap
from cxml.features import DEFAULT_WINDOWS, FUTURE_VALUE, future_value
from cxml.features.core import parse_windows
from cxml.schema import Columns

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest import CASES, HORIZON, load  # the cases of the backtest benchmark

OUT = Path(__file__).resolve().parent / "results" / "cltv_directions.json"
#: (metric, baseline it is compared with): the issue's two CLTV ranking bars
BARS = (("spearman", "recent_spend"), ("normalized_gini", "bgnbd_gamma_gamma"))
ROUNDS = 300


def _params(objective: str) -> dict[str, Any]:
    extra = {"tweedie_variance_power": 1.3} if objective == "tweedie" else {}
    return {"objective": objective, **extra, **_lgbm.LGBM_DEFAULTS, **SMALL_TREES, "deterministic": True,
            "force_row_wise": True, "seed": 0, "num_threads": 1, "verbosity": -1}


def _oof(X: pd.DataFrame, y: np.ndarray, prior: np.ndarray, recent: np.ndarray) -> dict[str, np.ndarray]:
    """Out-of-fold scores of the four probe models (5 folds, shuffled, seed 0)."""
    pct = pd.Series(y).rank(pct=True).to_numpy()
    with_rule = X.assign(_recent_spend=recent, _spent_recently=(recent > 0).astype(float))
    out = {k: np.zeros(len(y)) for k in ("tweedie_from_bgg", "tweedie_plain", "rank_target", "rank_plus_recent")}
    for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
        fits = {
            "tweedie_from_bgg": ("tweedie", X, y, np.log(prior)),
            "tweedie_plain": ("tweedie", X, y, None),
            "rank_target": ("regression", X, pct, None),
            "rank_plus_recent": ("regression", with_rule, pct, None),
        }
        for name, (objective, data, target, init) in fits.items():
            train = lgb.Dataset(data.iloc[tr], target[tr], init_score=None if init is None else init[tr])
            booster = lgb.train(_params(objective), train, ROUNDS)
            raw = booster.predict(data.iloc[te], raw_score=True)
            out[name][te] = raw if init is None else raw + init[te]
    return out


@contextmanager
def _quietly_loaded(key: str) -> Iterator[pd.DataFrame]:
    """The events of backtest case ``key``, with warnings silenced while the caller works on them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield load(key)


def _compared(label: str, cut: str, name: str, y: np.ndarray, score: np.ndarray, base: pd.DataFrame,
              bars: tuple[tuple[str, str], ...], n_boot: int, **extra: Any) -> list[dict[str, Any]]:
    """One row per ``(metric, baseline column of base)`` in ``bars``: the paired bootstrap of ``score``
    against that baseline, printed as it goes."""
    rows = []
    for metric, against in bars:
        r = paired_bootstrap(metric, y, score, base[against].to_numpy(), n_boot=n_boot, random_state=0)
        rows.append({"cutoff": cut, "name": name, **extra, "metric": metric, "baseline_name": against,
                     **{k: round(float(v), 5) for k, v in r.items()}})
        print(f"{label} {cut} {name:<25} {metric:<16} {r['model']:.4f} vs {against:<18} {r['baseline']:.4f} "
              f"{r['difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]", flush=True)
    return rows


def in_period(key: str, cutoffs: list[str], n_boot: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    h = pd.Timedelta(HORIZON)
    with _quietly_loaded(key) as events:
        purchases = purchase_rows(events)
        for cut in cutoffs:
            ts = pd.Timestamp(cut)
            (snap,), names = _lgbm.snapshot_frames(events, purchases, [ts], h,
                                                   windows=parse_windows(DEFAULT_WINDOWS), use_btyd=True,
                                                   require_both_classes=True, require_spend=True)
            snap.index = snap.index.astype(str)
            base = baseline_cltv_values(events, ts, h).reindex(snap.index)
            if base.isna().any().any():
                raise RuntimeError(f"{key} {cut}: baselines missing for {int(base.isna().any(axis=1).sum())} customers")
            y = snap[FUTURE_VALUE].to_numpy(dtype=float)
            bgg = base["bgnbd_gamma_gamma"].to_numpy()
            prior = np.clip(bgg, 1e-3, None)
            scores = _oof(_lgbm.align_features(snap, names), y, prior, base["recent_spend"].to_numpy())
            for name, score in scores.items():
                rows += _compared(f"in-period {key}", cut, name, y, score, base, BARS, n_boot)
    return rows


def tied(key: str, cutoffs: list[str], n_boot: int) -> list[dict[str, Any]]:
    """The default CLTVModel forecast at each cutoff, as is and with its lowest ``n0`` tied (see above)."""
    rows: list[dict[str, Any]] = []
    h = pd.Timedelta(HORIZON)
    with _quietly_loaded(key) as events:
        for cut in cutoffs:
            ts = pd.Timestamp(cut)
            base = baseline_cltv_values(events, ts, h)
            pred = CLTVModel(horizon=h).fit(events, ts).predict(events, ts).set_index(Columns.CUSTOMER)
            forecast = pred["expected_value"].reindex(base.index).to_numpy()
            y = future_value(events, ts, h).reindex(base.index).fillna(0.0).to_numpy()
            n0 = int((base["recent_spend"].to_numpy() == 0).sum())
            low = np.argsort(forecast, kind="stable")[:n0]
            flat = forecast.copy()
            flat[low] = forecast[low].mean()
            for name, score in (("forecast", forecast), ("forecast, lowest n0 tied", flat)):
                rows += _compared(f"tied {key} n0={n0}", cut, name, y, score, base,
                                  (*BARS, ("decile_mape", "bgnbd_gamma_gamma")), n_boot, n0=n0)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=[c[0] for c in CASES])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--tied", action="store_true", help="measure the tied forecast instead (see the docstring)")
    args = parser.parse_args(argv)
    run, field = (tied, "tied") if args.tied else (in_period, "in_period")
    result = {ds: run(key, cutoffs, args.n_boot) for ds, key, cutoffs in CASES if ds in args.datasets}
    if not args.no_write:
        stored = json.loads(args.out.read_text()) if args.out.exists() else {"benchmark": "cltv_directions"}
        stored[field] = {**stored.get(field, {}), **result, "n_boot": args.n_boot}
        args.out.write_text(json.dumps(stored, indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
