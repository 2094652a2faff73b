"""Spark MLlib ALS exported into an ALSRecommender: same interactions, served by Scorer, NDCG close to implicit's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

import cxml
from cxml import Scorer
from cxml.bundle import save_bundle
from cxml.recommend import ALSRecommender, evaluate, temporal_split
from cxml.spark import events_to_spark, fit_als

#: one Spark session per xdist worker: with --dist loadgroup every Spark test runs in the same worker
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def split(sample_events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return temporal_split(sample_events, test_fraction=0.2)  # docs/protocol.md: cut at the 0.8 quantile


@pytest.fixture(scope="module")
def mllib(spark: SparkSession, split: tuple[pd.DataFrame, pd.DataFrame]) -> ALSRecommender:
    return fit_als(events_to_spark(spark, split[0]))


def _triples(model: ALSRecommender) -> pd.DataFrame:
    m = model.user_items_.tocoo()
    return (pd.DataFrame({"c": model.user_map_.to_external(m.row), "i": model.item_map_.to_external(m.col),
                          "w": m.data}).sort_values(["c", "i"], ignore_index=True))


def test_mllib_als_ndcg_is_within_ten_percent_of_implicit(mllib: ALSRecommender,
                                                          split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = split
    implicit_ndcg = evaluate(ALSRecommender(random_state=0).fit(train), train, test, k=10)["ndcg"]
    mllib_ndcg = evaluate(mllib, train, test, k=10)["ndcg"]
    assert mllib_ndcg >= 0.9 * implicit_ndcg, (mllib_ndcg, implicit_ndcg)


def test_exported_model_has_the_interactions_fit_builds(mllib: ALSRecommender,
                                                        split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    pandas_model = ALSRecommender(factors=2, iterations=1, random_state=0).fit(split[0])
    pd.testing.assert_frame_equal(_triples(mllib), _triples(pandas_model))
    np.testing.assert_allclose(mllib.user_repeat_.sum(), pandas_model.user_repeat_.sum(), rtol=1e-5)
    assert mllib.reference_time_ == pandas_model.reference_time_
    assert mllib.user_factors_.shape == (len(mllib.user_map_), 64) and np.abs(mllib.user_factors_).sum() > 0


def test_scorer_serves_the_mllib_bundle_from_its_factors(mllib: ALSRecommender, tmp_path) -> None:
    scorer = Scorer.load(save_bundle(tmp_path / "bundle", recommender=mllib))
    customers = mllib.user_map_.to_external(np.arange(5)).tolist()
    served = scorer.recommend(customers, k=5)
    pd.testing.assert_frame_equal(served, mllib.recommend(customers, k=5))
    # the ranking is MLlib's factors: user vector · item vectors, items already bought excluded
    scores = mllib.user_factors_[0] @ mllib.item_factors_.T
    scores[mllib.user_items_[0].indices] = -np.inf
    top = mllib.item_map_.to_external(np.argsort(-scores, kind="stable")[:5]).tolist()
    assert served.loc[served["customer_id"] == customers[0], "item_id"].tolist() == top


def test_bad_arguments_are_cxml_errors(spark: SparkSession, sample_events: pd.DataFrame) -> None:
    sdf = events_to_spark(spark, sample_events.head(50))
    with pytest.raises(cxml.ParameterError, match="factors"):
        fit_als(sdf, factors=0)
    with pytest.raises(cxml.SchemaError, match="weight"):
        fit_als(sdf, weight="price")
    with pytest.raises(cxml.SchemaError, match="item_id"):
        fit_als(sdf.drop("item_id"))
    with pytest.raises(cxml.InsufficientDataError):
        fit_als(sdf.where("event_type = 'nothing'"))
