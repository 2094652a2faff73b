"""``cxml evaluate --backtest``: refits per cutoff, logs to MLflow, writes the table, says what crosses zero."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from cxml.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "events.csv"


def test_cli_backtest_logs_and_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "backtest.csv"
    code = main(["evaluate", "--backtest", "--events", str(SAMPLE), "--cutoffs", "2024-06-01,2024-09-01",
                 "--horizon", "90D", "--tasks", "churn", "--n-boot", "50", "--tracking-uri", uri,
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "intervals cross zero" in printed and "logged run" in printed
    table = pd.read_csv(out)
    assert set(table["cutoff"]) == {"2024-06-01", "2024-09-01", "pooled"}
    assert set(table["task"]) == {"churn"}
    assert {"difference", "ci_low", "ci_high", "crosses_zero"} <= set(table.columns)
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("cxml-backtest")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3  # the parent and one nested run per cutoff


def test_cli_backtest_needs_cutoffs_and_evaluate_needs_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--backtest", "--events", str(SAMPLE)]) == 2
    assert "--cutoffs" in capsys.readouterr().err
    assert main(["evaluate", "--events", str(SAMPLE)]) == 2
    assert "--model and --as-of" in capsys.readouterr().err
