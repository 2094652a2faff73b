"""One plain-words sentence per model feature: a template per feature family.

:func:`describe` turns a feature and the customer's value into a short sentence for a shop owner,
with the value formatted for people (days as whole numbers, money with two decimals, shares as
percentages) and, when the model carries a population reference, where the customer stands
("top 5 % of customers", "typical customer: 41 days"). Families: recency, tenure, frequency and
orders, monetary, inter-purchase time, the customer's own rhythm, windows and trends, returns,
diversity, engagement types, feedback kinds, BG/NBD and Gamma-Gamma outputs and the BG/NBD prior
that boosting starts from. A name no family knows raises :class:`cxml.ParameterError` instead of
printing something half-read.

Examples
--------
>>> import pandas as pd
>>> ctx = Context(row={"recency_days": 124.0, "ipt_mean_days": 41.0}, as_of=pd.Timestamp("2024-06-01"),
...               horizon_days=90, reference=None, prior_column="bg_p_no_purchase")
>>> describe("recency_days", 124.0, ctx)
'no purchase for 124 days — 3.0× their usual gap of 41 days'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import pandas as pd

from cxml.churn._reference import Reference, median, percentile
from cxml.exceptions import ParameterError

__all__ = ["FAMILIES", "PRIOR", "Context", "describe", "family_of"]

#: Name of the BG/NBD prior's row in ``explain`` (the raw-scale start of boosting).
PRIOR: Final = "__bgnbd_prior__"

_FEEDBACK_NAMES = {"nps": "NPS", "csat": "CSAT score", "ces": "effort score (CES)", "rating": "rating"}


@dataclass(frozen=True)
class Context:
    """What a sentence may draw on besides the feature's own value."""

    row: Mapping[str, float]  #: every feature value of the customer
    as_of: pd.Timestamp
    horizon_days: int
    reference: Reference | None
    prior_column: str  #: ``bg_p_no_purchase`` (churn) or ``bg_gg_expected_value`` (CLTV)


# --------------------------------------------------------------------------- formatting
def _missing(v: float | None) -> bool:
    return v is None or not math.isfinite(v)


def _days(v: float) -> str:
    n = int(round(v))
    return f"{n} day" if n == 1 else f"{n} days"


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _pct(v: float) -> str:
    if 0 < v < 0.005 or 0.995 < v < 1:  # "0 %" or "100 %" would overstate a forecast
        return "under 1 %" if v < 0.5 else "over 99 %"
    return f"{round(100 * v)} %"


def _n(v: float, noun: str) -> str:
    """``v`` things: "no orders", "1 order", "3 orders"."""
    n = int(round(v))
    return f"no {noun}s" if n == 0 else f"1 {noun}" if n == 1 else f"{n} {noun}s"


def _count(v: float) -> str:
    return str(int(round(v)))


def _ratio(v: float) -> str:
    return f"{v:.1f}×"


def _score(v: float) -> str:
    return _count(v) if float(v).is_integer() else f"{v:.1f}"


def _a(name: str) -> str:
    return ("an " if name[0] in "AEIOUaeiou" or name.startswith("NPS") else "a ") + name


def _window(label: str) -> str:
    unit = {"d": "day", "s": "second"}[label[-1]]
    n = int(label[:-1])
    return f"the last {n} {unit}s" if n != 1 else f"the last {unit}"


def _vs(ctx: Context, feature: str, value: float, fmt: Callable[[float], str]) -> str:
    """Where ``value`` stands in the population of ``feature`` ('' without a reference)."""
    pct = percentile(ctx.reference, feature, value)
    if pct is None:
        return ""
    if pct >= 90:
        return f" — top {max(1, round(100 - pct))} % of customers"
    if pct <= 10:
        return f" — lower than {min(99, round(100 - pct))} % of customers"
    typical = median(ctx.reference, feature)
    return "" if typical is None else f" (typical customer: {fmt(typical)})"


# --------------------------------------------------------------------------- families
Template = Callable[[str, float, Context, re.Match[str]], str]


