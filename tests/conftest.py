"""Shared fixtures: the real datasets in ../shared/data (skipped with a message when absent)
and the committed synthetic sample. Session-scoped; tests must not modify the frames they get."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

import cxml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CXML_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE_EVENTS = REPO / "data" / "sample" / "events.csv"


def shared_file(*parts: str) -> Path:
    """Path of a file in ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset {path} is absent (set CXML_SHARED_DATA or place ../shared/data)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is absent; real-data tests need ../shared/data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cdnow_events() -> pd.DataFrame:
    """CDNOW 1/10 sample: purchases with quantity and amount, no items."""
    return cxml.load_events(shared_file("cdnow-sample", "transactions.csv"), timestamp="date")


@pytest.fixture(scope="session")
def retail_events() -> pd.DataFrame:
    """UCI Online Retail II 2009-2010 with its dirty rows (missing customers dropped and counted)."""
    raw = pd.read_parquet(shared_file("online-retail-2009", "transactions.parquet"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return cxml.load_events(
            raw, timestamp="invoice_date", item_id="stock_code", price="price", order_id="invoice"
        )


@pytest.fixture(scope="session")
def ml100k_events() -> pd.DataFrame:
    """MovieLens 100K ratings as purchase events with the star rating in ``value``."""
    return cxml.load_events(
        shared_file("ml-100k", "ratings.csv"), customer_id="user_id", value="rating"
    )


@pytest.fixture(scope="session")
def sample_events() -> pd.DataFrame:
    """The committed synthetic sample (data/sample/events.csv)."""
    if not SAMPLE_EVENTS.exists():
        pytest.skip(f"{SAMPLE_EVENTS} is absent; run `python -m cxml.data.sample --out data/sample`")
    return cxml.load_events(SAMPLE_EVENTS)
