"""score_job / the spark-submit entry: events read by Spark, scores written as parquet, equal to Scorer.score."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

import cxml
from cxml import Scorer
from cxml.spark.__main__ import main
from tests.spark.conftest import SAMPLE_AS_OF

#: one Spark session per xdist worker: with --dist loadgroup every Spark test runs in the same worker
pytestmark = pytest.mark.xdist_group("spark")


def test_spark_submit_entry_writes_the_rows_of_scorer_score(spark: SparkSession, sample_events: pd.DataFrame,
                                                            sample_bundle: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.parquet"
    sample_events.to_parquet(events)
    out = tmp_path / "scores"
    assert main(["--model", sample_bundle, "--events", str(events), "--as-of", str(SAMPLE_AS_OF.date()),
                 "--out", str(out), "--k", "4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        Scorer.load(sample_bundle).score(sample_events, as_of=SAMPLE_AS_OF, out=tmp_path / "single", k=4,
                                         progress=False)
    want = pd.read_parquet(tmp_path / "single").sort_values("customer_id", ignore_index=True)
    got = pd.read_parquet(out).sort_values("customer_id", ignore_index=True)
    assert summary["customers"] == len(want) == len(got) and summary["engine"] == "spark"
    pd.testing.assert_series_equal(got["churn_probability"], want["churn_probability"])
    assert [list(x) for x in got["recommended_items"]] == [list(x) for x in want["recommended_items"]]
    with pytest.raises(cxml.OutputExistsError):
        main(["--model", sample_bundle, "--events", str(events), "--as-of", "2024-07-01", "--out", str(out)])
    with pytest.raises(cxml.SourceError):
        main(["--model", sample_bundle, "--events", str(tmp_path / "none.parquet"), "--as-of", "2024-07-01",
              "--out", str(tmp_path / "other")])
