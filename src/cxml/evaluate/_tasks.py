"""One task at one cutoff: refit the model on the past, score it and its baselines on the future.

Each function returns a :class:`Comparison`: the number of evaluated customers and, per scorer
(``"model"`` first, then the baselines by name), its metrics as functions of the bootstrap counts
``W`` (see :mod:`cxml.evaluate._weighted`). Nothing is computed on resamples here; the caller
decides which pairs to resample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from cxml.churn.churn_model import ChurnModel
from cxml.churn.cltv_model import CLTVModel
from cxml.churn.evaluation import baseline_churn_scores, baseline_cltv_values
from cxml.evaluate import _weighted as wm
from cxml.evaluate.bootstrap import METRICS, MetricFn
from cxml.features import churn_labels, future_value
from cxml.recommend import PopularityRecommender, temporal_split
from cxml.recommend import metrics as rm
from cxml.recommend.evaluate import prepare_evaluation, recommendation_matrix
from cxml.schema import Columns

__all__ = ["PROBABILITY_SCORERS", "Comparison", "RECOMMEND_METRICS", "compare_churn", "compare_cltv",
           "compare_recommend"]

#: Scorers whose values are probabilities (the others have no Brier score or log-loss).
PROBABILITY_SCORERS = frozenset({"model", "bgnbd_p_no_purchase", "bgnbd_1_minus_p_alive"})
#: Top-k metrics of the recommendation task (all higher = better). Catalogue coverage is left out:
#: a resample drawn with replacement holds about 63 % of the distinct customers, so the distinct
#: items recommended to it shrink and its bootstrap interval would not bracket the real value.
RECOMMEND_METRICS = ("ndcg", "recall", "precision", "map", "mrr", "hit_rate", "novelty")


@dataclass
class Comparison:
    """The customers of one task at one cutoff and every scorer's metrics on them."""

    n: int
    scorers: dict[str, dict[str, MetricFn]] = field(default_factory=dict)


def _bind(fn: Callable[..., np.ndarray], *data: np.ndarray) -> MetricFn:
    return lambda W: fn(W, *data)


def _scored(task: str, truth: np.ndarray, scores: Mapping[str, np.ndarray]) -> Comparison:
    """A comparison from per-customer scores; a scorer with a NaN score is left out."""
    out = Comparison(n=int(truth.size))
    for name, score in scores.items():
        if not np.all(np.isfinite(score)):
            continue
        out.scorers[name] = {
            metric: _bind(m.fn, truth, score)
            for metric, m in METRICS[task].items()
            if not m.needs_probability or name in PROBABILITY_SCORERS
        }
    return out


def compare_churn(
    events: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, model: ChurnModel
) -> Comparison:
    """Refit ``model`` before ``cutoff``; churn in ``[cutoff, cutoff + horizon)`` for it and the baselines."""
    return _compare("churn", events, cutoff, horizon, model, Columns.CHURN_PROBABILITY, churn_labels,
                    baseline_churn_scores)


def compare_cltv(
    events: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, model: CLTVModel
) -> Comparison:
    """Refit ``model`` before ``cutoff``; net spend in ``[cutoff, cutoff + horizon)`` for it and the baselines."""
    return _compare("cltv", events, cutoff, horizon, model, Columns.EXPECTED_VALUE, future_value,
                    baseline_cltv_values)


def _compare(
    task: str, events: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, model: Any, column: str,
    outcome: Callable[..., pd.Series], baselines: Callable[..., pd.DataFrame],
) -> Comparison:
    """The refitted model's ``column`` and every baseline's score, on the customers the model scores."""
    fitted = clone(model).set_params(horizon=horizon).fit(events, as_of=cutoff)
    pred = fitted.predict(events, as_of=cutoff).set_index(Columns.CUSTOMER)[column]
    truth = outcome(events, cutoff, horizon).reindex(pred.index).to_numpy(dtype=np.float64)
    base = baselines(events, cutoff, horizon).reindex(pred.index)
    scores = {"model": pred.to_numpy(dtype=np.float64)}
    scores.update({c: base[c].to_numpy(dtype=np.float64) for c in base.columns})
    return _scored(task, truth, scores)


def _recommend_metrics(rec: np.ndarray, relevant: sp.csr_matrix, share: np.ndarray, k: int) -> dict[str, MetricFn]:
    """Per-customer top-k metrics (averaged per resample) and novelty of one recommender."""
    per_user = {
        "ndcg": rm.ndcg_at_k(rec, relevant, k),
        "recall": rm.recall_at_k(rec, relevant, k),
        "precision": rm.precision_at_k(rec, relevant, k),
        "map": rm.average_precision_at_k(rec, relevant, k),
        "mrr": rm.reciprocal_rank_at_k(rec, relevant, k),
        "hit_rate": rm.hit_rate_at_k(rec, relevant, k),
    }
    out: dict[str, MetricFn] = {name: _bind(wm.mean, v) for name, v in per_user.items()}
    filled = rec >= 0
    positive = share[share > 0]
    surprise = -np.log2(np.maximum(share, positive.min() if positive.size else 1.0))
    novelty_sum = np.where(filled, surprise[np.where(filled, rec, 0)], 0.0).sum(axis=1)
    slots = filled.sum(axis=1).astype(np.float64)
    out["novelty"] = lambda W: wm.mean(W, novelty_sum) / np.maximum(wm.mean(W, slots), 1e-300)
    return out


def compare_recommend(
    events: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, model: Any, k: int
) -> Comparison:
    """Fit ``model`` and popularity on the events before ``cutoff``; top-``k`` on the purchases in
    ``[cutoff, cutoff + horizon)`` of known customers and items (PROTOCOL.md test rows)."""
    window = events.loc[events[Columns.TIMESTAMP].to_numpy() < (cutoff + horizon).to_datetime64()]
    train, test = temporal_split(window, test_start=cutoff)
    data = prepare_evaluation(train, test)
    out = Comparison(n=len(data.users))
    for name, recommender in (("model", clone(model)), ("popularity", PopularityRecommender())):
        recs = recommender.fit(train).recommend(data.users, k=k, exclude_seen=True)
        rec = recommendation_matrix(recs, data.users, data.item_map, k)
        out.scorers[name] = _recommend_metrics(rec, data.relevant, data.share, k)
    return out
