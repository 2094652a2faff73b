"""Behaviour specific to each recommender: popularity decay, kNN neighbours, EASE memory budget, ALS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cxml
from cxml.recommend import ALSRecommender, EASERecommender, ItemKNNRecommender, PopularityRecommender


def _events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return cxml.load_events(pd.DataFrame(rows, columns=["customer_id", "timestamp", "item_id"]))


OLD_AND_NEW = _events([("a", "2024-01-01", "old"), ("b", "2024-01-01", "old"), ("c", "2024-01-01", "old"),
                       ("d", "2024-06-01", "new"), ("e", "2024-06-01", "new")])


def test_popularity_counts_distinct_customers() -> None:
    ev = _events([("a", "2024-01-01", "x"), ("a", "2024-01-02", "x"), ("a", "2024-01-03", "x"),
                  ("b", "2024-01-01", "y"), ("c", "2024-01-01", "y")])
    recs = PopularityRecommender().fit(ev).recommend(["z"], k=2)
    assert recs["item_id"].tolist() == ["y", "x"] and recs["score"].tolist() == [2.0, 1.0]
    by_weight = PopularityRecommender(by="weight").fit(ev).recommend(["z"], k=2)
    assert by_weight["item_id"].tolist() == ["x", "y"]


def test_popularity_half_life_prefers_recent() -> None:
    assert PopularityRecommender().fit(OLD_AND_NEW).recommend(["z"], k=1)["item_id"].item() == "old"
    decayed = PopularityRecommender(half_life=30.0).fit(OLD_AND_NEW)
    assert decayed.recommend(["z"], k=1)["item_id"].item() == "new"
    # 152 days at a 30-day half-life: 3 * 0.5 ** (152 / 30)
    assert decayed.item_scores_[decayed.item_map_.to_internal(["old"])[0]] == pytest.approx(
        3 * 0.5 ** (152 / 30))
    with pytest.raises(cxml.ParameterError, match="half_life"):
        PopularityRecommender(half_life=-1.0).fit(OLD_AND_NEW)
    with pytest.raises(cxml.ParameterError, match="by="):
        PopularityRecommender(by="money").fit(OLD_AND_NEW)


def test_itemknn_keeps_k_neighbors_and_cosine() -> None:
    ev = _events([("a", "2024-01-01", "x"), ("a", "2024-01-01", "y"), ("b", "2024-01-01", "x"),
                  ("b", "2024-01-01", "z"), ("c", "2024-01-01", "x"), ("c", "2024-01-01", "y")])
    model = ItemKNNRecommender(k_neighbors=1).fit(ev)
    assert (np.diff(model.neighbors_.indptr) <= 1).all()
    x, y = model.item_map_.to_internal(["x", "y"])
    # x bought by a, b, c; y by a, c: cosine = 2 / (sqrt(3) * sqrt(2))
    assert model.neighbors_[x, y] == pytest.approx(2 / np.sqrt(6), rel=1e-6)
    shrunk = ItemKNNRecommender(k_neighbors=2, shrinkage=10.0).fit(ev)
    assert shrunk.neighbors_[x, y] == pytest.approx(2 / (np.sqrt(6) + 10.0), rel=1e-6)


def test_ease_matches_closed_form(small_events: pd.DataFrame) -> None:
    model = EASERecommender(l2=5.0).fit(small_events)
    X = model.user_items_.toarray().astype(np.float64)
    P = np.linalg.inv(X.T @ X + 5.0 * np.eye(X.shape[1]))
    B = np.eye(X.shape[1]) - P / np.diag(P)
    np.testing.assert_allclose(model.item_weights_, B, atol=1e-5)
    assert np.allclose(np.diag(model.item_weights_), 0.0)


def test_ease_memory_budget(small_events: pd.DataFrame) -> None:
    with pytest.raises(cxml.MemoryBudgetError, match=r"20 x 20 .*3,200 bytes.*max_memory_bytes=1,000"):
        EASERecommender(max_memory_bytes=1000).fit(small_events)
    model = EASERecommender().fit(small_events)
    with pytest.raises(cxml.MemoryBudgetError):
        model.set_params(max_memory_bytes=1000).fit(small_events)
    with pytest.raises(cxml.NotFittedError):  # the failed re-fit left nothing half-learned behind
        model.recommend(["c0"])
    assert issubclass(cxml.MemoryBudgetError, MemoryError)


def test_als_wraps_fresh_implicit_and_fold_in_matches_recalculate(small_events: pd.DataFrame) -> None:
    model = ALSRecommender(factors=6, iterations=4, random_state=3, n_jobs=1).fit(small_events)
    first = model._implicit
    model.fit(small_events)
    assert model._implicit is not first
    assert model.user_factors_.shape == (40, 6) and model.item_factors_.shape == (20, 6)
    # folding in a known customer's own training history reproduces an exact least-squares solve
    row = model.user_items_[[0]]
    solved = first.recalculate_user([0], sp.csr_matrix(row))
    U = model._user_vectors(np.array([0]), row, np.array([True]))
    np.testing.assert_allclose(U, solved, rtol=1e-4, atol=1e-5)


def test_als_results_do_not_depend_on_threads(small_events: pd.DataFrame) -> None:
    one = ALSRecommender(factors=6, iterations=3, random_state=1, n_jobs=1).fit(small_events)
    two = ALSRecommender(factors=6, iterations=3, random_state=1, n_jobs=2).fit(small_events)
    np.testing.assert_allclose(one.item_factors_, two.item_factors_, rtol=1e-5, atol=1e-6)


def test_als_bad_params(small_events: pd.DataFrame) -> None:
    for bad in ({"factors": 0}, {"alpha": -1.0}, {"random_state": "seed"}, {"random_state": -1},
                {"random_state": 1.5}, {"n_jobs": 0}, {"n_jobs": -2}, {"n_jobs": "4"}, {"use_cg": "no"}):
        with pytest.raises(cxml.ParameterError, match=next(iter(bad))):
            ALSRecommender(**bad).fit(small_events)


def test_als_num_threads_is_a_deprecated_alias_of_n_jobs(small_events: pd.DataFrame) -> None:
    with pytest.warns(FutureWarning, match="n_jobs"):
        old = ALSRecommender(factors=6, iterations=3, random_state=1, num_threads=1).fit(small_events)
    new = ALSRecommender(factors=6, iterations=3, random_state=1, n_jobs=1).fit(small_events)
    np.testing.assert_array_equal(old.item_factors_, new.item_factors_)


def test_no_purchases_is_insufficient() -> None:
    ev = cxml.load_events(pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"], "item_id": ["x"],
                                        "event_type": ["view"]}))
    with pytest.raises(cxml.InsufficientDataError, match="no purchase rows"):
        PopularityRecommender().fit(ev)


@pytest.mark.parametrize("cls", [EASERecommender, ItemKNNRecommender])
def test_binary_uses_purchase_indicators(cls: type) -> None:
    repeated = _events([("a", "2024-01-01", "x")] * 5 + [("a", "2024-01-02", "y"), ("b", "2024-01-01", "x"),
                                                         ("b", "2024-01-03", "z"), ("c", "2024-01-01", "y")])
    once = _events([("a", "2024-01-01", "x"), ("a", "2024-01-02", "y"), ("b", "2024-01-01", "x"),
                    ("b", "2024-01-03", "z"), ("c", "2024-01-01", "y")])
    attr = "item_weights_" if cls is EASERecommender else "neighbors_"

    def learned(model: object) -> np.ndarray:
        value = getattr(model, attr)
        return np.asarray(value.toarray() if sp.issparse(value) else value)

    np.testing.assert_allclose(learned(cls().fit(repeated)), learned(cls().fit(once)), rtol=1e-6)
    assert not np.allclose(learned(cls(binary=False).fit(repeated)), learned(cls().fit(once)))
