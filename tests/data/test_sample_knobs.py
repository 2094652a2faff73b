"""The sample generator's size knobs: each changes what it names, hits its target, and is validated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cxml.data.sample import generate_sample
from cxml.exceptions import ParameterError
from cxml.schema import Columns, EventTypes


def _purchase_lines(ev: pd.DataFrame) -> pd.DataFrame:
    """Purchase lines, returns left out."""
    is_line = ev[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE) & ev[Columns.QUANTITY].gt(0)
    return ev.loc[is_line.to_numpy()]


def _top_share(lines: pd.DataFrame, fraction: float) -> float:
    """Share of purchase lines that go to the most bought ``fraction`` of the catalogue's items."""
    counts = lines[Columns.ITEM].value_counts()
    n_top = max(1, int(round(fraction * counts.size)))
    return float(counts.iloc[:n_top].sum() / counts.sum())


def test_knobs_left_at_none_keep_the_default_stream() -> None:
    plain = generate_sample(n_customers=300, n_items=80, random_state=7)
    explicit = generate_sample(
        n_customers=300,
        n_items=80,
        random_state=7,
        n_events=None,
        purchase_share=None,
        zipf_exponent=None,
        basket_size=None,
        repeat_rate=None,
        n_categories=None,
    )
    pd.testing.assert_frame_equal(plain, explicit)


def test_more_items_give_more_distinct_items() -> None:
    few = generate_sample(n_customers=1500, n_items=200, random_state=1, n_events=40_000)
    many = generate_sample(n_customers=1500, n_items=5000, random_state=1, n_events=40_000)
    n_few = _purchase_lines(few)[Columns.ITEM].nunique()
    n_many = _purchase_lines(many)[Columns.ITEM].nunique()
    assert n_few <= 200 and n_many > 3 * n_few


def test_zipf_exponent_concentrates_popularity() -> None:
    kw: dict[str, Any] = {"n_customers": 2000, "n_items": 2000, "random_state": 2, "purchase_share": 1.0}
    flat = _top_share(_purchase_lines(generate_sample(**kw, zipf_exponent=0.3)), 0.01)
    steep = _top_share(_purchase_lines(generate_sample(**kw, zipf_exponent=1.3)), 0.01)
    assert steep > 2 * flat, (flat, steep)
    # exponent 0 is a uniform catalogue: the top 1 % of items get little more than 1 % of the lines
    uniform = _top_share(_purchase_lines(generate_sample(**kw, zipf_exponent=0.0)), 0.01)
    assert uniform < 0.05 < steep


@pytest.mark.parametrize("exponent", [0.7, 1.2])
def test_zipf_exponent_is_the_rank_frequency_slope(exponent: float) -> None:
    ev = generate_sample(n_customers=5000, n_items=2000, random_state=1, n_events=150_000, purchase_share=1.0,
                         basket_size=6.0, zipf_exponent=exponent, n_categories=40)
    counts = _purchase_lines(ev)[Columns.ITEM].value_counts().to_numpy()
    rank = np.arange(1, counts.size + 1)
    # the head (past the noisiest top ranks) of a log-log rank-frequency plot
    slope = np.polyfit(np.log(rank[2:200]), np.log(counts[2:200]), 1)[0]
    assert abs(-slope - exponent) < 0.15, slope


@pytest.mark.parametrize("basket", [1.0, 3.0, 8.0])
def test_basket_size_sets_lines_per_order(basket: float) -> None:
    ev = generate_sample(n_customers=1500, n_items=5000, random_state=3, basket_size=basket, n_categories=50)
    per_order = _purchase_lines(ev).groupby(Columns.ORDER).size()
    # a few lines drawn twice in one order are merged, so slightly fewer than asked
    assert basket * 0.85 <= per_order.mean() <= basket * 1.02, per_order.mean()
    if basket == 1.0:
        assert (per_order == 1).all()


