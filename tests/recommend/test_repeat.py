"""Repeat purchases: exclude_seen=False blends the model with the customer's own buying."""

from __future__ import annotations

import pandas as pd
import pytest

import cxml
from cxml.recommend import EASERecommender, PopularityRecommender, evaluate, temporal_split


@pytest.fixture
def grocery() -> pd.DataFrame:
    # everybody buys milk; "a" also buys coffee every week -> "buy again" should put coffee first for a
    rows = [(c, f"2024-01-{d:02d}", "milk") for c in "abcdef" for d in (1, 8)]
    rows += [("a", f"2024-01-{d:02d}", "coffee") for d in (2, 9, 16, 23, 30)]
    rows += [("b", "2024-01-03", "bread"), ("c", "2024-01-03", "bread"), ("a", "2024-02-06", "coffee")]
    return cxml.load_events(pd.DataFrame(rows, columns=["customer_id", "timestamp", "item_id"]))


def test_exclude_seen_false_puts_repeats_first(grocery: pd.DataFrame) -> None:
    model = PopularityRecommender(repeat_weight=0.7).fit(grocery)
    recs = model.recommend(["a"], k=3, exclude_seen=False)
    assert recs["item_id"].tolist()[0] == "coffee"
    assert recs["score"].between(0, 1).all()
    # without the blend the plain model order comes back (milk is most popular)
    plain = PopularityRecommender(repeat_weight=0.0).fit(grocery).recommend(["a"], k=3, exclude_seen=False)
    assert plain["item_id"].tolist()[0] == "milk"
    assert "coffee" not in model.recommend(["a"], k=3, exclude_seen=True)["item_id"].tolist()


def test_evaluate_counts_repeats_when_not_excluding(grocery: pd.DataFrame) -> None:
    train, test = temporal_split(grocery, test_start="2024-02-01")
    model = EASERecommender(l2=1.0, repeat_weight=0.8).fit(train)
    # a's only test purchase is coffee, already bought in train: a miss when seen items are excluded
    assert evaluate(model, train, test, k=1)["hit_rate"] == 0.0
    assert evaluate(model, train, test, k=1, exclude_seen=False)["hit_rate"] == 1.0


def test_history_moves_repeat_signal(grocery: pd.DataFrame) -> None:
    model = PopularityRecommender(repeat_weight=0.9).fit(grocery)
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["new"] * 3, "timestamp": ["2024-02-10"] * 3,
                                          "item_id": ["bread"] * 3}))
    recs = model.recommend(["new"], k=2, exclude_seen=False, history=hist)
    assert recs["item_id"].tolist()[0] == "bread"
