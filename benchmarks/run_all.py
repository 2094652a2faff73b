"""Run every benchmark in ``benchmarks/`` and write ``benchmarks/RESULTS.md`` from their JSON results.

Each benchmark script prints its own table and writes ``benchmarks/results/<name>.json``; this
runner starts them one after another as subprocesses (same interpreter), then renders the report
*from the JSON files only*, so every number in ``RESULTS.md`` comes from a run and none is typed in.

Modes::

    nice -n 10 python benchmarks/run_all.py                 # full runs (tens of minutes), then the report
    python benchmarks/run_all.py --only recommend,bgnbd     # some scripts, then the report
    python benchmarks/run_all.py --quick                    # smoke run of every script; writes no JSON
                                                            # and leaves RESULTS.md alone
    python benchmarks/run_all.py --report-only              # regenerate RESULTS.md from existing JSON

``--quick`` gives each script the flags that make it small *and* keep it from overwriting the
full-size results (``QUICK_ARGS``); a script not listed there is run with ``--quick --no-write``
when its ``--help`` offers both, and skipped otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
REPORT = HERE / "RESULTS.md"
README = ROOT / "README.md"
#: The part of README.md that ``write_report`` regenerates (the summary of the bars).
README_START, README_END = "<!-- benchmark-summary:start -->", "<!-- benchmark-summary:end -->"

#: Extra arguments of a full run (churn's 200k-customer fit timing is opt-in in its script).
FULL_ARGS: dict[str, list[str]] = {"churn": ["--perf"]}
#: Small sizes and no writes to ``results/``: a quick run must never clobber full-size results.
QUICK_ARGS: dict[str, list[str]] = {
    "features": ["--events", "200000", "--customers", "4000", "--no-write"],
    "recommend": ["--quick", "--no-write"],
    "churn": ["--seeds", "1", "--out", str(Path(tempfile.gettempdir()) / "cxml-bench-quick-churn.json")],
    "bgnbd": ["--customers", "2000", "--repeats", "1", "--no-write"],
    "scoring": ["--quick", "--no-write"],
    "generate": ["--quick", "--no-write"],
    "spark": ["--quick"],  # --quick writes no JSON
    "scale": ["--quick", "--no-write"],
    "backtest": ["--quick", "--no-write"],
}
#: Report order; scripts not listed come after, in name order.
ORDER = ["recommend", "churn", "backtest", "bgnbd", "features", "scoring", "scale", "scale_train", "spark", "generate"]
LIBRARIES = ["cxml", "numpy", "pandas", "scipy", "scikit-learn", "implicit", "lightgbm", "pyarrow", "mlflow"]


def discover() -> list[str]:
    """Names of the benchmark scripts (every ``benchmarks/*.py`` but this runner and private modules)."""
    names = [p.stem for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def script_args(name: str, quick: bool) -> list[str] | None:
    """Command-line arguments for one script, or None when it cannot be run quickly without writing."""
    if not quick:
        return FULL_ARGS.get(name, [])
    if name in QUICK_ARGS:
        return QUICK_ARGS[name]
    help_text = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    return ["--quick", "--no-write"] if "--quick" in help_text and "--no-write" in help_text else None


def run_scripts(names: Iterable[str], quick: bool) -> list[dict[str, Any]]:
    """Run the scripts one by one (they share the machine with nothing else of ours)."""
    runs = []
    for name in names:
        args = script_args(name, quick)
        if args is None:
            print(f"== {name}: skipped (no quick mode that writes nothing)", flush=True)
            runs.append({"name": name, "status": "skipped", "seconds": 0.0})
            continue
        cmd = [sys.executable, str(HERE / f"{name}.py"), *args]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        code = subprocess.run(cmd, cwd=ROOT).returncode
        seconds = time.perf_counter() - start
        status = "ok" if code == 0 else f"failed (exit {code})"
        print(f"== {name}: {status} in {seconds:.0f} s", flush=True)
        runs.append({"name": name, "status": status, "seconds": seconds})
    return runs


# --------------------------------------------------------------------------- report helpers


def fmt(value: Any, digits: int = 3) -> str:
    """A cell: floats rounded, booleans as pass/FAIL, missing as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "pass" if value else "**FAIL**"
    if isinstance(value, float):
        if value != value:  # NaN: a score-only baseline has no Brier score
            return "–"
        return f"{value:,.{digits}f}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: Iterable[Iterable[Any]], digits: int = 3) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v, digits) for v in row) + " |" for row in rows]
    return [*lines, ""]


def measured_at(path: Path) -> str:
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    return f"`{path.relative_to(ROOT)}`, written {stamp:%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------- one renderer per benchmark


def _label(name: str, model: str) -> str:
    return f"**cxml {model}**" if name == "model" else name


def _pair(metrics: dict[str, Any] | None) -> str:
    m = metrics or {}
    return f"{fmt(m.get('spearman'))} / {fmt(m.get('normalized_gini'))}"


#: How each recommend bar (a boolean in the JSON) reads, and the NDCG@10 numbers behind it:
#: (check, measured model, reference models, factor on their best, comparison).
RECOMMEND_BARS: dict[str, tuple[str, str, list[str], float, str]] = {
    "auto_ge_max_popularity_implicit": ("AutoRecommender NDCG@10 ≥ max(popularity, implicit defaults)",
                                        "AutoRecommender", ["popularity", "implicit defaults"], 1.0, "≥"),
    "auto_ge_095_best_oracle": ("AutoRecommender NDCG@10 ≥ 0.95 × best test-tuned oracle",
                                "AutoRecommender", ["ALS tuned on test (oracle)", "EASE tuned on test (oracle)"],
                                0.95, "≥"),
    "tuned_als_gt_implicit_defaults": ("ALS tuned on validation NDCG@10 > implicit defaults",
                                       "cxml ALS tuned (valid)", ["implicit defaults"], 1.0, ">"),
    "als_clearly_beats_popularity": ("ALS tuned on validation NDCG@10 > 1.5 × popularity",
                                     "cxml ALS tuned (valid)", ["popularity"], 1.5, ">"),
}


def _recommend_bar(ds: dict[str, Any], name: str) -> list[Any]:
    """``[check, measured, target]`` of one recommend bar, the numbers taken from the dataset's table."""
    if name not in RECOMMEND_BARS:
        return [f"{ds['dataset']}: {name}", None, None]
    check, model, refs, factor, op = RECOMMEND_BARS[name]
    ndcg = {r.get("model"): r.get("ndcg") for r in ds.get("table", [])}
    ref_values = [ndcg.get(r) for r in refs]
    if ndcg.get(model) is None or any(v is None for v in ref_values):
        return [f"{ds['dataset']}: {check}", None, None]
    return [f"{ds['dataset']}: {check}", ndcg[model], f"{op} {fmt(factor * max(ref_values))}"]


def render_recommend_scale(scale: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    """Wide catalogues (issue 14): one row per (data, model) run, and the targets as bars."""
    out: list[str] = []
    cols = ["customers", "items", "rows", "model", "fit_seconds", "recommend_all_seconds", "peak_rss_gb",
            "ndcg", "trials_run", "trials_skipped", "error"]
    for key, title in (("targets", "Wide catalogues (issue 14 targets)"), ("big", "100k × 50k × 5M"),
                       ("sweep", "Wide catalogues: sweep")):
        rows = scale.get(key) or []
        if rows:
            out += [f"#### {title}", "", "peak_rss_gb: absolute process RSS in GiB, data included.", ""]
            out += table(cols, ([r.get(c) for c in cols] for r in rows))
            out += [f"- {r['customers']:,} × {r['items']:,} {r['model']} skipped: " + "; ".join(r["skipped"])
                    for r in rows if r.get("skipped")] + [""]
            if scale.get(f"{key}_note"):
                out += [f"Conditions: {scale[f'{key}_note']}.", ""]
            cap = scale.get(f"{key}_timeout_seconds")
            if cap:
                out += [f"Each (data, model) run is capped at {cap:g} s: a run past the cap shows `not finished "
                        f"within {cap:g} s` (a time cap, not a failure of the model); Auto runs with its default "
                        "time_budget=120.", ""]
    sparse = scale.get("ease_sparse") or []
    if sparse:
        out += ["#### EASE on the most popular items vs a sparse approximate EASE (SANSA-style)", "",
                "Sparse variant: Gram cut to its top `gram_top` entries per column, sparse LU, `B` pruned to "
                "`keep` weights per column, over all items (benchmarks/_ease_sparse.py).", ""]
        cols_s = ["data", "model", "train_items", "fit_seconds", "peak_rss_gb", "ndcg", "error"]
        out += table(cols_s, ([r.get(c) for c in cols_s] for r in sparse)) + [""]

    def run(c: int, i: int, n: int, m: str) -> dict[str, Any]:
        return next((r for rs in scale.values() if isinstance(rs, list) for r in rs
                     if (r.get("customers"), r.get("items"), r.get("rows"), r.get("model")) == (c, i, n, m)), {})

    for (c, i, n, m), field, limit, label in [
        ((2500, 20000, 75000, "auto"), "total_seconds", 60, "Auto fit+recommend-all, 2.5k×20k×75k, s"),
        ((2500, 20000, 75000, "auto"), "peak_rss_gb", 2, "Auto peak RSS, 2.5k×20k×75k, GB"),
        ((20000, 20000, 1000000, "auto"), "total_seconds", 120, "Auto fit+recommend-all, 20k×20k×1M, s"),
        ((20000, 20000, 1000000, "auto"), "peak_rss_gb", 3, "Auto peak RSS, 20k×20k×1M, GB"),
        ((20000, 20000, 1000000, "auto_budget10"), "fit_seconds", 30, "Auto time_budget=10 fit, 20k×20k×1M, s"),
        ((100000, 50000, 5000000, "auto"), "total_seconds", 600, "Auto fit+recommend-all, 100k×50k×5M, s"),
        ((100000, 50000, 5000000, "auto"), "peak_rss_gb", 6, "Auto peak RSS, 100k×50k×5M, GB")]:
        if not scale:
            break
        v = run(c, i, n, m).get(field)
        # a run that did not finish has no value: the target is not met
        bars.append(["recommend", label, "not finished" if v is None else v, f"< {limit}",
                     v is not None and v < limit])
    b10 = run(20000, 20000, 1000000, "auto_budget10")
    if b10:
        bars.append(["recommend", "time_budget=10 leaderboard lists skipped trials", b10.get("trials_skipped"),
                     "> 0", (b10.get("trials_skipped") or 0) > 0])
    return out


def render_recommend(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    out = ["Protocol: " + str(d.get("protocol", "PROTOCOL.md")) + ". Oracle rows are tuned on the test period: "
           "ceilings, not results.", ""]
    metrics = ["ndcg", "recall", "precision", "map", "mrr", "hit_rate", "coverage", "n_users", "fit_seconds"]
    for ds in d.get("datasets", []):
        out += [f"#### {ds['dataset']}", "",
                f"{fmt(ds.get('events'))} events; train {fmt(ds.get('train_customers'))} customers × "
                f"{fmt(ds.get('train_items'))} items; cut {ds.get('cut')}; {fmt(ds.get('test_rows'))} test rows.", ""]
        out += table(["model", *metrics, "note"],
                     ([r.get("model"), *(r.get(m) for m in metrics), r.get("note", "")] for r in ds.get("table", [])),
                     digits=4)
        refs = ds.get("reference_ndcg") or {}
        if refs:
            out += ["Independently measured reference NDCG@10 (issue): "
                    + ", ".join(f"{k} {fmt(v)}" for k, v in refs.items()), ""]
        if "auto_ratio_to_best_oracle" in ds:
            out += [f"AutoRecommender NDCG / best oracle NDCG: {fmt(ds['auto_ratio_to_best_oracle'])}", ""]
        ds_bars = sorted((ds.get("bars") or {}).items())
        out += table(["bar", "result"], ds_bars)
        bars += [["recommend", *_recommend_bar(ds, name), ok] for name, ok in ds_bars]
    perf = d.get("performance")
    if perf:
        best = perf.get("best_seconds", {})
        out += ["#### Speed against raw implicit", "",
                f"{fmt(perf.get('customers'))} customers × {fmt(perf.get('items'))} items, "
                f"{fmt(perf.get('purchase_rows'))} purchase rows; params {perf.get('params')}; "
                f"threads: {perf.get('threads')}; {perf.get('repeats')} alternating repeats.", ""]
        phases = sorted({k for side in best.values() for k in side})
        out += table(["engine", *[f"{p} s" for p in phases]],
                     ([side, *(v.get(p) for p in phases)] for side, v in best.items()))
        ratio, target = perf.get("ratio_median_of_pairs"), perf.get("target_ratio")
        verdict = None if ratio is None or target is None else ratio <= target
        bars.append(["recommend", "fit + recommend time, cxml / raw implicit", ratio, f"≤ {target}", verdict])
        out += table(["measure", "value"], [
            ["cxml / raw total time (median of pairs)", ratio],
            ["cxml / raw (best to best)", perf.get("ratio_best_to_best")],
            ["target ratio (at most)", target],
            ["meets target", verdict],
            ["cxml seconds outside implicit (median)", perf.get("cxml_seconds_outside_implicit_median")],
            ["raw seconds outside implicit (median)", perf.get("raw_seconds_outside_implicit_median")],
            ["recommend customers/s, cxml", perf.get("cxml_recommend_customers_per_second")],
            ["recommend customers/s, raw", perf.get("raw_recommend_customers_per_second")],
        ])
    out += render_recommend_scale(d.get("scale") or {}, bars)
    return out


def render_churn(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    out = ["Protocol: " + str(d.get("protocol", "PROTOCOL.md Churn and CLTV")) + ".", ""]
    cm = ["roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10"]
    vm = ["spearman", "normalized_gini", "mae", "rmse", "decile_mape"]
    for case in d.get("cases", []):
        out += [f"#### {case['case']}, as_of {case['as_of']}, horizon {case.get('horizon')}", "",
                f"{fmt(case.get('n_customers'))} customers, churn rate {fmt(case.get('churn_rate'))}; "
                f"ChurnModel fit {fmt(case.get('churn_fit_seconds'), 1)} s, "
                f"CLTVModel fit {fmt(case.get('cltv_fit_seconds'), 1)} s.", ""]
        out += table(["churn scorer", *cm], ([_label(n, "ChurnModel"), *(m.get(k) for k in cm)]
                                             for n, m in case["churn"].items()))
        if case.get("churn_roc_auc_by_seed"):
            out += ["ChurnModel ROC-AUC by seed: " + ", ".join(fmt(v) for v in case["churn_roc_auc_by_seed"]), ""]
        out += table(["CLTV predictor", *vm], ([_label(n, "CLTVModel"), *(m.get(k) for k in vm)]
                                               for n, m in case["cltv"].items()))
        where = f"{case['case']} {case['as_of']}"
        bars += [
            ["churn", f"{where}: ROC-AUC > best baseline", case["churn"].get("model", {}).get("roc_auc"),
             f"> {fmt(case['churn'].get(case.get('best_churn_baseline'), {}).get('roc_auc'))}",
             case.get("churn_bar_met_all_seeds", case.get("churn_bar_met"))],
            ["cltv", f"{where}: Spearman / Gini ≥ BG/NBD × Gamma-Gamma", _pair(case["cltv"].get("model")),
             "≥ " + _pair(case["cltv"].get("bgnbd_gamma_gamma")), case.get("cltv_bar_met")],
        ]
        out += table(["bar", "result"], [
            [f"churn ROC-AUC > best baseline ({case.get('best_churn_baseline')})", case.get("churn_bar_met")],
            ["… for every seed", case.get("churn_bar_met_all_seeds")],
            ["CLTV Spearman and Gini ≥ BG/NBD × Gamma-Gamma", case.get("cltv_bar_met")],
        ])
    perf = d.get("perf")
    if perf:
        target = perf.get("target_seconds")
        out += ["#### ChurnModel.fit speed", ""]
        bars.append(["churn", f"ChurnModel.fit on {fmt(perf.get('n_customers'))} customers, s",
                     perf.get("fit_seconds"), f"< {target}",
                     None if target is None else perf.get("fit_seconds", float("inf")) < target])
        out += table(["customers", "events", "snapshots", "training rows", "fit s", "target s", "meets target"], [[
            perf.get("n_customers"), perf.get("n_events"), perf.get("snapshots"), perf.get("training_rows"),
            perf.get("fit_seconds"), target,
            None if target is None else perf.get("fit_seconds", float("inf")) < target,
        ]])
        if perf.get("round2_settings_fit_seconds") is not None:
            out += [f"Same run, same data, round 2's settings (no rhythm features, linear prior or blend; isotonic; "
                    f"larger trees): {fmt(perf.get('round2_settings_fit_seconds'), 1)} s; issue 19's defaults take "
                    f"{fmt(perf.get('fit_over_round2_settings'), 2)}× that (a ratio the machine's load cancels).", ""]
    return out


def render_bgnbd(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    out = [f"{fmt(d.get('n_customers'))} synthetic customers, {fmt(d.get('n_events'))} events, "
           f"best of {d.get('repeats')} repeats.", ""]
    out += table(["step", "seconds"], (d.get("seconds") or {}).items())
    out += table(["target s (fit)", "passes"], [[d.get("target_seconds"), d.get("passes_target")]])
    bars.append(["bgnbd", f"fits on {fmt(d.get('n_customers'))} customers, s",
                 max((d.get("seconds") or {}).values(), default=None), f"< {d.get('target_seconds')}",
                 d.get("passes_target")])
    true = d.get("true_params") or {}
    fits = {k: v for k, v in d.items() if k.startswith("recovered_") and isinstance(v, dict)}
    if true:
        out += ["Parameter recovery (simulated from the true parameters):", ""]
        out += table(["param", "true", *fits], ([p, t, *(f.get(p) for f in fits.values())] for p, t in true.items()))
    hold = d.get("holdout")
    if hold:
        out += table(["hold-out purchases", "expected", "actual"],
                     [["total", hold.get("expected"), hold.get("actual")]])
    if d.get("converged"):
        out += table(["fit converged", "result"], d["converged"].items())
    return out


def render_features(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    out = [f"{fmt(d.get('events'))} events, {fmt(d.get('customers_at_as_of'))} customers at {d.get('as_of')}, "
           f"{d.get('n_features')} features, windows {d.get('windows')}.", ""]
    rows = d.get("rows", [])
    out += table(["engine", "events", "seconds", "peak RSS GB", "peak above start GB"],
                 ([r.get("engine"), r.get("events"), r.get("seconds"), r.get("peak_rss_gb"),
                   r.get("peak_above_start_gb")] for r in rows))
    targets = d.get("targets") or {}
    full = [r for r in rows if r.get("events") == d.get("events") and str(r.get("engine", "")).startswith("cxml")]
    checks: list[list[Any]] = []
    if full and "seconds" in targets:
        checks.append([f"cxml on {fmt(d.get('events'))} events, seconds", full[0].get("seconds"),
                       f"< {targets['seconds']}", full[0].get("seconds", float("inf")) < targets["seconds"]])
    if "speedup_same_events" in d and "speedup" in targets:
        checks.append(["speed-up over pandas groupby/apply (same events)", d["speedup_same_events"],
                       f"≥ {targets['speedup']}", d["speedup_same_events"] >= targets["speedup"]])
    if "max_rss_process_gb" in d and "peak_rss_gb" in targets:
        checks.append(["peak RSS of the process, GB", d["max_rss_process_gb"], f"< {targets['peak_rss_gb']}",
                       d["max_rss_process_gb"] < targets["peak_rss_gb"]])
    fp = d.get("fast_path") or {}
    if fp:
        checks.append([f"events contract (as_events fast path, {fmt(fp.get('as_events_ms'), 2)} ms), % of the run",
                       fp.get("share_of_features_pct"), f"< {fp.get('target_pct')}",
                       fp.get("share_of_features_pct", float("inf")) < fp.get("target_pct", 0)])
    agree = d.get("agreement") or {}
    if agree:
        checks.append(["same results as the reference", f"{agree.get('columns_compared')} columns compared",
                       "no differing column", bool(agree.get("same_customers")) and not agree.get("columns_differing")])
    out += table(["check", "measured", "target", "result"], checks)
    bars += [["features", *c] for c in checks]
    return out


def render_scoring(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    out: list[str] = []
    batch = d.get("batch") or {}
    if batch:
        out += [f"Batch: {fmt(batch.get('customers'))} customers, {fmt(batch.get('events'))} events, "
                f"{fmt(batch.get('items'))} items, as_of {batch.get('as_of')}, k={batch.get('k')}; model fits (s): "
                + ", ".join(f"{k} {fmt(v, 1)}" for k, v in (batch.get("fit_seconds") or {}).items()), ""]
        out += table(["chunk size", "score s", "customers/s", "peak RSS GB", "rows written", "duplicates"], (
            [r.get("chunk_size"), r.get("score_seconds"), r.get("customers_per_second"),
             (r.get("peak_during_score_bytes") or 0) / 2**30, r.get("rows_written"), r.get("duplicates")]
            for r in batch.get("runs", [])), digits=2)
    lat = d.get("latency") or {}
    if lat:
        out += [f"Latency: {fmt(lat.get('customers'))} customers × {fmt(lat.get('items'))} items, "
                f"{lat.get('factors')} factors; top items identical to the numpy floor: "
                f"{lat.get('same_top_items_as_floor')}.", ""]
        rows = lat.get("rows") or {}
        out += table(["call", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                     ([n, r.get("calls"), r.get("p50_ms"), r.get("p90_ms"), r.get("p99_ms"), r.get("max_ms")]
                      for n, r in rows.items()))
        target = lat.get("target_p99_ms")
        # the script's own verdict: p99 of one known customer's Scorer.recommend under the target
        one = rows.get("Scorer.recommend, one known customer", {}).get("p99_ms")
        if target is not None and one is not None:
            out += table(["bar", "measured p99 ms", "target ms", "result"],
                         [["Scorer.recommend, one known customer: p99 <", one, target, one < target]])
            bars.append(["scoring", "Scorer.recommend p99 latency, ms", one, f"< {target}", one < target])
        floor = rows.get("numpy U[u] @ V.T + mask + argpartition (floor)", {}).get("p50_ms")
        if one is not None and floor:
            p50 = rows["Scorer.recommend, one known customer"].get("p50_ms")
            out += [f"Scorer.recommend p50 / numpy floor p50: {fmt(p50 / floor, 1)}×", ""]
    return out


def render_generate(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    rows = d.get("rows") or []
    out = table(["case", "customers", "items", "target rows", "rows", "off target %", "seconds", "rows/s",
                 "peak RSS GB"],
                ([r.get("case"), r.get("customers"), r.get("items", ""), r.get("target_events"), r.get("rows"),
                  r.get("target_deviation_pct"), r.get("seconds"), r.get("rows_per_s"), r.get("peak_rss_gb")]
                 for r in rows), digits=2)
    datasets = sorted((r for r in rows if r.get("case") == "write_dataset"), key=lambda r: r.get("rows", 0))
    five = next((r for r in datasets if r.get("target_events") == 5_000_000), None)
    if five is not None:
        bars.append(["generate", "write_dataset (cxml sample --events): 100k customers / 5M events, s",
                     five["seconds"], "< 120", five["seconds"] < 120])
    if len(datasets) >= 2 and datasets[0].get("peak_rss_gb"):
        ratio = datasets[-1]["peak_rss_gb"] / datasets[0]["peak_rss_gb"]
        bars.append(["generate", f"peak RSS, {fmt(datasets[-1]['rows'])} over {fmt(datasets[0]['rows'])} rows",
                     round(ratio, 2), "≤ 1.25 (flat in size)", ratio <= 1.25])
    return out


#: the rows of each dataset shown in RESULTS.md (every row is in results/backtest.json)
BACKTEST_HEADLINE = (("churn", "roc_auc"), ("churn", "brier"), ("cltv", "spearman"), ("cltv", "normalized_gini"),
                     ("recommend", "ndcg"))
_LOWER_IS_BETTER = {"brier", "log_loss", "mae", "rmse", "decile_mape"}


#: issue 19's margins over the strongest baseline: pooled difference at least this, every cutoff above 0
ISSUE19_MARGINS = (("churn", "roc_auc", 0.01), ("cltv", "spearman", 0.02), ("cltv", "normalized_gini", 0.02))


def _margin_bar(case: dict[str, Any], rows: list[dict[str, Any]], task: str, metric: str,
                margin: float) -> list[Any] | None:
    """Issue 19's bar of one dataset, task and metric: the pooled margin and the cutoffs whose interval is above 0."""
    mine = [r for r in rows if (r.get("task"), r.get("metric")) == (task, metric)]
    if not mine:
        return None
    pooled = [r.get("difference") for r in mine if r.get("cutoff") == "pooled"]
    cuts = [r for r in mine if r.get("cutoff") != "pooled"]
    above = sum(1 for r in cuts if (r.get("ci_low") or 0) > 0)
    diff = pooled[0] if pooled else None
    return ["backtest", f"{case.get('dataset')}: {task} {metric} − strongest baseline, pooled margin; cutoffs "
            "with the interval above 0 (issue 19)", f"{fmt(diff)}; {above} of {len(cuts)}", f"≥ {margin:.3f}; all",
            diff is not None and diff >= margin and above == len(cuts)]


def _backtest_verdict(row: dict[str, Any]) -> str:
    diff, low, high = row.get("difference"), row.get("ci_low"), row.get("ci_high")
    if diff is None or low is None or high is None or diff != diff or low != low or high != high:
        return "no interval"
    if row.get("crosses_zero"):
        return "**interval crosses zero: no clear difference**"
    better = (diff < 0) if row.get("metric") in _LOWER_IS_BETTER else (diff > 0)
    return "model better" if better else "**model worse**"


def render_backtest(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    speed = d.get("speed") or {}
    if speed:
        bars.append(["backtest", f"paired bootstrap, {fmt(speed.get('n_boot'))} resamples × "
                     f"{fmt(speed.get('customers'))} customers, all {len(speed.get('seconds') or {})} churn/CLTV "
                     "metrics, s", speed.get("total_seconds"), f"< {speed.get('target_seconds')}",
                     speed.get("passes_target")])
    cov = d.get("coverage") or {}
    out = [f"(a) Coverage of the 95 % paired-bootstrap interval of the difference model − baseline, on a churn "
           f"process whose truth is known ({cov.get('process')}): {fmt(cov.get('seeds'))} seeds × "
           f"{fmt(cov.get('customers'))} customers, {fmt(cov.get('n_boot'))} resamples; the pooled interval "
           "averages three independent cutoffs resampled within each. Bar: 90–99 %.", ""]
    metrics = cov.get("metrics") or {}
    out += table(["metric", "true difference", "coverage", "pooled coverage", "mean width", "bar 90–99 %"],
                 ([m, r.get("true_difference"), r.get("coverage"), r.get("pooled_coverage"), r.get("mean_width"),
                   r.get("bar_met")] for m, r in metrics.items()))
    for m, r in metrics.items():
        bars.append(["backtest", f"95 % interval coverage of the churn {m} difference (single / pooled cutoffs)",
                     f"{fmt(r.get('coverage'))} / {fmt(r.get('pooled_coverage'))}", "0.90–0.99", r.get("bar_met")])
    out += ["(b) Rolling-origin backtests with the default models of `cxml.evaluate.backtest` (refitted at each "
            "cutoff on the events before it), 90-day horizon, against the strongest baseline of each cutoff and "
            "metric. Headline metrics below; every metric is in `results/backtest.json`.", ""]
    for case in d.get("datasets") or []:
        headline = (*BACKTEST_HEADLINE, ("churn", "log_loss"), ("cltv", "decile_mape"))  # issue 19: calibration
        rows = [r for r in case.get("rows", []) if (r.get("task"), r.get("metric")) in headline]
        out += [f"**{case.get('dataset')}**: cutoffs {', '.join(case.get('cutoffs', []))}; "
                f"{fmt(case.get('seconds'), 0)} s.", ""]
        out += table(["cutoff", "task", "metric", "model", "strongest baseline", "baseline", "difference",
                      "95 % interval", "verdict"],
                     ([r.get("cutoff"), r.get("task"), r.get("metric"), r.get("model"), r.get("baseline_name"),
                       r.get("baseline"), r.get("difference"), f"[{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]",
                       _backtest_verdict(r)] for r in rows))
        crossing = list(case.get("crosses_zero", []))
        out += [f"Intervals that cross zero ({len(crossing)} of {len(case.get('rows', []))} rows, all metrics): "
                + (", ".join(crossing) if crossing else "none") + ".", ""]
        for task, metric, margin in ISSUE19_MARGINS:
            bar = _margin_bar(case, rows, task, metric, margin)
            if bar:
                bars.append(bar)
        for r in rows:
            if r.get("cutoff") == "pooled":
                no_worse = r.get("metric") in _LOWER_IS_BETTER  # issue 19: calibration no worse than the baseline
                bars.append(["backtest", f"{case.get('dataset')}, pooled over {len(case.get('cutoffs', []))} cutoffs: "
                             f"{r.get('task')} {r.get('metric')} − {r.get('baseline_name')}",
                             f"{fmt(r.get('difference'))} [{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]",
                             "interval not on the worse side of 0" if no_worse else "interval on the better side of 0",
                             _backtest_verdict(r) != "**model worse**" if no_worse
                             else _backtest_verdict(r) == "model better"])
    return out


def render_churn_directions(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    """Issue 19: every ChurnModel direction tried, with its backtest (pooled and per cutoff)."""
    out = [f"Every direction tried for ChurnModel (issue 19), backtested like `backtest.py` (churn only, 90-day "
           f"horizon, refit at every cutoff, {fmt(d.get('n_boot'))} resamples while exploring). ROC-AUC is "
           "against the strongest baseline of each cutoff; Brier and log-loss against the best purchase-model "
           "probability (lower is better, so negative = model better). \"cutoffs > 0\" counts the cutoffs whose "
           f"ROC-AUC interval is above zero. Kept as the default: **{d.get('final')}**.", ""]
    rows = []
    for name, e in (d.get("directions") or {}).items():
        for ds, v in (e.get("datasets") or {}).items():
            got = {(r.get("cutoff"), r.get("metric")): r for r in v.get("rows", [])}
            auc = got.get(("pooled", "roc_auc"), {})
            cuts = [r for (c, m), r in got.items() if m == "roc_auc" and c != "pooled"]
            above = sum(1 for r in cuts if (r.get("ci_low") or 0) > 0)
            brier, loss = got.get(("pooled", "brier"), {}), got.get(("pooled", "log_loss"), {})
            what = e.get("what", "") + (f" — *{e['note']}*" if e.get("note") else "")
            rows.append([name, ds, auc.get("model"), auc.get("difference"),
                         f"[{fmt(auc.get('ci_low'))}, {fmt(auc.get('ci_high'))}]", f"{above} of {len(cuts)}",
                         brier.get("difference"), loss.get("difference"), what])
    out += table(["direction", "dataset", "ROC-AUC", "− baseline", "95 % interval", "cutoffs > 0", "Brier diff",
                  "log-loss diff", "what"], rows, digits=4)
    in_period = d.get("in_period") or {}
    if in_period:
        out += ["", "**In-period cross-fit** (not a forecast): at each cutoff, models fitted by 5-fold "
                "cross-validation on that cutoff's own labels — a logistic regression on the linear prior's "
                "four columns and LightGBM on every ChurnModel feature — against the strongest baseline of that "
                "cutoff. Not a strict bound (the forecast trains on two snapshots and starts from the BG/NBD "
                "prior, and at some cutoffs beats it), but where it stays near zero the features show little "
                "ranking signal beyond the baseline.", ""]
        out += table(["dataset", "cutoff", "model (cross-fitted in period)", "ROC-AUC", "− baseline", "95 % interval",
                      "baseline"],
                     [[ds, r.get("cutoff"), r.get("name"), r.get("model"), r.get("difference"),
                       f"[{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]", r.get("baseline_name")]
                      for ds, rs in in_period.items() for r in rs], digits=4)
    return out


def render_spark(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    b = d.get("batch") or {}
    out = [f"{fmt(b.get('customers'))} customers, {fmt(b.get('events'))} events, as_of {b.get('as_of')}; "
           f"load average at the start {fmt(d.get('loadavg_1min'), 1)} on {d.get('cpus')} cores. Spark is the "
           "path past one machine, not a faster one: on 2 cores it pays for the JVM, Arrow transfers and "
           "shuffles. Converting the pandas events to Spark (not counted below) took "
           f"{fmt(b.get('pandas_to_spark_seconds'), 1)} s.", ""]
    out += table(["path", "runs (s)", "customers/s (best run)"], [
        ["Scorer.score, one machine", ", ".join(fmt(x, 1) for x in b.get("single_machine_seconds", [])),
         b.get("single_machine_customers_per_second")],
        ["cxml.spark.score, local[2]", ", ".join(fmt(x, 1) for x in b.get("spark_local2_seconds", [])),
         b.get("spark_local2_customers_per_second")],
    ], digits=0)
    ratio = b.get("spark_over_single_time_ratio")
    out += [f"Spark local[2] / one machine, time: {fmt(ratio, 2)}×; identical rows: {b.get('identical_rows')}.", ""]
    if "identical_rows" in b:
        bars.append(["spark", "cxml.spark.score rows equal Scorer.score rows (same events)", b["identical_rows"],
                     "True", bool(b["identical_rows"])])
    return out


#: issue 15's targets for `cxml score` streaming a parquet dataset: (seconds, peak RSS GB) by size
SCALE_TARGETS = {"200k": (180, 2.0), "1M": (600, 8.0)}


def render_scale(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    b = d.get("bundle") or {}
    out = [f"`Scorer.score` on generated parquet datasets, budget {d.get('budget')}, chunk size "
           f"{fmt(d.get('chunk_size'))}; the bundle (ALS, churn {fmt(b.get('churn_trees'))} trees, CLTV "
           f"{fmt(b.get('cltv_trees'))} trees) was fitted on {b.get('fitted_on')}, so most scored customers get "
           "the cold-start ranking. Each run is a fresh process; load average in the last column. Within "
           "scoring: reading the buckets back, churn and CLTV (features + LightGBM each), recommendations; "
           "LightGBM s is the time inside the boosters' predict (the model's share, not the data path's).", ""]
    gb = 1024**3
    rows = []
    for r in d.get("runs") or []:
        sec = (r.get("summary") or {}).get("seconds") or {}
        rows.append([r.get("size"), r.get("mode"), r.get("customers"), r.get("events"),
                     (r.get("summary") or {}).get("buckets", ""), sec.get("bucketing", ""), sec.get("population", ""),
                     sec.get("scoring", ""), sec.get("reading", ""), sec.get("churn", ""), sec.get("cltv", ""),
                     sec.get("recommend", ""), r.get("lightgbm_seconds", ""), r.get("seconds"),
                     (r.get("peak_rss") or 0) / gb, r.get("loadavg")])
        target = SCALE_TARGETS.get(str(r.get("size")))
        if target and r.get("mode") == "streaming":
            seconds, peak = r.get("seconds") or float("inf"), (r.get("peak_rss") or 0) / gb
            bars.append(["scale", f"cxml score streaming {r.get('size')} customers: seconds / peak RSS GB",
                         f"{fmt(seconds, 0)} / {fmt(peak, 2)}", f"< {target[0]} / < {target[1]}",
                         seconds < target[0] and peak < target[1]])
    out += table(["size", "mode", "customers", "events", "buckets", "bucketing s", "population s", "scoring s",
                  "reading s", "churn s", "CLTV s", "recommend s", "LightGBM s", "total s", "peak RSS GB", "load"],
                 rows, digits=1)
    eq = d.get("equality") or {}
    if eq:
        out += [f"At {eq.get('size')} the streaming output equals the in-memory output: {eq.get('equal')} "
                f"({fmt(eq.get('rows'))} rows); streaming / in-memory time {fmt(eq.get('time_ratio'), 2)}.", ""]
        bars.append(["scale", f"streaming = in-memory output at {eq.get('size')}; time ratio",
                     f"{eq.get('equal')}; {fmt(eq.get('time_ratio'), 2)}", "True; ≤ 1.2",
                     bool(eq.get("equal")) and (eq.get("time_ratio") or 9) <= 1.2])
    return out


def _cltv_cell(row: dict[str, Any] | None) -> str:
    """``model (diff [low, high])`` of one CLTV directions row; the difference is against the strongest baseline."""
    if not row:
        return "–"
    mark = "" if row.get("crosses_zero") else "*"
    return (f"{fmt(row.get('model'))} ({fmt(row.get('difference'), 3)}{mark} "
            f"[{fmt(row.get('ci_low'))}, {fmt(row.get('ci_high'))}])")


def render_cltv_directions(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    """Every CLTV direction of issue 19 (benchmarks/_cltv_directions.py), pooled and per cutoff."""
    out = ["Every `CLTVModel` variant tried for issue 19, backtested with `cxml.evaluate.backtest` (90-day "
           "horizon, the cutoffs of the backtest section, the backtest's default `n_snapshots=2` unless a direction "
           "says otherwise). Cells: model value (model − strongest baseline of that cutoff and metric [95 % "
           "paired-bootstrap interval]; `*` = the interval excludes 0). Lower decile MAPE is better. The pooled "
           "rows follow; per-cutoff rows are in `results/cltv_directions.json`.", ""]
    out += ["\"Gini > 0\" counts the cutoffs whose Gini interval against the strongest baseline (BG/NBD × "
            "Gamma-Gamma, or recent spend where it is stronger) lies above 0. On "
            "CDNOW, where 83–87 % of the customers spend nothing in the window and the recent-spend rule ties them, "
            "\"vs tie-broken\" is the pooled Spearman minus that of the rule with its ties ordered by BG/NBD × "
            "Gamma-Gamma [95 % interval]: what the ranking is worth without the ties.", ""]
    directions = d.get("directions") or {}
    datasets = sorted({ds for entry in directions.values() for ds in (entry.get("datasets") or {})})
    for ds in datasets:
        rows = []
        for name, entry in directions.items():
            res = (entry.get("datasets") or {}).get(ds)
            if not res:
                continue
            pooled = {r.get("metric"): r for r in res.get("rows", []) if r.get("cutoff") == "pooled"}
            gini = [r for r in res.get("rows", [])
                    if r.get("metric") == "normalized_gini" and r.get("cutoff") != "pooled"]
            above = sum(1 for r in gini if (r.get("ci_low") or 0) > 0)
            tie = next((r for r in res.get("tie_broken") or [] if r.get("cutoff") == "pooled"), None)
            tie_cell = "–" if tie is None else (f"{fmt(tie.get('difference'), 3)} [{fmt(tie.get('ci_low'))}, "
                                                f"{fmt(tie.get('ci_high'))}]")
            rows.append([name, entry.get("description"), res.get("n_boot"),
                         *(_cltv_cell(pooled.get(m)) for m in ("spearman", "normalized_gini", "decile_mape")),
                         f"{above} of {len(gini)}", tie_cell])
        out += [f"**{ds}**", ""]
        out += table(["direction", "what", "resamples", "Spearman", "normalized Gini", "decile MAPE", "Gini > 0",
                      "vs tie-broken"], rows)
    protos = d.get("prototypes", {}).get("datasets") or {}
    if protos:
        out += ["Prototypes outside `CLTVModel` (two-stage and rank-target models, and the recent-spend rule with its "
                "ties broken), trained on the same snapshots with the small-tree settings: point estimates (no "
                "resampling), mean over the cutoffs; a score (not a value) has no decile MAPE.", ""]
        for ds, proto in protos.items():
            out += [f"**{ds}** (cutoffs {', '.join(proto.get('cutoffs', []))})", ""]
            means = {name: per_cut.get("mean", {}) for name, per_cut in proto.get("scores", {}).items()}
            out += table(["scorer", "Spearman", "normalized Gini", "decile MAPE"],
                         ([name, m.get("spearman"), m.get("normalized_gini"), m.get("decile_mape")]
                          for name, m in means.items()), digits=4)
    in_period = {ds: rs for ds, rs in (d.get("in_period") or {}).items() if isinstance(rs, list)}
    if in_period:
        out += ["**In-period cross-fit** (`_cltv_in_period.py`; not a forecast): at each cutoff, LightGBM models "
                "fitted by 5-fold cross-validation on that cutoff's own 90-day spend, scored out of fold, against "
                "the baseline of each of the issue's ranking bars (Spearman vs the recent-spend rule, Gini vs "
                f"BG/NBD × Gamma-Gamma), {fmt((d.get('in_period') or {}).get('n_boot'))} paired resamples. "
                "Hindsight, so where even these stay below a bar the features show little signal for it.", ""]
        out += table(["dataset", "cutoff", "model (cross-fitted in period)", "metric", "model value", "baseline",
                      "− baseline", "95 % interval"],
                     [[ds, r.get("cutoff"), r.get("name"), r.get("metric"), r.get("model"),
                       f"{r.get('baseline_name')} {fmt(r.get('baseline'), 4)}", r.get("difference"),
                       f"[{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]"]
                      for ds, rs in in_period.items() for r in rs], digits=4)
    tied = {ds: rs for ds, rs in (d.get("tied") or {}).items() if isinstance(rs, list)}
    if tied:
        out += ["", "**What ties are worth to Spearman** (`_cltv_in_period.py --tied`): CLTVModel's default forecast "
                "at each cutoff (fitted on the past only), and the same forecast with its lowest n0 customers set to "
                "their mean, n0 being the customers the recent-spend rule ties at zero. Spearman's numerator ignores "
                "the order inside the block of equal truths (the non-buyers) while ties shrink its denominator, so "
                "the tied forecast ranks \"better\" with less information; normalized Gini, which counts that order, "
                "drops. The default keeps its untied forecast.", ""]
        out += table(["dataset", "cutoff", "forecast", "n0", "metric", "model value", "baseline", "− baseline",
                      "95 % interval"],
                     [[ds, r.get("cutoff"), r.get("name"), r.get("n0"), r.get("metric"), r.get("model"),
                       f"{r.get('baseline_name')} {fmt(r.get('baseline'), 4)}", r.get("difference"),
                       f"[{fmt(r.get('ci_low'))}, {fmt(r.get('ci_high'))}]"]
                      for ds, rs in tied.items() for r in rs], digits=4)
    return out


#: issue 15's target for `cxml train` on a parquet dataset bigger than memory: (seconds, peak RSS GB) by size
SCALE_TRAIN_TARGETS = {"1M": (1800, 12.0)}


def render_scale_train(d: dict[str, Any], bars: list[list[Any]]) -> list[str]:
    """benchmarks/scale_train.py: `cxml train` streamed (and in memory, the reference) per stage."""
    out = [f"`cxml.tracking.train` on generated parquet datasets (ALS, churn 90D, CLTV 180D with their defaults; "
           f"MLflow sqlite, bundle, pyfunc model and report logged). Streamed runs get a budget of "
           f"{d.get('budget_per_million')} per million customers, so every size trains LightGBM on the same share "
           "of customers; in-memory runs are the reference on the same machine. Each run is a fresh process; "
           "the load average at its start is in the last column (2 cores shared).", ""]
    gb = 1024**3
    rows, times = [], {}
    for r in d.get("runs") or []:
        s, sc = r.get("stages") or {}, r.get("scale") or {}
        peak = (r.get("child_maxrss") or r.get("peak_rss") or 0) / gb
        times[(r.get("size"), r.get("mode"))] = r.get("seconds")
        rows.append([r.get("size"), r.get("mode"), r.get("customers"), r.get("events"),
                     sc.get("scale.buckets", "–"), sc.get("scale.sample_customers", r.get("customers")),
                     s.get("read_and_summary", s.get("read")), s.get("btyd"), s.get("lightgbm"),
                     s.get("recommender"), s.get("logging"), r.get("seconds"), peak,
                     (r.get("loadavg_start") or [None])[0]])
        target = SCALE_TRAIN_TARGETS.get(str(r.get("size")))
        if target and r.get("mode") == "streamed":
            seconds = r.get("seconds") or float("inf")
            bars.append(["scale_train", f"cxml train streamed {r.get('size')} customers: seconds / peak RSS GB",
                         f"{fmt(seconds, 0)} / {fmt(peak, 2)}", f"< {target[0]} / < {target[1]}",
                         seconds < target[0] and peak < target[1]])
    out += table(["size", "mode", "customers", "events", "buckets", "LightGBM customers", "read+summary s",
                  "BTYD s", "LightGBM s", "ALS s", "logging s", "total s", "peak RSS GB", "load"], rows, digits=1)
    ratios = [f"{size}: {fmt(times[(size, 'streamed')] / times[(size, 'in-memory')], 2)}"
              for size, mode in times if mode == "in-memory" and times.get((size, "streamed"))]
    if ratios:
        out += ["Streamed / in-memory time: " + ", ".join(ratios) + ".", ""]
    return out


def render_generic(d: dict[str, Any], bars: list[list[Any]] | None = None) -> list[str]:
    """Scalars of a JSON file this runner has no dedicated renderer for."""
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif not isinstance(value, list):
            flat.append((prefix, value))

    walk("", d)
    return table(["key", "value"], flat[:60])


RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any], list[list[Any]]], list[str]]]] = {
    "recommend": ("Recommendations: accuracy against baselines, speed against implicit", render_recommend),
    "churn": ("Churn and CLTV: accuracy against the PROTOCOL.md baselines", render_churn),
    "bgnbd": ("BG/NBD and Gamma-Gamma: fit speed and parameter recovery", render_bgnbd),
    "features": ("Customer features: speed against a pandas groupby/apply reference", render_features),
    "scoring": ("Scoring: batch throughput and Scorer.recommend latency", render_scoring),
    "backtest": ("Backtests: model − strongest baseline with 95 % intervals over several cutoffs", render_backtest),
    "churn_directions": ("Churn: every direction tried for issue 19, with its backtest", render_churn_directions),
    "scale": ("Scale: streaming a parquet dataset bigger than memory through Scorer.score", render_scale),
    "scale_train": ("Scale: cxml train on a parquet dataset bigger than memory", render_scale_train),
    "spark": ("Spark: the same scores on local[2] (throughput against one machine)", render_spark),
    "generate": ("Synthetic data: the generator and the parquet dataset writer at scale", render_generate),
    "cltv_directions": ("CLTV directions of issue 19: every variant tried, backtested", render_cltv_directions),
}


def machine() -> list[str]:
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {importlib.metadata.version(lib)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0]
        memory = f"{int(meminfo.split()[1]) / 2**20:.1f} GB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    rows: list[list[Any]] = [
        ["report generated", f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"],
        ["git commit", commit.stdout.strip() or "unknown"],
        ["platform", platform.platform()],
        ["processor", platform.processor() or platform.machine()],
        ["CPU cores", os.cpu_count()],
        ["memory", memory],
        ["python", platform.python_version()],
        ["libraries", ", ".join(versions)],
    ]
    return table(["", ""], rows)


def render_results() -> tuple[list[str], list[list[Any]], list[str]]:
    """Render every ``results/*.json``: (report sections, summary bars, names measured), in report order."""
    files = {p.stem: p for p in RESULTS_DIR.glob("*.json")}
    names = sorted(files, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    bars: list[list[Any]] = []
    sections: list[str] = []
    for name in names:
        title, render = RENDERERS.get(name, (name, render_generic))
        data = json.loads(files[name].read_text(encoding="utf-8"))
        sections += [f"## {title}", "", f"Source: {measured_at(files[name])}"
                     + (" — **quick run, not full size**" if data.get("quick") else "") + ".", ""]
        try:
            sections += render(data, bars)
        except (KeyError, TypeError, AttributeError) as exc:  # a changed JSON layout must not hide the numbers
            sections += [f"(layout not understood by run_all.py: {type(exc).__name__}: {exc}; raw scalars below)", ""]
            sections += render_generic(data)
    return sections, bars, names


def write_report(runs: list[dict[str, Any]] | None = None, path: Path = REPORT) -> Path:
    """Render ``RESULTS.md`` from ``results/*.json`` (never from anything typed in).

    Writing the default ``RESULTS.md`` also regenerates the README's summary block.
    """
    lines = [
        "# cxml benchmark results",
        "",
        "Generated by `benchmarks/run_all.py` from the JSON files in `benchmarks/results/` — do not edit by",
        "hand; rerun `make bench` (or `python benchmarks/run_all.py --report-only` to re-render).",
        "Definitions: [docs/protocol.md](../docs/protocol.md), the evaluation protocol the library implements.",
        "Each section names the file it comes from and when that file was written; the machine is shared,",
        "so timings carry its load (see each file's `machine` block).",
        "",
        "## Machine",
        "",
        *machine(),
    ]
    sections, bars, measured = render_results()
    if bars:
        n_pass = sum(b[-1] is True for b in bars)
        lines += ["## Summary of the bars", "", f"{n_pass} of {len(bars)} pass (details in the sections below).", ""]
        lines += table(["area", "check", "measured", "target", "result"], bars)
    if runs:
        lines += ["## This run", ""]
        lines += table(["script", "status", "seconds"], ([r["name"], r["status"], r["seconds"]] for r in runs), 0)
    lines += sections
    missing = [n for n in discover() if n not in measured]
    if missing:
        lines += ["## Not measured", "", "No results file yet for: " + ", ".join(missing) + ".", ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    if path == REPORT and bars:
        update_readme(bars)
    return path


def update_readme(bars: list[list[Any]], readme: Path = README) -> bool:
    """Replace the text between the README's benchmark markers with the summary of the bars.

    Returns False (and leaves the file alone) when the markers are absent.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        print(f"{readme.name}: no {README_START} … {README_END} block; left alone")
        return False
    n_pass = sum(b[-1] is True for b in bars)
    block = [README_START, "",
             f"{n_pass} of {len(bars)} bars pass; generated by `benchmarks/run_all.py` from "
             "`benchmarks/results/*.json`.",
             "",
             *table(["area", "check", "measured", "target", "result"], bars)]
    readme.write_text(text[:start] + "\n".join(block).rstrip() + "\n" + text[end:], encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="smoke-run every script small; write no results")
    ap.add_argument("--report-only", action="store_true", help="only regenerate RESULTS.md from results/*.json")
    ap.add_argument("--only", default=None, help="comma list of scripts to run (default: all)")
    args = ap.parse_args(argv)
    if args.report_only:
        print(f"wrote {write_report()}")
        return 0
    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            ap.error(f"--only names unknown scripts {unknown}; expected some of {names}")
        names = [n for n in names if n in wanted]
    runs = run_scripts(names, args.quick)
    failed = [r["name"] for r in runs if r["status"].startswith("failed")]
    if args.quick:
        print("quick run: results/*.json and RESULTS.md left untouched; "
              + (f"FAILED: {', '.join(failed)}" if failed else "every script ran"))
    else:
        print(f"wrote {write_report(runs)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
