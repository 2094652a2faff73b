"""cxml.recommend exports what DESIGN.md promises, and nothing undefined."""

from __future__ import annotations

import cxml.recommend as rec

DESIGN = {"AutoRecommender", "ALSRecommender", "PopularityRecommender", "ItemKNNRecommender", "EASERecommender",
          "temporal_split", "evaluate"}


def test_exports() -> None:
    assert DESIGN <= set(rec.__all__)
    for name in rec.__all__:
        assert hasattr(rec, name)
    for name in ("AutoRecommender", "ALSRecommender", "PopularityRecommender", "ItemKNNRecommender",
                 "EASERecommender", "BlendRecommender"):
        assert issubclass(getattr(rec, name), rec.BaseRecommender)
