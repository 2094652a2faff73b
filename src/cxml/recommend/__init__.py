"""Recommenders on purchase events, a temporal split and honest top-k evaluation.

>>> import pandas as pd, cxml
>>> from cxml.recommend import PopularityRecommender
>>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01"] * 2,
...     "item_id": ["x", "x"]}))
>>> PopularityRecommender().fit(ev).recommend(["zz"], k=1)["item_id"].tolist()
['x']
"""

from cxml.recommend.als import ALSRecommender
from cxml.recommend.auto import AutoRecommender
from cxml.recommend.base import BaseRecommender
from cxml.recommend.baselines import EASERecommender, ItemKNNRecommender, PopularityRecommender
from cxml.recommend.blend import BlendRecommender
from cxml.recommend.evaluate import evaluate
from cxml.recommend.registry import BUDGETS, DEFAULT_GRIDS, RECOMMENDERS, get_recommender, make_recommender
from cxml.recommend.split import temporal_split
from cxml.recommend.tuning import TuneResult, tune

__all__ = [
    "BUDGETS",
    "DEFAULT_GRIDS",
    "RECOMMENDERS",
    "ALSRecommender",
    "AutoRecommender",
    "BlendRecommender",
    "BaseRecommender",
    "EASERecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "TuneResult",
    "evaluate",
    "get_recommender",
    "make_recommender",
    "temporal_split",
    "tune",
]
