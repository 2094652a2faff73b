"""Default tuning grids, keyed by the names of :data:`cxml.recommend.RECOMMENDERS` (internal;
re-exported by :mod:`cxml.recommend.registry`).

- ``als``: factors 16-128, regularization 0.01-30, alpha 0.5-40, iterations 10-30;
- ``ease``: l2 from 10 to 3000;
- ``itemknn``: k_neighbors 10-500, shrinkage 0-100;
- ``popularity``: no decay or a half-life of 7 to 180 days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

__all__ = ["BUDGETS", "DEFAULT_GRIDS"]

#: Per-recommender search spaces (lists of values per parameter) that ``tune`` uses without ``param_grid``.
DEFAULT_GRIDS: Final[Mapping[str, Mapping[str, Sequence[Any]]]] = MappingProxyType({
    "als": MappingProxyType({
        "factors": (16, 32, 64, 128),
        "regularization": (0.01, 0.1, 1.0, 10.0, 30.0),
        "alpha": (0.5, 1.0, 5.0, 10.0, 40.0),
        "iterations": (10, 15, 30),
    }),
    "ease": MappingProxyType({"l2": (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)}),
    "itemknn": MappingProxyType({"k_neighbors": (10, 20, 50, 100, 200, 500), "shrinkage": (0.0, 10.0, 100.0)}),
    "popularity": MappingProxyType({"half_life": (None, 7.0, 14.0, 30.0, 90.0, 180.0)}),
})

#: AutoRecommender budgets: a grid per candidate, or a number of random draws from DEFAULT_GRIDS.
#: The small grids keep what did well on validation slices of ML-100K, Online Retail 2009 and the
#: sample (strong regularisation and low alpha for ALS, short popularity half-lives).
BUDGETS: Final[Mapping[str, Mapping[str, Mapping[str, Sequence[Any]] | int]]] = MappingProxyType({
    "small": MappingProxyType({
        "als": MappingProxyType({"factors": (32, 128), "regularization": (1.0, 10.0), "alpha": (1.0,),
                                 "iterations": (15,)}),
        "ease": MappingProxyType({"l2": (150.0, 600.0)}),
        "itemknn": MappingProxyType({"k_neighbors": (50, 200), "shrinkage": (0.0, 20.0)}),
        "popularity": MappingProxyType({"half_life": (None, 7.0, 30.0)}),
    }),
    "medium": MappingProxyType({"als": 16, "ease": MappingProxyType({"l2": (50.0, 200.0, 500.0, 1000.0)}),
                                "itemknn": 8, "popularity": DEFAULT_GRIDS["popularity"]}),
    "large": MappingProxyType({"als": 40, "ease": DEFAULT_GRIDS["ease"], "itemknn": 18,
                               "popularity": DEFAULT_GRIDS["popularity"]}),
})