def test_repeat_rate_sets_how_often_an_item_is_bought_again() -> None:
    kw: dict[str, Any] = {"n_customers": 1500, "n_items": 5000, "random_state": 4, "n_categories": 50}
    shares = []
    for rate in (0.0, 0.3, 0.8):
        lines = _purchase_lines(generate_sample(**kw, repeat_rate=rate))
        shares.append(lines.duplicated([Columns.CUSTOMER, Columns.ITEM]).mean())
    assert shares[0] < shares[1] < shares[2]
    assert shares[0] < 0.1 and shares[2] > 0.4, shares


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_customers": 300, "n_items": 50, "n_events": 3_000},
        {"n_customers": 2500, "n_items": 20_000, "n_events": 75_000, "purchase_share": 1.0,
         "basket_size": 8.0, "zipf_exponent": 1.0, "n_categories": 200},
        {"n_customers": 1000, "n_items": 500, "n_events": 200_000, "purchase_share": 0.5},
        {"n_customers": 2000, "n_items": 500, "n_events": 30_000},
    ],
)
def test_target_rows_are_hit_within_tolerance(kwargs: dict[str, Any]) -> None:
    ev = generate_sample(random_state=5, **kwargs)
    assert abs(len(ev) / kwargs["n_events"] - 1) < 0.05, len(ev)
    assert ev[Columns.CUSTOMER].nunique() == kwargs["n_customers"]
    share = ev[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).mean()
    if "purchase_share" in kwargs:
        assert abs(share - kwargs["purchase_share"]) < 0.03, share
    else:  # today's mix, at the new size
        default = generate_sample(kwargs["n_customers"], kwargs["n_items"], random_state=5)
        assert abs(share - default[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).mean()) < 0.03


def test_purchase_share_alone_changes_the_mix_not_the_purchases() -> None:
    default = generate_sample(n_customers=1000, n_items=200, random_state=6)
    mostly = generate_sample(n_customers=1000, n_items=200, random_state=6, purchase_share=0.8)
    is_buy = mostly[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE)
    assert abs(is_buy.mean() - 0.8) < 0.03
    n_default = int(default[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).sum())
    assert int(is_buy.sum()) == n_default  # purchase rates untouched, engagement thinned


def test_purchase_share_one_is_purchases_only() -> None:
    ev = generate_sample(n_customers=500, n_items=300, random_state=0, n_events=20_000, purchase_share=1.0)
    assert set(ev[Columns.EVENT_TYPE].unique()) == {EventTypes.PURCHASE}


def test_n_categories_narrows_each_customers_choice() -> None:
    # one category: every line is drawn from the whole catalogue; 200 small categories: each
    # customer keeps to a few of them, so buys the same items more often
    kw: dict[str, Any] = {"n_customers": 800, "n_items": 2000, "random_state": 8, "repeat_rate": 0.0}
    variety = []
    for n_cat in (1, 200):
        lines = _purchase_lines(generate_sample(**kw, n_categories=n_cat))
        per_customer = lines.groupby(Columns.CUSTOMER)[Columns.ITEM].agg(["size", "nunique"])
        busy = per_customer[per_customer["size"] >= 10]
        assert len(busy) > 50
        variety.append(float((busy["nunique"] / busy["size"]).mean()))
    assert variety[1] < variety[0] - 0.03, variety


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_events": 100}, "n_events=100 for n_customers=200"),
        ({"n_events": 2.5}, "n_events=2.5"),
        ({"purchase_share": 0.0}, "purchase_share=0.0"),
        ({"purchase_share": 1.5}, "purchase_share=1.5"),
        ({"zipf_exponent": -1.0}, "zipf_exponent=-1.0"),
        ({"zipf_exponent": "steep"}, "zipf_exponent='steep'"),
        ({"basket_size": 0.5}, "basket_size=0.5"),
        ({"repeat_rate": 1.2}, "repeat_rate=1.2"),
        ({"n_categories": 0}, "n_categories=0"),
        ({"n_categories": 51}, "n_categories=51"),
        ({"n_events": 210}, "first order alone"),
        ({"n_events": 200_000_000}, "n_events <= 10,000 \\* n_customers"),
    ],
)
def test_bad_knobs_raise_parameter_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        generate_sample(n_customers=200, n_items=50, **kwargs)


def test_knob_runs_are_deterministic() -> None:
    kw: dict[str, Any] = {"n_customers": 400, "n_items": 3000, "n_events": 12_000, "zipf_exponent": 1.1,
                          "basket_size": 5.0, "repeat_rate": 0.4, "purchase_share": 0.7}
    a, b = generate_sample(random_state=9, **kw), generate_sample(random_state=9, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_sample(random_state=10, **kw))
    assert np.isfinite(a[Columns.AMOUNT].dropna()).all()
