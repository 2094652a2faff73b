"""Issue 18 §2: a sentence for EVERY feature the churn/CLTV models can use, value formatted for people."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn._hybrid import BTYD_COLUMNS
from cxml.churn._reasons import reason_lists
from cxml.churn._reference import percentile, population_reference
from cxml.churn._templates import FAMILIES, PRIOR, Context, describe, family_of
from cxml.data.sample import generate_sample
from cxml.features import DEFAULT_WINDOWS
from cxml.features._base import FEEDBACK_KINDS
from cxml.features.core import parse_windows
from cxml.features.customer import purchase_columns
from cxml.features.engagement import engagement_columns, feedback_columns
from cxml.features.rhythm import RHYTHM_COLUMNS
from cxml.schema import EventTypes

AS_OF = pd.Timestamp("2024-06-01")
WINDOWS = parse_windows(DEFAULT_WINDOWS)


def _all_columns() -> list[str]:
    """Every column customer_features can make for the sample's event types and all feedback kinds."""
    ev = cxml.load_events(generate_sample(n_customers=200, n_items=20, random_state=1))
    kinds = set(FEEDBACK_KINDS) | {EventTypes.PURCHASE}
    types = sorted(t for t in ev["event_type"].unique() if t not in kinds)
    assert len(types) >= 2  # the sample has engagement (view, login, ...)
    return (purchase_columns(WINDOWS) + engagement_columns(types, WINDOWS) + feedback_columns(list(FEEDBACK_KINDS))
            + list(RHYTHM_COLUMNS) + list(BTYD_COLUMNS))


COLUMNS = _all_columns()
_MONEY = re.compile(r"^(spend_total|spend_\d+d|order_value_(mean|max)|gg_expected_order_value|bg_gg_expected_value)$")
_SHARE = re.compile(r"^(return_rate|refund_share|top_item_share|bg_p_alive|rhythm_recent_share_90d|"
                    r"rhythm_weekday_share)$")
_DAYS = re.compile(r"^(?!n_purchase_days).*(_days|days_since|days_since_\w+)$")
_COUNT = re.compile(r"^(n_orders(_\d+d)?|n_purchase_days|n_distinct_items|eng_.+_n_\d+d|fb_.+_n)$")


def _value(col: str) -> float:
    """A realistic value whose formatting is easy to recognise."""
    if _MONEY.match(col):
        return 1234.5
    if _SHARE.match(col) or col == "bg_p_no_purchase":
        return 0.82
    if col == "rhythm_log_survival":
        return math.log(0.37)  # shown as the probability
    if _DAYS.search(col):
        return 123.4
    if _COUNT.match(col):
        return 7.0
    if col.startswith("nps_"):
        return 1.0
    if "trend" in col:
        return -3.0 if col.startswith("orders") else -800.0
    return 3.0  # scores (fb_*_last/mean), gap_ratio, expected purchases


def _expected(col: str) -> str:
    """How the value must appear in the sentence."""
    if _MONEY.match(col):
        return "1,234.50"
    if _SHARE.match(col):
        return "82 %"
    if col == "bg_p_no_purchase":
        return "18 %"  # its chance of buying again
    if col == "rhythm_log_survival":
        return "37 %"
    if _DAYS.search(col):
        return "123 days"
    if col.startswith("spend_trend"):
        return "39 %"  # 800 of the 2034.50 before
    if col.startswith("orders_trend"):
        return "from 10 to 7"
    if col.startswith("nps_"):
        return "is an NPS"
    return "7" if _COUNT.match(col) else "3"


@pytest.fixture(scope="module")
def row() -> dict[str, float]:
    return {c: _value(c) for c in COLUMNS}


def _ctx(row: dict[str, float], reference: dict | None = None, prior: str = "bg_p_no_purchase") -> Context:
    return Context(row=row, as_of=AS_OF, horizon_days=90, reference=reference, prior_column=prior)


def _clean(text: str, col: str) -> None:
    assert text and text[0].islower() or text[0].isdigit(), text
    assert "_" not in text and col not in text, f"{col}: internal name in {text!r}"
    assert not re.search(r"\bnan\b|\bNone\b|inf\b", text, flags=re.I), f"{col}: {text!r}"


@pytest.mark.parametrize("col", COLUMNS)
def test_every_feature_gets_a_readable_sentence_with_its_value(col: str, row: dict[str, float]) -> None:
    text = describe(col, row[col], _ctx(row))
    _clean(text, col)
    assert _expected(col) in text, f"{col}={row[col]}: {text!r}"
    if _DAYS.search(col):  # days are whole numbers
        assert not re.search(r"\d\.\d+ days", text), text


@pytest.mark.parametrize("col", COLUMNS)
def test_every_feature_has_a_sentence_when_missing(col: str, row: dict[str, float]) -> None:
    gap = {**row, col: math.nan, "ipt_mean_days": math.nan, "fb_nps_days_since": math.nan}
    _clean(describe(col, math.nan, _ctx(gap)), col)


