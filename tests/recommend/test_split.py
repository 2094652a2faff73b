"""temporal_split follows PROTOCOL.md: one global cut, train = everything before, filtered test."""

from __future__ import annotations

import pandas as pd
import pytest

import cxml
from cxml.recommend import temporal_split


@pytest.fixture
def events() -> pd.DataFrame:
    return cxml.load_events(pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "a", "c", "a", "b", "b"],
        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-10",
                      "2024-01-10", "2024-01-11", "2024-01-12", "2024-01-13"],
        "event_type": ["purchase", "view", "purchase", "purchase", "purchase", "purchase", "view",
                       "purchase", "purchase"],
        "item_id": ["x", "v", "y", "x", "y", "x", "x", "new_item", "x"],
        "quantity": [1, None, 1, 1, 1, 1, None, 1, -1],
    }))


def test_by_date(events: pd.DataFrame) -> None:
    train, test = temporal_split(events, test_start="2024-01-10")
    assert (train.timestamp < pd.Timestamp("2024-01-10")).all() and len(train) == 4
    assert "view" in set(train.event_type)  # engagement stays in train
    # c is new, new_item is unseen, the view and the return are not purchases
    assert test[["customer_id", "item_id"]].values.tolist() == [["a", "y"]]
    assert test.attrs["cxml_split"]["dropped_unseen"] == 2


def test_unfiltered(events: pd.DataFrame) -> None:
    _, test = temporal_split(events, test_start="2024-01-10", filter_unseen=False)
    assert sorted(test.customer_id) == ["a", "b", "c"]
    assert (test.event_type == "purchase").all() and (test.quantity > 0).all()


def test_by_fraction_is_quantile_of_purchase_timestamps(events: pd.DataFrame) -> None:
    purchases = events[cxml.schema.purchase_mask(events)]
    cut = purchases.timestamp.quantile(0.5)
    train, test = temporal_split(events, test_fraction=0.5)
    assert train.timestamp.max() < cut <= test.timestamp.min()
    assert test.attrs["cxml_split"]["cut"] == cut.isoformat()


@pytest.mark.parametrize("kwargs", [{}, {"test_start": "2024-01-10", "test_fraction": 0.2},
                                    {"test_fraction": 1.5}, {"test_fraction": "0.2"},
                                    {"test_start": "not a date"}])
def test_bad_arguments(events: pd.DataFrame, kwargs: dict[str, object]) -> None:
    with pytest.raises((cxml.SchemaError, cxml.ParameterError)):
        temporal_split(events, **kwargs)  # type: ignore[arg-type]
