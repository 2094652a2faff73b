"""One local Spark session (local[2], 4 shuffle partitions, no UI) shared by every Spark test."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from cxml.bundle import save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.recommend import ALSRecommender
from cxml.schema import events_before
from cxml.spark import local_session

SAMPLE_AS_OF = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark 4.3 warns that pandas 3 support is partial
        session = local_session("local[2]", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def fit_bundle(events: pd.DataFrame, as_of: pd.Timestamp, path: str) -> str:
    """A bundle with all three models, small and quick to fit."""
    history = events_before(events, as_of)
    rec = ALSRecommender(factors=16, iterations=4, random_state=0, n_jobs=1).fit(history)
    churn = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of=as_of)
    cltv = CLTVModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of=as_of)
    return str(save_bundle(path, recommender=rec, churn=churn, cltv=cltv))


@pytest.fixture(scope="session")
def sample_bundle(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    return fit_bundle(sample_events, SAMPLE_AS_OF, str(tmp_path_factory.mktemp("spark-bundles") / "sample"))
