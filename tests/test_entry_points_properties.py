"""Every public entry point, given messy events and careless arguments, returns a result or raises a
CxmlError — never a raw numpy/pandas/LightGBM/stdlib exception (issue 13).

The frames are plausible shop data with dirt mixed in (ids of mixed types, unicode and huge ids,
NaN/inf, bad and ambiguous dates, tz mixes, duplicated columns, empty and one-row tables); the
arguments are what a hurried user types (``as_of`` as an int or with a time of day, a horizon without
a unit, ``k`` far larger than the catalogue, a single id as a str).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxml
from cxml.churn import BGNBDModel, ChurnModel, CLTVModel, GammaGammaModel
from cxml.features import churn_labels, customer_features, future_value, training_frame
from cxml.recommend import (
    ALSRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate,
    temporal_split,
)
from cxml.segment import cx_summary, rfm_segments

customer_ids = st.one_of(
    st.sampled_from(["c1", "c2", "c3", "00123", "123", "ü-kunde", "客户"]),
    st.integers(0, 5),
    st.just(12345678901234567),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.none(),
)
item_ids = st.one_of(st.sampled_from(["i1", "i2", "i3", "007", "7"]), st.integers(0, 3), st.none())
stamps = st.one_of(
    st.datetimes(min_value=pd.Timestamp("2023-06-01").to_pydatetime(),
                 max_value=pd.Timestamp("2024-06-01").to_pydatetime()).map(str),
    st.sampled_from(["2024-01-05T10:00:00+02:00", "2024-01-05 23:59:59Z", "05/01/2024", "25/01/2024",
                     "2024-02-30", "soon", ""]),
    st.none(),
)
amounts = st.one_of(st.floats(-50, 500), st.just(float("nan")), st.just(float("inf")), st.just("12.5"),
                    st.just("n/a"), st.none())
kinds = st.one_of(st.sampled_from(["purchase", "purchase", "purchase", "view", "nps", "login"]), st.none())
as_ofs = st.one_of(
    st.sampled_from(["2024-01-01", "2024-03-01 15:30", "2024-06-01", "1999-01-01", "2300-01-01", "not a date"]),
    st.integers(0, 2_000_000_000),
    st.none(),
)
horizons = st.sampled_from(["90D", "30D", "90", 30, -5, "soon", None])
ks = st.sampled_from([1, 10, 10**9, 0, -1, "5", None, 2.5])


@st.composite
def events_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.sampled_from([0, 1, 2, 5, 12, 30]))
    clean = draw(st.booleans())  # half the frames are well-formed, so the models get to run

    def column(strategy: st.SearchStrategy[Any], good: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(good if clean else strategy, min_size=n, max_size=n))

    cols: dict[str, list[Any]] = {
        "customer_id": column(customer_ids, st.sampled_from(["c1", "c2", "c3", "c4"])),
        "timestamp": column(stamps, st.datetimes(min_value=pd.Timestamp("2023-06-01").to_pydatetime(),
                                                 max_value=pd.Timestamp("2024-06-01").to_pydatetime())),
    }
    if draw(st.booleans()):
        cols["item_id"] = column(item_ids, st.sampled_from(["i1", "i2", "i3"]))
    if draw(st.booleans()):
        cols["amount"] = column(amounts, st.floats(1, 100))
    if draw(st.booleans()):
        cols["event_type"] = column(kinds, st.just("purchase"))
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    if n and draw(st.integers(0, 9)) == 0:  # a duplicated column name
        frame = pd.concat([frame, frame[["customer_id"]]], axis=1)
    return frame


def only_cxml_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; a CxmlError is a fine answer to bad input, any other exception is a bug."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except cxml.CxmlError:
            return None


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(events_frames(), as_ofs, horizons)
def test_features_and_labels(raw: pd.DataFrame, as_of: Any, horizon: Any) -> None:
    only_cxml_errors(lambda: customer_features(raw, as_of))
    only_cxml_errors(lambda: churn_labels(raw, as_of, horizon))
    only_cxml_errors(lambda: future_value(raw, as_of, horizon))
    only_cxml_errors(lambda: training_frame(raw, cutoffs=[as_of], horizon=horizon))


@SETTINGS
@given(events_frames(), as_ofs)
def test_segments_and_summaries(raw: pd.DataFrame, as_of: Any) -> None:
    only_cxml_errors(lambda: rfm_segments(raw, as_of))
    only_cxml_errors(lambda: cx_summary(raw))
    only_cxml_errors(lambda: cxml.data.describe_events(raw))


@pytest.mark.parametrize(
    "make", [PopularityRecommender, ItemKNNRecommender, EASERecommender,
             lambda: ALSRecommender(factors=4, iterations=2, random_state=0)],
    ids=["popularity", "itemknn", "ease", "als"],
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events_frames(), k=ks, who=st.sampled_from(["c1", ["c1", "zz"], [], None, 5]))
def test_recommenders(make: Callable[[], Any], raw: pd.DataFrame, k: Any, who: Any) -> None:
    model = only_cxml_errors(lambda: make().fit(raw))
    if model is None:
        return
    recs = only_cxml_errors(lambda: model.recommend(who, k=k))
    if recs is not None and isinstance(k, int) and k >= 1:
        per_customer = recs.groupby("customer_id").size()
        assert (per_customer <= min(k, len(model.item_map_))).all()
    only_cxml_errors(lambda: model.similar_items("i1", k=k))


@SETTINGS
@given(events_frames(), as_ofs)
def test_split_and_evaluate(raw: pd.DataFrame, test_start: Any) -> None:
    parts = only_cxml_errors(lambda: temporal_split(raw, test_start=test_start))
    only_cxml_errors(lambda: temporal_split(raw, test_fraction=0.2))
    if parts is None:
        return
    train, test = parts
    model = only_cxml_errors(lambda: PopularityRecommender().fit(train))
    if model is not None:
        only_cxml_errors(lambda: evaluate(model, train, test, k=10))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_frames(), as_ofs, horizons)
def test_btyd_models(raw: pd.DataFrame, as_of: Any, horizon: Any) -> None:
    bg = only_cxml_errors(lambda: BGNBDModel().fit(raw, as_of=as_of))
    if bg is not None:
        only_cxml_errors(lambda: bg.predict(raw, as_of=as_of, horizon=horizon))
    gg = only_cxml_errors(lambda: GammaGammaModel().fit(raw, as_of=as_of))
    if gg is not None:
        only_cxml_errors(lambda: gg.predict(raw, as_of=as_of))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_frames(), as_ofs, horizons)
def test_lightgbm_models(raw: pd.DataFrame, as_of: Any, horizon: Any) -> None:
    for cls in (ChurnModel, CLTVModel):
        model = only_cxml_errors(lambda cls=cls: cls(horizon=horizon, random_state=0).fit(raw, as_of=as_of))
        if model is not None:
            only_cxml_errors(lambda m=model: m.predict(raw, as_of=as_of))
            only_cxml_errors(lambda m=model: m.explain(raw, as_of=as_of, customers="c1"))


@pytest.fixture(scope="module")
def sample_scorer(tmp_path_factory: pytest.TempPathFactory, sample_events: pd.DataFrame) -> cxml.Scorer:
    """A small bundle (popularity + BG/NBD-backed churn and CLTV) fitted on the committed sample."""
    from cxml.bundle import save_bundle

    as_of = pd.Timestamp("2024-09-01")
    rec = PopularityRecommender().fit(sample_events[sample_events["timestamp"] < as_of])
    churn = ChurnModel(horizon="90D", random_state=0).fit(sample_events, as_of=as_of)
    path = tmp_path_factory.mktemp("bundle") / "b"
    save_bundle(path, recommender=rec, churn=churn, metadata={"as_of": str(as_of)})
    return cxml.Scorer.load(path)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=events_frames(), as_of=as_ofs, k=ks)
def test_scorer(sample_scorer: cxml.Scorer, raw: pd.DataFrame, as_of: Any, k: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        only_cxml_errors(lambda: sample_scorer.score(raw, as_of=as_of, out=Path(tmp) / "scores", k=k,
                                                     progress=False))
    only_cxml_errors(lambda: sample_scorer.recommend("c1", k=k))
    only_cxml_errors(lambda: sample_scorer.churn_risk(raw, as_of=as_of))
