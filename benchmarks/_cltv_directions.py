"""CLTV directions of issue 19: every variant of ``CLTVModel`` tried, backtested, with its numbers.

Each direction is a set of :class:`cxml.churn.CLTVModel` parameters run through
:func:`cxml.evaluate.backtest` (``models={"cltv": model}``, 90-day horizon, the cutoffs of
``benchmarks/backtest.py``'s ``CASES``). For every cutoff and the pooled row it records Spearman,
normalized Gini and decile MAPE of the model, the strongest baseline of that cutoff and metric with
the paired-bootstrap interval of the difference, and the point estimates of both baselines
(BG/NBD × Gamma-Gamma and the recent-spend rule). Results accumulate in
``benchmarks/results/cltv_directions.json`` (a run updates the directions it ran and keeps the rest),
so directions that did not help stay on record beside those that did.

Usage::

    nice -n 10 python benchmarks/_cltv_directions.py --list
    nice -n 10 python benchmarks/_cltv_directions.py --directions default,two_stage --datasets cdnow --n-boot 200
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone

import cxml
from cxml.churn import CLTVModel, _lgbm
from cxml.churn import metrics as M
from cxml.churn.cltv_model import SMALL_TREES
from cxml.churn.evaluation import baseline_cltv_values
from cxml.churn.summary import purchase_rows
from cxml.evaluate import backtest
from cxml.evaluate._models import DEFAULT_SNAPSHOT_PARAMS
from cxml.evaluate.bootstrap import METRICS as BOOT_METRICS
from cxml.evaluate.bootstrap import interval, replicate_differences
from cxml.features import DEFAULT_WINDOWS, FUTURE_VALUE, future_value
from cxml.features.core import parse_windows
from cxml.schema import Columns

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest import CASES, HORIZON, load  # the cases of the backtest benchmark

OUT = Path(__file__).resolve().parent / "results" / "cltv_directions.json"
METRICS = ("spearman", "normalized_gini", "decile_mape")
_SMALL_TREES = {"num_leaves": 4, "min_data_in_leaf": 100, "lambda_l2": 10.0, "learning_rate": 0.03}
_BG = {"_prior_model": "bgnbd"}  # boosting from log BG/NBD×GG, as before round 4
_OLD = {**_BG, "_trees": "default", "_level": "none"}  # CLTVModel before issue 19
_SMALL = {**_BG, "_level": "none"}  # the small-tree rule alone (small trees on every dataset here)
_R3 = _BG  # the default of round 3: small trees below 10,000 rows and the held-out level shift

#: name -> (what it tests, CLTVModel class settings, CLTVModel parameters on top of the backtest's)
DIRECTIONS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "before": ("the CLTVModel of main before issue 19: Tweedie boosted from the BG/NBD×GG prior, default trees "
               "(15 leaves, 50 rows per leaf, L2 1)", _OLD, {}),
    "default": ("CLTVModel now: default_r3 + the linear prior when it wins out of time (= linear_auto)", {}, {}),
    "default_r3": ("the default of round 3: small trees below 10,000 training rows (4 leaves, 100 rows per leaf, "
                   "L2 10), the level shift that matches the held-out total, boosting from log BG/NBD×GG", _R3, {}),
    "small_only": ("before + the small-tree rule (no level shift)", _SMALL, {}),
    "snapshots4": ("before + 4 training snapshots instead of 2", _OLD, {"n_snapshots": 4}),
    "small_trees": ("before + 4 leaves, 100 rows per leaf, L2 10 (via lgbm_params)", _OLD,
                    {"lgbm_params": _SMALL_TREES}),
    "tiny_trees": ("before + 3 leaves, 200 rows per leaf, L2 20", _OLD,
                   {"lgbm_params": {"num_leaves": 3, "min_data_in_leaf": 200, "lambda_l2": 20.0}}),
    "stumps": ("before + stumps (2 leaves), 100 rows per leaf, L2 10", _OLD,
               {"lgbm_params": {"num_leaves": 2, "min_data_in_leaf": 100, "lambda_l2": 10.0}}),
    "small_slow": ("small_only + learning rate 0.01", _SMALL, {"lgbm_params": {"learning_rate": 0.01}}),
    "no_prior": ("before + boosting from a constant instead of the BG/NBD×GG prior", _OLD, {"bgnbd_prior": False}),
    "power_1.5": ("before + Tweedie variance power 1.5 instead of 1.3", _OLD, {"tweedie_variance_power": 1.5}),
    "default_power_1.5": ("default_r3 + Tweedie variance power 1.5", _R3, {"tweedie_variance_power": 1.5}),
    "small_snap4": ("small_only + 4 snapshots", _SMALL, {"n_snapshots": 4}),
    "snap4_decay": ("small_only + 4 snapshots weighted 0.5^age (latest 1, previous 0.5, ...)",
                    {**_SMALL, "_snapshot_decay": 0.5}, {"n_snapshots": 4}),
    "level_total": ("before + level shift so held-out totals match", {**_OLD, "_level": "total"}, {}),
    "level_poisson": ("small_only + Poisson calibration line on held-out: value = exp(shift + slope * log value)",
                      {**_BG, "_level": "poisson"}, {}),
    "blend_auto": ("small_only + blend in log space with the BG/NBD×GG prior, weight of the booster's correction "
                   "chosen on held-out", {**_SMALL, "_blend": "auto"}, {}),
    "pool_auto": ("small_only + pool the lowest predictions at their mean (fraction chosen on held-out)",
                  {**_SMALL, "_pool_low": "auto"}, {}),
    "pool_0.7": ("small_only + pool the lowest 70 % of predictions at their mean", {**_SMALL, "_pool_low": 0.7}, {}),
    # round 4 (direction 3 of the brief): what the boosting starts from, and the rhythm features
    "linear_prior": ("default_r3 + boosting from a Tweedie GLM on log BG/NBD×GG (offset) and log1p purchase days, "
                     "total spend, mean order value, recency, 90-day spend (cxml.churn._cltv_prior)",
                     {"_prior_model": "linear"}, {}),
    "rhythm": ("default_r3 + the customer-rhythm columns of cxml.features.rhythm as features",
               {**_R3, "_rhythm": True}, {}),
    "linear_rhythm": ("linear_prior + rhythm", {"_prior_model": "linear", "_rhythm": True}, {}),
    "default_snap4": ("default with the library's own n_snapshots=4 (the backtest's default model uses 2)", {},
                      {"n_snapshots": 4}),
    "default_r3_snap4": ("default_r3 with n_snapshots=4", _R3, {"n_snapshots": 4}),
    "linear_auto": ("default_r3 + the linear prior only when it beats the BG/NBD×GG prior out of time (both fitted "
                    "on the older training snapshots, Tweedie loss on the latest one's training customers; "
                    "BG/NBD×GG with a single snapshot)", {"_prior_model": "auto"}, {}),
}


def make_model(settings: dict[str, Any], params: dict[str, Any]) -> CLTVModel:
    """An unfitted CLTVModel (a subclass when class settings differ) with the backtest's defaults."""
    cls = type("CLTVVariant", (CLTVModel,), dict(settings)) if settings else CLTVModel
    return cls(**{**DEFAULT_SNAPSHOT_PARAMS, "random_state": 0, **params})


