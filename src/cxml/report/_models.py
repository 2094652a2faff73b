"""Sections about the models themselves: recommendation examples and the models against their baselines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cxml.report import _charts
from cxml.report._context import Chart, Context, Section, Table, fmt_num
from cxml.report._risk import worth_saving
from cxml.schema import Columns

__all__ = ["EVALUATION_COLUMNS", "LOWER_IS_BETTER", "evaluation_frame", "evaluation_section", "recommend_section"]

N_EXAMPLES = 5
K = 5
#: metrics where a smaller value is better (everything else compared is "higher is better")
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "mae", "rmse", "decile_mape"})
#: metrics of an evaluate_churn / evaluate_cltv dict shown against the baseline
_COMPARED = ("roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10", "capture_rate_at_10",
             "spearman", "normalized_gini", "mae", "rmse", "decile_mape")
#: the generic columns of a comparison table (a backtest frame may carry more, e.g. cutoff)
EVALUATION_COLUMNS = ("metric", "model", "baseline", "difference", "ci_low", "ci_high")


def _examples(ctx: Context) -> list[str]:
    """Customers to show: the first ones worth saving, then the biggest spenders so far."""
    chosen: list[str] = []
    if ctx.has("churn") and ctx.has("cltv"):
        chosen += [str(c) for c in worth_saving(ctx, top=3).index]
    for c in ctx.rfm["monetary"].sort_values(ascending=False, kind="stable").index:
        if len(chosen) >= N_EXAMPLES:
            break
        if str(c) not in chosen:
            chosen.append(str(c))
    return chosen


def recommend_section(ctx: Context, section: Section) -> Section:
    """7. A few customers' top-5 items (names from the catalogue when given)."""
    customers = _examples(ctx)
    recs = ctx.scorer.recommend(customers, k=K, exclude_seen=True)
    names: Mapping[str, str] = {}
    if ctx.catalogue is not None:
        names = dict(zip(ctx.catalogue[Columns.ITEM].astype(str), ctx.catalogue["name"].astype(str), strict=True))
    recs = recs.assign(label=[names.get(i, i) for i in recs[Columns.ITEM].astype(str)])
    counts = recs["label"].value_counts()
    takeaway = (
        f"{len(customers)} customers' top-{K} suggestions among items they have not bought yet: "
        f"{len(counts)} different items in {len(recs)} suggestions; the most frequent is '{counts.index[0]}' "
        f"({counts.iloc[0]} times)."
        if len(recs)
        else "The recommender had no items to suggest for these customers."
    )
    section.takeaway = takeaway
    segment = ctx.segment_of(pd.Index(customers))
    rows = []
    for c in customers:
        items = recs.loc[recs[Columns.CUSTOMER] == c].sort_values(Columns.RANK)["label"].tolist()
        rows.append([c, str(segment[c]), *(items + [""] * (K - len(items)))])
    section.tables.append(
        Table(["customer", "segment", *(f"#{i}" for i in range(1, K + 1))], rows, [False] * (K + 2),
              "Customers worth saving first, then the biggest spenders so far."
              if ctx.has("churn") and ctx.has("cltv") else "The biggest spenders so far.")
    )
    if ctx.catalogue is None:
        section.notes.append("Items are shown by id; pass a catalogue (item_id, name) to show their names.")
    return section