def test_every_family_is_exercised() -> None:
    seen = {family_of(c) for c in [*COLUMNS, PRIOR]}
    assert seen == {family for family, _, _ in FAMILIES}


def test_population_reference_is_part_of_the_sentence(row: dict[str, float]) -> None:
    rng = np.random.default_rng(0)
    population = pd.DataFrame({c: rng.uniform(0.0, 2 * max(abs(_value(c)), 1.0), 500) for c in COLUMNS})
    ref = population_reference(population, rng.normal(size=500), None)
    ctx = _ctx(row, ref)
    for col in COLUMNS:
        text = describe(col, row[col], ctx)
        _clean(text, col)
        # recency and trends compare with the customer's own past; the others with the population
        compared = "typical customer" in text or "% of customers" in text
        assert family_of(col) in ("recency", "trends") or compared, (col, text)
    population["nps_promoter"] = np.r_[np.ones(100), np.zeros(400)]
    assert "20 % of customers who answered are" in describe("nps_promoter", 1.0, _ctx(row, population_reference(
        population, np.zeros(500), None)))
    top = describe("n_orders_365d", 1000.0, ctx)
    assert "top 1 % of customers" in top


def test_the_issue_examples_read_as_written(row: dict[str, float]) -> None:
    ctx = _ctx({**row, "recency_days": 124.0, "ipt_mean_days": 41.0, "spend_90d": 30.0, "spend_trend_90d": -70.0,
                "fb_nps_days_since": 10.0})
    assert describe("recency_days", 124.0, ctx) == "no purchase for 124 days — 3.0× their usual gap of 41 days"
    assert describe("spend_trend_90d", -70.0, ctx) == "spend in the last 90 days fell 70 % against the period before"
    assert describe("fb_nps_last", 3.0, ctx) == "gave an NPS of 3 in May 2024"
    quiet = _ctx({**row, "n_orders": 1.0, "gap_ratio": 4.0},
                 population_reference(pd.DataFrame({"n_orders": [1.0, 3.0, 5.0]}), np.zeros(3), None))
    assert describe(PRIOR, 0.82, quiet) == (
        "buys rarely and has been quiet: the purchase model puts their chance of buying again in the next "
        "90 days at 18 %")
    once = {**row, "n_purchase_days": 1.0, "gap_ratio": math.nan, "recency_days": 200.0}
    ref = population_reference(pd.DataFrame({"recency_days": [10.0, 50.0, 90.0]}), np.zeros(3), None)
    assert describe(PRIOR, 0.9, _ctx(once, ref)).startswith("bought only once, 200 days ago: the purchase")
    once["recency_days"] = math.nan
    assert describe(PRIOR, 0.9, _ctx(once, ref)).startswith("bought only once: the purchase")
    assert describe("bg_p_alive", 1.0, _ctx(once)).startswith("bought only once, so the purchase model")
    value = describe(PRIOR, 250.0, _ctx(row, prior="bg_gg_expected_value"))
    assert "forecast 250.00 of spend in the next 90 days" in value


def test_shares_near_the_edges_are_not_rounded_to_certainty(row: dict[str, float]) -> None:
    assert "under 1 %" in describe("bg_p_alive", 0.001, _ctx(row))
    assert "over 99 %" in describe("bg_p_no_purchase", 0.0001, _ctx(row))


@pytest.mark.parametrize("name", ["mystery_score", "__bias__", "eng__n_30d_x", "fb_loyalty_last", ""])
def test_an_unknown_feature_is_a_clear_error(name: str, row: dict[str, float]) -> None:
    with pytest.raises(cxml.ParameterError, match=f"no reason template for feature {re.escape(repr(name))}"):
        describe(name, 1.0, _ctx(row))


def test_percentile_counts_ties_half_and_interpolates() -> None:
    ref = population_reference(pd.DataFrame({"a": np.r_[np.zeros(50), np.arange(1.0, 51.0)]}), np.zeros(1), None)
    assert percentile(ref, "a", 0.0) == pytest.approx(24.5)  # half of the tied half
    assert percentile(ref, "a", -1.0) == 0.0 and percentile(ref, "a", 99.0) == 100.0
    assert 60 < percentile(ref, "a", 12.0) < 80  # type: ignore[operator]
    assert percentile(ref, "missing", 1.0) is None and percentile(None, "a", 1.0) is None


def test_reason_lists_orders_by_rank_and_keeps_customers_without_reasons() -> None:
    frame = pd.DataFrame({"customer_id": ["b", "a", "a"], "rank": [1, 2, 1], "reason": ["x", "second", "first"]})
    assert reason_lists(frame, ["a", "c", "b"]) == [["first", "second"], [], ["x"]]


def test_a_long_rhythm_gap_is_described_not_overflowed(row: dict[str, float]) -> None:
    # only rhythm_log_survival is exponentiated: a gap of 1000 days used to overflow math.exp
    text = describe("rhythm_expected_gap_days", 1000.0, _ctx(row))
    assert text == "expected gap between purchase days about 1000 days"
