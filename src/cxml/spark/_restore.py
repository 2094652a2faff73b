"""A fitted recommender from arrays, through the code ``BaseRecommender.load`` runs (internal).

``BaseRecommender.load(path)`` reads a directory into ``(class name, params, state, arrays,
user map, item map)`` and then builds the model from them: ``_from_saved_params``, the checked
:func:`~cxml.recommend._state.restored_state`, ``_restore``. :func:`restore_recommender` is that
second half, for arrays that come from elsewhere (Spark MLlib factors) instead of a file, so a model
exported from Spark is checked exactly like a loaded one and no private attribute is set by hand.
(The natural home of this function is a public ``BaseRecommender.from_arrays`` classmethod.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml.data import IdMap
from cxml.recommend import BaseRecommender
from cxml.recommend._persist import csr_arrays
from cxml.recommend._state import restored_state

__all__ = ["restore_recommender"]


def restore_recommender(
    cls: type[BaseRecommender],
    params: dict[str, Any],
    *,
    weight: str,
    reference_time: pd.Timestamp,
    user_map: IdMap,
    item_map: IdMap,
    user_items: sp.csr_matrix,
    user_repeat: sp.csr_matrix,
    model_arrays: dict[str, np.ndarray],
) -> BaseRecommender:
    """A fitted ``cls`` from its parameters, shared state and model arrays, checked as on load.

    Raises
    ------
    BundleError
        When an array does not fit the id maps (shape, dtype, non-finite values).
    """
    arrays = {
        **csr_arrays("user_items", user_items.tocsr()),
        **csr_arrays("user_repeat", user_repeat.tocsr()),
        "item_popularity": np.diff(user_items.tocsc().indptr).astype(np.float64),
    }
    state = {"weight": weight, "reference_time": reference_time.isoformat()}
    model = cls._from_saved_params(dict(params), f"{cls.__name__} exported from Spark")
    model._restore(restored_state(state, arrays, user_map, item_map), model_arrays)
    return model
