"""Rhythm features (issue 19): hand-computed values and point-in-time behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.features._base import prepare
from cxml.features.rhythm import PRIOR_GAPS, RHYTHM_COLUMNS, rhythm_frame

AS_OF = pd.Timestamp("2024-03-01")


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    # a: purchase days Jan 1, Jan 11, Jan 31 (gaps 10, 20), then two rows on Feb 10 (one day)
    # b: one purchase (no gap); c: only after as_of (does not exist)
    rows = [("a", "2024-01-01"), ("a", "2024-01-11"), ("a", "2024-01-31"), ("a", "2024-02-10 09:00"),
            ("a", "2024-02-10 17:00"), ("b", "2024-02-20"), ("c", "2024-03-05"), ("a", "2024-03-02")]
    return cxml.load_events(pd.DataFrame(rows, columns=["customer_id", "timestamp"]).assign(amount=1.0))


def test_hand_computed_values(events: pd.DataFrame) -> None:
    X = rhythm_frame(prepare(events), AS_OF)
    assert X.columns.tolist() == list(RHYTHM_COLUMNS)
    assert X.index.tolist() == ["a", "b"]
    a, b = X.loc["a"], X.loc["b"]
    rec_a = 19.5  # Feb 10 (mid-day) to Mar 1
    assert a["rhythm_gap_median_days"] == pytest.approx(10.0)  # gaps 10, 20, 10
    assert a["rhythm_recency_over_median"] == pytest.approx(rec_a / 10.0)
    assert a["rhythm_recency_over_max"] == pytest.approx(rec_a / 20.0)
    assert a["rhythm_last_gap_ratio"] == pytest.approx(10.0 / 15.0)
    tenure_a = 59.5  # Jan 1 (mid-day) to Mar 1
    a_post, b_post = PRIOR_GAPS + 3, PRIOR_GAPS * tenure_a + 40.0
    assert a["rhythm_log_survival"] == pytest.approx(a_post * np.log(b_post / (b_post + rec_a)), rel=1e-6)
    assert a["rhythm_expected_gap_days"] == pytest.approx(b_post / a_post, rel=1e-6)
    assert a["rhythm_recent_share_90d"] == pytest.approx(1.0)
    assert a["rhythm_same_season_days"] == 0
    # Jan 1 2024 Mon, Jan 11 Thu, Jan 31 Wed, Feb 10 Sat: four weekdays, each once
    assert a["rhythm_weekday_share"] == pytest.approx(0.25)
    assert np.isnan(b["rhythm_gap_median_days"]) and np.isnan(b["rhythm_recency_over_median"])
    assert np.isnan(b["rhythm_last_gap_ratio"]) and np.isnan(b["rhythm_recency_over_max"])
    # no own gap: the prior alone (one purchase per tenure: Feb 20 mid-day to Mar 1)
    assert b["rhythm_expected_gap_days"] == pytest.approx(9.5, rel=1e-6)
    assert b["rhythm_weekday_share"] == 1.0


def test_same_season_counts_last_years_next_window() -> None:
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["s", "s", "s"],
                                        "timestamp": ["2023-03-10", "2023-04-20", "2023-12-01"], "amount": 1.0}))
    X = rhythm_frame(prepare(ev), AS_OF)
    assert X.loc["s", "rhythm_same_season_days"] == 2  # Mar 10 and Apr 20 2023 in [Mar 2 2023, May 31 2023)


def test_point_in_time(events: pd.DataFrame) -> None:
    """Rows at or after as_of change nothing, whether or not prepare() was cut at as_of."""
    full = rhythm_frame(prepare(events), AS_OF)
    cut = rhythm_frame(prepare(events, AS_OF), AS_OF)
    before = rhythm_frame(prepare(events[events["timestamp"] < AS_OF]), AS_OF)
    pd.testing.assert_frame_equal(full, cut)
    pd.testing.assert_frame_equal(full, before)


def test_a_customer_does_not_depend_on_the_others(events: pd.DataFrame) -> None:
    """Batch scoring in chunks must give every customer the same values as the whole table."""
    other = cxml.load_events(pd.DataFrame({"customer_id": "d", "timestamp": ["2023-01-01", "2023-07-01", "2024-01-01"],
                                           "amount": 1.0}))
    both = pd.concat([events, other], ignore_index=True)
    alone = rhythm_frame(prepare(events[events["customer_id"] == "a"]), AS_OF)
    pd.testing.assert_frame_equal(alone, rhythm_frame(prepare(both), AS_OF).loc[["a"]])
