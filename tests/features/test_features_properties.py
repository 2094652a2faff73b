"""Property tests: the point-in-time rule and input-order independence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxml
from cxml.features import churn_labels, customer_features, future_value

START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2024-03-01")
TYPES = ["purchase", "purchase", "purchase", "view", "login", "nps", "csat", "rating"]


@st.composite
def event_rows(draw: st.DrawFn, min_minute: int, max_minute: int, max_size: int) -> pd.DataFrame:
    n = draw(st.integers(0, max_size))
    minutes = draw(st.lists(st.integers(min_minute, max_minute), min_size=n, max_size=n))
    cust = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    kind = draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n))
    qty = draw(st.lists(st.sampled_from([1.0, 2.0, -1.0]), min_size=n, max_size=n))
    item = draw(st.lists(st.sampled_from(["x", "y", "z", None]), min_size=n, max_size=n))
    score = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    order = draw(st.lists(st.sampled_from(["o1", "o2", "o3"]), min_size=n, max_size=n))
    is_p = np.array([k == "purchase" for k in kind], dtype=bool)
    q = np.where(is_p, qty, np.nan)
    return pd.DataFrame(
        {
            "customer_id": cust,
            "timestamp": START + pd.to_timedelta(np.asarray(minutes, dtype=np.int64), unit="min"),
            "event_type": kind,
            "item_id": [it if p else None for it, p in zip(item, is_p, strict=True)],
            "quantity": q,
            "amount": q * 10.0,
            "value": np.where(is_p | np.isin(kind, ["view", "login"]), np.nan, score).astype(float),
            "order_id": [f"{c}{o}" for c, o in zip(cust, order, strict=True)],
        }
    )


AS_OF_MIN = int((AS_OF - START) / pd.Timedelta("1min"))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(raw: pd.DataFrame, with_orders: bool) -> pd.DataFrame:
    if not with_orders:
        raw = raw.drop(columns="order_id")
    return cxml.load_events(raw, order_id="order_id" if with_orders else None)


@SETTINGS
@given(
    before=event_rows(0, AS_OF_MIN - 1, 40),
    after=event_rows(AS_OF_MIN, AS_OF_MIN + 200_000, 15),
    with_orders=st.booleans(),
)
def test_events_after_as_of_never_change_features(
    before: pd.DataFrame, after: pd.DataFrame, with_orders: bool
) -> None:
    base = _load(before, with_orders) if len(before) else None
    full = (
        _load(pd.concat([before, after], ignore_index=True), with_orders)
        if len(after) + len(before)
        else None
    )
    if base is None or full is None:
        return
    x0 = customer_features(base, AS_OF, windows=("7D", "30D"))
    x1 = customer_features(full, AS_OF, windows=("7D", "30D"))
    pd.testing.assert_frame_equal(x0, x1)


@SETTINGS
@given(rows=event_rows(0, AS_OF_MIN + 50_000, 50), seed=st.integers(0, 10))
def test_features_and_labels_do_not_depend_on_row_order(rows: pd.DataFrame, seed: int) -> None:
    if len(rows) == 0:
        return
    # equal timestamps would make "latest answer" depend on row order, by design (stable order)
    rows = rows.drop_duplicates(subset=["timestamp"])
    ev = _load(rows, with_orders=True)
    shuffled = ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(customer_features(shuffled, AS_OF), customer_features(ev, AS_OF))
    pd.testing.assert_series_equal(churn_labels(shuffled, AS_OF, "30D"), churn_labels(ev, AS_OF, "30D"))
    pd.testing.assert_series_equal(future_value(shuffled, AS_OF, "30D"), future_value(ev, AS_OF, "30D"))


@SETTINGS
@given(rows=event_rows(0, AS_OF_MIN + 50_000, 50))
def test_customers_are_exactly_the_purchasers_before_as_of(rows: pd.DataFrame) -> None:
    if len(rows) == 0:
        return
    ev = _load(rows, with_orders=False)
    before = ev[ev["timestamp"] < AS_OF]
    expected = sorted(set(before.loc[cxml.schema.purchase_mask(before), "customer_id"]))
    X = customer_features(ev, AS_OF)
    assert X.index.tolist() == expected
    assert churn_labels(ev, AS_OF, "30D").index.tolist() == expected
    assert (future_value(ev, AS_OF, "30D") >= 0).all()
    assert (X["recency_days"] > 0).all() and (X["recency_days"] <= X["tenure_days"]).all()


def reference_features(ev: pd.DataFrame, as_of: pd.Timestamp, window: pd.Timedelta) -> pd.DataFrame:
    """A direct per-customer restatement of the documented definitions (slow, obvious)."""
    ev = ev[ev["timestamp"] < as_of]
    pm = cxml.schema.purchase_mask(ev).to_numpy()
    out = {}
    for cust in sorted(set(ev.loc[pm, "customer_id"])):
        mine = ev["customer_id"].eq(cust).to_numpy()
        pur = ev[mine & pm]
        ptype = ev[mine & ev["event_type"].eq("purchase").to_numpy()]
        days = sorted(set(pur["timestamp"].dt.floor("D")))
        gaps = np.diff(np.array(days, dtype="datetime64[ns]")) / np.timedelta64(1, "D")
        key = pur["order_id"] if "order_id" in pur.columns else pur["timestamp"].dt.floor("D")
        orders = pur.groupby(key)["amount"].sum()
        order_start = pur.groupby(key)["timestamp"].min()
        items = pur["item_id"].dropna().value_counts()
        returns = int((ptype["quantity"] < 0).sum())
        recency = (as_of - pur["timestamp"].max()) / pd.Timedelta("1D")
        out[cust] = {
            "recency_days": recency,
            "tenure_days": (as_of - pur["timestamp"].min()) / pd.Timedelta("1D"),
            "n_purchase_days": len(days),
            "n_orders": len(orders),
            "spend_total": ptype["amount"].sum(),
            "order_value_mean": orders.mean(),
            "order_value_max": orders.max(),
            "ipt_mean_days": gaps.mean() if len(gaps) else np.nan,
            "ipt_std_days": gaps.std() if len(gaps) else np.nan,
            "gap_ratio": recency / gaps.mean() if len(gaps) else np.nan,
            "n_orders_w": int((order_start >= as_of - window).sum()),
            "spend_w": ptype.loc[ptype["timestamp"] >= as_of - window, "amount"].sum(),
            "return_rate": returns / (len(pur) + returns),
            "n_distinct_items": len(items),
            "top_item_share": items.max() / items.sum() if len(items) else np.nan,
        }
    return pd.DataFrame.from_dict(out, orient="index")


@SETTINGS
@given(rows=event_rows(0, AS_OF_MIN + 50_000, 60), with_orders=st.booleans())
def test_purchase_features_match_a_direct_restatement(rows: pd.DataFrame, with_orders: bool) -> None:
    if len(rows) == 0:
        return
    ev = _load(rows, with_orders)
    X = customer_features(ev, AS_OF, windows=("7D",))
    ref = reference_features(ev, AS_OF, pd.Timedelta("7D"))
    assert X.index.tolist() == ref.index.tolist()
    if len(X) == 0:
        return
    ref = ref.rename(columns={"n_orders_w": "n_orders_7d", "spend_w": "spend_7d"})
    for col in ref.columns:
        np.testing.assert_allclose(
            X[col].to_numpy(dtype=np.float64), ref[col].to_numpy(dtype=np.float64), rtol=1e-5, err_msg=col
        )
