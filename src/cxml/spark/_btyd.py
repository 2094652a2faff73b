"""``cxml.spark.btyd_summary``: the BTYD summary aggregated in Spark, collapsed to distinct rows with counts."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cxml._checks import check_bool
from cxml.churn.summary import last_observed_day, time_unit_days
from cxml.schema import Columns, parse_as_of
from cxml.spark._events import purchase_condition, spark_events

__all__ = ["btyd_summary"]


def btyd_summary(events: DataFrame, as_of: Any, *, time_unit: str = "W", monetary: bool = True,
                 collapse: bool = True) -> DataFrame:
    """:func:`cxml.churn.rfm_summary` computed in Spark, by default as distinct rows with counts.

    The same definitions as the pandas summary (PROTOCOL.md): purchase rows before ``as_of`` at day
    granularity; ``frequency`` = distinct purchase days − 1, ``recency`` = last − first purchase
    day, ``T`` = last observed day − first purchase day (the day of the last instant before
    ``as_of``), in ``time_unit``; ``monetary_value`` = mean day total of the repeat purchase days
    (amounts of purchase rows; days without a known amount left out; null without repeat days).
    Collapsed, millions of customers become a few thousand rows, and
    ``BGNBDModel().fit_summary(rows, weights="n")`` (or ``GammaGammaModel``) fits exactly as on
    every customer. Monetary means are sums in Spark's order: equal to the pandas values up to
    rounding in the last bits.

    Parameters
    ----------
    events
        Spark events with ``customer_id``, ``timestamp`` and the optional canonical columns (see
        :func:`cxml.spark.score`).
    as_of
        Date-like; only events before it are used.
    time_unit
        Unit of ``recency`` and ``T`` (``"W"`` weeks, ``"D"`` days, or e.g. ``"30D"``).
    monetary
        Compute ``monetary_value`` (needs ``amount``; null when the events have none).
    collapse
        ``True``: distinct ``(frequency, recency, T[, monetary_value])`` rows with a count column
        ``n``; ``False``: one row per customer, with ``customer_id``.

    Returns
    -------
    pyspark.sql.DataFrame
        Double columns ``frequency``, ``recency``, ``T`` (and ``monetary_value``), plus ``n`` (long)
        or ``customer_id``.

    Raises
    ------
    ParameterError
        When ``events`` is not a Spark DataFrame, ``time_unit`` is not a positive duration, or a
        flag is not a bool.
    SchemaError
        When ``events`` lacks ``customer_id`` / ``timestamp`` or ``as_of`` is not a date.
    """
    check_bool("monetary", monetary)
    check_bool("collapse", collapse)
    unit = time_unit_days(time_unit)
    ts = parse_as_of(as_of)
    frame = spark_events(events)
    rows = frame.where((F.col(Columns.TIMESTAMP) < F.lit(ts.isoformat(sep=" ")).cast("timestamp_ntz"))
                       & purchase_condition(frame.columns))
    amount = (F.when(F.col(Columns.AMOUNT).isNotNull() & ~F.isnan(Columns.AMOUNT), F.col(Columns.AMOUNT))
              if Columns.AMOUNT in frame.columns else F.lit(None).cast("double"))
    day = F.datediff(F.to_date(F.col(Columns.TIMESTAMP)), F.lit("1970-01-01").cast("date"))
    days = rows.groupBy(Columns.CUSTOMER, day.alias("day")).agg(
        F.sum(amount).alias("total"),  # null when the day has no known amount
    )
    per_customer = days.groupBy(Columns.CUSTOMER).agg(
        F.count("day").alias("n_days"), F.min("day").alias("first_day"), F.max("day").alias("last_day"),
    )
    last_day = last_observed_day(ts)
    summary = per_customer.select(
        Columns.CUSTOMER,
        (F.col("n_days") - 1).cast("double").alias("frequency"),
        ((F.col("last_day") - F.col("first_day")) / F.lit(unit)).alias("recency"),
        ((F.lit(last_day) - F.col("first_day")) / F.lit(unit)).alias("T"),
        F.col("first_day"),
    )
    keys = ["frequency", "recency", "T"]
    if monetary:
        repeat = days.join(summary.select(Columns.CUSTOMER, "first_day"), on=Columns.CUSTOMER)
        repeat = repeat.where(F.col("day") != F.col("first_day")).groupBy(Columns.CUSTOMER).agg(
            F.avg("total").alias("monetary_value"))  # avg skips days without a known amount
        summary = summary.join(repeat, on=Columns.CUSTOMER, how="left")
        keys.append("monetary_value")
    if not collapse:
        return summary.select(Columns.CUSTOMER, *keys)
    return summary.groupBy(*keys).agg(F.count(F.lit(1)).alias("n"))
