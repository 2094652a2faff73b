"""Small deterministic events for the recommender tests: two taste groups plus noise rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml


def make_events(n_customers: int = 40, seed: int = 0) -> pd.DataFrame:
    """Customers c0..c19 buy from items a0..a9, c20..c39 from b0..b9; plus a return and views."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        group = "a" if c < n_customers // 2 else "b"
        items = rng.choice(10, size=5, replace=False)
        for j, it in enumerate(items):
            rows.append((f"c{c}", start + pd.Timedelta(days=int(rng.integers(0, 60)), hours=j),
                         "purchase", f"{group}{it}", 1.0, 10.0))
    # a return and an engagement row must never create an interaction
    rows.append(("c0", start + pd.Timedelta(days=61), "purchase", "z_returned", -1.0, -10.0))
    rows.append(("c1", start + pd.Timedelta(days=62), "view", "z_viewed", np.nan, np.nan))
    columns = ["customer_id", "timestamp", "event_type", "item_id", "quantity", "amount"]
    frame = pd.DataFrame(rows, columns=columns)
    return cxml.load_events(frame)


@pytest.fixture(scope="session")
def small_events() -> pd.DataFrame:
    return make_events()
