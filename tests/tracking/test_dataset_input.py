"""The training events logged as an MLflow dataset input: the schema MLflow would infer, a digest of
the whole frame, and neither computed by MLflow's per-value walk (minutes on millions of rows)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow
import mlflow.data.pandas_dataset
import numpy as np
import pandas as pd
import pytest
from mlflow.types.utils import _infer_schema

from cxml._uri import tracking_uri_context
from cxml.tracking._signature import SCHEMA_ROWS, _input_schema, frame_sha256, log_events_input


def _mlflow_schema(frame: pd.DataFrame) -> list[dict]:
    """MLflow's own inference over every value: the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _infer_schema(frame).to_dict()


def _messy(n: int = 3 * SCHEMA_ROWS) -> pd.DataFrame:
    """Columns whose nulls or types only show after the first SCHEMA_ROWS values."""
    late_null = [f"I{i}" for i in range(n)]
    late_null[-1] = None  # type: ignore[call-overload]
    amount = np.arange(n, dtype=float)
    amount[-2] = np.nan
    return pd.DataFrame({
        "customer_id": [f"C{i % 97}" for i in range(n)],
        "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
        "item_id": late_null,
        "amount": amount,
        "count": np.arange(n, dtype=np.int64),
        "flag": np.arange(n) % 2 == 0,
        "kind": pd.Categorical(["a", "b", "c"] * (n // 3)),
        "first_null": [None] * SCHEMA_ROWS + ["x"] * (n - SCHEMA_ROWS),
        "all_null": [None] * n,
    })


def test_the_sampled_schema_equals_mlflows_inference_over_every_value(sample_events: pd.DataFrame) -> None:
    for frame in (sample_events, _messy()):
        assert _input_schema(frame).to_dict() == _mlflow_schema(frame)


def test_a_column_of_mixed_types_is_logged_as_any() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b"], "note": [1, "x"]})
    specs = {s["name"]: s for s in _input_schema(frame).to_dict()}
    assert specs["note"]["type"] == "any" and specs["note"]["required"] is True
    assert specs["customer_id"]["type"] == "string"


def test_the_digest_covers_every_row(sample_events: pd.DataFrame) -> None:
    changed = sample_events.copy()
    row = len(changed) - 1  # past MLflow's 10,000-row digest window
    changed.loc[changed.index[row], "amount"] = float(changed["amount"].fillna(0).iloc[row]) + 1.0
    assert frame_sha256(changed) != frame_sha256(sample_events)
    assert frame_sha256(sample_events.copy()) == frame_sha256(sample_events)
    assert frame_sha256(sample_events.iloc[::-1]) != frame_sha256(sample_events)  # row order counts


def test_logging_never_runs_mlflows_full_inference(sample_events: pd.DataFrame, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("MLflow inferred the schema from the whole frame")

    monkeypatch.setattr(mlflow.data.pandas_dataset, "_infer_schema", refuse)
    with tracking_uri_context(f"sqlite:///{tmp_path / 'mlflow.db'}"):
        mlflow.set_experiment("dataset-input")
        with mlflow.start_run() as run:
            dataset = log_events_input(sample_events, source="data/sample/events.csv")
        logged = mlflow.MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs[0].dataset
    monkeypatch.undo()
    assert json.loads(logged.schema)["mlflow_colspec"] == _mlflow_schema(sample_events)
    assert logged.digest == dataset.digest and len(logged.digest) == 16
    assert json.loads(logged.profile)["num_rows"] == len(sample_events)