def _row(r: dict[str, Any], scores: dict[tuple[str, str, str], float]) -> dict[str, Any]:
    out = {k: r[k] for k in ("cutoff", "metric", "model", "baseline", "baseline_name", "difference", "ci_low",
                             "ci_high", "crosses_zero", "n_customers")}
    for base in ("bgnbd_gamma_gamma", "recent_spend"):
        out[base] = scores.get((r["cutoff"], base, r["metric"]))
    return out


def run_direction(model: CLTVModel, key: str, cutoffs: list[str], n_boot: int) -> dict[str, Any]:
    """Backtest one set of CLTVModel parameters on one dataset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        warnings.simplefilter("ignore", cxml.ConvergenceWarning)
        events = load(key)
        t0 = time.perf_counter()
        result = backtest(events, cutoffs, horizon=HORIZON, models={"cltv": model}, n_boot=n_boot,
                          random_state=0)
        seconds = time.perf_counter() - t0
    sc = result.attrs["scores"]
    scores = {(c, s, m): float(v) for c, s, m, v in sc[["cutoff", "scorer", "metric", "value"]].itertuples(index=False)}
    pooled: dict[tuple[str, str, str], float] = {}
    for (_cut, s, m), v in scores.items():
        pooled[("pooled", s, m)] = pooled.get(("pooled", s, m), 0.0) + v / len(cutoffs)
    scores.update(pooled)
    rows = [_row(r, scores) for r in json.loads(result.to_json(orient="records")) if r["metric"] in METRICS]
    return {"cutoffs": cutoffs, "n_boot": n_boot, "seconds": seconds, "rows": rows}


# --------------------------------------------------------------------------- prototypes (directions 1 and 2)
def _booster(objective: dict[str, Any], train: tuple[Any, Any, Any], valid: tuple[Any, Any, Any]) -> lgb.Booster:
    """A LightGBM model with the small-tree settings, early-stopped on ``valid`` (X, y, init score)."""
    params = {**objective, **_lgbm.LGBM_DEFAULTS, **SMALL_TREES, "deterministic": True, "force_row_wise": True,
              "seed": 0, "num_threads": 1, "verbosity": -1}
    data = lgb.Dataset(train[0], train[1], init_score=train[2])
    vdata = lgb.Dataset(valid[0], valid[1], init_score=valid[2], reference=data)
    return lgb.train(params, data, 2000, valid_sets=[vdata], callbacks=[lgb.early_stopping(100, verbose=False)])


def _filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    return np.asarray(values.fillna(values.mean()).to_numpy(dtype=np.float64))


def _held_out_pick(actual: np.ndarray, candidates: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The test scores of the candidate (held-out scores, test scores) with the best held-out
    Spearman + normalized Gini: a choice made inside fit, on data before its as_of."""
    def fit(k: str) -> float:
        return M.spearman(actual, candidates[k][0]) + M.normalized_gini(actual, candidates[k][0])

    return candidates[max(candidates, key=fit)][1]


