"""AutoRecommender and BlendRecommender: selection, refit, the shared recommender contract, persistence."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone

import cxml
import cxml.recommend.auto as auto_module
import cxml.recommend.base as base
from cxml.recommend import (
    BUDGETS,
    ALSRecommender,
    AutoRecommender,
    BaseRecommender,
    BlendRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate,
    temporal_split,
)
from cxml.recommend.auto import CANDIDATES

from .conftest import make_events

FAST = ("itemknn", "popularity")
BOARD = ["candidate", "model", "params", "ndcg", "recall", "precision", "map", "mrr", "hit_rate",
         "coverage", "novelty", "n_users", "fit_seconds", "predicted_seconds", "note", "trial", "selected"]


def bought(events: pd.DataFrame, customer: str) -> set[str]:
    rows = events[(events.customer_id == customer) & cxml.schema.purchase_mask(events)]
    return set(rows.item_id)


@pytest.fixture(scope="module")
def sample_split(sample_events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return temporal_split(sample_events, test_fraction=0.2)


@pytest.fixture(scope="module")
def sample_auto(sample_split: tuple[pd.DataFrame, pd.DataFrame]) -> AutoRecommender:
    return AutoRecommender(random_state=0).fit(sample_split[0])


@pytest.fixture(scope="module")
def small_auto(small_events: pd.DataFrame) -> AutoRecommender:
    return AutoRecommender(candidates=FAST, k=5).fit(small_events)


def test_leaderboard_lists_every_trial_best_first(sample_auto: AutoRecommender) -> None:
    board = sample_auto.leaderboard_
    assert list(board.columns) == BOARD
    small = BUDGETS["small"]
    expected = {}
    for name in ("als", "ease", "itemknn", "popularity"):
        grid = small[name]
        assert isinstance(grid, Mapping)
        expected[name] = math.prod(len(v) for v in grid.values())
    expected["blend"] = 3
    assert board["candidate"].value_counts().to_dict() == expected
    assert board["ndcg"].is_monotonic_decreasing and board["ndcg"].notna().all()
    assert board["selected"].tolist() == [True] + [False] * (len(board) - 1)
    assert (board["n_users"] > 0).all() and board["note"].eq("").all()
    top = board.iloc[0]
    assert type(sample_auto.best_).__name__ == top["model"] == sample_auto.best_params_["model"]
    if top["candidate"] != "blend":
        tuned = json.loads(top["params"])
        assert {k: sample_auto.best_params_[k] for k in tuned} == tuned


def test_winner_is_refit_on_all_events(sample_auto: AutoRecommender,
                                       sample_split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train = sample_split[0]
    buyers = train.loc[cxml.schema.purchase_mask(train), "customer_id"].nunique()
    assert len(sample_auto.best_.user_map_) == len(sample_auto.user_map_) == buyers
    # validation purchases are after the 0.8 cut; the refit model knows them
    cut = train.loc[cxml.schema.purchase_mask(train), "timestamp"].quantile(0.8)
    assert sample_auto.reference_time_ > cut
    fresh = clone(sample_auto.best_).fit(train)
    customers = list(train["customer_id"].unique()[:40])
    pd.testing.assert_frame_equal(sample_auto.recommend(customers), fresh.recommend(customers))


def test_beats_popularity_on_the_sample(sample_auto: AutoRecommender,
                                        sample_split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = sample_split
    auto = evaluate(sample_auto, train, test, k=10)["ndcg"]
    pop = evaluate(PopularityRecommender().fit(train), train, test, k=10)["ndcg"]
    assert auto > 1.5 * pop


def test_save_load_recommends_identically(sample_auto: AutoRecommender, tmp_path: Path) -> None:
    sample_auto.save(tmp_path / "auto")
    assert {p.name for p in (tmp_path / "auto").iterdir()} == {
        "params.json", "arrays.npz", "users.parquet", "items.parquet"}
    for loader in (BaseRecommender.load, AutoRecommender.load):
        loaded = loader(tmp_path / "auto")
        assert isinstance(loaded, AutoRecommender)
        assert loaded.get_params() == sample_auto.get_params()
        pd.testing.assert_frame_equal(loaded.leaderboard_, sample_auto.leaderboard_)
        assert loaded.best_params_ == sample_auto.best_params_
        assert type(loaded.best_) is type(sample_auto.best_)
        customers = list(sample_auto.user_map_.external_ids[:30]) + ["nobody"]
        pd.testing.assert_frame_equal(loaded.recommend(customers, k=7), sample_auto.recommend(customers, k=7))
        items = list(sample_auto.item_map_.external_ids[:3])
        pd.testing.assert_frame_equal(loaded.similar_items(items, k=4), sample_auto.similar_items(items, k=4))
    with pytest.raises(cxml.BundleError, match="AutoRecommender"):
        ALSRecommender.load(tmp_path / "auto")


def test_recommend_contract(small_auto: AutoRecommender, small_events: pd.DataFrame) -> None:
    recs = small_auto.recommend(["c0", "c25", "nobody"], k=4)
    assert list(recs.columns) == ["customer_id", "item_id", "score", "rank"]
    for cust, grp in recs.groupby("customer_id"):
        assert grp["rank"].tolist() == [1, 2, 3, 4]
        assert grp["score"].is_monotonic_decreasing
        assert not set(grp["item_id"]) & bought(small_events, str(cust))
    assert recs.attrs["n_cold_start"] == 1
    cold = recs[recs.customer_id == "nobody"]["item_id"].tolist()
    assert cold == small_auto.best_.recommend(["nobody"], k=4)["item_id"].tolist()
    repeat = small_auto.recommend(["c0"], k=10, exclude_seen=False)
    assert set(repeat["item_id"]) & bought(small_events, "c0")


def test_forget_and_history(small_events: pd.DataFrame) -> None:
    auto = AutoRecommender(candidates=FAST, k=5).fit(small_events)
    cold = auto.recommend(["nobody"], k=5)["item_id"].tolist()
    auto.forget_customers(["c0"])
    assert "c0" not in auto.user_map_ and "c0" not in auto.best_.user_map_
    again = auto.recommend(["c0"], k=5)
    assert again["item_id"].tolist() == cold and again.attrs["n_cold_start"] == 1
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["new"] * 3, "timestamp": ["2024-03-05"] * 3,
                                          "item_id": ["b0", "b1", "b2"]}))
    after = auto.recommend(["new"], k=5, history=hist)
    assert after.attrs["n_cold_start"] == 0 and not set(after["item_id"]) & {"b0", "b1", "b2"}


def test_deterministic_and_refit_from_scratch(small_events: pd.DataFrame,
                                              small_auto: AutoRecommender) -> None:
    again = AutoRecommender(candidates=FAST, k=5).fit(make_events(seed=3)).fit(small_events)
    a, b = (m.leaderboard_.drop(columns="fit_seconds") for m in (again, small_auto))
    pd.testing.assert_frame_equal(a, b)
    customers = ["c0", "c1", "c39"]
    pd.testing.assert_frame_equal(again.recommend(customers), small_auto.recommend(customers))


def test_no_blend_and_candidate_subset(small_events: pd.DataFrame) -> None:
    auto = AutoRecommender(candidates="popularity", blend=False).fit(small_events)
    assert set(auto.leaderboard_["candidate"]) == {"popularity"}
    assert isinstance(auto.best_, PopularityRecommender)


class _TinyEASE(EASERecommender):
    """EASE with a memory budget no catalogue fits in."""

    def __init__(self, *, l2: float = 200.0, max_memory_bytes: int = 100, repeat_weight: float = 0.5,
                 repeat_half_life: float | None = 90.0) -> None:
        super().__init__(l2=l2, max_memory_bytes=max_memory_bytes, repeat_weight=repeat_weight,
                         repeat_half_life=repeat_half_life)


def test_ease_over_memory_budget_is_skipped_with_a_note(small_events: pd.DataFrame,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CANDIDATES, "ease", _TinyEASE)
    auto = AutoRecommender(candidates=("ease", "popularity"), k=5).fit(small_events)
    skipped = auto.leaderboard_[auto.leaderboard_["candidate"] == "ease"]
    assert len(skipped) == 1 and skipped["ndcg"].isna().all()
    assert skipped["note"].iloc[0].startswith("skipped: 20 items")
    assert isinstance(auto.best_, PopularityRecommender)


def test_only_unaffordable_candidates_fall_back_to_popularity(small_events: pd.DataFrame,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CANDIDATES, "ease", _TinyEASE)
    with pytest.warns(cxml.DataWarning, match="no candidate could be evaluated: skipped: 20 items"):
        auto = AutoRecommender(candidates=("ease",)).fit(small_events)
    assert isinstance(auto.best_, PopularityRecommender)


def test_falls_back_to_popularity_without_validation_slice() -> None:
    # every late purchase is by a new customer: nothing to validate on
    ev = cxml.load_events(pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "d", "e"],
        "timestamp": pd.date_range("2024-01-01", periods=7, freq="D"),
        "item_id": ["x", "y", "x", "z", "y", "x", "z"]}))
    with pytest.warns(cxml.DataWarning, match="no usable validation slice"):
        auto = AutoRecommender(candidates=FAST).fit(ev)
    assert isinstance(auto.best_, PopularityRecommender)
    assert auto.leaderboard_["note"].iloc[0].startswith("fallback")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"candidates": ("als", "svd")}, "candidates"), ({"candidates": ("als", "als")}, "candidates"),
     ({"budget": "huge"}, "budget='huge'"), ({"valid_fraction": 1.5}, "valid_fraction=1.5"),
     ({"k": 0}, "k=0"), ({"blend": "yes"}, "blend='yes'")],
)
def test_bad_parameters(small_events: pd.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(cxml.ParameterError, match=match):
        AutoRecommender(**kwargs).fit(small_events)  # type: ignore[arg-type]


def test_not_fitted_and_params() -> None:
    auto = AutoRecommender()
    with pytest.raises(cxml.NotFittedError):
        auto.recommend(["c0"])
    assert clone(auto).set_params(budget="medium").budget == "medium"


def test_blend_ranks_between_its_parts(small_events: pd.DataFrame, tmp_path: Path) -> None:
    knn = ItemKNNRecommender(k_neighbors=5)
    pure_pop = BlendRecommender(model=knn, weight=0.0).fit(small_events)
    pop = PopularityRecommender().fit(small_events)
    customers = ["c0", "c30"]
    pd.testing.assert_series_equal(pure_pop.recommend(customers, k=5)["item_id"],
                                   pop.recommend(customers, k=5)["item_id"])
    pure_knn = BlendRecommender(model=knn, weight=1.0).fit(small_events)
    fitted_knn = clone(knn).fit(small_events)
    # rank percentiles keep the model's order (ties aside): the top item is the model's top item
    assert (pure_knn.recommend(customers, k=1)["item_id"].tolist()
            == fitted_knn.recommend(customers, k=1)["item_id"].tolist())
    half = BlendRecommender(model=knn, weight=0.5).fit(small_events)
    half.save(tmp_path / "blend")
    loaded = BaseRecommender.load(tmp_path / "blend")
    assert isinstance(loaded, BlendRecommender) and isinstance(loaded.model, ItemKNNRecommender)
    pd.testing.assert_frame_equal(loaded.recommend(customers + ["nobody"], k=6),
                                  half.recommend(customers + ["nobody"], k=6))
    same = BlendRecommender.from_fitted(fitted_knn, pop, 0.5)
    pd.testing.assert_frame_equal(same.recommend(customers, k=6), half.recommend(customers, k=6))
    with pytest.raises(cxml.ParameterError, match="model=None"):
        BlendRecommender().fit(small_events)


def test_each_fit_builds_the_interaction_matrix_once(small_events: pd.DataFrame,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = base.build_state

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "build_state", counting)
    BlendRecommender(model=ItemKNNRecommender(k_neighbors=5)).fit(small_events)
    assert len(calls) == 1  # the inner model and the popularity side share the blend's state
    calls.clear()
    monkeypatch.setattr(auto_module, "build_state", counting)
    auto = AutoRecommender(candidates="popularity", blend=False).fit(small_events)
    assert len(auto.leaderboard_) == 3
    assert len(calls) == 2  # one on the train slice shared by every trial, one refit
    assert auto.best_.user_map_ is auto.user_map_  # the winner holds the state; nothing is copied
