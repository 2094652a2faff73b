"""The synthetic sample: determinism, schema, the committed file, and that its signals are real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import gammaln
from threadpoolctl import threadpool_limits

import cxml
from cxml.data import _sample_customers as C
from cxml.data.sample import generate_sample, load_sample, main
from cxml.schema import Columns, EventTypes, purchase_mask, validate_events

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    """The default sample, generated in memory (equal to the committed file)."""
    return load_sample()


@pytest.fixture(scope="module")
def lifetimes(fresh: pd.DataFrame) -> pd.DataFrame:
    """Per customer: first and last purchase, and whether it churned or stayed active."""
    buys = fresh.loc[purchase_mask(fresh).to_numpy()]
    span = buys.groupby(Columns.CUSTOMER)[Columns.TIMESTAMP].agg(["min", "max"])
    end = fresh[Columns.TIMESTAMP].max()
    span["churned"] = span["max"] < end - pd.Timedelta("180D")
    span["active"] = span["max"] >= end - pd.Timedelta("30D")
    return span


def test_same_seed_same_frame_and_other_seed_differs() -> None:
    a = generate_sample(n_customers=300, n_items=80, random_state=7)
    b = generate_sample(n_customers=300, n_items=80, random_state=7)
    c = generate_sample(n_customers=300, n_items=80, random_state=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) != len(c) or not a[Columns.TIMESTAMP].equals(c[Columns.TIMESTAMP])


def test_is_a_canonical_events_table(fresh: pd.DataFrame) -> None:
    assert validate_events(fresh, require=[Columns.ITEM, Columns.ORDER]) is fresh
    assert list(fresh.columns) == [*Columns.EVENTS, Columns.ORDER]
    # load_events leaves it unchanged: same dtypes, same order, same values
    pd.testing.assert_frame_equal(cxml.load_events(fresh), fresh, check_flags=False)
    assert fresh[Columns.TIMESTAMP].is_monotonic_increasing
    assert set(fresh[Columns.EVENT_TYPE].unique()) == {"purchase", "view", "login", "support", "nps", "csat"}
    assert fresh[Columns.CUSTOMER].nunique() == 2000
    assert fresh[Columns.TIMESTAMP].min() >= pd.Timestamp("2023-01-01")
    assert fresh[Columns.TIMESTAMP].max() < pd.Timestamp("2025-01-01")


def test_committed_files_equal_a_fresh_generation(tmp_path: Path) -> None:
    committed = COMMITTED / "events.csv"
    assert committed.exists(), f"{committed} is missing; run `python -m cxml.data.sample --out data/sample`"
    assert main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "events.csv").read_bytes() == committed.read_bytes()
    assert (tmp_path / "README.md").read_bytes() == (COMMITTED / "README.md").read_bytes()
    assert committed.stat().st_size <= 5_000_000


def test_load_sample_equals_the_committed_file(sample_events: pd.DataFrame, fresh: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sample_events, fresh, check_flags=False)


def test_returns_are_negative_and_reference_an_earlier_purchase_line(fresh: pd.DataFrame) -> None:
    is_purchase = purchase_mask(fresh).to_numpy()
    ret = fresh.loc[fresh[Columns.QUANTITY].lt(0).to_numpy()]
    lines = fresh.loc[is_purchase]
    assert 0.01 < len(ret) / len(lines) < 0.08
    assert (ret[Columns.EVENT_TYPE] == EventTypes.PURCHASE).all()
    assert (ret[Columns.AMOUNT] < 0).all()
    key = [Columns.CUSTOMER, Columns.ITEM, Columns.ORDER]
    matched = ret.merge(lines, on=key, how="left", suffixes=("", "_bought"), validate="one_to_one")
    assert matched["timestamp_bought"].notna().all()
    assert (matched["timestamp_bought"] < matched[Columns.TIMESTAMP]).all()
    assert (-matched[Columns.QUANTITY] <= matched["quantity_bought"]).all()


def test_amounts_are_price_times_quantity_and_skewed(fresh: pd.DataFrame) -> None:
    lines = fresh.loc[fresh[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy()]
    qty, amount = lines[Columns.QUANTITY], lines[Columns.AMOUNT]
    assert (qty == np.round(qty)).all() and (qty != 0).all()
    assert (amount == amount.round(2)).all()
    unit = (amount / qty).groupby(lines[Columns.ITEM])
    assert (unit.max() - unit.min()).max() < 0.01  # one price per item
    positive = amount[amount > 0]
    assert positive.skew() > 1.5 and positive.mean() > positive.median()
    assert qty[qty > 0].value_counts().idxmax() == 1


def test_orders_group_lines_of_one_customer_and_moment(fresh: pd.DataFrame) -> None:
    lines = fresh.loc[purchase_mask(fresh).to_numpy()]
    per_order = lines.groupby(Columns.ORDER).agg(
        n=(Columns.ITEM, "size"),
        items=(Columns.ITEM, "nunique"),
        customers=(Columns.CUSTOMER, "nunique"),
        moments=(Columns.TIMESTAMP, "nunique"),
    )
    assert per_order["n"].between(1, 8).all() and (per_order["n"] == per_order["items"]).all()
    assert (per_order["customers"] == 1).all() and (per_order["moments"] == 1).all()
    assert (per_order["n"] > 1).mean() > 0.3
    non_purchase = fresh.loc[fresh[Columns.EVENT_TYPE].ne(EventTypes.PURCHASE).to_numpy()]
    assert non_purchase[Columns.ORDER].isna().all()


def test_favourite_items_are_bought_again(fresh: pd.DataFrame) -> None:
    lines = fresh.loc[purchase_mask(fresh).to_numpy()]
    repeat = lines.duplicated([Columns.CUSTOMER, Columns.ITEM])
    assert 0.1 < repeat.mean() < 0.6


def test_btyd_shape_one_time_buyers_skewed_frequency_and_late_acquisitions(
    fresh: pd.DataFrame, lifetimes: pd.DataFrame
) -> None:
    lines = fresh.loc[purchase_mask(fresh).to_numpy()]
    days = lines[Columns.TIMESTAMP].dt.normalize().groupby(lines[Columns.CUSTOMER]).nunique()
    assert 0.2 < (days == 1).mean() < 0.6
    assert days.mean() > 1.5 * days.median() and days.max() > 10 * days.median()
    assert pd.Series(days.to_numpy()).skew() > 2
    first_quarter = lifetimes["min"] < pd.Timestamp("2023-04-01")
    last_quarter = lifetimes["min"] >= pd.Timestamp("2024-10-01")
    assert 0.08 < first_quarter.mean() < 0.2 and 0.08 < last_quarter.mean() < 0.2
    # some customers churn, some are still buying at the end
    assert lifetimes["churned"].mean() > 0.3 and lifetimes["active"].mean() > 0.1


def _bgnbd_neg_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    """BG/NBD negative log-likelihood, Fader, Hardie & Lee (2005), eq. (6)."""
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a4 = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf
        )
    return float(-np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def test_purchases_follow_bgnbd_with_the_generating_parameters() -> None:
    # a BG/NBD maximum-likelihood fit (PROTOCOL summary: days, in weeks) recovers the parameters
    # the generator draws rates and dropout probabilities from
    ev = generate_sample(n_customers=10_000, n_items=50, random_state=0)
    buys = ev.loc[purchase_mask(ev).to_numpy()]
    days = buys[Columns.TIMESTAMP].dt.normalize().groupby(buys[Columns.CUSTOMER])
    first, last, n_days = days.min(), days.max(), days.nunique()
    x = (n_days - 1).to_numpy(dtype=float)
    t_x = (last - first).dt.days.to_numpy() / 7
    T = (pd.Timestamp("2024-12-31") - first).dt.days.to_numpy() / 7
    fit = minimize(
        _bgnbd_neg_loglik,
        np.zeros(4),
        args=(x, t_x, T),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6},
    )
    assert fit.success
    truth = np.array([C.RATE_SHAPE, 1 / (7 * C.RATE_SCALE), C.DROPOUT_A, C.DROPOUT_B])
    np.testing.assert_allclose(np.exp(fit.x), truth, rtol=0.15)


def test_feedback_ranges_minority_and_lower_before_churn(
    fresh: pd.DataFrame, lifetimes: pd.DataFrame
) -> None:
    et = fresh[Columns.EVENT_TYPE]
    nps = fresh.loc[et.eq(EventTypes.NPS).to_numpy()]
    csat = fresh.loc[et.eq(EventTypes.CSAT).to_numpy()]
    for frame, (lo, hi) in ((nps, (0, 10)), (csat, (1, 5))):
        v = frame[Columns.VALUE]
        assert len(v) > 100 and v.between(lo, hi).all() and (v == np.round(v)).all()
        assert frame[Columns.ITEM].isna().all() and frame[Columns.AMOUNT].isna().all()
    assert nps[Columns.VALUE].nunique() >= 8
    answered = pd.concat([nps, csat])[Columns.CUSTOMER].nunique() / fresh[Columns.CUSTOMER].nunique()
    assert 0.15 <= answered <= 0.25
    # answers churners gave in the 60 days before their last purchase vs answers of active customers
    nps = nps.join(lifetimes, on=Columns.CUSTOMER)
    late = nps["churned"] & (nps[Columns.TIMESTAMP] >= nps["max"] - pd.Timedelta("60D"))
    assert late.sum() > 100 and nps["active"].sum() > 100
    assert nps.loc[late, Columns.VALUE].mean() < nps.loc[nps["active"], Columns.VALUE].mean() - 0.7


def _rate_before_last_purchase(fresh: pd.DataFrame, lifetimes: pd.DataFrame, types: list[str]) -> pd.Series:
    """Events per day of ``types`` in the 60 days before each customer's last purchase."""
    ev = fresh.loc[fresh[Columns.EVENT_TYPE].isin(types).to_numpy()].join(
        lifetimes["max"], on=Columns.CUSTOMER
    )
    window = ev[
        (ev[Columns.TIMESTAMP] < ev["max"]) & (ev[Columns.TIMESTAMP] >= ev["max"] - pd.Timedelta("60D"))
    ]
    return window.groupby(Columns.CUSTOMER).size().reindex(lifetimes.index, fill_value=0) / 60


