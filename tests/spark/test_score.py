"""cxml.spark.score gives the rows and values of Scorer.score (sample and Online Retail)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

import cxml
from cxml import Scorer
from cxml.spark import events_to_spark, output_schema, score
from tests.spark.conftest import SAMPLE_AS_OF, fit_bundle

#: one Spark session per xdist worker: with --dist loadgroup every Spark test runs in the same worker
pytestmark = pytest.mark.xdist_group("spark")


def _single_machine(bundle: str, events: pd.DataFrame, as_of: pd.Timestamp, out: Path, k: int) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # events after as_of are ignored, and said so
        Scorer.load(bundle).score(events, as_of=as_of, out=out, k=k, progress=False)
    return pd.read_parquet(out).sort_values("customer_id", ignore_index=True)


def _assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.sort_values("customer_id", ignore_index=True)
    assert list(got.columns) == list(want.columns)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    for column in ("churn_probability", "expected_value"):
        np.testing.assert_array_equal(got[column].to_numpy(dtype=np.float64), want[column].to_numpy(dtype=np.float64))
    assert got["segment"].astype(str).tolist() == want["segment"].astype(str).tolist()
    assert [list(x) for x in got["recommended_items"]] == [list(x) for x in want["recommended_items"]]


def test_spark_score_equals_scorer_score_on_the_sample(spark: SparkSession, sample_events: pd.DataFrame,
                                                       sample_bundle: str, tmp_path: Path) -> None:
    want = _single_machine(sample_bundle, sample_events, SAMPLE_AS_OF, tmp_path / "scores", k=7)
    out = score(events_to_spark(spark, sample_events), sample_bundle, as_of=SAMPLE_AS_OF, k=7)
    assert out.schema == T._parse_datatype_string(output_schema(("recommender", "churn", "cltv")))
    assert [f.dataType for f in out.schema.fields] == [
        T.StringType(), T.DoubleType(), T.DoubleType(), T.StringType(), T.ArrayType(T.StringType())]
    got = out.toPandas()
    assert len(want) > 1000 and want["segment"].nunique() >= 5  # every RFM rule is exercised
    _assert_same_rows(got, want)


def test_spark_score_equals_scorer_score_on_online_retail(spark: SparkSession, retail_events: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    as_of = pd.Timestamp("2010-09-01")
    bundle = fit_bundle(retail_events, as_of, str(tmp_path / "bundle"))
    want = _single_machine(bundle, retail_events, as_of, tmp_path / "scores", k=10)
    got = score(events_to_spark(spark, retail_events), bundle, as_of=as_of, k=10).toPandas()
    assert len(want) > 2000
    _assert_same_rows(got, want)


def test_bad_arguments_are_cxml_errors(spark: SparkSession, sample_events: pd.DataFrame, sample_bundle: str,
                                       tmp_path: Path) -> None:
    sdf = events_to_spark(spark, sample_events.head(50))
    with pytest.raises(cxml.ParameterError, match="k"):
        score(sdf, sample_bundle, as_of=SAMPLE_AS_OF, k=0)
    with pytest.raises(cxml.ParameterError, match="pyspark.sql.DataFrame"):
        score(sample_events, sample_bundle, as_of=SAMPLE_AS_OF)  # type: ignore[arg-type]
    with pytest.raises(cxml.SchemaError, match="timestamp"):
        score(sdf.drop("timestamp"), sample_bundle, as_of=SAMPLE_AS_OF)
    with pytest.raises(cxml.CxmlError, match="as_of"):
        score(sdf, sample_bundle, as_of="soon")
    with pytest.raises(cxml.BundleError):
        score(sdf, tmp_path / "no-bundle", as_of=SAMPLE_AS_OF)
