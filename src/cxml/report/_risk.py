"""Sections built on the churn and CLTV models: churn risk (with an out-of-time check), customer
equity by segment, and the at-risk customers worth saving."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.features import churn_labels
from cxml.report import _charts
from cxml.report._context import Chart, Context, Section, Table, fmt_int, fmt_money, fmt_pct, money_digits
from cxml.schema import Columns, purchase_mask
from cxml.segment import SEGMENTS

__all__ = [
    "TOP_AT_RISK",
    "at_risk_section",
    "churn_section",
    "equity_section",
    "lift_and_calibration",
    "worth_saving",
]

#: how many customers the "worth saving" table lists
TOP_AT_RISK = 20


def lift_and_calibration(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cumulative lift curve and an equal-count calibration table of churn outcomes ``y`` against risks ``p``.

    Parameters
    ----------
    y
        1 = churned, 0 = bought again.
    p
        Predicted churn probabilities, same length.
    n_bins
        Calibration bins of (nearly) equal size, in order of ``p``.

    Returns
    -------
    share, lift, table
        ``lift[i]`` is the churn rate among the ``share[i]`` riskiest customers over the overall rate;
        ``table`` has one row per bin with ``mean_predicted``, ``observed_rate`` and ``n``.
    """
    order = np.argsort(-p, kind="stable")
    n = y.size
    share = np.arange(1, n + 1) / n
    base = y.mean()
    lift = np.cumsum(y[order]) / np.arange(1, n + 1) / base if base > 0 else np.full(n, np.nan)
    bins = np.array_split(order[::-1], min(n_bins, n))
    table = pd.DataFrame(
        {
            "mean_predicted": [p[b].mean() for b in bins],
            "observed_rate": [y[b].mean() for b in bins],
            "n": [b.size for b in bins],
        }
    )
    return share, lift, table


def _window_observed(ctx: Context, start: pd.Timestamp, end: pd.Timestamp, horizon: pd.Timedelta) -> bool:
    """Purchases before ``start`` exist and the events reach ``end`` (allowing a few quiet days, as the
    out-of-time evaluation of :func:`cxml.churn.evaluate_churn` does)."""
    ts = ctx.events[Columns.TIMESTAMP]
    bought = ts[purchase_mask(ctx.events).to_numpy()]
    allowed = min(pd.Timedelta(days=7), horizon / 4) + pd.Timedelta(days=1)
    return bool(len(bought)) and bought.min() < start and end - ts.max() <= allowed


def _out_of_time(ctx: Context, section: Section) -> None:
    """Lift and calibration at ``cutoff = as_of − horizon``, where the outcomes are known by ``as_of``."""
    h = ctx.horizon("churn")
    cutoff = ctx.as_of - h
    if not _window_observed(ctx, cutoff, ctx.as_of, h):
        section.notes.append(
            f"No out-of-time check: it needs purchases before {cutoff.date()} and events up to {ctx.as_of.date()} "
            "to see who really left."
        )
        return
    risk = ctx.scorer.churn_risk(ctx.events, cutoff).set_index(Columns.CUSTOMER)[Columns.CHURN_PROBABILITY]
    y = churn_labels(ctx.events, cutoff, h).reindex(risk.index).to_numpy(dtype=np.float64)
    p = risk.to_numpy(dtype=np.float64)
    share, lift, table = lift_and_calibration(y, p)
    top = max(1, int(round(0.1 * y.size)))
    label = f"Out-of-time check at {cutoff.date()}"
    section.charts.append(
        Chart(_charts.lift_calibration_chart(share, lift, table, label), f"{label}: lift and calibration curves")
    )
    section.notes.append(
        f"{label}: the model scored the {fmt_int(y.size)} customers of {cutoff.date()} from their history before "
        f"that day; by {ctx.as_of.date()} {fmt_pct(y.mean())} of them had not bought again. The riskiest 10 % left "
        f"at {lift[top - 1]:.1f}× that rate; on average it predicted {fmt_pct(p.mean())}."
    )
    fitted = getattr(ctx.model("churn"), "as_of_", None)
    if fitted is not None and pd.Timestamp(fitted) > cutoff:
        section.notes.append(
            f"Caution: the churn model was trained on data up to {pd.Timestamp(fitted).date()}, which includes "
            "these outcomes, so this check flatters it. A backtest that refits the model at each cutoff (section "
            "'Models against their baselines') is the fair test."
        )


def churn_section(ctx: Context, section: Section) -> Section:
    """4. Distribution of churn risk at ``as_of``, plus lift and calibration of an out-of-time check."""
    p = ctx.risk.to_numpy(dtype=np.float64)
    days = ctx.horizon("churn").days
    high = int((p >= 0.5).sum())
    takeaway = (
        f"{fmt_int(high)} of {fmt_int(p.size)} customers ({fmt_pct(high / max(p.size, 1))}) are more likely than not "
        f"to buy nothing in the next {days} days; the average risk is {fmt_pct(p.mean())}."
    )
    section.takeaway = takeaway
    section.charts.append(
        Chart(
            _charts.histogram_chart(
                p, f"Churn risk on {ctx.as_of.date()}", f"probability of no purchase in {days} days"
            ),
            "histogram of churn risk",
        )
    )
    _out_of_time(ctx, section)
    return section


