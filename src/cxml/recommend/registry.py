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
from typing import Final

from cxml._checks import check_choice
from cxml.recommend._grids import BUDGETS, DEFAULT_GRIDS
from cxml.recommend.als import ALSRecommender
from cxml.recommend.auto import AutoRecommender
from cxml.recommend.base import BaseRecommender
from cxml.recommend.baselines import EASERecommender, ItemKNNRecommender, PopularityRecommender
from cxml.recommend.blend import BlendRecommender

__all__ = ["BUDGETS", "DEFAULT_GRIDS", "RECOMMENDERS", "get_recommender"]

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
