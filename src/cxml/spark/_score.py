"""``cxml.spark.score``: Scorer.score's rows computed on Spark by the same chunk-scoring code."""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cxml._checks import check_int
from cxml.batch import RECOMMENDED, SEGMENT, Population, score_chunk
from cxml.bundle import MANIFEST
from cxml.schema import Columns, parse_as_of
from cxml.scoring import Scorer
from cxml.spark._chunk import BUCKET, chunk_events, grouped_apply
from cxml.spark._events import purchase_condition, spark_events
from cxml.spark._population import RfmCuts, per_customer_rfm, rfm_cuts, rfm_values

__all__ = ["output_schema", "score"]

#: Loaded bundles of this Python process, by (source, tracking URI, manifest digest): each Spark
#: Python worker reads and verifies a bundle once, then reuses it for every bucket it scores.
_SCORERS: dict[tuple[str, str | None, str], Scorer] = {}


def _scorer(source: str, tracking_uri: str | None, digest: str) -> Scorer:
    key = (source, tracking_uri, digest)
    if key not in _SCORERS:
        _SCORERS[key] = Scorer.load(source, tracking_uri=tracking_uri)
    return _SCORERS[key]


def _digest(scorer: Scorer) -> str:
    manifest = Path(scorer.bundle.path) / MANIFEST
    return hashlib.sha256(manifest.read_bytes() if manifest.exists() else b"").hexdigest()


def output_schema(models: tuple[str, ...]) -> str:
    """The Spark schema (DDL) of :func:`score`'s output for a bundle holding ``models``.

    Parameters
    ----------
    models
        Names of the bundle's models (``Scorer.models``).

    Returns
    -------
    str
        ``customer_id string``, then ``churn_probability double`` (with a churn model),
        ``expected_value double`` (with a CLTV model), ``segment string`` and
        ``recommended_items array<string>`` (with a recommender): the columns of
        :meth:`cxml.Scorer.score`, in its order.

    Examples
    --------
    >>> output_schema(("churn", "recommender"))
    'customer_id string, churn_probability double, segment string, recommended_items array<string>'
    """
    cols = [f"{Columns.CUSTOMER} string"]
    if "churn" in models:
        cols.append(f"{Columns.CHURN_PROBABILITY} double")
    if "cltv" in models:
        cols.append(f"{Columns.EXPECTED_VALUE} double")
    cols.append(f"{SEGMENT} string")
    if "recommender" in models:
        cols.append(f"{RECOMMENDED} array<string>")
    return ", ".join(cols)


def score(events: DataFrame, bundle: str | os.PathLike[str], *, as_of: Any, k: int = 10,
          buckets: int | None = None, tracking_uri: str | None = None) -> DataFrame:
    """Score every customer existing at ``as_of`` on Spark: the rows of :meth:`cxml.Scorer.score`.

    Customers are hash-bucketed (``groupBy(bucket).applyInPandas``), so a customer's whole history
    reaches one pandas call, which scores its bucket with :func:`cxml.batch.score_chunk` — the code
    that scores chunks on one machine. The RFM segments are relative to the whole population: their
    quintile cut points are computed once with Spark (exact order statistics, see
    :mod:`cxml.spark._population`) and handed to every bucket. Cold-start recommendations come from
    the popularity ranking stored in the bundle. Each Python worker loads (and verifies, as
    :func:`cxml.bundle.load_bundle` does) the bundle once and reuses it.

    Parameters
    ----------
    events
        A Spark DataFrame with the canonical events columns (``customer_id``, ``timestamp``, and
        any of ``event_type``, ``item_id``, ``quantity``, ``amount``, ``value``, ``order_id``);
        castable to :data:`cxml.spark.SPARK_TYPES`. A ``timestamp`` with time zone is read as wall
        time in the session time zone (cxml's own sessions use UTC). Events at or after ``as_of``
        are not used.
    bundle
        A bundle directory that every executor can read (a shared file system on a cluster), or a
        ``models:/NAME@alias`` URI that every executor can download.
    as_of
        Date-like scoring time.
    k
        Items per customer in ``recommended_items`` (an integer >= 1, capped at the catalogue).
    buckets
        Number of customer buckets (default: ``spark.sql.shuffle.partitions``); each bucket's
        events must fit in a Python worker's memory.
    tracking_uri
        MLflow tracking URI for ``models:/`` bundles (default: ``$MLFLOW_TRACKING_URI`` or
        ``sqlite:///mlflow.db``).

    Returns
    -------
    pyspark.sql.DataFrame
        Lazily computed, one row per customer (in no particular order), with the schema
        :func:`output_schema`: ``customer_id`` string, ``churn_probability`` and
        ``expected_value`` double, ``segment`` string, ``recommended_items`` array<string>.

    Raises
    ------
    ParameterError
        When ``events`` is not a Spark DataFrame, or ``k`` / ``buckets`` is not a positive integer.
    SchemaError
        When ``events`` lacks ``customer_id`` / ``timestamp`` or a column has an unusable type,
        or ``as_of`` is not a date.
    BundleError
        When the bundle cannot be loaded or fails verification.
    """
    k = check_int("k", k, minimum=1)
    ts = parse_as_of(as_of)
    frame = spark_events(events)
    spark = frame.sparkSession
    n_buckets = check_int("buckets", int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
                          if buckets is None else buckets, minimum=1)
    source = os.fspath(bundle)
    scorer = Scorer.load(source, tracking_uri=tracking_uri)  # verified here first: a bad bundle fails now
    digest = _digest(scorer)
    past = _past_of_existing(frame, ts, n_buckets)
    values = per_customer_rfm(past, BUCKET, ts).persist()
    try:
        cuts = rfm_cuts(values)
    finally:
        values.unpersist()
    work = partial(_score_bucket, source=source, tracking_uri=tracking_uri, digest=digest, as_of=ts, k=k, cuts=cuts)
    return grouped_apply(past, BUCKET, work, output_schema(scorer.models))


def _past_of_existing(frame: DataFrame, ts: pd.Timestamp, n_buckets: int) -> DataFrame:
    """Events before ``ts`` of customers with a purchase before ``ts``, with their bucket."""
    past = frame.where(F.col(Columns.TIMESTAMP) < F.lit(ts.isoformat(sep=" ")).cast("timestamp_ntz"))
    existing = past.where(purchase_condition(past.columns)).select(Columns.CUSTOMER).distinct()
    past = past.join(existing, on=Columns.CUSTOMER, how="left_semi")
    return past.withColumn(BUCKET, F.pmod(F.xxhash64(Columns.CUSTOMER), F.lit(n_buckets)))


def _score_bucket(frame: pd.DataFrame, *, source: str, tracking_uri: str | None, digest: str, as_of: pd.Timestamp,
                  k: int, cuts: RfmCuts) -> pd.DataFrame:
    """One bucket's score rows (runs in a Python worker)."""
    events = chunk_events(frame)
    customers = np.sort(events[Columns.CUSTOMER].unique().astype(object))
    population = Population(segments=cuts.segments(rfm_values(events, as_of)))
    bundle = _scorer(source, tracking_uri, digest).bundle
    return score_chunk(bundle, events, customers, as_of, k, population)
