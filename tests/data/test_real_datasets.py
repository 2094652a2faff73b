"""The three real datasets load with their own column names; dirty rows follow the counted handling."""

from __future__ import annotations

import pandas as pd
import pytest

import cxml
from cxml.data import describe_events
from cxml.schema import Columns, purchase_mask
from tests.conftest import shared_file


def test_online_retail_dirty_rows_are_counted(retail_events: pd.DataFrame) -> None:
    report = retail_events.attrs["cxml_load_report"]
    # Counts from ../shared/data/online-retail-2009/README.md: 525,461 rows, 107,927 without a customer.
    assert report["rows_in"] == 525_461
    assert report["dropped_missing_customer_id"] == 107_927
    assert len(retail_events) == 417_534
    assert retail_events[Columns.CUSTOMER].nunique() == 4_383
    # duplicates are kept, cancellations are kept as negative rows (returns), not purchases
    cancelled = retail_events[Columns.ORDER].str.startswith("C")
    assert cancelled.sum() == 10_206 - 367  # README: 367 cancellation rows have no customer
    assert not purchase_mask(retail_events)[cancelled & retail_events[Columns.QUANTITY].lt(0)].any()
    assert retail_events["country"].notna().all()


def test_online_retail_warns_about_dropped_rows() -> None:
    raw = pd.read_parquet(shared_file("online-retail-2009", "transactions.parquet"))
    with pytest.warns(cxml.DataWarning, match="dropped 107927 of 525461 rows"):
        cxml.load_events(raw, timestamp="invoice_date", item_id="stock_code", price="price")


def test_cdnow(cdnow_events: pd.DataFrame) -> None:
    assert len(cdnow_events) == 6_919
    assert cdnow_events[Columns.CUSTOMER].nunique() == 2_357
    assert cdnow_events[Columns.AMOUNT].sum() == pytest.approx(244_091.94)
    assert cdnow_events[Columns.TIMESTAMP].min() == pd.Timestamp("1997-01-01")


def test_ml100k(ml100k_events: pd.DataFrame) -> None:
    s = describe_events(ml100k_events)
    assert (s["rows"], s["customers"], s["items"]) == (100_000, 943, 1_682)
    assert ml100k_events[Columns.TIMESTAMP].min() == pd.Timestamp("1997-09-20 03:05:10")
    assert ml100k_events[Columns.VALUE].between(1, 5).all()
