"""``cxml.spark.fit_als``: Spark MLlib ALS (implicit feedback) exported into an ``ALSRecommender``.

**Regularisation differs from implicit's.** MLlib solves each user's (and item's) least squares with
``regParam * n`` on the diagonal, ``n`` the number of that user's ratings (ALS-WR, Zhou et al.
2008); implicit adds a fixed ``regularization``. A value tuned for :class:`ALSRecommender` therefore
does not carry over: MLlib's equivalent is about ``regularization / typical n``, i.e. much smaller
for buyers of many items. :data:`MLLIB_ALS_DEFAULTS` were tuned for MLlib on the synthetic sample's
validation slice (docs/protocol.md: the 0.8 quantile of the train period; NDCG@10 0.117 there
against 0.097 for implicit with ``ALSRecommender``'s defaults; regParam 0.001–0.3 × alpha 1–80
searched) — tune them again for your data. Confidence is the same in both: ``C = 1 + alpha * w``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cxml._checks import check_float, check_int, check_random_state
from cxml.data import IdMap
from cxml.exceptions import InsufficientDataError, ParameterError, SchemaError
from cxml.recommend import ALSRecommender
from cxml.schema import Columns
from cxml.spark._events import purchase_condition, spark_events
from cxml.spark._restore import restore_recommender

__all__ = ["MLLIB_ALS_DEFAULTS", "fit_als"]

#: Defaults of :func:`fit_als`, tuned for MLlib's count-scaled regularisation (see the module docstring).
MLLIB_ALS_DEFAULTS: Final[dict[str, Any]] = {"factors": 64, "regularization": 0.3, "alpha": 40.0, "iterations": 15}
_DAY_US: Final = 86_400 * 10**6


def fit_als(
    events: DataFrame,
    *,
    factors: int = MLLIB_ALS_DEFAULTS["factors"],
    regularization: float = MLLIB_ALS_DEFAULTS["regularization"],
    alpha: float = MLLIB_ALS_DEFAULTS["alpha"],
    iterations: int = MLLIB_ALS_DEFAULTS["iterations"],
    random_state: int | None = 0,
    weight: str = "count",
    repeat_half_life: float | None = 90.0,
    blocks: int | None = None,
) -> ALSRecommender:
    """Train Spark MLlib ALS (``implicitPrefs=True``) and export it into a fitted :class:`ALSRecommender`.

    The interactions are those :meth:`ALSRecommender.fit` builds — purchase rows with an item and a
    positive weight, summed per customer and item — aggregated in Spark; MLlib learns the factors;
    the result is an ordinary fitted ``ALSRecommender`` (same id maps, interaction and repeat
    matrices, popularity fallback) that ``save_bundle`` writes and :class:`cxml.Scorer` serves.
    The interaction matrix and the factors are collected on the driver (they are the model).

    Parameters
    ----------
    events
        Spark events with ``customer_id``, ``timestamp`` and ``item_id`` (see :func:`cxml.spark.score`).
    factors, iterations
        MLlib's ``rank`` and ``maxIter``.
    regularization
        MLlib's ``regParam``, scaled by each user's (item's) rating count (ALS-WR): not
        interchangeable with :class:`ALSRecommender`'s ``regularization``.
    alpha
        Confidence ``C = 1 + alpha * w``.
    random_state
        MLlib's ``seed`` (an int; ``None`` = 0).
    weight
        ``"count"`` or a numeric column (``"quantity"``, ``"amount"``): the interaction weight.
    repeat_half_life
        Half-life in days of the repeat-purchase signal (as :class:`ALSRecommender`).
    blocks
        MLlib's ``numUserBlocks`` and ``numItemBlocks`` (default: MLlib's 10).

    Returns
    -------
    ALSRecommender
        Fitted; its parameters are MLlib's (``regularization`` is the MLlib value, used again only
        to fold in new customers' histories).

    Raises
    ------
    ParameterError
        When a hyper-parameter is invalid or ``events`` is not a Spark DataFrame.
    SchemaError
        When ``events`` lacks ``customer_id`` / ``timestamp`` / ``item_id`` or ``weight`` names no
        numeric column.
    InsufficientDataError
        When no purchase row has an item and a positive weight.
    """
    params = {
        "factors": check_int("factors", factors, minimum=1),
        "iterations": check_int("iterations", iterations, minimum=1),
        "regularization": check_float("regularization", regularization, minimum=0.0),
        "alpha": check_float("alpha", alpha, minimum=0.0),
        "random_state": check_random_state(random_state),
        "repeat_half_life": None if repeat_half_life is None else check_float(
            "repeat_half_life", repeat_half_life, minimum=0.0, exclusive_minimum=True),
    }
    n_blocks = None if blocks is None else check_int("blocks", blocks, minimum=1)
    frame = spark_events(events, require=(Columns.ITEM,))
    rows = _interaction_rows(frame, weight)
    reference = rows.agg(F.max(Columns.TIMESTAMP)).first()
    if reference is None or reference[0] is None:
        raise InsufficientDataError("the Spark events hold no purchase rows with an item and a positive "
                                    f"{weight!r} weight; a recommender needs some")
    ref = pd.Timestamp(reference[0])
    pairs = _pairs(rows, ref, params["repeat_half_life"]).persist()
    try:
        users, items, coded = _coded(pairs)
        local = coded.toPandas()
        shape = (len(users), len(items))
        user_items = _csr(local, "w", shape)
        user_repeat = _csr(local, "r", shape)
        U, V = _mllib_factors(coded, params, n_blocks, shape)
    finally:
        pairs.unpersist()
    model = restore_recommender(
        ALSRecommender, params, weight=weight, reference_time=ref, user_map=users, item_map=items,
        user_items=user_items, user_repeat=user_repeat, model_arrays={"user_factors": U, "item_factors": V},
    )
    assert isinstance(model, ALSRecommender)
    return model


def _interaction_rows(frame: DataFrame, weight: Any) -> DataFrame:
    """Purchase rows with an item and a finite positive weight ``w`` (as ``ALSRecommender.fit`` uses)."""
    if not isinstance(weight, str):
        raise ParameterError(f"weight={weight!r} is not valid; expected 'count', 'quantity', 'amount' or a column")
    if weight == "count":
        w = F.lit(1.0)
    elif weight in frame.columns and dict(frame.dtypes)[weight] == "double":
        w = F.col(weight)
    else:
        raise SchemaError(f"weight={weight!r} is not a numeric column of the events; expected 'count' or one of "
                          f"{[c for c, t in frame.dtypes if t == 'double']}")
    rows = frame.where(purchase_condition(frame.columns) & F.col(Columns.ITEM).isNotNull())
    rows = rows.select(Columns.CUSTOMER, Columns.ITEM, Columns.TIMESTAMP, w.alias("w"))
    return rows.where(F.col("w").isNotNull() & ~F.isnan("w") & (F.col("w") > 0) & (F.col("w") < float("inf")))


def _pairs(rows: DataFrame, ref: pd.Timestamp, half_life: float | None) -> DataFrame:
    """Per (customer, item): summed weight ``w`` and recency-decayed purchase count ``r``."""
    if half_life is None:
        decay = F.lit(1.0)
    else:
        age_us = F.timestamp_diff("MICROSECOND", F.col(Columns.TIMESTAMP),
                                  F.lit(ref.isoformat(sep=" ")).cast("timestamp_ntz"))
        decay = F.pow(F.lit(0.5), F.greatest(age_us / F.lit(float(_DAY_US)), F.lit(0.0)) / F.lit(half_life))
    return rows.groupBy(Columns.CUSTOMER, Columns.ITEM).agg(F.sum("w").alias("w"), F.sum(decay).alias("r"))


def _coded(pairs: DataFrame) -> tuple[IdMap, IdMap, DataFrame]:
    """Id maps of the customers and items (sorted) and the pairs with integer codes ``u``, ``i``."""
    spark = pairs.sparkSession
    maps = []
    coded = pairs
    for column, code in ((Columns.CUSTOMER, "u"), (Columns.ITEM, "i")):
        distinct: pd.DataFrame = pairs.select(column).distinct().toPandas()
        ids = np.sort(distinct[column].to_numpy(dtype=object))
        maps.append(IdMap.from_unique(ids))
        lookup = spark.createDataFrame(pd.DataFrame({column: ids, code: np.arange(len(ids), dtype=np.int32)}))
        coded = coded.join(F.broadcast(lookup) if len(ids) < 1_000_000 else lookup, on=column)
    return maps[0], maps[1], coded.select("u", "i", "w", "r")


def _csr(local: pd.DataFrame, column: str, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((local[column].to_numpy(dtype=np.float64),
                       (local["u"].to_numpy(dtype=np.int64), local["i"].to_numpy(dtype=np.int64))), shape=shape)
    m.sum_duplicates()
    m.sort_indices()
    return m.astype(np.float32)


def _mllib_factors(coded: DataFrame, params: dict[str, Any], blocks: int | None, shape: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """MLlib's user and item factors, as float32 matrices in id-map order."""
    als = ALS(rank=params["factors"], maxIter=params["iterations"], regParam=params["regularization"],
              alpha=params["alpha"], implicitPrefs=True, seed=int(params["random_state"] or 0),
              userCol="u", itemCol="i", ratingCol="w", nonnegative=False)
    if blocks is not None:
        als = als.setNumUserBlocks(blocks).setNumItemBlocks(blocks)
    model = als.fit(coded.select("u", "i", "w"))
    return (_factor_matrix(model.userFactors.toPandas(), shape[0], params["factors"]),
            _factor_matrix(model.itemFactors.toPandas(), shape[1], params["factors"]))


def _factor_matrix(frame: pd.DataFrame, n: int, rank: int) -> np.ndarray:
    out = np.zeros((n, rank), dtype=np.float32)
    if len(frame):
        out[frame["id"].to_numpy(dtype=np.int64)] = np.asarray(frame["features"].tolist(), dtype=np.float32)
    return out