def test_engagement_drops_and_support_rises_before_churn(
    fresh: pd.DataFrame, lifetimes: pd.DataFrame
) -> None:
    # customers with 60 days of history before their last purchase, churned vs still active
    eligible = lifetimes["min"] <= lifetimes["max"] - pd.Timedelta("60D")
    churned, active = eligible & lifetimes["churned"], eligible & lifetimes["active"]
    assert churned.sum() > 100 and active.sum() > 100
    engagement = _rate_before_last_purchase(fresh, lifetimes, [EventTypes.VIEW, EventTypes.LOGIN])
    assert engagement[churned].mean() < 0.75 * engagement[active].mean()
    support = _rate_before_last_purchase(fresh, lifetimes, [EventTypes.SUPPORT])
    assert support[churned].mean() > 1.2 * support[active].mean()


def _ndcg_at_10(recommended: np.ndarray, relevant: list[set[int]]) -> float:
    """PROTOCOL NDCG@10 with binary relevance, averaged over test customers."""
    discount = 1.0 / np.log2(np.arange(2, 12))
    scores = [
        sum(discount[r] for r, item in enumerate(recs) if item in rel) / discount[: min(10, len(rel))].sum()
        for recs, rel in zip(recommended, relevant, strict=True)
    ]
    return float(np.mean(scores))


