"""The batch job behind ``cxml score --engine spark`` and ``spark-submit .../cxml/spark/__main__.py``."""

from __future__ import annotations

import os
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cxml._checks import check_bool
from cxml.exceptions import OutputExistsError, SourceError
from cxml.schema import Columns
from cxml.spark._events import local_session
from cxml.spark._score import score

__all__ = ["read_events", "score_job"]


def read_events(spark: SparkSession, path: str) -> DataFrame:
    """Events with canonical column names from parquet (a file or directory) or csv with a header.

    Parameters
    ----------
    spark
        The session.
    path
        Any path Spark reads (local, ``hdfs://``, ``s3a://``, ``dbfs:/``); ``.csv`` is read as
        csv with a header and inferred types, anything else as parquet. Parquet written by pandas
        holds nanosecond timestamps, which Spark does not read: they are read as integers and
        converted (to microseconds, naive UTC).

    Returns
    -------
    pyspark.sql.DataFrame

    Raises
    ------
    SourceError
        When Spark cannot read the path.
    """
    try:
        if path.lower().endswith(".csv"):
            return spark.read.csv(path, header=True, inferSchema=True)
        try:
            return spark.read.parquet(path)
        except Exception as exc:
            if "TIMESTAMP(NANOS" not in str(exc):
                raise
            return _read_nanosecond_parquet(spark, path)
    except Exception as exc:  # Spark raises AnalysisException (and others) for missing / unreadable paths
        raise SourceError(f"Spark could not read events from {path!r}: {exc}") from exc


def _read_nanosecond_parquet(spark: SparkSession, path: str) -> DataFrame:
    """Parquet written by pandas (nanosecond timestamps, which Spark refuses): ``timestamp`` read as
    nanoseconds since 1970 and turned into a UTC wall-clock ``TimestampNTZ``."""
    key = "spark.sql.legacy.parquet.nanosAsLong"
    before = spark.conf.get(key, "false")
    spark.conf.set(key, "true")
    try:
        frame = spark.read.parquet(path)
    finally:
        spark.conf.set(key, before or "false")
    if dict(frame.dtypes).get(Columns.TIMESTAMP) != "bigint":
        return frame
    micros = F.floor(F.col(Columns.TIMESTAMP) / F.lit(1000))
    utc_wall = F.convert_timezone(F.lit(spark.conf.get("spark.sql.session.timeZone") or "UTC"), F.lit("UTC"),
                                  F.timestamp_micros(micros).cast("timestamp_ntz"))
    return frame.withColumn(Columns.TIMESTAMP, utc_wall.cast("timestamp_ntz"))


def score_job(events: str, model: str | os.PathLike[str], *, as_of: Any, out: str, k: int = 10,
              master: str | None = None, tracking_uri: str | None = None, overwrite: bool = False,
              buckets: int | None = None) -> dict[str, Any]:
    """Read events, score them with :func:`cxml.spark.score` and write a parquet dataset.

    Under ``spark-submit`` (or in a notebook with a session) the active session is used; otherwise
    a local one (:func:`cxml.spark.local_session`) on ``master`` (default ``local[*]``).

    Parameters
    ----------
    events
        Path of the events (see :func:`read_events`); canonical column names.
    model
        Bundle directory readable by every executor, or ``models:/NAME@alias``.
    as_of, k, buckets, tracking_uri
        As for :func:`cxml.spark.score`.
    out
        Output directory (parquet, one file per Spark partition, plus ``_SUCCESS``).
    master
        Spark master for a new local session (ignored when a session is active).
    overwrite
        Replace an existing ``out``; otherwise an existing ``out`` is refused.

    Returns
    -------
    dict
        ``customers`` (rows written), ``out``, ``as_of``, ``k``, ``engine`` (``"spark"``) and
        ``master`` (the session's).

    Raises
    ------
    OutputExistsError
        When ``out`` exists and ``overwrite`` is false.
    SourceError, SchemaError, ParameterError, BundleError
        As :func:`read_events` and :func:`cxml.spark.score`.
    """
    check_bool("overwrite", overwrite)
    if os.path.exists(out) and not overwrite:
        raise OutputExistsError(f"{out!r} exists; pass overwrite=True (--overwrite) to replace it")
    spark = SparkSession.getActiveSession() or local_session(master or "local[*]")
    scores = score(read_events(spark, events), model, as_of=as_of, k=k, buckets=buckets, tracking_uri=tracking_uri)
    scores.write.mode("overwrite" if overwrite else "errorifexists").parquet(out)
    written = spark.read.parquet(out).count()
    return {"customers": int(written), "out": out, "as_of": str(as_of), "k": k, "engine": "spark",
            "master": spark.sparkContext.master}
