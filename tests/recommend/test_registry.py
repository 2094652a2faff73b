"""One registry of recommender names: cxml.recommend.RECOMMENDERS, get_recommender, the default grids."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest
from sklearn.base import clone

import cxml
import cxml.recommend as rec
from cxml.recommend import BUDGETS, DEFAULT_GRIDS, RECOMMENDERS, BaseRecommender, get_recommender
from cxml.recommend.auto import CANDIDATES

CONFIG_NAMES = {"auto", "als", "ease", "itemknn", "popularity"}  # what `cxml train` configs accept today


def test_every_recommender_is_registered_once_under_its_name() -> None:
    assert CONFIG_NAMES | {"blend"} == set(RECOMMENDERS)
    assert len(set(RECOMMENDERS.values())) == len(RECOMMENDERS)
    for name, cls in RECOMMENDERS.items():
        assert cls.name == name and issubclass(cls, BaseRecommender)
    exported = {obj for obj in vars(rec).values()
                if inspect.isclass(obj) and issubclass(obj, BaseRecommender) and obj is not BaseRecommender}
    assert exported == set(RECOMMENDERS.values())
    with pytest.raises(TypeError):
        RECOMMENDERS["svd"] = BaseRecommender  # type: ignore[index]


def test_get_recommender() -> None:
    assert get_recommender("als") is rec.ALSRecommender
    for bad in ("svd", "ALS", 5, None):
        with pytest.raises(cxml.ParameterError, match="'auto', 'als'") as err:
            get_recommender(bad)  # type: ignore[arg-type]
        assert repr(bad) in str(err.value)


def test_default_grids_name_real_parameters_and_feed_auto() -> None:
    assert set(DEFAULT_GRIDS) == set(CANDIDATES) and set(CANDIDATES) < set(RECOMMENDERS)
    for name, grid in DEFAULT_GRIDS.items():
        params = RECOMMENDERS[name]().get_params()
        assert set(grid) <= set(params), name
    for budget in BUDGETS.values():
        assert set(budget) == set(CANDIDATES)


def test_thread_count_and_seed_are_named_alike() -> None:
    for cls in RECOMMENDERS.values():
        params = cls().get_params()
        assert "num_threads" not in params or cls is rec.ALSRecommender  # ALS keeps a deprecated alias
        if "random_state" in params:
            assert params["random_state"] == 0
    assert rec.ALSRecommender().get_params()["n_jobs"] == -1


def test_registered_classes_fit_from_their_defaults(small_events: pd.DataFrame) -> None:
    for name, cls in RECOMMENDERS.items():
        if name in ("auto", "blend", "als"):  # slow or needing a model: covered by the contract tests
            continue
        model = clone(cls()).fit(small_events)
        assert len(model.recommend("c0", k=2)) == 2


def test_make_recommender_checks_names_and_values_before_any_data() -> None:
    model = rec.make_recommender("als", {"factors": 8, "n_jobs": 1})
    assert isinstance(model, rec.ALSRecommender) and model.factors == 8
    with pytest.raises(cxml.ParameterError, match="'factor'.*factors"):
        rec.make_recommender("als", {"factor": 8})
    with pytest.raises(cxml.ParameterError, match="factors='8'"):
        rec.make_recommender("als", {"factors": "8"})
    with pytest.raises(cxml.ParameterError, match="budget='huge'"):
        rec.make_recommender("auto", {"budget": "huge"})
    with pytest.raises(cxml.ParameterError, match="k_neighbors=0"):
        rec.BlendRecommender(model=rec.ItemKNNRecommender(k_neighbors=0)).check_params()
    with pytest.raises(cxml.ParameterError, match="'svd'"):
        rec.make_recommender("svd")
