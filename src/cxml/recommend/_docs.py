"""Numpydoc fragments shared by the recommender docstrings, and the decorator that fills them in.

A docstring names a fragment on a line of its own, ``{{repeat_params}}``, indented like the entry it
stands for; :func:`fill_doc` replaces that line with the fragment (see :mod:`cxml._docs`).
"""

from __future__ import annotations

from cxml._docs import COMMON, doc_filler

__all__ = ["FRAGMENTS", "fill_doc"]

#: The parameters :class:`~cxml.recommend.BaseRecommender` gives every recommender.
_REPEAT_PARAMS = """\
repeat_weight, repeat_half_life
    Repeat-purchase blend for ``exclude_seen=False`` (see :mod:`cxml.recommend.base`)."""

#: Example set-up of the evaluation entry points: three purchases in January, one on 1 February.
_SPLIT_EXAMPLE = """\
>>> import pandas as pd, cxml
>>> from cxml.recommend import PopularityRecommender, temporal_split
>>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "b", "b", "a"],
...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-02-01"],
...     "item_id": ["x", "x", "y", "y"]}))"""

#: The fragments by name, as ``{{name}}`` markers in docstrings refer to them.
FRAGMENTS = {
    "repeat_params": _REPEAT_PARAMS,
    "split_example": _SPLIT_EXAMPLE,
}

#: The decorator: the shared :data:`cxml._docs.COMMON` fragments (``events`` ...) and the ones above.
fill_doc = doc_filler({**COMMON, **FRAGMENTS})
