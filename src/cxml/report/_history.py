"""Sections built from the events alone: customers and revenue over time, RFM segments, NPS/CSAT/CES."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.report import _charts
from cxml.report._context import (
    Chart,
    Context,
    Section,
    Table,
    change_words,
    fmt_int,
    fmt_money,
    fmt_pct,
    money_digits,
)
from cxml.schema import Columns, EventTypes, events_before, purchase_mask
from cxml.segment import cx_summary, segment_summary

__all__ = ["customers_section", "feedback_section", "segments_section"]

_QUARTER = pd.Timedelta(days=91)
_YEAR = pd.Timedelta(days=364)  # 52 weeks: the same weekdays a year before


def _monthly(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Customers who bought, new customers and net revenue per calendar month before ``as_of``."""
    bought = history.loc[purchase_mask(history).to_numpy()]
    sales = history.loc[history[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy(dtype=bool, na_value=False)]
    months = pd.period_range(bought[Columns.TIMESTAMP].min(), as_of - pd.Timedelta(1, "ns"), freq="M")
    month = bought[Columns.TIMESTAMP].dt.to_period("M")
    first = bought.groupby(Columns.CUSTOMER, observed=True)[Columns.TIMESTAMP].min().dt.to_period("M")
    amount = sales[Columns.AMOUNT].astype("float64").fillna(0.0)
    out = pd.DataFrame(
        {
            "active": bought.groupby(month)[Columns.CUSTOMER].nunique(),
            "new": first.value_counts(),
            "revenue": amount.groupby(sales[Columns.TIMESTAMP].dt.to_period("M")).sum(),
        }
    ).reindex(months, fill_value=0)
    out = out.fillna(0).astype({"new": "float64"})
    # every buyer of the first month is "new" only because the data start there: not counted
    out.iloc[0, out.columns.get_loc("new")] = np.nan
    out.index = [str(p) for p in months]
    return out


def _window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    ts = frame[Columns.TIMESTAMP]
    return frame.loc[((ts >= start) & (ts < end)).to_numpy()]


def _revenue_takeaway(history: pd.DataFrame, as_of: pd.Timestamp) -> str:
    sales = history.loc[history[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy(dtype=bool, na_value=False)]
    first = sales[Columns.TIMESTAMP].min()

    def revenue(start: pd.Timestamp) -> float:
        return float(_window(sales, start, start + _QUARTER)[Columns.AMOUNT].astype("float64").sum())

    now = revenue(as_of - _QUARTER)
    purchases = history.loc[purchase_mask(history).to_numpy()]
    bought = _window(purchases, as_of - _QUARTER, as_of)[Columns.CUSTOMER].unique()
    who = f"{fmt_int(len(bought))} customers bought in those 3 months"
    if first < as_of - _QUARTER:
        firsts = purchases.groupby(Columns.CUSTOMER, observed=True)[Columns.TIMESTAMP].min()
        who += f", {fmt_int((firsts >= as_of - _QUARTER).sum())} of them for the first time"
    if first <= as_of - _YEAR - _QUARTER:
        before = revenue(as_of - _YEAR - _QUARTER)
        return (
            f"Net revenue in the last 3 months ({fmt_money(now)}) is {change_words(now, before)} "
            f"the same months a year before ({fmt_money(before)}); {who}."
        )
    if first <= as_of - 2 * _QUARTER:
        before = revenue(as_of - 2 * _QUARTER)
        return (
            f"Net revenue in the last 3 months ({fmt_money(now)}) is {change_words(now, before)} "
            f"the 3 months before ({fmt_money(before)}); {who}."
        )
    return f"Net revenue in the last 3 months is {fmt_money(now)}; {who}."


def customers_section(ctx: Context, section: Section) -> Section:
    """1. Customers who bought, new customers and net revenue per month, with a year-on-year takeaway."""
    history = events_before(ctx.events, ctx.as_of)
    monthly = _monthly(history, ctx.as_of)
    section.takeaway = _revenue_takeaway(history, ctx.as_of)
    section.charts.append(
        Chart(_charts.monthly_chart(monthly), "customers who bought, new customers and net revenue per month")
    )
    if history[Columns.AMOUNT].isna().all():
        section.notes.append("The events carry no amounts, so revenue shows as zero.")
    if ctx.as_of != ctx.as_of.normalize() or ctx.as_of.day != 1:
        section.notes.append(f"The last month, {monthly.index[-1]}, runs only up to {ctx.as_of.date()}.")
    section.notes.append(
        "A customer counts in a month when they bought in it; a new customer is one whose first purchase "
        f"falls in that month (not shown for {monthly.index[0]}, where the data begin). Net revenue includes refunds."
    )
    return section


def segments_section(ctx: Context, section: Section) -> Section:
    """2. RFM segments: size and revenue share, as a table and a bar chart."""
    summary = segment_summary(ctx.rfm)
    summary = summary.loc[summary["n_customers"] > 0]
    top = summary["revenue_share"].idxmax()
    takeaway = (
        f"'{top}' customers are {fmt_pct(summary.at[top, 'customer_share'])} of the "
        f"{fmt_int(summary['n_customers'].sum())} customers and bring {fmt_pct(summary.at[top, 'revenue_share'])} "
        "of the revenue so far."
    )
    section.takeaway = takeaway
    labels = [str(s) for s in summary.index]
    section.charts.append(
        Chart(
            _charts.bar_chart(
                labels,
                {
                    "share of customers (%)": list(100 * summary["customer_share"]),
                    "share of revenue (%)": list(100 * summary["revenue_share"]),
                },
                "Segments: share of customers and of revenue",
                "%",
            ),
            "share of customers and of revenue per RFM segment",
        )
    )
    digits = money_digits(summary["revenue"])
    rows = [
        [
            seg,
            fmt_int(r.n_customers),
            fmt_pct(r.customer_share),
            fmt_money(r.revenue, digits),
            fmt_pct(r.revenue_share),
            fmt_int(r.recency_days_mean),
            f"{r.frequency_mean:.1f}",
        ]
        for seg, r in zip(labels, summary.itertuples(), strict=True)
    ]
    section.tables.append(
        Table(
            ["segment", "customers", "share", "revenue", "revenue share", "days since last purchase", "orders"],
            rows,
            [False] + [True] * 6,
            "Days since last purchase and orders are segment averages.",
        )
    )
    section.notes.append(
        "Segments come from recency, frequency and spend scores (1-5, quintiles): champions bought recently, often "
        "and for a lot; 'at risk' were valuable and have gone quiet; 'lost' are long gone."
    )
    return section


def _score(x: float, digits: int) -> str:
    return f"{x:.{digits}f}" if np.isfinite(x) else "–"


def _cx_frame(ctx: Context) -> tuple[pd.DataFrame, str]:
    """NPS/CSAT/CES per month, or per quarter when months hold fewer than 100 answers on average
    (an NPS from fewer answers moves by ten points or more by chance alone)."""
    monthly = cx_summary(ctx.events, as_of=ctx.as_of, freq="M")
    answers = monthly[["nps_n", "csat_n", "ces_n"]].sum(axis=1)
    if len(monthly) and answers.sum() / len(monthly) >= 100:
        return monthly, "month"
    return cx_summary(ctx.events, as_of=ctx.as_of, freq="Q"), "quarter"


def _noise(row: pd.Series, col: str) -> float:
    """Standard error of one period's NPS or CSAT (points); NaN for CES (no spread is recorded)."""
    n = float(row[f"{col}_n"])
    if col == "nps":
        promoters, detractors = row["nps_promoters"] / n, row["nps_detractors"] / n
        return 100.0 * float(np.sqrt(max(promoters + detractors - (promoters - detractors) ** 2, 0.0) / n))
    if col == "csat":
        p = row["csat"] / 100.0
        return 100.0 * float(np.sqrt(p * (1 - p) / n))
    return float("nan")


def _cx_takeaway(cx: pd.DataFrame, period: str) -> str:
    for col, name in (("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES")):
        seen = cx.loc[cx[col].notna()]
        if seen.empty:
            continue
        last, label = seen.iloc[-1], seen.index[-1]
        text = f"{name} in {label} is {last[col]:.1f} from {fmt_int(last[f'{col}_n'])} answers"
        if len(seen) > 1:
            prev = seen.iloc[-2]
            diff = float(last[col] - prev[col])
            noise = float(np.hypot(_noise(last, col), _noise(prev, col)))
            text += f", {abs(diff):.1f} {'higher' if diff > 0 else 'lower'} than in {seen.index[-2]}"
            if np.isfinite(noise) and abs(diff) < 2 * noise:
                text += f" — within what chance alone moves it with these few answers (about ±{2 * noise:.0f})"
        return text + "."
    return "No feedback scores."  # unreachable: the caller checks that answers exist


def feedback_section(ctx: Context, section: Section) -> Section:
    """3. NPS / CSAT / CES trend; a sentence instead when the events carry no answers."""
    cx, period = _cx_frame(ctx)
    if cx.empty or int(cx[["nps_n", "csat_n", "ces_n"]].to_numpy().sum()) == 0:
        section.takeaway = (
            "The events carry no NPS, CSAT or CES answers before this date, so there is no trend to show."
        )
        return section
    cx = cx.copy()
    cx.index = [str(p) for p in cx.index]
    section.takeaway = _cx_takeaway(cx, period)
    section.charts.append(Chart(_charts.trend_chart(cx), f"NPS, CSAT and CES per {period}"))
    kinds = [(c, name, d) for c, name, d in (("nps", "NPS", 1), ("csat", "CSAT (%)", 1), ("ces", "CES", 2))
             if cx[c].notna().any()]
    columns = [period] + [h for _, name, _ in kinds for h in (name, "answers")]
    rows = [
        [str(label)] + [v for c, _, d in kinds for v in (_score(row[c], d), fmt_int(row[f"{c}_n"]))]
        for label, row in cx.iterrows()
    ]
    section.tables.append(
        Table(columns, rows[-8:], [False] + [True] * (len(columns) - 1),
              "The last periods; NPS = % promoters (9-10) − % detractors (0-6), CSAT = % answering 4 or 5.")
    )
    if pd.Period(cx.index[-1], freq="M" if period == "month" else "Q").end_time >= ctx.as_of:
        section.notes.append(f"The last {period}, {cx.index[-1]}, runs only up to {ctx.as_of.date()}.")
    return section
