"""RFM scores/segments and CX scores, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.segment import SEGMENTS, cx_summary, name_segments, rfm_segments, segment_summary

AS_OF = pd.Timestamp("2024-07-01")
# customer -> (recency days, purchase days, total spend)
PLAN = {"c1": (1, 5, 500.0), "c2": (2, 1, 10.0), "c3": (3, 2, 20.0), "c4": (4, 4, 400.0), "c5": (5, 3, 15.0)}


def rfm_events() -> pd.DataFrame:
    rows = []
    for cust, (recency, n, spend) in PLAN.items():
        for k in range(n):
            rows.append((cust, AS_OF - pd.Timedelta(days=recency + 10 * k), spend / n))
    return cxml.load_events(pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]))


def test_rfm_scores_and_segments_by_hand() -> None:
    seg = rfm_segments(rfm_events(), AS_OF)
    # 5 customers with distinct values: each score is the customer's rank (recency reversed)
    assert seg["r"].tolist() == [5, 4, 3, 2, 1]
    assert seg["f"].tolist() == [5, 1, 2, 4, 3]
    assert seg["m"].tolist() == [5, 1, 3, 4, 2]
    assert seg["rfm"].tolist() == ["555", "411", "323", "244", "132"]
    # c1 champions; c2 recent single buyer; c3 r=3, fm=2.5; c4 r=2, fm=4; c5 r=1, fm=2.5
    assert seg["segment"].astype(str).tolist() == ["champions", "new", "potential", "at risk", "lost"]
    assert seg["recency_days"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert seg["frequency"].tolist() == [5, 1, 2, 4, 3]
    assert seg["monetary"].tolist() == pytest.approx([500.0, 10.0, 20.0, 400.0, 15.0])
    assert list(seg["segment"].cat.categories) == list(SEGMENTS)


def test_segment_rules_table() -> None:
    r = np.array([5, 4, 3, 5, 4, 3, 2, 1, 2, 1, 2])
    f = np.array([4, 3, 3, 1, 2, 1, 5, 3, 2, 2, 1])
    m = np.array([4, 3, 3, 2, 1, 1, 5, 3, 3, 2, 1])
    expected = [
        "champions",
        "loyal",
        "loyal",
        "new",
        "potential",
        "potential",
        "at risk",
        "at risk",
        "hibernating",
        "lost",
        "hibernating",
    ]
    assert name_segments(r, f, m).tolist() == expected


def test_ties_share_the_lower_score() -> None:
    ev = rfm_events()
    extra = cxml.load_events(
        pd.DataFrame({"customer_id": ["c6"], "timestamp": [AS_OF - pd.Timedelta("9D")], "amount": [1.0]})
    )
    seg = rfm_segments(pd.concat([ev, extra], ignore_index=True), AS_OF)
    # c2 and c6 both bought once: both get the lowest frequency score
    assert seg.loc["c2", "f"] == seg.loc["c6", "f"] == 1
    assert seg["f"].between(1, 5).all() and seg["r"].between(1, 5).all()


def test_segment_summary() -> None:
    s = segment_summary(rfm_segments(rfm_events(), AS_OF))
    assert s.index.tolist() == list(SEGMENTS)
    assert s.loc["at risk", "n_customers"] == 1 and s.loc["loyal", "n_customers"] == 0
    assert s["n_customers"].sum() == 5 and s["customer_share"].sum() == pytest.approx(1.0)
    assert s.loc["champions", "revenue_share"] == pytest.approx(500 / 945)
    assert s.loc["loyal", "revenue"] == 0.0
    with pytest.raises(cxml.SchemaError, match="segment"):
        segment_summary(pd.DataFrame({"x": [1]}))


def cx_events() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "a", "b", "c", "d", "a", "b", "f"],
            "timestamp": [
                "2024-01-03",
                "2024-01-05",
                "2024-01-09",
                "2024-02-01",
                "2024-02-02",
                "2024-01-10",
                "2024-01-11",
                "2024-02-12",
                "2024-02-13",
                "2024-01-20",
                "2024-02-21",
                "2024-01-25",
            ],
            "event_type": [
                "nps",
                "nps",
                "nps",
                "nps",
                "nps",
                "csat",
                "csat",
                "csat",
                "csat",
                "ces",
                "ces",
                "purchase",
            ],
            "value": [10, 9, 9, 7, 3, 5, 4, 3, 1, 2, 4, np.nan],
            "country": ["UK", "UK", "FR", "FR", "FR", "UK", "UK", "FR", "FR", "UK", "UK", "UK"],
        }
    )
    return cxml.load_events(raw)


def test_cx_summary_overall() -> None:
    cx = cx_summary(cx_events())
    row = cx.loc["all"]
    assert row["nps"] == 40.0  # 3 promoters, 1 detractor of 5 answers
    assert (row["nps_n"], row["nps_promoters"], row["nps_detractors"]) == (5, 3, 1)
    assert (row["csat"], row["csat_n"]) == (50.0, 4)  # 5 and 4 of 5, 4, 3, 1
    assert (row["ces"], row["ces_n"]) == (3.0, 2)


def test_cx_summary_by_column_and_period() -> None:
    ev = cx_events()
    by_country = cx_summary(ev, by="country")
    assert by_country.loc["UK", "nps"] == 100.0 and by_country.loc["UK", "nps_n"] == 2
    assert by_country.loc["FR", "nps"] == pytest.approx(0.0)  # 9 (promoter), 7, 3 (detractor)
    assert by_country.loc["FR", "csat"] == 0.0 and np.isnan(by_country.loc["FR", "ces"])
    assert by_country.loc["FR", "ces_n"] == 0
    monthly = cx_summary(ev, freq="M")
    jan, feb = pd.Period("2024-01", "M"), pd.Period("2024-02", "M")
    assert monthly.loc[jan, "nps"] == 100.0 and monthly.loc[feb, "nps"] == -50.0
    assert monthly.loc[jan, "csat"] == 100.0 and monthly.loc[feb, "csat_n"] == 2
    both = cx_summary(ev, by="country", freq="M")
    assert both.loc[("FR", feb), "nps_n"] == 2
    assert cx_summary(ev, as_of="2024-02-01").loc["all", "nps_n"] == 3


def test_cx_summary_by_segment_series_counts_unmapped() -> None:
    groups = pd.Series({"a": "gold", "b": "gold", "c": "basic", "d": "basic"}, name="segment")
    with pytest.warns(cxml.DataWarning, match="1 of 11 answers"):
        cx = cx_summary(cx_events(), by=groups)
    assert cx.index.name == "segment"
    assert cx.loc["gold", "nps"] == 100.0 and cx.loc["basic", "nps_n"] == 2
    with pytest.raises(cxml.ParameterError, match="not a column"):
        cx_summary(cx_events(), by="region")


def test_rfm_and_cx_on_retail(retail_events: pd.DataFrame) -> None:
    seg = rfm_segments(retail_events, "2010-09-01")
    assert set(seg["segment"].astype(str)) == set(SEGMENTS)
    for col in ("r", "f", "m"):
        counts = seg[col].value_counts()
        assert set(counts.index) <= {1, 2, 3, 4, 5}
    # recency has few ties, so its quintiles are close to equal
    assert seg["r"].value_counts().max() < 0.3 * len(seg)
    s = segment_summary(seg)
    assert s["n_customers"].sum() == len(seg)
    assert s.loc["champions", "revenue_share"] > s.loc["champions", "customer_share"]
