"""Events on Spark: the canonical columns checked and cast once, purchase rows, local sessions (internal)."""

from __future__ import annotations

import os
import sys
from typing import Any, Final

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cxml.exceptions import ParameterError, SchemaError
from cxml.schema import Columns, EventTypes

__all__ = ["ROW", "SPARK_TYPES", "events_to_spark", "local_session", "purchase_condition", "spark_events"]

#: Column holding each event's position in the input (kept so a customer's rows reach pandas in input order).
ROW: Final = "_cxml_row"

#: The Spark type of every canonical events column (``order_id`` optional).
SPARK_TYPES: Final[dict[str, T.DataType]] = {
    Columns.CUSTOMER: T.StringType(),
    Columns.TIMESTAMP: T.TimestampNTZType(),
    Columns.EVENT_TYPE: T.StringType(),
    Columns.ITEM: T.StringType(),
    Columns.QUANTITY: T.DoubleType(),
    Columns.AMOUNT: T.DoubleType(),
    Columns.VALUE: T.DoubleType(),
    Columns.ORDER: T.StringType(),
}


def local_session(master: str = "local[2]", *, shuffle_partitions: int = 4, app_name: str = "cxml",
                  **conf: Any) -> SparkSession:
    """A Spark session for one machine (tests, benchmarks, ``cxml score --engine spark``).

    Sets the session time zone to UTC (cxml timestamps are naive UTC), turns the web UI off,
    enables Arrow and, unless ``$PYSPARK_PYTHON`` is set, sets it to this interpreter so that the
    Python workers can import cxml. ``conf`` adds settings (dots written as ``__``: ``spark__driver__memory="4g"``).
    ``getOrCreate`` semantics: an active session is returned with these settings applied.

    Parameters
    ----------
    master
        Spark master URL (``"local[2]"``: two threads on this machine).
    shuffle_partitions
        ``spark.sql.shuffle.partitions``: buckets of a groupBy (small for small data).
    app_name
        Application name.
    **conf
        Further Spark settings.

    Returns
    -------
    pyspark.sql.SparkSession
    """
    builder = (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    # PySpark starts its workers with $PYSPARK_PYTHON (default: whichever python3 is on PATH, which
    # may lack cxml): unless the user chose one, the workers run this interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(key.replace("__", "."), str(value))
    return builder.getOrCreate()


def events_to_spark(spark: SparkSession, events: pd.DataFrame) -> DataFrame:
    """A canonical pandas events table as a Spark DataFrame with the :data:`SPARK_TYPES` schema.

    Goes through Arrow (``timestamp`` stays naive: ``TimestampNTZType``), so the Spark rows are
    the pandas rows in the same order.

    Parameters
    ----------
    spark
        The session.
    events
        A canonical events table (:func:`cxml.load_events`).

    Returns
    -------
    pyspark.sql.DataFrame
    """
    import pyarrow as pa  # a cxml dependency; imported with the Spark path only

    cols = [c for c in SPARK_TYPES if c in events.columns]
    fields = []
    arrays = []
    for c in cols:
        series = events[c]
        if isinstance(SPARK_TYPES[c], T.StringType):
            arrays.append(pa.array(series.to_numpy(dtype=object), pa.string(), from_pandas=True))
        elif c == Columns.TIMESTAMP:
            arrays.append(pa.array(series.to_numpy(dtype="datetime64[us]"), pa.timestamp("us")))
        else:
            arrays.append(pa.array(series.to_numpy(dtype="float64", na_value=float("nan")), pa.float64(),
                                   from_pandas=True))
        fields.append(pa.field(c, arrays[-1].type))
    return spark.createDataFrame(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))


def spark_events(events: Any, *, require: tuple[str, ...] = ()) -> DataFrame:
    """The canonical columns of a Spark events DataFrame, cast to :data:`SPARK_TYPES`, plus :data:`ROW`.

    Rows without a customer id are dropped (as :func:`cxml.load_events` drops them).

    Raises
    ------
    ParameterError
        When ``events`` is not a Spark DataFrame.
    SchemaError
        When a required column is missing or cannot be cast.
    """
    if not isinstance(events, DataFrame):
        raise ParameterError(f"events is a {type(events).__name__}; expected a pyspark.sql.DataFrame "
                             "(convert a pandas table with cxml.spark.events_to_spark)")
    missing = [c for c in (*Columns.REQUIRED, *require) if c not in events.columns]
    if missing:
        raise SchemaError(f"the Spark events have no column(s) {missing} (columns: {events.columns}); "
                          "expected the canonical events schema (see cxml.spark.SPARK_TYPES)")
    present = {f.name: f.dataType for f in events.schema.fields}
    selected = []
    for name, kind in SPARK_TYPES.items():
        if name not in present:
            continue
        _check_castable(name, present[name], kind)
        selected.append(F.col(name).cast(kind).alias(name))
    # the position of each row in the input, taken before any shuffle
    frame = events.select(*selected, F.monotonically_increasing_id().alias(ROW))
    return frame.where(F.col(Columns.CUSTOMER).isNotNull() & F.col(Columns.TIMESTAMP).isNotNull())


def _check_castable(name: str, got: T.DataType, want: T.DataType) -> None:
    numeric = (T.NumericType, T.BooleanType)
    ok = (
        isinstance(want, T.StringType)
        or (isinstance(want, T.TimestampNTZType) and isinstance(got, T.TimestampType | T.TimestampNTZType | T.DateType))
        or (isinstance(want, T.DoubleType) and isinstance(got, numeric))
    )
    if not ok:
        raise SchemaError(f"Spark events column {name!r} has type {got.simpleString()}; expected "
                          f"{want.simpleString()}")


def _known(column: str, columns: list[str]) -> Column:
    """The double column when present and not NaN, else null."""
    if column not in columns:
        return F.lit(None).cast(T.DoubleType())
    c = F.col(column)
    return F.when(c.isNotNull() & ~F.isnan(c), c)


def purchase_condition(columns: list[str]) -> Column:
    """:func:`cxml.schema.purchase_mask` as a Spark condition over the canonical columns."""
    is_purchase = (
        F.coalesce(F.col(Columns.EVENT_TYPE) == F.lit(EventTypes.PURCHASE), F.lit(False))
        if Columns.EVENT_TYPE in columns else F.lit(True)
    )
    q, a = _known(Columns.QUANTITY, columns), _known(Columns.AMOUNT, columns)
    positive = F.when(q.isNotNull(), q > 0).when(a.isNotNull(), a > 0).otherwise(F.lit(True))
    return is_purchase & positive
