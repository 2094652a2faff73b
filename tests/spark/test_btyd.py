"""BTYD summaries aggregated in Spark equal cxml.churn.rfm_summary; fits from collapsed rows equal the pandas fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

import cxml
from cxml.churn import BGNBDModel, GammaGammaModel, rfm_summary
from cxml.spark import btyd_summary, events_to_spark

#: one Spark session per xdist worker: with --dist loadgroup every Spark test runs in the same worker
pytestmark = pytest.mark.xdist_group("spark")

CDNOW_AS_OF = "1997-10-01"


def test_per_customer_summary_equals_rfm_summary(spark: SparkSession, sample_events: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2024-07-01 15:00")  # a time of day: the as_of day itself is observed
    want = rfm_summary(sample_events, as_of=as_of)
    got = (btyd_summary(events_to_spark(spark, sample_events), as_of, collapse=False).toPandas()
           .set_index("customer_id").sort_index())
    assert got.index.tolist() == want.index.tolist()
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(got[column].to_numpy(dtype=float), want[column].to_numpy())
    # mean day totals: Spark adds them in its own order
    np.testing.assert_allclose(got["monetary_value"].to_numpy(dtype=float), want["monetary_value"].to_numpy(),
                               rtol=1e-12, equal_nan=True)


def test_bgnbd_and_gamma_gamma_fit_from_collapsed_spark_rows_equal_the_pandas_fit(
        spark: SparkSession, cdnow_events: pd.DataFrame) -> None:
    rows = btyd_summary(events_to_spark(spark, cdnow_events), CDNOW_AS_OF).toPandas()
    n_customers = rfm_summary(cdnow_events, as_of=CDNOW_AS_OF).shape[0]
    assert rows["n"].sum() == n_customers and len(rows) < n_customers  # collapsed, nobody lost
    pandas_bg = BGNBDModel().fit(cdnow_events, as_of=CDNOW_AS_OF)
    spark_bg = BGNBDModel().fit_summary(rows, weights="n")
    for name, value in pandas_bg.params_.items():
        assert spark_bg.params_[name] == pytest.approx(value, rel=1e-6), name
    pandas_gg = GammaGammaModel().fit(cdnow_events, as_of=CDNOW_AS_OF)
    repeat = rows[rows["frequency"] > 0]
    spark_gg = GammaGammaModel().fit_summary(repeat, weights="n")
    for name, value in pandas_gg.params_.items():
        assert spark_gg.params_[name] == pytest.approx(value, rel=1e-6), name


def test_bad_arguments_are_cxml_errors(spark: SparkSession, sample_events: pd.DataFrame) -> None:
    sdf = events_to_spark(spark, sample_events.head(20))
    with pytest.raises(cxml.ParameterError, match="time_unit"):
        btyd_summary(sdf, "2024-07-01", time_unit="soon")
    with pytest.raises(cxml.ParameterError, match="collapse"):
        btyd_summary(sdf, "2024-07-01", collapse="yes")  # type: ignore[arg-type]
