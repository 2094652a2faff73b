"""The cxml pyfunc model through mlflow.pyfunc.spark_udf("models:/name@alias"): typed columns, same values;
the training events logged as an mlflow.data input; requirements that do not pin cxml."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from packaging.requirements import Requirement
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from cxml._uri import tracking_uri_context
from cxml.tracking._signature import log_events_input, model_code_paths, model_requirements, model_signature
from cxml.tracking.harness import MODEL_CODE

#: one Spark session per xdist worker: with --dist loadgroup every Spark test runs in the same worker
pytestmark = pytest.mark.xdist_group("spark")

NAME = "cxml-spark-udf"


@pytest.fixture(scope="module")
def registered(sample_bundle: str, sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    with tracking_uri_context(uri):
        mlflow.set_experiment("cxml-spark")
        with mlflow.start_run() as run:
            dataset = log_events_input(sample_events, source="data/sample/events.csv")
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(MODEL_CODE), artifacts={"bundle": sample_bundle},
                signature=model_signature(), pip_requirements=model_requirements(), code_paths=model_code_paths(),
            )
        version = mlflow.register_model(info.model_uri, NAME)
        mlflow.MlflowClient().set_registered_model_alias(NAME, "champion", version.version)
    return {"uri": uri, "run_id": run.info.run_id, "dataset": dataset, "model_uri": info.model_uri}


def test_spark_udf_returns_typed_columns_equal_to_predict(spark: SparkSession, registered: dict) -> None:
    customers = ["C0001", "C0002", "nobody"]
    with tracking_uri_context(registered["uri"]):
        udf = mlflow.pyfunc.spark_udf(spark, f"models:/{NAME}@champion", env_manager="local", params={"k": 3})
        expected = mlflow.pyfunc.load_model(f"models:/{NAME}@champion").predict(
            pd.DataFrame({"customer_id": customers}), params={"k": 3})
    frame = spark.createDataFrame([(c,) for c in customers], "customer_id string")
    out = frame.select(udf("customer_id").alias("p"))
    assert out.schema["p"].dataType == T.StructType([
        T.StructField("customer_id", T.StringType()), T.StructField("churn_probability", T.DoubleType()),
        T.StructField("expected_value", T.DoubleType()),
        T.StructField("recommended_items", T.ArrayType(T.StringType())),
    ])
    rows = [r["p"] for r in out.collect()]
    assert [r["customer_id"] for r in rows] == customers
    assert [list(r["recommended_items"]) for r in rows] == [list(x) for x in expected["recommended_items"]]
    assert all(len(r["recommended_items"]) == 3 for r in rows)
    assert all(r["churn_probability"] is None for r in rows)  # a customer list carries no history


def test_training_events_are_logged_as_a_dataset_input(registered: dict, sample_events: pd.DataFrame) -> None:
    run = mlflow.MlflowClient(tracking_uri=registered["uri"]).get_run(registered["run_id"])
    (logged,) = run.inputs.dataset_inputs
    assert logged.dataset.digest == registered["dataset"].digest
    assert logged.dataset.name == "events" and "data/sample/events.csv" in logged.dataset.source
    assert {t.key: t.value for t in logged.tags}["mlflow.data.context"] == "training"
    assert str(len(sample_events)) in logged.dataset.profile


def test_logged_requirements_are_installable_without_an_index_serving_cxml(registered: dict) -> None:
    with tracking_uri_context(registered["uri"]):
        local = Path(mlflow.artifacts.download_artifacts(registered["model_uri"]))
    requirements = [Requirement(line) for line in (local / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    names = {r.name.lower() for r in requirements}
    assert "cxml" not in names and {"numpy", "pandas", "lightgbm", "implicit", "mlflow"} <= names
    for req in requirements:  # every pin is satisfied by what runs these tests
        assert metadata.version(req.name) in req.specifier, req
    assert (local / "code" / "cxml" / "scoring.py").exists()  # cxml itself travels with the model