def _rank_blend(actual: np.ndarray, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``(1 - w) rank(a) + w rank(b)`` on the test customers, ``w`` on a 0.1 grid with the best
    held-out Spearman + normalized Gini (a score, not a value)."""
    def blend(x: np.ndarray, y: np.ndarray, w: float) -> np.ndarray:
        return np.asarray((1 - w) * rankdata(x) / len(x) + w * rankdata(y) / len(y))

    grid = np.linspace(0.0, 1.0, 11)
    fit = [M.spearman(actual, blend(a[0], b[0], w)) + M.normalized_gini(actual, blend(a[0], b[0], w)) for w in grid]
    return blend(a[1], b[1], float(grid[int(np.argmax(fit))]))


def _prototype_scores(events: pd.DataFrame, cut: pd.Timestamp, h: pd.Timedelta) -> tuple[np.ndarray, dict[str, Any]]:
    """The truth at ``cut`` and the prototype scores, trained on the snapshots CLTVModel would use."""
    purchases = purchase_rows(events)
    cuts = _lgbm.plan_cutoffs(events, purchases, cut, h, 2, None)
    parts, names = _lgbm.snapshot_frames(events, purchases, cuts, h, windows=parse_windows(DEFAULT_WINDOWS),
                                         use_btyd=True, require_both_classes=True, require_spend=True)
    fresh, valid = _lgbm.split_by_customer(parts[-1], 0.3, 0)
    train = pd.concat([*parts[:-1], fresh])
    fitted = make_model(_SMALL, {"horizon": h}).fit(events, cut)
    linear = make_model({"_prior_model": "linear"}, {"horizon": h}).fit(events, cut)
    test = fitted.features(events, cut)
    truth = future_value(events, cut, h).reindex(test.index).fillna(0.0).to_numpy()

    def p_buy(f: pd.DataFrame) -> np.ndarray:
        return np.clip(1.0 - _filled(f, "bg_p_no_purchase"), 1e-6, 1 - 1e-6)

    def logit(f: pd.DataFrame) -> np.ndarray:
        return np.log(p_buy(f)) - np.log1p(-p_buy(f))

    def cond(f: pd.DataFrame) -> np.ndarray:  # BG/NBD x GG value given at least one purchase
        return _filled(f, "bg_gg_expected_value") / p_buy(f)

    def X(f: pd.DataFrame) -> pd.DataFrame:
        return _lgbm.align_features(f, names)

    def bought(f: pd.DataFrame) -> np.ndarray:
        return (f[FUTURE_VALUE].to_numpy() > 0).astype(np.float64)

    clf = _booster({"objective": "binary", "metric": "binary_logloss"},
                   (X(train), bought(train), logit(train)), (X(valid), bought(valid), logit(valid)))

    def buy(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(clf.predict(X(f), raw_score=True) + logit(f)))))

    tb, vb = train[train[FUTURE_VALUE] > 0], valid[valid[FUTURE_VALUE] > 0]
    reg = _booster({"objective": "regression", "metric": "l2"},
                   (X(tb), np.log(tb[FUTURE_VALUE]), np.log(cond(tb))),
                   (X(vb), np.log(vb[FUTURE_VALUE]), np.log(cond(vb))))
    resid = np.log(vb[FUTURE_VALUE].to_numpy()) - reg.predict(X(vb), raw_score=True) - np.log(cond(vb))

    def spend(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(np.exp(reg.predict(X(f), raw_score=True) + np.log(cond(f)) + resid.var() / 2))

    def pct(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(f.groupby(Columns.CUTOFF)[FUTURE_VALUE].rank(pct=True).to_numpy(dtype=np.float64))

    rank = _booster({"objective": "regression", "metric": "l2"}, (X(train), pct(train), None),
                    (X(valid), pct(valid), None)).predict(X(test))
    tweedie = fitted.predict(events, cut).set_index("customer_id")["expected_value"].reindex(test.index).to_numpy()
    base = baseline_cltv_values(events, cut, h).reindex(test.index)
    yv = valid[FUTURE_VALUE].to_numpy()
    # (held-out, test) pairs of the candidates a choice inside fit could make
    pairs = {"tweedie": (fitted._output(X(valid)), tweedie),
             "two_stage": (buy(valid) * spend(valid), buy(test) * spend(test)),
             "linear": (linear._output(_lgbm.align_features(valid, linear.feature_names_)),
                        linear._output(_lgbm.align_features(test, linear.feature_names_))),
             "bgg": (_filled(valid, "bg_gg_expected_value"), _filled(test, "bg_gg_expected_value")),
             "p_buy": (buy(valid), buy(test))}
    return truth, {
        "tweedie, small trees, no level shift (small_only)": tweedie,
        "two-stage: LightGBM P(buy) x BG/NBD×GG value given a purchase": buy(test) * cond(test),
        "two-stage: LightGBM P(buy) x LightGBM log-spend regressor on buyers": buy(test) * spend(test),
        "two-stage or tweedie, whichever has the better held-out Spearman + Gini": _held_out_pick(
            yv, {k: pairs[k] for k in ("tweedie", "two_stage")}),
        "LightGBM P(buy) alone": buy(test),
        "rank target (L2 on the within-snapshot percentile of spend; a score)": rank,
        "rank(tweedie) + rank(rank target) (a score)": rankdata(tweedie) + rankdata(rank),
        "rank blend tweedie + BG/NBD×GG, weight on held-out (a score)": _rank_blend(yv, pairs["tweedie"], pairs["bgg"]),
        "rank blend tweedie + P(buy), weight on held-out (a score)": _rank_blend(yv, pairs["tweedie"], pairs["p_buy"]),
        "rank blend linear_prior + P(buy), weight on held-out (a score)": _rank_blend(
            yv, pairs["linear"], pairs["p_buy"]),
        "bgnbd_gamma_gamma": base["bgnbd_gamma_gamma"].to_numpy(),
        "recent_spend": base["recent_spend"].to_numpy(),
        # the recent-spend rule ties everybody without spend in the last window; ordering those ties by
        # BG/NBD×GG (a tiny tie-breaker that keeps every other order) shows what the ties are worth
        "recent_spend, ties broken by BG/NBD×GG (a score)": tie_broken(base),
    }


def tie_broken(base: pd.DataFrame) -> np.ndarray:
    """The recent-spend rule with its ties ordered by BG/NBD×GG (every other order kept)."""
    return np.asarray(rankdata(base["recent_spend"].to_numpy())
                      + 0.5 * rankdata(base["bgnbd_gamma_gamma"].to_numpy()) / (len(base) + 1))


def run_tie_broken(model: CLTVModel, key: str, cutoffs: list[str], n_boot: int) -> list[dict[str, Any]]:
    """Spearman of ``model`` minus that of the tie-broken recent-spend rule, per cutoff and pooled
    (mean of the per-cutoff differences, resampled within each cutoff), with 95 % intervals."""
    rows, reps = [], []
    rng = np.random.default_rng(0)
    fn = BOOT_METRICS["cltv"]["spearman"].fn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = load(key)
        for cut in cutoffs:
            ts, h = pd.Timestamp(cut), pd.Timedelta(HORIZON)
            fitted = clone(model).set_params(horizon=h).fit(events, ts)
            pred = fitted.predict(events, ts).set_index("customer_id")["expected_value"]
            base = baseline_cltv_values(events, ts, h)
            truth = future_value(events, ts, h).reindex(base.index).fillna(0.0).to_numpy()
            m, b = pred.reindex(base.index).to_numpy(), tie_broken(base)
            pair = (lambda W, s=m, y=truth: fn(W, y, s), lambda W, s=b, y=truth: fn(W, y, s))
            rep = replicate_differences(len(truth), {"d": pair}, n_boot, rng)["d"]
            reps.append(rep)
            point = (M.spearman(truth, m), M.spearman(truth, b))
            low, high = interval(rep)
            rows.append({"cutoff": cut, "model": point[0], "tie_broken_recent_spend": point[1],
                         "difference": point[0] - point[1], "ci_low": low, "ci_high": high})
    pooled = [float(np.mean([r[k] for r in rows])) for k in ("model", "tie_broken_recent_spend")]
    low, high = interval(np.mean(reps, axis=0))
    rows.append({"cutoff": "pooled", "model": pooled[0], "tie_broken_recent_spend": pooled[1],
                 "difference": pooled[0] - pooled[1], "ci_low": low, "ci_high": high})
    return rows


def run_prototypes(key: str, cutoffs: list[str]) -> dict[str, Any]:
    """Point estimates (no bootstrap) of the prototype scores at every cutoff, and their mean."""
    out: dict[str, Any] = {"cutoffs": cutoffs, "scores": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = load(key)
        for cut in cutoffs:
            truth, scores = _prototype_scores(events, pd.Timestamp(cut), pd.Timedelta(HORIZON))
            for name, score in scores.items():
                metrics = {"spearman": M.spearman(truth, score), "normalized_gini": M.normalized_gini(truth, score),
                           "decile_mape": M.decile_mape(truth, score) if "score)" not in name else math.nan}
                out["scores"].setdefault(name, {})[cut] = metrics
    for per_cut in out["scores"].values():
        per_cut["mean"] = {m: float(np.mean([v[m] for v in per_cut.values()])) for m in METRICS}
    return out


def _print(name: str, dataset: str, res: dict[str, Any]) -> None:
    print(f"{name} / {dataset} ({res['seconds']:.0f} s)")
    for r in res["rows"]:
        flag = "" if not r["crosses_zero"] else "  crosses 0"
        print(f"  {r['cutoff']:<11}{r['metric']:<16}{r['model']:.4f}  bg×gg {r['bgnbd_gamma_gamma']:.4f}  "
              f"recent {r['recent_spend']:.4f}  diff {r['difference']:+.4f} [{r['ci_low']:+.4f}, "
              f"{r['ci_high']:+.4f}] vs {r['baseline_name']}{flag}")
    for r in res.get("tie_broken", []):
        print(f"  {r['cutoff']:<11}spearman vs recent spend with ties broken by BG/NBD×GG: {r['model']:.4f} vs "
              f"{r['tie_broken_recent_spend']:.4f}, diff {r['difference']:+.4f} "
              f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]")


def _save(out: Path, no_write: bool, where: tuple[str, ...], dataset: str, result: dict[str, Any],
          **fields: Any) -> None:
    """Merge one result into the JSON file (re-read first: other runs may have written meanwhile)."""
    if no_write:
        return
    payload = json.loads(out.read_text()) if out.exists() else {}
    payload.update(benchmark="cltv_directions", cxml_version=cxml.__version__)
    node = payload
    for key in where:
        node = node.setdefault(key, {})
    node.update(fields)
    node.setdefault("datasets", {})[dataset] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directions", default="default", help="comma-separated names (see --list) or 'all'")
    parser.add_argument("--datasets", default="cdnow,retail,sample", help="comma-separated: cdnow, retail, sample")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (1000 for final numbers)")
    parser.add_argument("--list", action="store_true", help="list the directions and exit")
    parser.add_argument("--prototypes", action="store_true",
                        help="also score the two-stage and rank-target prototypes (point estimates, no bootstrap)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--out", default=str(OUT), help="JSON output path (updated, not replaced)")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, settings, params) in DIRECTIONS.items():
            print(f"{name:<16} {what}  {settings} {params}")
        return 0
    names = [] if args.directions == "none" else list(DIRECTIONS) if args.directions == "all" else (
        args.directions.split(","))
    keys = args.datasets.split(",")
    out = Path(args.out)
    for name in names:
        what, settings, params = DIRECTIONS[name]
        for dataset, key, cutoffs in CASES:
            if key in keys:
                res = run_direction(make_model(settings, params), key, cutoffs, args.n_boot)
                if key == "cdnow":  # where the rule's tied zeros matter (83-87 % spend nothing)
                    res["tie_broken"] = run_tie_broken(make_model(settings, params), key, cutoffs, args.n_boot)
                _print(name, dataset, res)
                _save(out, args.no_write, ("directions", name), dataset, res,
                      description=what, settings=settings, params=params)
    for dataset, key, cutoffs in CASES if args.prototypes else []:
        if key in keys:
            proto = run_prototypes(key, cutoffs)
            for label, per_cut in proto["scores"].items():
                means = ", ".join(f"{m} {v:.4f}" for m, v in per_cut["mean"].items())
                print(f"prototype / {dataset}: {label}: {means}")
            _save(out, args.no_write, ("prototypes",), dataset, proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
