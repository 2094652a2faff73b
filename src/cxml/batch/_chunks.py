"""Chunk scoring: the one function that turns a chunk of customers' events into score rows.

:func:`score_chunk` is pure: given the events of a set of customers, ``as_of``, ``k``, the fitted
models and the population-wide inputs (:class:`Population`, computed once over every customer),
it returns the output rows of those customers. The in-memory batch path, a bucketed out-of-core
path and a Spark ``applyInPandas`` path can all call it; only where the population inputs are
computed differs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from cxml._checks import check_int
from cxml.churn import reason_lists
from cxml.data import IdMap
from cxml.schema import Columns
from cxml.segment import rfm_segments

__all__ = [
    "REASONS",
    "RECOMMENDED",
    "SEGMENT",
    "Population",
    "ScoringModels",
    "capped_k",
    "cold_start_count",
    "population_inputs",
    "score_chunk",
]

#: Output column of the recommended item lists.
RECOMMENDED: Final = "recommended_items"
#: Output column of the RFM segment.
SEGMENT: Final = "segment"
#: Output column of the churn reasons in words (a list of sentences, strongest first).
REASONS: Final = "reasons"


class Recommender(Protocol):
    """What chunk scoring needs of a fitted recommender."""

    @property
    def user_map_(self) -> IdMap: ...

    @property
    def item_map_(self) -> IdMap: ...

    def recommend(self, customers: Iterable[Any], k: int = ..., exclude_seen: bool = ...) -> pd.DataFrame: ...


class ScoringModels(Protocol):
    """The fitted models chunk scoring applies (a :class:`cxml.bundle.Bundle` is one); ``None`` = absent.

    ``churn`` and ``cltv`` offer ``predict(events, as_of=...)`` returning ``customer_id`` and
    ``churn_probability`` / ``expected_value``; ``recommender`` offers ``recommend`` (see
    :class:`Recommender`).
    """

    @property
    def recommender(self) -> Any: ...

    @property
    def churn(self) -> Any: ...

    @property
    def cltv(self) -> Any: ...


@dataclass(frozen=True)
class Population:
    """Population-wide inputs of chunk scoring, computed once over every customer at ``as_of``.

    Attributes
    ----------
    segments
        ``customer_id -> RFM segment`` (str) for every customer, or ``None`` to leave the
        ``segment`` column out. RFM scores are quintiles over the whole population, so a chunk
        cannot compute them from its own customers.
    """

    segments: pd.Series | None = None


def population_inputs(events: pd.DataFrame, as_of: pd.Timestamp) -> Population:
    """The :class:`Population` of a canonical events table (trusted; events before ``as_of``).

    Parameters
    ----------
    events
        Canonical events of every customer to be scored.
    as_of
        Scoring time.

    Returns
    -------
    Population
        With ``segments`` from :func:`cxml.segment.rfm_segments`.
    """
    return Population(segments=rfm_segments(events, as_of=as_of)[SEGMENT].astype("str"))


def capped_k(recommender: Recommender, k: Any) -> int:
    """``k`` checked (an integer >= 1) and capped at the recommender's catalogue size.

    Capping before :meth:`recommend` allocates its ``customers × k`` arrays changes no result
    (there are never more than catalogue-size items to recommend) but keeps ``k=10**9`` from
    allocating gigabytes.

    Parameters
    ----------
    recommender
        A fitted recommender (``item_map_`` is its catalogue).
    k
        The requested number of items per customer.

    Returns
    -------
    int
        ``min(k, number of items)``, at least 1.

    Raises
    ------
    ParameterError
        When ``k`` is not an integer >= 1.
    """
    return min(check_int("k", k, minimum=1), max(1, len(recommender.item_map_)))


def cold_start_count(models: ScoringModels, customers: Sequence[Any] | np.ndarray) -> int:
    """How many of ``customers`` the recommender does not know (0 without a recommender).

    Parameters
    ----------
    models
        The fitted models.
    customers
        External customer ids.

    Returns
    -------
    int
        Customers that :func:`score_chunk` serves the popularity ranking.
    """
    rec = models.recommender
    return 0 if rec is None else int(len(rec.user_map_.unknown(customers)))


def score_chunk(
    models: ScoringModels,
    events: pd.DataFrame,
    customers: Sequence[Any] | np.ndarray,
    as_of: pd.Timestamp,
    k: int,
    population: Population,
    reasons: int = 0,
    timings: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Score rows of ``customers`` from their own events and the population-wide inputs.

    Per-customer features depend only on the customer's own history, so scoring a chunk gives
    the same numbers as scoring everybody at once.

    Parameters
    ----------
    models
        The fitted models (:class:`ScoringModels`, e.g. a :class:`cxml.bundle.Bundle`).
    events
        Canonical events before ``as_of`` of (at least) these customers; other customers' rows
        only cost time.
    customers
        The external ids to score, in output order; each must have a purchase in ``events``
        for churn / CLTV values (NaN otherwise).
    as_of
        Scoring time.
    k
        Items per customer in ``recommended_items`` (an integer >= 1; capped at the catalogue).
    population
        Inputs computed once over every customer (:func:`population_inputs`).
    reasons
        With a churn model and ``reasons >= 1``: add the ``reasons`` column, up to that many
        sentences per customer (:meth:`cxml.churn.ChurnModel.reasons`); ``0`` (default): none.
    timings
        When given, the seconds spent are added to its keys ``churn``, ``cltv``, ``reasons`` and
        ``recommend`` (created when absent), e.g. to show where a batch run's time goes.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id`` (str); ``churn_probability`` (with a churn model);
        ``expected_value`` (with a CLTV model); ``segment`` (when ``population.segments`` is
        given); ``recommended_items`` (with a recommender: up to ``k`` item ids, best first,
        excluding items the customer bought in the recommender's training data).
    """
    ids = np.asarray(customers, dtype=object)
    table = pd.DataFrame({Columns.CUSTOMER: pd.array(ids, dtype="str")})
    clock = _Clock(timings)
    for model, column, key in ((models.churn, Columns.CHURN_PROBABILITY, "churn"),
                               (models.cltv, Columns.EXPECTED_VALUE, "cltv")):
        if model is not None:
            predicted = model.predict(events, as_of=as_of).set_index(Columns.CUSTOMER)[column]
            table[column] = predicted.reindex(ids).to_numpy()
            clock.lap(key)
    if reasons and models.churn is not None:
        # every customer of the chunk with a purchase; the others get [] (like NaN for the scores)
        why = models.churn.reasons(events, as_of, top=reasons)
        table[REASONS] = reason_lists(why, ids)
        clock.lap("reasons")
    if population.segments is not None:
        table[SEGMENT] = population.segments.reindex(ids).to_numpy()
    rec = models.recommender
    if rec is not None:
        recs = rec.recommend(list(ids), k=capped_k(rec, k), exclude_seen=True)
        table[RECOMMENDED] = _item_lists(recs, ids)
        clock.lap("recommend")
    return table


class _Clock:
    """Adds the seconds since the last lap to ``timings[key]`` (nothing when ``timings`` is None)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, key: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[key] = self.timings.get(key, 0.0) + now - self.last
            self.last = now


def _item_lists(recs: pd.DataFrame, ids: np.ndarray) -> list[list[str]]:
    """Each customer's item ids, best first, from a ranking frame whose rows are grouped by customer."""
    owner = recs[Columns.CUSTOMER].to_numpy(dtype=object)
    items = recs[Columns.ITEM].to_numpy(dtype=object)
    if not len(owner):
        return [[] for _ in ids]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    lists = dict(zip(owner[starts], (part.tolist() for part in np.split(items, starts[1:])), strict=True))
    return [lists.get(c, []) for c in ids]
