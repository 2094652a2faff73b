"""temporal_split follows PROTOCOL.md: one global cut, train = everything before, filtered test."""

from __future__ import annotations

from pathlib import Path

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
                                    {"test_fraction": 0.2, "filter_unseen": "yes"}])
def test_bad_arguments(events: pd.DataFrame, kwargs: dict[str, object]) -> None:
    with pytest.raises(cxml.ParameterError):
        temporal_split(events, **kwargs)  # type: ignore[arg-type]


def test_bad_date_is_a_cxml_error(events: pd.DataFrame) -> None:
    with pytest.raises(cxml.ParameterError, match="test_start"):
        temporal_split(events, test_start="not a date")


def test_accepts_incomplete_frame_and_csv_path(events: pd.DataFrame, tmp_path: Path) -> None:
    # plain purchase rows only: a frame without event_type / quantity means purchases
    purchases = events[(events["event_type"] == "purchase") & ~(events["quantity"] < 0)]
    plain = pd.DataFrame({"customer_id": purchases["customer_id"].astype(str),
                          "timestamp": purchases["timestamp"].astype(str),
                          "item_id": purchases["item_id"].astype(object)})
    path = tmp_path / "events.csv"
    plain.to_csv(path, index=False)
    want = temporal_split(purchases, test_fraction=0.3)
    for source in (plain, path):
        got = temporal_split(source, test_fraction=0.3)
        assert [len(part) for part in got] == [len(part) for part in want]
        assert got[1].attrs == want[1].attrs