def _recency(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    gap = ctx.row.get("ipt_mean_days", math.nan)
    if not _missing(gap) and gap > 0:
        return f"no purchase for {_days(v)} — {v / gap:.1f}× their usual gap of {_days(gap)}"
    return f"no purchase for {_days(v)}{_vs(ctx, f, v, _days)}"


def _tenure(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    return f"first purchase {_days(v)} ago{_vs(ctx, f, v, _days)}"


def _orders(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if f == "n_orders":
        return f"{_n(v, 'order')} in total{_vs(ctx, f, v, _count)}"
    return f"bought on {_n(v, 'different day')}{_vs(ctx, f, v, _count)}"


def _monetary(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    what = {"spend_total": "spent {} in total", "order_value_mean": "orders worth {} on average",
            "order_value_max": "largest order worth {}"}[f]
    return what.format(_money(v)) + _vs(ctx, f, v, _money)


def _ipt(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if f == "ipt_mean_days":
        return f"usually buys every {_days(v)}{_vs(ctx, f, v, _days)}"
    if f == "ipt_std_days":
        return f"the gaps between purchases vary by about {_days(v)}{_vs(ctx, f, v, _days)}"
    return f"quiet for {_ratio(v)} their usual gap between purchases{_vs(ctx, f, v, _ratio)}"


def _chance(log_p: float) -> str:
    return _pct(math.exp(log_p))


#: The rhythm columns of :mod:`cxml.features.rhythm` by the name after ``rhythm_``: the phrase of
#: the customer's value and the format of the typical customer's.
_RHYTHM: Final[dict[str, tuple[Callable[[float], str], Callable[[float], str]]]] = {
    "gap_median_days": (lambda v: f"their typical gap between purchase days is {_days(v)}", _days),
    "recency_over_median": (lambda v: f"quiet for {_ratio(v)} their typical (median) gap", _ratio),
    "recency_over_max": (lambda v: f"quiet for {_ratio(v)} their longest gap so far", _ratio),
    "log_survival": (lambda v: f"a silence this long is {_chance(v)} likely in their own rhythm", _chance),
    "expected_gap_days": (lambda v: f"expected gap between purchase days about {_days(v)}", _days),
    "last_gap_ratio": (lambda v: f"their latest gap was {_ratio(v)} the earlier ones", _ratio),
    "recent_share_90d": (lambda v: f"{_pct(v)} of their purchase days fell in the last 90 days", _pct),
    "same_season_days": (lambda v: f"bought on {_n(v, 'day')} in the coming season last year", _count),
    "weekday_share": (lambda v: f"{_pct(v)} of their purchase days on one weekday", _pct),
}


def _rhythm(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    text, fmt = _RHYTHM[m["what"]]
    return f"{text(v)}{_vs(ctx, f, v, fmt)}"


def _window_level(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    when = _window(m["w"])
    if m["what"] == "n_orders":
        return f"{_n(v, 'order')} in {when}{_vs(ctx, f, v, _count)}"
    return f"spent {_money(v)} in {when}{_vs(ctx, f, v, _money)}"


def _trend(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    w = m["w"]
    orders = m["what"] == "orders"
    now = ctx.row.get(f"n_orders_{w}" if orders else f"spend_{w}", math.nan)
    fmt = _count if orders else _money
    subject = f"{'orders' if orders else 'spend'} in {_window(w)}"
    if _missing(now):  # the level column is not a model input: say the change alone
        word = "rose" if v > 0 else "fell" if v < 0 else "did not change"
        return f"{subject} {word} by {fmt(abs(v))} against the period before"
    before = now - v
    if v == 0:
        return f"{subject} stayed at {fmt(now)}, as in the period before"
    if before > 0 and now > 0 and not orders:
        return f"{subject} {'rose' if v > 0 else 'fell'} {_pct(abs(v) / before)} against the period before"
    return f"{subject} {'rose' if v > 0 else 'fell'} from {fmt(before)} to {fmt(now)} against the period before"


def _returns(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    what = "returned {} of the lines they bought" if f == "return_rate" else "got {} of their spend refunded"
    return what.format(_pct(v)) + _vs(ctx, f, v, _pct)


def _diversity(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if f == "n_distinct_items":
        return f"bought {_n(v, 'different item')}{_vs(ctx, f, v, _count)}"
    return f"{_pct(v)} of their purchases are one and the same item{_vs(ctx, f, v, _pct)}"


def _engagement(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    kind = m["t"].replace("_", " ") if m["t"] else "engagement"
    if m["w"]:
        if _missing(v):
            return f"number of {kind} events in {_window(m['w'])} not known"
        return f"{_n(v, kind + ' event')} in {_window(m['w'])}{_vs(ctx, f, v, _count)}"
    if _missing(v):
        return f"never had {_a(kind)} event" + ("" if m["t"] else " (visit, login, contact…)")
    return f"last {kind} event {_days(v)} ago{_vs(ctx, f, v, _days)}"


def _feedback(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    k = m["k"]
    name, stat = _FEEDBACK_NAMES[k], m["stat"]
    if stat == "n" and not _missing(v):
        return f"answered {_n(v, name + ' survey')}{_vs(ctx, f, v, _count)}"
    if _missing(v):
        return f"never gave {_a(name)}"
    if stat == "days_since":
        return f"last gave {_a(name)} {_days(v)} ago{_vs(ctx, f, v, _days)}"
    if stat == "mean":
        return f"average {name} of {_score(v)}{_vs(ctx, f, v, _score)}"
    since = ctx.row.get(f"fb_{k}_days_since", math.nan)
    when = "" if _missing(since) else " in " + (ctx.as_of - pd.Timedelta(days=float(since))).strftime("%B %Y")
    return f"gave {_a(name)} of {_score(v)}{when}{_vs(ctx, f, v, _score)}"


def _last_feedback(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if _missing(v):
        return "never gave any feedback (NPS, CSAT, effort score or rating)"
    return f"last gave feedback {_days(v)} ago{_vs(ctx, f, v, _days)}"


def _nps_group(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if _missing(v):
        return "never gave an NPS"
    group, scores = ("promoter", "9–10") if f == "nps_promoter" else ("detractor", "0–6")
    below = percentile(ctx.reference, f, 0.5)  # the share of 0s among the customers who answered
    share = "" if below is None else f"; {_pct(1 - below / 100)} of customers who answered are"
    if v >= 0.5:
        return f"is an NPS {group} (latest NPS {scores}{share})"
    return f"is not an NPS {group} (latest NPS outside {scores}{share})"


def _btyd_text(f: str, v: float, ctx: Context) -> str:
    h = f"the next {_days(ctx.horizon_days)}"
    if _missing(v):
        return "the purchase model could not be fitted for this customer's period"
    return {
        "bg_p_alive": f"the purchase model puts their chance of still being an active customer at {_pct(v)}",
        "bg_expected_purchases": f"the purchase model expects {v:.1f} purchases in {h}",
        "bg_p_no_purchase": f"the purchase model puts their chance of buying again in {h} at {_pct(1 - v)}",
        "gg_expected_order_value": f"the spend model expects their orders to be worth {_money(v)}",
        "bg_gg_expected_value": f"the purchase and spend models forecast {_money(v)} of spend in {h}",
    }[f]


def _btyd(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    if _missing(v):
        return _btyd_text(f, v, ctx)
    if f == "bg_p_alive" and v > 0.995 and ctx.row.get("n_purchase_days") == 1:
        # BG/NBD cannot see a one-time buyer drop out: P(alive) is 1 by construction
        return "bought only once, so the purchase model still counts them as an active customer"
    fmt = {"bg_p_alive": _pct, "bg_p_no_purchase": _pct, "bg_expected_purchases": lambda x: f"{x:.1f}"}
    return _btyd_text(f, v, ctx) + _vs(ctx, f, v, fmt.get(f, _money))


def _habit(ctx: Context) -> list[str]:
    """How often and how lately the customer buys, in words, as far as their features say."""
    row = ctx.row
    orders, usual = row.get("n_orders", math.nan), median(ctx.reference, "n_orders")
    gap, recency = row.get("gap_ratio", math.nan), row.get("recency_days", math.nan)
    typical_recency = median(ctx.reference, "recency_days")
    if row.get("n_purchase_days") == 1 and not _missing(recency):
        return [f"bought only once, {_days(recency)} ago"]
    habit = []
    if row.get("n_purchase_days") == 1:
        habit.append("bought only once")
    elif not _missing(orders) and usual is not None and orders != usual:
        habit.append("buys rarely" if orders < usual else "buys often")
    if not _missing(gap):
        habit.append("has been quiet" if gap > 1.5 else "bought about when expected" if gap > 0.67
                     else "bought recently")
    elif not _missing(recency) and typical_recency is not None:
        habit.append("has been quiet" if recency > typical_recency else "bought recently")
    return habit


def _prior(f: str, v: float, ctx: Context, m: re.Match[str]) -> str:
    habit = _habit(ctx)
    lead = " and ".join(habit) + ": " if habit else ""
    return lead + _btyd_text(ctx.prior_column, v, ctx)


_W = r"(?P<w>\d+[ds])"
#: (family, pattern, template), tried in order; the first full match wins.
FAMILIES: Final[tuple[tuple[str, re.Pattern[str], Template], ...]] = tuple(
    (family, re.compile(pattern), template) for family, pattern, template in (
        ("recency", r"recency_days", _recency),
        ("tenure", r"tenure_days", _tenure),
        ("frequency", r"n_orders|n_purchase_days", _orders),
        ("monetary", r"spend_total|order_value_mean|order_value_max", _monetary),
        ("inter-purchase time", r"ipt_mean_days|ipt_std_days|gap_ratio", _ipt),
        ("rhythm", rf"rhythm_(?P<what>{'|'.join(_RHYTHM)})", _rhythm),
        ("windows", rf"(?P<what>n_orders|spend)_{_W}", _window_level),
        ("trends", rf"(?P<what>orders|spend)_trend_{_W}", _trend),
        ("returns", r"return_rate|refund_share", _returns),
        ("diversity", r"n_distinct_items|top_item_share", _diversity),
        ("engagement", rf"eng_(?P<t>.+?)_(?:n_{_W}|days_since)|days_since_engagement", _engagement),
        ("feedback", r"fb_(?P<k>nps|csat|ces|rating)_(?P<stat>last|mean|n|days_since)", _feedback),
        ("feedback", r"days_since_feedback", _last_feedback),
        ("feedback", r"nps_promoter|nps_detractor", _nps_group),
        ("btyd", r"bg_p_alive|bg_expected_purchases|bg_p_no_purchase|gg_expected_order_value|"
                 r"bg_gg_expected_value", _btyd),
        ("btyd prior", re.escape(PRIOR), _prior),
    )
)


#: What a family says for a missing value (families not listed phrase it themselves).
_UNKNOWN: Final = {
    "recency": "date of the last purchase not known",
    "tenure": "date of the first purchase not known",
    "frequency": "number of orders not known",
    "monetary": "no order with a known value yet",
    "inter-purchase time": "bought on a single day so far, so there is no usual gap between purchases yet",
    "rhythm": "too few purchase days for a rhythm of their own yet",
    "windows": "recent orders and spend not known",
    "trends": "change against the period before not known",
    "returns": "no purchase lines to return yet",
    "diversity": "no purchase with a known item yet",
}


def _match(feature: str) -> tuple[str, re.Match[str], Template]:
    for family, pattern, template in FAMILIES:
        if m := pattern.fullmatch(feature):
            return family, m, template
    raise ParameterError(
        f"no reason template for feature {feature!r}; expected a column of cxml.features.customer_features, "
        f"a BG/NBD or Gamma-Gamma output or {PRIOR!r}"
    )


def family_of(feature: str) -> str:
    """The family name of ``feature`` (:class:`cxml.ParameterError` when no family knows it)."""
    return _match(feature)[0]


def describe(feature: str, value: float, ctx: Context) -> str:
    """The sentence for ``feature`` at the customer's ``value`` (see the module docstring)."""
    family, m, template = _match(feature)
    if _missing(value) and family in _UNKNOWN:
        return _UNKNOWN[family]
    return template(feature, float(value), ctx, m)
