"""One registry of recommender names: what ``cxml train`` configs, tuning and users look models up by.

>>> from cxml.recommend.registry import RECOMMENDERS, get_recommender
>>> sorted(RECOMMENDERS)
['als', 'auto', 'blend', 'ease', 'itemknn', 'popularity']
>>> get_recommender("als").__name__
'ALSRecommender'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from cxml._checks import check_choice
from cxml.exceptions import ParameterError
from cxml.recommend._grids import BUDGETS, DEFAULT_GRIDS
from cxml.recommend.als import ALSRecommender
from cxml.recommend.auto import AutoRecommender
from cxml.recommend.base import BaseRecommender
from cxml.recommend.baselines import EASERecommender, ItemKNNRecommender, PopularityRecommender
from cxml.recommend.blend import BlendRecommender

__all__ = ["BUDGETS", "DEFAULT_GRIDS", "RECOMMENDERS", "get_recommender", "make_recommender"]

#: Every cxml recommender by its name (each class's ``name``), read-only. ``"blend"`` needs its
#: ``model=`` parameter (an unfitted recommender); the others fit with their defaults.
RECOMMENDERS: Final[Mapping[str, type[BaseRecommender]]] = MappingProxyType({
    cls.name: cls
    for cls in (AutoRecommender, ALSRecommender, EASERecommender, ItemKNNRecommender, PopularityRecommender,
                BlendRecommender)
})


def get_recommender(name: str) -> type[BaseRecommender]:
    """The recommender class registered as ``name``.

    Parameters
    ----------
    name
        One of the keys of :data:`RECOMMENDERS` (``"auto"``, ``"als"``, ``"ease"``, ``"itemknn"``,
        ``"popularity"``, ``"blend"``).

    Returns
    -------
    type
        The class (a :class:`~cxml.recommend.BaseRecommender` subclass).

    Raises
    ------
    ParameterError
        When ``name`` is not registered; the message lists the choices.

    Examples
    --------
    >>> get_recommender("popularity")().get_params()["by"]
    'customers'
    """
    return RECOMMENDERS[check_choice("recommender", name, tuple(RECOMMENDERS))]


def make_recommender(name: str, params: Mapping[str, Any] | None = None) -> BaseRecommender:
    """An unfitted recommender ``name`` with ``params``, every name and value checked before any data is read.

    Parameters
    ----------
    name
        A key of :data:`RECOMMENDERS`.
    params
        Hyper-parameters (e.g. from a ``[recommender.params]`` config table); omitted ones keep
        their defaults.

    Returns
    -------
    BaseRecommender
        The unfitted model.

    Raises
    ------
    ParameterError
        When ``name`` is unknown, a parameter name is not one the model takes (the message lists
        them), or a value is invalid.

    Examples
    --------
    >>> make_recommender("itemknn", {"k_neighbors": 20}).k_neighbors
    20
    """
    cls = get_recommender(name)
    params = dict(params or {})
    accepted = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ParameterError(f"{cls.__name__} takes no parameter {', '.join(map(repr, unknown))}; "
                             f"expected some of {', '.join(sorted(accepted))}")
    return cls(**params).check_params()
