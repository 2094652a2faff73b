"""The parameters every recommender takes from BaseRecommender (repeat_weight, repeat_half_life) and the
fitted-state attributes every recommender reads from its FitState: declared once, seen everywhere."""

from __future__ import annotations

import inspect
import pydoc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.base import clone

import cxml
from cxml._params import keep_init_args
from cxml.recommend import (
    RECOMMENDERS,
    ALSRecommender,
    BaseRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from cxml.recommend._state import FittedStateView

SHARED = ("repeat_weight", "repeat_half_life")
FITTED = ("user_map_", "item_map_", "weight_", "reference_time_", "user_items_", "user_repeat_", "item_popularity_")


def _make(cls: type[BaseRecommender], **params: Any) -> BaseRecommender:
    if cls is RECOMMENDERS["blend"]:
        params = {"model": ItemKNNRecommender(), **params}
    return cls(**params)


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
def test_every_recommender_shows_the_shared_keywords_with_the_base_defaults(name: str) -> None:
    cls = RECOMMENDERS[name]
    base = inspect.signature(BaseRecommender).parameters
    params = inspect.signature(cls).parameters
    assert all(p.kind == p.KEYWORD_ONLY for p in params.values())
    for shared in SHARED:
        assert params[shared].default == base[shared].default
        assert params[shared].annotation == base[shared].annotation
    assert inspect.signature(cls).return_annotation == "None"
    if name != "auto":  # AutoRecommender lists them itself, in the middle of its own
        assert tuple(params)[-2:] == SHARED
    assert set(SHARED) <= set(_make(cls).get_params(deep=False))


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
def test_shared_keywords_reach_the_model_and_survive_clone_and_repr(name: str) -> None:
    model = _make(RECOMMENDERS[name], repeat_weight=0.2, repeat_half_life=None)
    assert (model.repeat_weight, model.repeat_half_life) == (0.2, None)
    twin = clone(model)
    assert (twin.repeat_weight, twin.repeat_half_life) == (0.2, None)
    assert "repeat_weight=0.2" in repr(model) and "repeat_half_life=None" in repr(model)
    assert _make(RECOMMENDERS[name]).repeat_weight == 0.5


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
@pytest.mark.parametrize("bad", [{"repeat_weight": 1.5}, {"repeat_half_life": 0.0}, {"repeat_weight": "half"}])
def test_shared_keywords_are_checked_for_every_model(name: str, bad: dict[str, Any]) -> None:
    with pytest.raises(cxml.ParameterError, match=next(iter(bad))):
        _make(RECOMMENDERS[name], **bad).check_params()


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="bogus"):
        ALSRecommender(bogus=1)  # type: ignore[call-arg]


class _Seasonal(ItemKNNRecommender):
    """A user's recommender that adds one keyword and passes the rest on."""

    def __init__(self, *, season: int = 1, **shared: Any) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())


class _Explicit(EASERecommender):
    """A user's recommender that lists every keyword it takes (and no others)."""

    def __init__(self, *, l2: float = 5.0, repeat_weight: float = 0.5, repeat_half_life: float | None = 90.0) -> None:
        super().__init__(l2=l2, repeat_weight=repeat_weight, repeat_half_life=repeat_half_life)


def test_a_subclass_passing_keywords_on_shows_its_parents_full_signature(small_events: pd.DataFrame) -> None:
    assert list(inspect.signature(_Seasonal).parameters) == [
        "season", "k_neighbors", "shrinkage", "binary", *SHARED]
    model = _Seasonal(season=3, k_neighbors=5, repeat_weight=0.1)
    assert model.get_params() == {"season": 3, "k_neighbors": 5, "shrinkage": 0.0, "binary": True,
                                  "repeat_weight": 0.1, "repeat_half_life": 90.0}
    twin = clone(model).set_params(binary=False, repeat_half_life=None)
    assert (twin.season, twin.k_neighbors, twin.binary, twin.repeat_half_life) == (3, 5, False, None)
    assert twin.fit(small_events).recommend(["c0"], k=2)["rank"].tolist() == [1, 2]


def test_a_subclass_listing_every_keyword_keeps_its_own_signature() -> None:
    assert list(inspect.signature(_Explicit).parameters) == ["l2", *SHARED]
    assert _Explicit().get_params() == {"l2": 5.0, "repeat_weight": 0.5, "repeat_half_life": 90.0}


def test_a_saved_model_keeps_its_shared_keywords(small_events: pd.DataFrame, tmp_path: Path) -> None:
    model = PopularityRecommender(by="weight", repeat_weight=0.3, repeat_half_life=None).fit(small_events)
    model.save(tmp_path / "m")
    loaded = BaseRecommender.load(tmp_path / "m")
    assert loaded.get_params() == model.get_params()


def test_fitted_state_attributes_are_documented_read_only_properties(small_events: pd.DataFrame) -> None:
    model = ItemKNNRecommender().fit(small_events)
    state = model.fit_state_
    docs = set()
    for attr in FITTED:
        prop = vars(FittedStateView)[attr]
        assert isinstance(prop, property) and prop.fset is None
        assert getattr(model, attr) is getattr(state, attr.removesuffix("_"))
        docs.add(prop.__doc__)
        with pytest.raises(AttributeError):
            setattr(model, attr, None)
    assert len(docs) == len(FITTED) and None not in docs and "Known customers" in pydoc.render_doc(ItemKNNRecommender)
