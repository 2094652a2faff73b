"""One contract, applied to every recommender: fit/recommend/similar/save/load/refit/forget/bad input."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import cxml
from cxml.recommend import (
    ALSRecommender,
    AutoRecommender,
    BaseRecommender,
    BlendRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)

from .conftest import make_events

FACTORIES: dict[str, Callable[[], BaseRecommender]] = {
    "als": lambda: ALSRecommender(factors=8, iterations=3, random_state=0, n_jobs=1),
    "popularity": lambda: PopularityRecommender(),
    "itemknn": lambda: ItemKNNRecommender(k_neighbors=5),
    "ease": lambda: EASERecommender(l2=10.0),
    "auto": lambda: AutoRecommender(candidates=("itemknn", "popularity"), k=5),
    "blend": lambda: BlendRecommender(model=ItemKNNRecommender(k_neighbors=5), weight=0.5),
}
PERSONAL = ["als", "itemknn", "ease"]
COLUMNS = ["customer_id", "item_id", "score", "rank"]


@pytest.fixture(params=sorted(FACTORIES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fitted(name: str, small_events: pd.DataFrame) -> BaseRecommender:
    return FACTORIES[name]().fit(small_events)


def plain_params(model: BaseRecommender) -> dict[str, object]:
    """Deep parameters without the estimator objects themselves (a loaded inner model is a new object)."""
    return {k: v for k, v in model.get_params().items() if not isinstance(v, BaseRecommender)}


def bought(events: pd.DataFrame, customer: str) -> set[str]:
    rows = events[(events.customer_id == customer) & cxml.schema.purchase_mask(events)]
    return set(rows.item_id)


def test_fit_returns_self_and_learns_from_purchases_only(name: str, small_events: pd.DataFrame) -> None:
    model = FACTORIES[name]()
    assert model.fit(small_events) is model
    items = set(model.item_map_.external_ids)
    assert "z_returned" not in items and "z_viewed" not in items
    assert len(model.user_map_) == 40 and len(items) == 20


def test_recommend_shape_ranks_and_no_seen(fitted: BaseRecommender, small_events: pd.DataFrame) -> None:
    recs = fitted.recommend(["c0", "c25", "c3"], k=4)
    assert list(recs.columns) == COLUMNS
    assert recs["customer_id"].tolist()[::4] == ["c0", "c25", "c3"]
    for cust, grp in recs.groupby("customer_id"):
        assert grp["rank"].tolist() == [1, 2, 3, 4]
        assert grp["score"].is_monotonic_decreasing
        assert not set(grp["item_id"]) & bought(small_events, str(cust))
    assert recs["rank"].dtype == np.int64 and recs["score"].dtype == np.float64


def test_unknown_customer_gets_popularity(fitted: BaseRecommender) -> None:
    recs = fitted.recommend(["nobody", "c0"], k=3)
    assert recs.attrs["n_cold_start"] == 1
    cold = recs[recs.customer_id == "nobody"]
    expected = PopularityRecommender().fit(make_events()).recommend(["x"], k=3)
    assert cold["item_id"].tolist() == expected["item_id"].tolist()


def test_items_restricts_candidates(fitted: BaseRecommender) -> None:
    allowed = ["a1", "a2", "b3", "not_an_item"]
    recs = fitted.recommend(["c0", "c30", "nobody"], k=10, items=allowed)
    assert set(recs["item_id"]) <= set(allowed) - {"not_an_item"}
    assert (recs.groupby("customer_id")["rank"].max() <= 3).all()


def test_save_load_roundtrip(fitted: BaseRecommender, tmp_path: Path) -> None:
    fitted.save(tmp_path / "model")
    assert {p.name for p in (tmp_path / "model").iterdir()} == {
        "params.json", "arrays.npz", "users.parquet", "items.parquet"}
    loaded = BaseRecommender.load(tmp_path / "model")
    assert type(loaded) is type(fitted)
    assert plain_params(loaded) == plain_params(fitted)
    custs = ["c0", "c21", "nobody"]
    pd.testing.assert_frame_equal(loaded.recommend(custs, k=5), fitted.recommend(custs, k=5))
    pd.testing.assert_frame_equal(loaded.similar_items(["a0"], k=3), fitted.similar_items(["a0"], k=3))
    assert type(type(fitted).load(tmp_path / "model")) is type(fitted)


def test_load_refuses_other_class(tmp_path: Path, small_events: pd.DataFrame) -> None:
    PopularityRecommender().fit(small_events).save(tmp_path / "pop")
    with pytest.raises(cxml.BundleError, match="PopularityRecommender"):
        EASERecommender.load(tmp_path / "pop")
    with pytest.raises(cxml.BundleError, match="params.json"):
        BaseRecommender.load(tmp_path / "nothing")


def test_refit_starts_from_scratch(name: str, small_events: pd.DataFrame) -> None:
    other = make_events(seed=1)
    model = FACTORIES[name]().fit(other).fit(small_events)
    fresh = FACTORIES[name]().fit(small_events)
    custs = ["c0", "c1", "c39"]
    pd.testing.assert_frame_equal(model.recommend(custs, k=5), fresh.recommend(custs, k=5))
    again = FACTORIES[name]().fit(small_events)
    pd.testing.assert_frame_equal(again.recommend(custs, k=5), fresh.recommend(custs, k=5))


def test_bad_input_raises_cxml_errors(name: str, small_events: pd.DataFrame) -> None:
    model = FACTORIES[name]()
    with pytest.raises(cxml.SchemaError):
        model.fit(small_events.drop(columns=["timestamp"]))
    with pytest.raises(cxml.CxmlError):
        model.fit([1, 2, 3])
    with pytest.raises(cxml.SchemaError, match="weight"):
        model.fit(small_events, weight="no_such_column")
    with pytest.raises(cxml.ParameterError, match="weight"):
        model.fit(small_events, weight=5)  # type: ignore[arg-type]
    model.fit(small_events)
    for k in (0, -1, "10", 2.5, None, True):
        with pytest.raises(cxml.ParameterError, match="k="):
            model.recommend(["c0"], k=k)  # type: ignore[arg-type]
        with pytest.raises(cxml.ParameterError, match="k="):
            model.similar_items(["a0"], k=k)  # type: ignore[arg-type]
    with pytest.raises(cxml.ParameterError, match="customers"):
        model.recommend(None)
    with pytest.raises(cxml.ParameterError, match="missing"):
        model.recommend(["c0", None])
    with pytest.raises(cxml.ParameterError, match="customers"):
        model.recommend(np.zeros((2, 2)))
    with pytest.raises(cxml.ParameterError, match="exclude_seen"):
        model.recommend(["c0"], exclude_seen="no")  # type: ignore[arg-type]
    with pytest.raises(cxml.ParameterError, match="items"):
        model.similar_items([float("nan")])
    with pytest.raises(cxml.CxmlError):
        model.recommend(["c0"], history=[1, 2])


def test_a_str_is_one_id(fitted: BaseRecommender) -> None:
    pd.testing.assert_frame_equal(fitted.recommend("c0", k=4), fitted.recommend(["c0"], k=4))
    assert fitted.recommend("C0001", k=2)["customer_id"].unique().tolist() == ["C0001"]
    pd.testing.assert_frame_equal(fitted.similar_items("a0", k=3), fitted.similar_items(["a0"], k=3))
    pd.testing.assert_frame_equal(fitted.recommend(["c0"], items="a1"), fitted.recommend(["c0"], items=["a1"]))
    fitted.forget_customers("c0")
    assert "c0" not in fitted.user_map_ and len(fitted.user_map_) == 39


def test_k_is_capped_at_the_catalogue(fitted: BaseRecommender) -> None:
    tracemalloc.start()
    try:
        recs = fitted.recommend(["c0", "c30", "nobody"], k=10**9, exclude_seen=False)
        sims = fitted.similar_items(["a0", "unknown_item"], k=10**12)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # k rows of int64 per customer would be gigabytes
    n_items = len(fitted.item_map_)
    assert recs.groupby("customer_id")["item_id"].nunique().tolist() == [n_items] * 3
    assert recs["rank"].max() == n_items
    assert sims.groupby("item_id").size().max() <= n_items
    assert len(fitted.recommend(["c0"], k=10**9)) == n_items - 5  # c0 bought 5


def _snapshot(model: BaseRecommender) -> dict[str, object]:
    """Identity of every attribute, recursing into inner recommenders."""
    out: dict[str, object] = {}
    for key, value in vars(model).items():
        out[key] = id(value)
        if isinstance(value, BaseRecommender):
            out.update({f"{key}.{k}": v for k, v in _snapshot(value).items()})
    return out


def test_recommend_writes_nothing_to_the_model(fitted: BaseRecommender) -> None:
    before = _snapshot(fitted)
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["new", "c0"], "timestamp": ["2024-03-05"] * 2,
                                          "item_id": ["b0", "a1"]}))
    recs = fitted.recommend(["c0", "new", "nobody"], k=5, history=hist)
    assert recs.attrs["n_cold_start"] == 1
    fitted.recommend(["c0", "c33"], k=3, exclude_seen=False, items=["a1", "b1", "b2"])
    fitted.similar_items(["a0", "zz"], k=3)
    assert _snapshot(fitted) == before
    assert not any(key.startswith("n_cold_start") for key in vars(fitted))


def test_fit_accepts_incomplete_frame_and_csv_path(name: str, small_events: pd.DataFrame, tmp_path: Path) -> None:
    purchases = small_events[cxml.schema.purchase_mask(small_events)]
    plain = pd.DataFrame({"customer_id": purchases["customer_id"].astype(str),
                          "timestamp": purchases["timestamp"].astype(str),
                          "item_id": purchases["item_id"].astype(str)})
    plain.to_csv(tmp_path / "events.csv", index=False)
    want = FACTORIES[name]().fit(purchases).recommend(["c0", "c25"], k=4)
    for source in (plain, tmp_path / "events.csv", str(tmp_path / "events.csv")):
        model = FACTORIES[name]().fit(source)
        pd.testing.assert_frame_equal(model.recommend(["c0", "c25"], k=4), want)


def test_before_fit_raises_not_fitted(name: str, tmp_path: Path) -> None:
    model = FACTORIES[name]()
    with pytest.raises(cxml.NotFittedError):
        model.recommend(["c0"])
    with pytest.raises(cxml.NotFittedError):
        model.similar_items(["a0"])
    with pytest.raises(cxml.NotFittedError):
        model.save(tmp_path / "m")
    with pytest.raises(cxml.NotFittedError):
        model.forget_customers(["c0"])


def test_forget_customers(fitted: BaseRecommender) -> None:
    cold = fitted.recommend(["nobody"], k=5)["item_id"].tolist()
    assert fitted.forget_customers(["c0", "never_seen"]) is fitted
    assert "c0" not in fitted.user_map_ and len(fitted.user_map_) == 39
    recs = fitted.recommend(["c0", "c1"], k=5)
    assert recs.attrs["n_cold_start"] == 1
    assert recs[recs.customer_id == "c0"]["item_id"].tolist() == cold
    assert len(recs[recs.customer_id == "c1"]) == 5


@pytest.mark.parametrize("personal", PERSONAL)
def test_history_fold_in_personalises_new_customer(personal: str, small_events: pd.DataFrame) -> None:
    model = FACTORIES[personal]().fit(small_events)
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["new"] * 3, "timestamp": ["2024-03-05"] * 3,
                                          "item_id": ["b0", "b1", "b2"]}))
    before = model.recommend(["new"], k=5)
    after = model.recommend(["new"], k=5, history=hist)
    assert after.attrs["n_cold_start"] == 0
    assert not set(after["item_id"]) & {"b0", "b1", "b2"}
    assert sum(i.startswith("b") for i in after["item_id"]) >= 4
    assert not before["item_id"].equals(after["item_id"])


def test_history_for_known_customer_excludes_new_items(fitted: BaseRecommender) -> None:
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["c0"], "timestamp": ["2024-03-05"],
                                          "item_id": ["a9"]}))
    recs = fitted.recommend(["c0"], k=10, history=hist)
    assert "a9" not in set(recs["item_id"])


def test_history_unknown_items_are_counted(fitted: BaseRecommender) -> None:
    hist = cxml.load_events(pd.DataFrame({"customer_id": ["new", "new"], "timestamp": ["2024-03-05"] * 2,
                                          "item_id": ["a1", "brand_new"]}))
    with pytest.warns(cxml.DataWarning, match="1 of 2 purchase rows name items the model does not know"):
        fitted.recommend(["new"], k=3, history=hist)


def test_similar_items(fitted: BaseRecommender, name: str) -> None:
    sims = fitted.similar_items(["a0", "b5", "unknown_item"], k=3)
    assert list(sims.columns) == ["item_id", "similar_item_id", "score", "rank"]
    assert not (sims["item_id"] == sims["similar_item_id"]).any()
    assert (sims.groupby("item_id")["rank"].max() <= 3).all()
    if name in PERSONAL:
        a0 = sims[sims.item_id == "a0"]["similar_item_id"]
        assert sum(i.startswith("a") for i in a0) >= 2


def test_params_clone_and_set(name: str, small_events: pd.DataFrame) -> None:
    model = FACTORIES[name]()
    params = model.get_params()
    assert "repeat_weight" in params and "repeat_half_life" in params
    twin = clone(model).set_params(repeat_weight=0.25)
    assert twin.repeat_weight == 0.25 and model.repeat_weight == params["repeat_weight"]
    with pytest.raises(cxml.ParameterError, match="repeat_weight"):
        clone(model).set_params(repeat_weight=2.0).fit(small_events)


@pytest.mark.parametrize("weight", ["quantity", "amount"])
def test_weight_columns(name: str, weight: str, small_events: pd.DataFrame) -> None:
    model = FACTORIES[name]().fit(small_events, weight=weight)
    assert model.weight_ == weight
    assert len(model.recommend(["c0"], k=3)) == 3


def test_edge_cases(fitted: BaseRecommender) -> None:
    empty = fitted.recommend([], k=3)
    assert empty.empty and list(empty.columns) == COLUMNS
    assert fitted.recommend(["c0", "nobody"], items=["not_an_item"]).empty
    # ids of any type come back as strings; duplicates are served once
    assert fitted.recommend([1, "c1", "c1"], k=2)["customer_id"].tolist() == ["1", "1", "c1", "c1"]
    # k beyond the catalogue: every unseen item once (20 items, c0 bought 5)
    assert len(fitted.recommend(["c0"], k=30)) == 15
    everything = fitted.recommend(["c0"], k=30, exclude_seen=False)
    assert len(everything) == 20 and everything["item_id"].is_unique


def _rewrite_arrays(path: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path / "arrays.npz", **arrays)


def _short(key: str) -> str:
    """The name an error message uses: inner models' arrays are named without the parent's prefixes."""
    for prefix in ("state__", "best__", "model__"):
        key = key.removeprefix(prefix)
    return key


@pytest.mark.parametrize("bad", ["missing", "wrong_shape", "text", "object"])
def test_malformed_saved_arrays_raise_bundle_error_naming_them(
    fitted: BaseRecommender, tmp_path: Path, bad: str
) -> None:
    fitted.save(tmp_path / "good")
    with np.load(tmp_path / "good" / "arrays.npz", allow_pickle=False) as npz:
        keys = list(npz.files)
    assert len(keys) >= 5
    replacement = {"wrong_shape": np.zeros((2, 3, 4)), "text": np.array(["x", "y"]),
                   "object": np.array([{"a": 1}, None], dtype=object)}
    for key in keys:
        target = tmp_path / key
        for name in ("params.json", "arrays.npz", "users.parquet", "items.parquet"):
            target.mkdir(exist_ok=True)
            (target / name).write_bytes((tmp_path / "good" / name).read_bytes())

        def change(arrays: dict[str, np.ndarray], key: str = key) -> None:
            if bad == "missing":
                del arrays[key]
            else:
                arrays[key] = replacement[bad]

        _rewrite_arrays(target, change)
        with pytest.raises(cxml.BundleError) as err:
            BaseRecommender.load(target)
        if bad != "object":  # an object array is refused when the npz is read, before any name is looked at
            assert _short(key) in str(err.value) or "leaderboard" in str(err.value), (key, str(err.value))


def test_out_of_range_csr_indices_raise_bundle_error(fitted: BaseRecommender, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")

    def change(arrays: dict[str, np.ndarray]) -> None:
        arrays["user_items__indices"] = arrays["user_items__indices"] + 10**6

    _rewrite_arrays(tmp_path / "m", change)
    with pytest.raises(cxml.BundleError, match=r"arrays.npz.*'user_items' is malformed: column indices"):
        BaseRecommender.load(tmp_path / "m")
