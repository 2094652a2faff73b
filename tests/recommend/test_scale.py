"""Wide catalogues: AutoRecommender's time budget, the cost model, sparse item-kNN and restricted EASE."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cxml
from cxml.recommend import AutoRecommender, EASERecommender, ItemKNNRecommender, PopularityRecommender
from cxml.recommend._cost import COEFFICIENTS, Shape, build_seconds, fit_seconds, score_seconds, shape_of
from cxml.recommend._search import Budget, schedule
from cxml.recommend._sparse import cosine_topk, topk_per_row
from cxml.recommend._state import build_state
from cxml.recommend.evaluate import prepare_evaluation
from cxml.recommend.split import split_at, split_cut

from .conftest import make_events

SKIP = re.compile(r"^skipped: predicted (\d+\.\d) s \+ (\d+\.\d) s refit > (\d+\.\d) s left (of|on the clock)")


# ---------------------------------------------------------------------------- time budget
def test_tiny_budget_scores_one_popularity_trial_and_skips_the_rest(sample_events: pd.DataFrame) -> None:
    auto = AutoRecommender(time_budget=1e-3, progress=False).fit(sample_events)
    board = auto.leaderboard_
    assert isinstance(auto.best_, PopularityRecommender)
    ran = board[board["ndcg"].notna()]
    # popularity is the fallback anyway: one trial of it is measured even when nothing fits the budget
    assert ran["candidate"].tolist() == ["popularity"] and ran["selected"].all()
    assert ran["note"].iloc[0].startswith("run although predicted")
    assert ran["note"].iloc[0].endswith("one popularity trial is always scored")
    # every other trial stays listed with its reason
    rest = board[board["ndcg"].isna()]
    assert len(rest) > 1 and rest["note"].str.startswith("skipped: predicted").all()
    assert not rest["selected"].any()


def test_budget_skips_expensive_trials_and_keeps_them_in_the_leaderboard(sample_events: pd.DataFrame) -> None:
    generous = AutoRecommender(time_budget=None, progress=False, candidates=("als", "popularity"),
                               blend=False).fit(sample_events)
    board = generous.leaderboard_
    assert board["note"].eq("").all() and (board["predicted_seconds"] > 0).all()
    als = board.loc[board["candidate"] == "als", "predicted_seconds"]
    pop = board.loc[board["candidate"] == "popularity", "predicted_seconds"]
    assert als.min() > pop.max()  # the cost model knows ALS costs more than counting
    # as AutoRecommender plans: the split and validation set, the popularity trials and a refit fit,
    # the cheapest ALS trial on top does not
    train, valid = split_at(sample_events, split_cut(sample_events, test_fraction=0.2))
    shape = shape_of(build_state(train, "count", 90.0).user_items, len(train),
                     len(prepare_evaluation(train, valid).users))
    full = shape.scaled(len(sample_events))
    refit = build_seconds(full) + fit_seconds("popularity", {}, full)
    budget = 2 * build_seconds(shape) + float(pop.sum()) + refit + 0.9 * float(als.min())
    tight = AutoRecommender(time_budget=budget, progress=False, candidates=("als", "popularity"),
                            blend=False).fit(sample_events)
    tb = tight.leaderboard_
    skipped = tb[tb["note"].str.startswith("skipped")]
    assert len(tb) == len(board) and len(skipped) >= 1
    assert skipped["ndcg"].isna().all() and skipped.index.min() > tb["ndcg"].notna().sum() - 1  # listed last
    for note, predicted in zip(skipped["note"], skipped["predicted_seconds"], strict=True):
        match = SKIP.match(note)
        assert match, note
        cost, reserve, left = (float(match.group(i)) for i in (1, 2, 3))
        assert cost == pytest.approx(predicted, abs=0.051) and cost + reserve > left - 0.1  # notes round to 0.1 s
    # the plan skips every ALS trial whatever the machine's speed; on a busy machine the clock may also
    # skip popularity trials, and those notes must say it was the clock (no wall-clock outcome asserted)
    assert (tb.loc[tb["candidate"] == "als", "note"].str.startswith("skipped")).all()
    by_clock = skipped[skipped["candidate"] != "als"]
    assert by_clock["note"].str.contains("on the clock").all(), by_clock["note"].tolist()


def test_same_seed_and_generous_budget_give_the_same_search(small_events: pd.DataFrame) -> None:
    runs = [AutoRecommender(candidates=("als", "itemknn", "popularity"), k=5, time_budget=1e5, progress=False,
                            random_state=7).fit(small_events) for _ in range(2)]
    a, b = (r.leaderboard_.drop(columns="fit_seconds") for r in runs)
    pd.testing.assert_frame_equal(a, b)
    assert a["note"].eq("").all()
    pd.testing.assert_frame_equal(runs[0].recommend(["c0", "c30"]), runs[1].recommend(["c0", "c30"]))


def test_budget_admits_by_plan_and_by_clock() -> None:
    budget = Budget(10.0)
    assert budget.admit(4.0, 5.0) == ""  # 9 s of 10
    note = budget.admit(4.0, 5.0)  # 4 s planned so far: 9 > 6 left
    assert note == "skipped: predicted 4.0 s + 5.0 s refit > 6.0 s left of time_budget=10 s"
    budget.start -= 8.0  # the clock ran faster than the plan
    assert "left on the clock" in budget.admit(1.0, 1.5)
    assert Budget(None).admit(1e9, 1e9) == ""


def test_schedule_runs_rounds_cheapest_first() -> None:
    shape = Shape(n_users=2000, n_items=500, nnz=30_000, pairs=600_000, n_rows=40_000, n_eval=300)
    plan = [("als", cxml.recommend.ALSRecommender(), [{"factors": 128}, {"factors": 16}]),
            ("popularity", PopularityRecommender(), [{"half_life": None}, {"half_life": 7.0}])]
    trials = schedule(plan, shape, shape.scaled(50_000))
    assert [t.round for t in trials] == [0, 0, 1, 1]
    assert [t.candidate for t in trials] == ["popularity", "als", "popularity", "als"]
    assert all(t.refit > 0 and t.cost > 0 for t in trials)


# ---------------------------------------------------------------------------- cost model
@pytest.mark.parametrize("name", sorted(set(COEFFICIENTS) - {"build"}))
def test_cost_model_is_monotone_in_every_input(name: str) -> None:
    base = Shape(n_users=5000, n_items=3000, nnz=100_000, pairs=4_000_000, n_rows=120_000, n_eval=800)
    params = {"factors": 64, "iterations": 15, "k_neighbors": 100, "max_items": 2000}
    cost = fit_seconds(name, params, base) + score_seconds(name, params, base)
    assert cost > 0 and np.isfinite(cost)
    for field in (f.name for f in dataclasses.fields(Shape)):
        bigger = dataclasses.replace(base, **{field: getattr(base, field) * 4})
        assert fit_seconds(name, params, bigger) + score_seconds(name, params, bigger) >= cost, field
    for key in params:
        more = {**params, key: params[key] * 2}
        assert fit_seconds(name, more, base) + score_seconds(name, more, base) >= cost, key
    assert all(c >= 0 for part in COEFFICIENTS[name] for c in part)


# ---------------------------------------------------------------------------- sparse item-kNN
def _dense_cosine_topk(X: np.ndarray, k: int, shrinkage: float) -> np.ndarray:
    norms = np.sqrt((X * X).sum(axis=0))
    sim = (X.T @ X) / (np.outer(norms, norms) + shrinkage + 1e-12)
    np.fill_diagonal(sim, 0.0)
    out = np.zeros_like(sim)
    for i, row in enumerate(sim):
        top = np.argsort(-row, kind="stable")[:k]
        out[i, top] = row[top]
    return out


@pytest.mark.parametrize(("k", "shrinkage"), [(1, 0.0), (3, 5.0), (40, 0.0)])
def test_sparse_item_knn_equals_a_dense_reference(k: int, shrinkage: float) -> None:
    rng = np.random.default_rng(0)
    X = sp.random(60, 25, density=0.2, random_state=rng, format="csr") * 3.0  # real weights: no ties
    got = cosine_topk(X.tocsr(), k, shrinkage).toarray()
    np.testing.assert_allclose(got, _dense_cosine_topk(X.toarray(), k, shrinkage), rtol=1e-6, atol=1e-7)
    assert ((got > 0).sum(axis=1) <= k).all()


def test_topk_per_row_keeps_the_largest_values() -> None:
    m = sp.csr_matrix(np.array([[0.0, 3.0, 1.0, 2.0], [5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    assert topk_per_row(m, 2).toarray().tolist() == [[0.0, 3.0, 0.0, 2.0], [5.0, 0, 0, 0], [0, 0, 0, 0]]


def test_item_knn_model_uses_the_sparse_neighbours(small_events: pd.DataFrame) -> None:
    model = ItemKNNRecommender(k_neighbors=3).fit(small_events)
    assert sp.issparse(model.neighbors_) and (np.diff(model.neighbors_.indptr) <= 3).all()


# ---------------------------------------------------------------------------- EASE over its memory budget
def test_ease_refusal_gives_size_limit_and_ways_out(small_events: pd.DataFrame) -> None:
    with pytest.raises(cxml.MemoryBudgetError) as err:
        EASERecommender(max_memory_bytes=1000).fit(small_events)
    msg = str(err.value)
    for part in ("20 x 20", "3,200 bytes", "for 20 items", "max_memory_bytes=1,000", "set max_items=11",
                 "ItemKNNRecommender"):
        assert part in msg, part
    with pytest.raises(cxml.MemoryBudgetError, match=r"15 x 15 .*1,800 bytes.*max_items=15"):
        EASERecommender(max_items=15, max_memory_bytes=1000).fit(small_events)


def test_ease_restricted_to_popular_items(small_events: pd.DataFrame, tmp_path: object) -> None:
    full = EASERecommender(l2=5.0).fit(small_events)
    cut = EASERecommender(l2=5.0, max_items=8, max_memory_bytes=1000).fit(small_events)
    X = full.fit_state_.user_items
    buyers = np.diff(X.tocsc().indptr)
    kept = cut.kept_items_
    assert len(kept) == 8 and buyers[kept].min() >= np.delete(buyers, kept).max()
    # the kept block is EASE of the kept columns
    Xk = (X[:, kept] > 0).astype(np.float64).toarray()
    P = np.linalg.inv(Xk.T @ Xk + 5.0 * np.eye(8))
    B = P / -np.diag(P)
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(cut.item_weights_, B, rtol=1e-4, atol=1e-6)
    recs = cut.recommend(["c0", "c30"], k=20)
    codes = cut.item_map_.to_internal(recs["item_id"].to_numpy())
    n_positive = 0
    for _, grp in recs.assign(kept=np.isin(codes, kept)).groupby("customer_id"):
        positive = grp[grp["kept"] & (grp["score"] > 1e-3)]
        n_positive += len(positive)
        if len(positive):
            assert positive.index.max() < grp[~grp["kept"]].index.min()  # EASE's picks before the tail
    assert n_positive > 0
    path = tmp_path / "ease"  # type: ignore[operator]
    cut.save(path)
    loaded = EASERecommender.load(path)
    pd.testing.assert_frame_equal(loaded.recommend(["c0", "c30"], k=20), recs)
    pd.testing.assert_frame_equal(loaded.similar_items(["a1", "b2"], k=3), cut.similar_items(["a1", "b2"], k=3))
    assert EASERecommender(l2=5.0, max_items=500).fit(small_events).item_weights_.shape == (20, 20)


def test_make_events_has_twenty_items() -> None:
    assert make_events()["item_id"].nunique() == 22  # 20 bought, one returned, one viewed
