"""`make demo`'s job (`python -m cxml.demo`) end to end in a scratch directory: trains, registers,
batch-scores and prints the headline table — with real MLflow, LightGBM and implicit."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from cxml import demo
from tests.conftest import REPO


def test_demo_trains_scores_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(REPO / "data" / "sample", tmp_path / "data" / "sample")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    assert demo.main() == 0
    out = capsys.readouterr().out

    # the headline table prints our metric beside each baseline, and every number is a real value
    table = out.split("== 2/3")[0]
    for what in ("recommender NDCG@10", "churn ROC-AUC", "CLTV Spearman", "CLTV normalized Gini"):
        line = next(row for row in table.splitlines() if row.strip().startswith(what))
        assert "nan" not in line, line
    scores = pd.read_parquet(tmp_path / "models" / "demo-scores")
    assert scores["customer_id"].is_unique and len(scores) == 2000
    assert scores["churn_probability"].between(0, 1).all()
    at_risk = int((scores["churn_probability"] >= 0.5).sum())
    assert f"{at_risk} of 2000 customers are more likely than not" in out
    assert (tmp_path / "models" / "latest" / "bundle.json").exists()
    # the run and the registered challenger live in the scratch directory's sqlite store
    client = mlflow.MlflowClient(tracking_uri="sqlite:///mlflow.db", registry_uri="sqlite:///mlflow.db")
    assert str(client.get_model_version_by_alias("cxml-demo", "challenger").version) == "1"
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out
    # "auto" says in its run what it picked, with the whole leaderboard
    rec_run = client.search_runs([client.get_experiment_by_name("cxml-demo").experiment_id],
                                 filter_string="attributes.run_name = 'recommender'")[0]
    assert rec_run.data.params["model.class"] == "AutoRecommender" and rec_run.data.params["selected.model"]
    board = {a.path for a in client.list_artifacts(rec_run.info.run_id)}
    assert "leaderboard.csv" in board
