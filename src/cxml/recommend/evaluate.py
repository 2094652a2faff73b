"""``evaluate``: offline top-k evaluation of a fitted recommender (PROTOCOL.md, recommendation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cxml._checks import check_bool, check_int
from cxml.data import IdMap, as_events
from cxml.exceptions import InsufficientDataError, ParameterError
from cxml.recommend._docs import fill_doc
from cxml.recommend.metrics import coverage, ndcg_at_k, novelty, ranking_metrics
from cxml.schema import Columns, purchase_mask

__all__ = ["EvalSet", "evaluate", "prepare_evaluation", "recommendation_matrix", "score_model", "score_model_users"]


class _Recommends(Protocol):
    def recommend(
        self, customers: Any, k: int = 10, exclude_seen: bool = True
    ) -> pd.DataFrame:
        ...


def _bought(events: pd.DataFrame) -> pd.DataFrame:
    rows = events.loc[purchase_mask(events).to_numpy() & events[Columns.ITEM].notna().to_numpy()]
    return pd.DataFrame({"customer": rows[Columns.CUSTOMER].to_numpy(dtype=object),
                         "item": rows[Columns.ITEM].to_numpy(dtype=object)})


def recommendation_matrix(recs: pd.DataFrame, users: np.ndarray, item_map: IdMap, k: int) -> np.ndarray:
    """``len(users) × k`` item codes (``-1`` empty) from a ``recommend`` frame."""
    out = np.full((len(users), k), -1, dtype=np.int64)
    row = pd.Index(users).get_indexer(recs[Columns.CUSTOMER].to_numpy(dtype=object))
    col = recs[Columns.RANK].to_numpy(dtype=np.int64) - 1
    code = item_map.to_internal(recs[Columns.ITEM].to_numpy(dtype=object))
    ok = (row >= 0) & (col >= 0) & (col < k)
    out[row[ok], col[ok]] = code[ok]
    return out


@fill_doc
def evaluate(
    model: _Recommends,
    train: Any,
    test: Any,
    k: int = 10,
    *,
    exclude_seen: bool = True,
) -> dict[str, float]:
    """Top-``k`` metrics of a recommender fitted on ``train``, measured on ``test``.

    Test users are customers with at least one test purchase row whose customer and item both
    appear among the train purchase rows (the filter of :func:`temporal_split`, re-applied here so
    any ``test`` frame is scored the same way). A user's relevant items are their distinct test
    items — including items they bought in train, so with ``exclude_seen=True`` such repeats count
    as relevant but can never be hit (PROTOCOL.md), and with ``exclude_seen=False`` the
    recommender is measured on repeats and discoveries alike.

    Parameters
    ----------
    model
        A recommender fitted on ``train``: anything with ``recommend(customers, k=, exclude_seen=)``
        returning a ``customer_id, item_id, score, rank`` frame (every cxml recommender).
    train
        Canonical events the model was fitted on; defines the known customers and items, coverage's
        item count and novelty's item shares.
    test
        Canonical events after ``train`` (e.g. from :func:`temporal_split`); its purchase rows are
        the relevant items.
    k
        Recommendations per test user, and the cut-off of every metric.
    exclude_seen
        Passed to ``model.recommend``: leave out items the user bought in train.

    Returns
    -------
    dict
        ``precision, recall, ndcg, map, mrr, hit_rate`` (means over test users, see
        :mod:`cxml.recommend.metrics`), ``coverage`` (distinct recommended items / train items),
        ``novelty`` (mean ``-log2`` share of train customers who bought a recommended item),
        ``n_users`` and ``k``.

    Raises
    ------
    ParameterError
        When ``model`` has no ``recommend``, ``k`` is not an integer >= 1 or ``exclude_seen`` not a bool.
    SchemaError
        When ``train`` or ``test`` is not an events table (a frame or a csv/parquet path).
    InsufficientDataError
        When ``train`` holds no purchase row with an item, or no test user remains after the filter.

    Examples
    --------
    {{split_example}}
    >>> train, test = temporal_split(ev, test_start="2024-02-01")
    >>> evaluate(PopularityRecommender().fit(train), train, test, k=1)["ndcg"]
    1.0
    """
    if not callable(getattr(model, "recommend", None)):
        raise ParameterError(f"model={model!r} is not valid; expected a fitted recommender")
    events = as_events(train), as_events(test)
    k = check_int("k", k, minimum=1)
    return score_model(model, prepare_evaluation(*events), k, check_bool("exclude_seen", exclude_seen))


@dataclass(frozen=True)
class EvalSet:
    """What :func:`evaluate` derives from ``train`` and ``test`` once (reused across tuning trials)."""

    users: np.ndarray
    item_map: IdMap
    relevant: sp.csr_matrix
    share: np.ndarray


def prepare_evaluation(train: pd.DataFrame, test: pd.DataFrame) -> EvalSet:
    """Test users, their relevant items and the train item shares, from canonical (trusted) events."""
    bought = _bought(train)
    if bought.empty:
        raise InsufficientDataError(f"train ({len(train)} rows) holds no purchase rows with an item")
    user_share = bought.drop_duplicates()
    item_map = IdMap.from_values(bought["item"])
    n_customers = bought["customer"].nunique()
    share = np.bincount(item_map.to_internal(user_share["item"].to_numpy()),
                        minlength=len(item_map)) / n_customers
    target = _bought(test)
    target = target.loc[target["customer"].isin(pd.Index(bought["customer"].unique()))
                        & target["item"].isin(pd.Index(item_map.external_ids))].drop_duplicates()
    users = np.asarray(sorted(target["customer"].unique()), dtype=object)
    if len(users) == 0:
        raise InsufficientDataError(
            "no test user has a purchase of a train item and a purchase history in train; nothing to evaluate"
        )
    rel_rows = pd.Index(users).get_indexer(target["customer"].to_numpy())
    rel_cols = item_map.to_internal(target["item"].to_numpy())
    relevant = sp.csr_matrix((np.ones(len(target)), (rel_rows, rel_cols)), shape=(len(users), len(item_map)))
    return EvalSet(users=users, item_map=item_map, relevant=relevant, share=share)


def score_model(model: _Recommends, data: EvalSet, k: int, exclude_seen: bool = True) -> dict[str, float]:
    """The :func:`evaluate` metrics of ``model`` on a prepared :class:`EvalSet` (arguments trusted)."""
    return score_model_users(model, data, k, exclude_seen)[0]


def score_model_users(
    model: _Recommends, data: EvalSet, k: int, exclude_seen: bool = True
) -> tuple[dict[str, float], np.ndarray]:
    """:func:`score_model` and the NDCG@k of every user of ``data`` (for paired comparisons)."""
    recs = model.recommend(data.users, k=k, exclude_seen=exclude_seen)
    rec = recommendation_matrix(recs, data.users, data.item_map, k)
    result: dict[str, float] = {"n_users": float(len(data.users)), "k": float(k)}
    result.update(ranking_metrics(rec, data.relevant, k))
    result["coverage"] = coverage(rec, len(data.item_map))
    result["novelty"] = novelty(rec, data.share)
    result["n_users"] = int(len(data.users))
    result["k"] = int(k)
    return result, ndcg_at_k(rec, data.relevant, k)