def _from_dict(name: str, result: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of an evaluate_churn / evaluate_cltv result: the model against its strongest baseline."""
    model = result["model"]
    baselines: Mapping[str, Mapping[str, float]] = result.get("baselines", {})
    best = result.get("best_baseline")
    if best is None and baselines:
        key = "roc_auc" if "roc_auc" in model else "spearman"
        best = max(baselines, key=lambda b: np.nan_to_num(baselines[b].get(key, np.nan), nan=-np.inf))
    rows = []
    for metric in _COMPARED:
        if metric not in model:
            continue
        base = baselines[best].get(metric, np.nan) if best is not None else np.nan
        if not np.isfinite(base):  # e.g. a score-only baseline has no Brier score: nothing to compare
            continue
        rows.append({"model kind": name, "strongest baseline": best or "none", "metric": metric,
                     "model": model[metric], "baseline": base, "difference": model[metric] - base,
                     "ci_low": np.nan, "ci_high": np.nan})
    return pd.DataFrame(rows)


def evaluation_frame(evaluation: Any) -> pd.DataFrame:
    """Normalise ``evaluation`` to rows with at least :data:`EVALUATION_COLUMNS` (a copy; never mutates it).

    Parameters
    ----------
    evaluation
        A dict from :func:`cxml.churn.evaluate_churn` / :func:`cxml.churn.evaluate_cltv`, a dict of
        such dicts by name (``{"churn": ..., "cltv": ...}``), or a DataFrame of backtest rows with the
        columns :data:`EVALUATION_COLUMNS` (``ci_low``/``ci_high`` optional) and any label columns.

    Returns
    -------
    pandas.DataFrame
        The comparison rows.
    """
    if isinstance(evaluation, pd.DataFrame):
        out = evaluation.copy()
        for col in ("ci_low", "ci_high"):
            if col not in out.columns:
                out[col] = np.nan
        return out.reset_index(drop=True)
    if "model" in evaluation:
        kind = "churn" if "roc_auc" in evaluation["model"] else "cltv"
        return _from_dict(kind, evaluation)
    return pd.concat([_from_dict(str(k), v) for k, v in evaluation.items()], ignore_index=True)


def _verdict(metric: str, diff: float, low: float, high: float) -> str:
    if not np.isfinite(diff):
        return "–"
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    if np.isfinite(low) and np.isfinite(high) and low <= 0 <= high:
        return "no clear difference"
    return "model better" if sign * diff > 0 else ("model worse" if sign * diff < 0 else "equal")


def _numeric(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


def _evaluation_takeaway(verdicts: list[str], has_ci: bool) -> str:
    n = sum(v != "–" for v in verdicts)
    better, worse = verdicts.count("model better"), verdicts.count("model worse")
    text = f"The models beat their strongest baseline in {better} of {n} comparisons and lose in {worse}"
    if has_ci:
        unclear = verdicts.count("no clear difference")
        text += f"; on {unclear} the 95 % interval crosses zero, so there is no clear difference"
    else:
        text += "; without intervals (one cutoff), small differences may be chance"
    return text + "."


def evaluation_section(ctx: Context, section: Section) -> Section:
    """8. The models against their baselines: a table, and differences with intervals when given."""
    if ctx.evaluation is None:
        section.takeaway = (
            "No evaluation was passed to the report; give the result of cxml.churn.evaluate_churn / evaluate_cltv "
            "or a backtest table (evaluation=...) to compare the models with simple baselines here."
        )
        return section
    frame = evaluation_frame(ctx.evaluation)
    metric = frame["metric"].astype(str).tolist()
    diff, low, high = _numeric(frame["difference"]), _numeric(frame["ci_low"]), _numeric(frame["ci_high"])
    verdicts = [_verdict(m, d, lo, hi) for m, d, lo, hi in zip(metric, diff, low, high, strict=True)]
    has_ci = bool(np.isfinite(low).any() and np.isfinite(high).any())
    section.takeaway = _evaluation_takeaway(verdicts, has_ci)
    extra = [c for c in frame.columns if c not in EVALUATION_COLUMNS]
    columns = [*extra, *EVALUATION_COLUMNS[:4], "95 % interval", "verdict"]
    rows = [
        [*(fmt_num(r[c]) for c in extra), m, fmt_num(r["model"]), fmt_num(r["baseline"]), fmt_num(d),
         f"[{fmt_num(lo)}, {fmt_num(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else "–", v]
        for (_, r), m, d, lo, hi, v in zip(frame.iterrows(), metric, diff, low, high, verdicts, strict=True)
    ]
    numeric = [False] * len(extra) + [False, True, True, True, True, False]
    section.tables.append(
        Table(columns, rows, numeric, "difference = model − baseline; for brier, log-loss, MAE, RMSE and decile "
              "MAPE lower is better.")
    )
    if has_ci:
        base = np.abs(_numeric(frame["baseline"]))
        relative = bool(np.all(np.isfinite(base) & (base > 0)))
        # metrics live on different scales: differences in % of the baseline share one axis; and for
        # lower-is-better metrics the sign is flipped so that right of zero always means "model better"
        sign = np.array([-1.0 if m in LOWER_IS_BETTER else 1.0 for m in metric])
        scale = sign * (100.0 / base if relative else np.ones_like(diff))
        lo, hi = np.fmin(low * scale, high * scale), np.fmax(low * scale, high * scale)
        unit = "in % of the baseline value" if relative else "in the metric's units"
        labels = [" ".join([*(str(frame.at[i, c]) for c in extra), m]) for i, m in enumerate(metric)]
        section.charts.append(
            Chart(_charts.forest_chart(labels, diff * scale, lo, hi, unit),
                  f"how much better the model is than the baseline, with 95 % intervals, {unit}")
        )
    return section