def test_als_beats_popularity_on_a_temporal_split(fresh: pd.DataFrame) -> None:
    from implicit.als import AlternatingLeastSquares

    buys = fresh.loc[purchase_mask(fresh).to_numpy()]
    cut = buys[Columns.TIMESTAMP].quantile(0.8)
    train = buys[buys[Columns.TIMESTAMP] < cut]
    test = buys[buys[Columns.TIMESTAMP] >= cut]
    test = test[
        test[Columns.CUSTOMER].isin(train[Columns.CUSTOMER]) & test[Columns.ITEM].isin(train[Columns.ITEM])
    ]
    users, items = pd.Index(train[Columns.CUSTOMER].unique()), pd.Index(train[Columns.ITEM].unique())
    counts = sp.csr_matrix(
        (
            np.ones(len(train)),
            (users.get_indexer(train[Columns.CUSTOMER]), items.get_indexer(train[Columns.ITEM])),
        ),
        shape=(len(users), len(items)),
    )
    relevant_by_user = test.groupby(Columns.CUSTOMER)[Columns.ITEM].agg(lambda s: set(items.get_indexer(s)))
    rows = users.get_indexer(relevant_by_user.index)
    relevant = list(relevant_by_user)
    assert len(rows) > 300

    with threadpool_limits(1):
        als = AlternatingLeastSquares(
            factors=32, regularization=0.05, alpha=10.0, iterations=15, random_state=0, num_threads=1
        )
        als.fit(counts, show_progress=False)
        als_recs, _ = als.recommend(rows, counts[rows], N=10, filter_already_liked_items=True)

    buyers = np.asarray((counts > 0).sum(axis=0)).ravel()
    ranking = np.argsort(-buyers, kind="stable")
    pop_recs = []
    for r in rows:
        seen = set(counts[r].indices)
        pop_recs.append([i for i in ranking[: 10 + len(seen)] if i not in seen][:10])

    als_ndcg, pop_ndcg = _ndcg_at_10(als_recs, relevant), _ndcg_at_10(np.array(pop_recs), relevant)
    assert pop_ndcg > 0.02  # popularity is a real baseline here, not a strawman
    assert als_ndcg > 1.5 * pop_ndcg, (als_ndcg, pop_ndcg)


def test_tiny_and_shifted_windows_work() -> None:
    ev = generate_sample(n_customers=1, n_items=1, start="2020-02-29", end="2020-02-29", random_state=3)
    validate_events(ev)
    assert (ev[Columns.TIMESTAMP].dt.normalize() == pd.Timestamp("2020-02-29")).all()
    assert purchase_mask(ev).sum() >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, "n_customers=0"),
        ({"n_items": 2.5}, "n_items=2.5"),
        ({"start": "2024-01-02", "end": "2024-01-01"}, "before start"),
        ({"start": "someday"}, "start='someday'"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_sample(**kwargs)  # type: ignore[arg-type]