def _equity(ctx: Context) -> pd.DataFrame:
    value = ctx.value
    seg = ctx.segment_of(value.index)
    g = value.groupby(seg.to_numpy())
    order = [s for s in (*SEGMENTS, "unknown") if s in g.groups]
    out = pd.DataFrame({"customers": g.size(), "value": g.sum()}).reindex(order)
    total = out["value"].sum()
    out["share"] = out["value"] / total if total > 0 else np.nan
    out["per_customer"] = out["value"] / out["customers"]
    return out


def equity_section(ctx: Context, section: Section) -> Section:
    """5. Customer equity: the sum of CLTV expected value per RFM segment."""
    eq = _equity(ctx)
    days = ctx.horizon("cltv").days
    top = eq["value"].idxmax()
    takeaway = (
        f"Customers are expected to spend {fmt_money(eq['value'].sum())} in the next {days} days; "
        f"'{top}' customers hold {fmt_pct(eq.at[top, 'share'])} of it ({fmt_money(eq.at[top, 'value'])})."
    )
    section.takeaway = takeaway
    labels = [str(s) for s in eq.index]
    section.charts.append(
        Chart(
            _charts.bar_chart(labels, {"expected value": list(eq["value"])},
                              f"Expected spend in the next {days} days per segment", "expected value"),
            "expected value per segment",
        )
    )
    dv, dp = money_digits(eq["value"]), money_digits(eq["per_customer"])
    rows = [
        [seg, fmt_int(r.customers), fmt_money(r.value, dv), fmt_pct(r.share), fmt_money(r.per_customer, dp)]
        for seg, r in zip(labels, eq.itertuples(), strict=True)
    ]
    section.tables.append(
        Table(["segment", "customers", "expected value", "share", "per customer"], rows, [False] + [True] * 4)
    )
    return section


def worth_saving(ctx: Context, top: int = TOP_AT_RISK) -> pd.DataFrame:
    """The ``top`` customers with the most value at stake (churn risk × expected value), highest first."""
    risk, value = ctx.risk, ctx.value.reindex(ctx.risk.index).fillna(0.0)
    frame = pd.DataFrame({"risk": risk, "value": value, "at_stake": risk * value})
    frame["segment"] = ctx.segment_of(frame.index)
    frame["days"] = ctx.rfm["recency_days"].reindex(frame.index)
    frame = frame.sort_values(["at_stake", "risk"], ascending=False, kind="stable")
    return frame.head(top)


def _reasons_text(reasons: pd.DataFrame | None, customers: pd.Index) -> pd.Series | None:
    if reasons is None:
        return None
    r = reasons.loc[reasons[Columns.CUSTOMER].astype(str).isin(customers)]
    r = r.assign(**{Columns.CUSTOMER: r[Columns.CUSTOMER].astype(str)}).sort_values([Columns.CUSTOMER, "rank"])
    joined = r.groupby(Columns.CUSTOMER)["reason"].agg(lambda s: "; ".join(str(x) for x in s))
    return joined.reindex(customers).fillna("")


def _model_reasons(ctx: Context, customers: pd.Index) -> pd.DataFrame | None:
    """Why these customers may leave, in words, from the bundle's churn model (when it can say)."""
    churn = ctx.scorer.bundle.churn
    if churn is None or not hasattr(churn, "reasons"):
        return None
    return churn.reasons(ctx.events, ctx.as_of, customers=list(customers), top=2)


def at_risk_section(ctx: Context, section: Section) -> Section:
    """6. The at-risk customers worth saving: high CLTV × high risk, with reasons when given."""
    top = worth_saving(ctx)
    total_stake = float((ctx.risk * ctx.value.reindex(ctx.risk.index).fillna(0.0)).sum())
    days = ctx.horizon("cltv").days
    takeaway = (
        f"These {len(top)} customers are expected to spend {fmt_money(top['value'].sum())} in the next {days} days "
        f"but their average risk of leaving is {fmt_pct(top['risk'].mean())}; they carry "
        f"{fmt_pct(top['at_stake'].sum() / total_stake if total_stake > 0 else np.nan)} of all value at stake."
    )
    section.takeaway = takeaway
    reasons = _reasons_text(ctx.reasons if ctx.reasons is not None else _model_reasons(ctx, top.index), top.index)
    columns = ["customer", "churn risk", "expected value", "risk × value", "segment", "days since last purchase"]
    dv, ds = money_digits(top["value"]), money_digits(top["at_stake"])
    rows = [
        [str(c), fmt_pct(r.risk), fmt_money(r.value, dv), fmt_money(r.at_stake, ds), str(r.segment), fmt_int(r.days)]
        for c, r in zip(top.index, top.itertuples(), strict=True)
    ]
    numeric = [False, True, True, True, False, True]
    if reasons is not None:
        columns.append("reasons")
        numeric.append(False)
        for row, text in zip(rows, reasons, strict=True):
            row.append(text)
    section.tables.append(
        Table(columns, rows, numeric, "Ranked by churn risk × expected value: high value that is likely to leave.")
    )
    return section

