"""Hand-computed expectations for every feature family on a tiny frame (as_of 2024-03-01).

Customer a: purchases 2024-01-01 10:00 (X, 20) and 15:00 (Y, 10), 01-11 09:00 (X, 30), a return
01-20 (X, -10), 02-10 00:00 (Z, 40); views 02-15 and 02-20, a login 02-25; NPS 9 (02-05) and 5
(02-25), CSAT 4 (02-26); a purchase 03-05 after as_of. Customer b: purchase 2023-12-01 (Y, 15) and
a view 02-29 23:00. Customer c: only a view (does not exist). Customer d: first purchase exactly at
as_of (does not exist: features use timestamp < as_of).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.features import customer_features

AS_OF = "2024-03-01"
ROWS = [
    # customer, timestamp, event_type, item, quantity, amount, value, order
    ("a", "2024-01-01 10:00", "purchase", "X", 2.0, 20.0, None, "o1"),
    ("a", "2024-01-01 15:00", "purchase", "Y", 1.0, 10.0, None, "o2"),
    ("a", "2024-01-11 09:00", "purchase", "X", 1.0, 30.0, None, "o3"),
    ("a", "2024-01-20 12:00", "purchase", "X", -1.0, -10.0, None, "r1"),
    ("a", "2024-02-10 00:00", "purchase", "Z", 1.0, 40.0, None, "o4"),
    ("a", "2024-02-15 00:00", "view", None, None, None, None, None),
    ("a", "2024-02-20 00:00", "view", None, None, None, None, None),
    ("a", "2024-02-25 00:00", "login", None, None, None, None, None),
    ("a", "2024-02-05 00:00", "nps", None, None, None, 9.0, None),
    ("a", "2024-02-25 00:00", "nps", None, None, None, 5.0, None),
    ("a", "2024-02-26 00:00", "csat", None, None, None, 4.0, None),
    ("a", "2024-03-05 00:00", "purchase", "X", 1.0, 100.0, None, "o5"),
    ("b", "2023-12-01 00:00", "purchase", "Y", 1.0, 15.0, None, "o6"),
    ("b", "2024-02-29 23:00", "view", None, None, None, None, None),
    ("c", "2024-01-01 00:00", "view", None, None, None, None, None),
    ("d", "2024-03-01 00:00", "purchase", "X", 1.0, 5.0, None, "o7"),
]
COLS = ["customer_id", "timestamp", "event_type", "item_id", "quantity", "amount", "value", "order_id"]


def tiny(with_orders: bool = False) -> pd.DataFrame:
    raw = pd.DataFrame(ROWS, columns=COLS)
    if not with_orders:
        raw = raw.drop(columns="order_id")
    return cxml.load_events(raw, order_id="order_id" if with_orders else None)


@pytest.fixture(scope="module")
def X() -> pd.DataFrame:
    return customer_features(tiny(), AS_OF, windows=("30D", "90D"))


def test_rows_are_customers_existing_before_as_of(X: pd.DataFrame) -> None:
    assert X.index.tolist() == ["a", "b"]
    assert X.index.name == "customer_id"


def test_recency_tenure_frequency_monetary(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert a["recency_days"] == 20.0  # 02-10 -> 03-01 (leap February)
    assert a["tenure_days"] == pytest.approx(60 - 10 / 24, abs=1e-5)
    assert a["n_purchase_days"] == 3 and a["n_orders"] == 3  # orders = customer-days without order_id
    assert a["spend_total"] == 90.0  # refund included; the 03-05 purchase is after as_of
    assert a["order_value_mean"] == pytest.approx(100 / 3)  # days: 30, 30, 40
    assert a["order_value_max"] == 40.0
    assert (b["recency_days"], b["tenure_days"], b["n_orders"], b["spend_total"]) == (91.0, 91.0, 1, 15.0)


def test_inter_purchase_times(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert a["ipt_mean_days"] == 20.0  # gaps 10 and 30 days between purchase days
    assert a["ipt_std_days"] == 10.0
    assert a["gap_ratio"] == 1.0  # 20 days since the last purchase / 20 typical
    assert np.isnan(b["ipt_mean_days"]) and np.isnan(b["ipt_std_days"]) and np.isnan(b["gap_ratio"])


def test_windows_and_trends(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert a["n_orders_30d"] == 1 and a["spend_30d"] == 40.0  # [01-31, 03-01)
    assert a["orders_trend_30d"] == 1 - 2  # previous window [01-01, 01-31) has 01-01 and 01-11
    assert a["spend_trend_30d"] == 40.0 - (30 + 30 - 10)
    assert a["n_orders_90d"] == 3 and a["orders_trend_90d"] == 3 and a["spend_90d"] == 90.0
    assert b["n_orders_30d"] == 0 and b["n_orders_90d"] == 0  # 12-01 is just before 12-02
    assert b["orders_trend_90d"] == -1 and b["spend_trend_90d"] == -15.0


def test_returns_and_diversity(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert a["return_rate"] == pytest.approx(1 / 5)
    assert a["refund_share"] == pytest.approx(10 / 100)
    assert a["n_distinct_items"] == 3 and a["top_item_share"] == 0.5  # X X Y Z
    assert (b["return_rate"], b["refund_share"], b["n_distinct_items"], b["top_item_share"]) == (
        0.0,
        0.0,
        1,
        1.0,
    )


def test_engagement(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert (a["eng_view_n_30d"], a["eng_view_days_since"]) == (2, 10.0)
    assert (a["eng_login_n_30d"], a["eng_login_days_since"], a["days_since_engagement"]) == (1, 5.0, 5.0)
    assert b["eng_view_n_30d"] == 1
    assert b["eng_view_days_since"] == pytest.approx(1 / 24, rel=1e-6)
    assert b["eng_login_n_90d"] == 0 and np.isnan(b["eng_login_days_since"])


def test_feedback(X: pd.DataFrame) -> None:
    a, b = X.loc["a"], X.loc["b"]
    assert (a["fb_nps_last"], a["fb_nps_mean"], a["fb_nps_n"], a["fb_nps_days_since"]) == (5.0, 7.0, 2, 5.0)
    assert (a["nps_promoter"], a["nps_detractor"]) == (0.0, 1.0)
    assert (a["fb_csat_last"], a["fb_csat_n"], a["days_since_feedback"]) == (4.0, 1, 4.0)
    assert b["fb_nps_n"] == 0
    for col in ("fb_nps_last", "fb_nps_mean", "nps_promoter", "nps_detractor", "days_since_feedback"):
        assert np.isnan(b[col]), col
    assert "fb_ces_last" not in X.columns  # kinds absent from the data get no columns by default


def test_dtypes(X: pd.DataFrame) -> None:
    assert X["recency_days"].dtype == np.float32 and X["eng_view_days_since"].dtype == np.float32
    assert X["n_orders"].dtype == np.int32 and X["eng_view_n_30d"].dtype == np.int32
    assert X["spend_total"].dtype == np.float64
    assert X.attrs["cxml_as_of"] == "2024-03-01T00:00:00"
    assert X.attrs["cxml_event_types"] == ["login", "view"]


def test_order_id_defines_orders() -> None:
    a = customer_features(tiny(with_orders=True), AS_OF, windows=("30D",)).loc["a"]
    assert a["n_orders"] == 4 and a["n_purchase_days"] == 3  # two invoices on 01-01
    assert a["order_value_mean"] == 25.0 and a["order_value_max"] == 40.0
    assert a["n_orders_30d"] == 1 and a["orders_trend_30d"] == 1 - 3


def test_value_on_other_event_types_is_a_rating() -> None:
    ev = cxml.load_events(
        pd.DataFrame(
            {
                "customer_id": ["u", "u", "u"],
                "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                "value": [4.0, 2.0, 5.0],
            }
        )
    )
    u = customer_features(ev, "2024-01-03", windows=("30D",)).loc["u"]
    assert (u["fb_rating_last"], u["fb_rating_mean"], u["fb_rating_n"]) == (2.0, 3.0, 2)


def test_columns_make_the_column_set_stable() -> None:
    fit = customer_features(tiny(), AS_OF, windows=("30D",))
    cols = list(fit.columns)
    no_login = tiny()
    no_login = no_login[no_login["event_type"].ne("login") & no_login["event_type"].ne("csat")]
    other = customer_features(no_login, AS_OF, windows=("30D",), columns=cols)
    assert list(other.columns) == cols
    assert other.loc["a", "eng_login_n_30d"] == 0 and np.isnan(other.loc["a", "eng_login_days_since"])
    assert other.loc["a", "fb_csat_n"] == 0
    assert other.loc["a", "days_since_engagement"] == 10.0  # the last view
    pd.testing.assert_series_equal(other["recency_days"], fit["recency_days"])
    explicit = customer_features(no_login, AS_OF, windows=("30D",), event_types=["view", "login", "chat"])
    assert {"eng_chat_n_30d", "eng_login_days_since"} <= set(explicit.columns)


def test_bad_arguments_name_the_problem() -> None:
    ev = tiny()
    with pytest.raises(cxml.ParameterError, match="not customer features"):
        customer_features(ev, AS_OF, columns=["recency_days", "bogus"])
    with pytest.raises(cxml.ParameterError, match="windows"):
        customer_features(ev, AS_OF, windows="30D")
    with pytest.raises(cxml.ParameterError, match="repeat"):
        customer_features(ev, AS_OF, windows=("30D", "30D"))
    with pytest.raises(cxml.ParameterError, match="as_of"):
        customer_features(ev, "not a date")
    with pytest.raises(cxml.ParameterError, match="feedback_types"):
        customer_features(ev, AS_OF, feedback_types=["stars"])
    with pytest.raises(cxml.ParameterError, match="either columns"):
        customer_features(ev, AS_OF, columns=["recency_days"], event_types=["view"])


def test_no_customer_gives_an_empty_frame_with_columns() -> None:
    X = customer_features(tiny(), "2020-01-01", windows=("30D",))
    assert len(X) == 0 and "recency_days" in X.columns


def test_row_order_does_not_matter() -> None:
    ev = tiny(with_orders=True)
    shuffled = ev.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        customer_features(shuffled, AS_OF), customer_features(ev, AS_OF), check_like=False
    )


def test_order_ids_shared_between_customers_or_missing() -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "a", "a"],
            "timestamp": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03 08:00", "2024-01-03 09:00"],
            "amount": [5.0, 7.0, 1.0, 2.0, 3.0],
            "order_id": ["o1", "o1", "o1", None, None],
        }
    )
    X = customer_features(cxml.load_events(raw, order_id="order_id"), "2024-02-01", windows=("30D",))
    # a: o1 (two lines, 6.0) and one customer-day order for the lines without an order id (5.0)
    assert (X.loc["a", "n_orders"], X.loc["a", "order_value_max"], X.loc["a", "order_value_mean"]) == (
        2,
        6.0,
        5.5,
    )
    assert (X.loc["b", "n_orders"], X.loc["b", "order_value_max"]) == (1, 7.0)
