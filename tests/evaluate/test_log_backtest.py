"""``cxml.tracking._backtest.log_backtest`` against a real MLflow sqlite store in a temporary directory."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import cxml
from cxml.data.sample import generate_sample
from cxml.evaluate import backtest
from cxml.exceptions import ParameterError
from cxml.tracking._backtest import log_backtest


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return backtest(ev, ["2024-06-01", "2024-09-01"], models={"churn": {"n_snapshots": 1}}, n_boot=100)


def test_parent_run_with_a_nested_run_per_cutoff(result: pd.DataFrame, tmp_path: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_backtest(result, tracking_uri=uri, experiment="bt", tags={"dataset": "sample"})
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(run_id)
    assert parent.data.tags["dataset"] == "sample"
    assert parent.data.params["backtest.horizon"] == str(pd.Timedelta("90D"))
    pooled = result.loc[(result["cutoff"] == "pooled") & (result["metric"] == "roc_auc")].iloc[0]
    assert parent.data.metrics["churn.roc_auc.difference"] == pytest.approx(pooled["difference"])
    assert parent.data.metrics["churn.roc_auc.ci_low"] == pytest.approx(pooled["ci_low"])
    artifacts = {f.path for f in client.list_artifacts(run_id, "backtest")}
    assert artifacts == {"backtest/backtest.csv", "backtest/backtest_intervals.png"}
    csv = Path(client.download_artifacts(run_id, "backtest/backtest.csv", str(tmp_path)))
    assert len(pd.read_csv(csv)) == len(result)
    png = Path(client.download_artifacts(run_id, "backtest/backtest_intervals.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
    assert sorted(r.data.tags["cxml.cutoff"] for r in children) == ["2024-06-01", "2024-09-01"]
    child = next(r for r in children if r.data.tags["cxml.cutoff"] == "2024-09-01")
    row = result.loc[(result["cutoff"] == "2024-09-01") & (result["metric"] == "roc_auc")].iloc[0]
    assert child.data.metrics["churn.roc_auc.model"] == pytest.approx(row["model"])
    assert child.data.params["churn.roc_auc.baseline_name"] == row["baseline_name"]
    assert "churn.recency.roc_auc" in child.data.metrics  # every scorer's point estimate
    assert mlflow.active_run() is None


@pytest.mark.parametrize("bad", [pd.DataFrame(), pd.DataFrame({"a": [1]}), "result.csv"])
def test_not_a_backtest_frame_is_refused(bad: object, tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        log_backtest(bad, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")  # type: ignore[arg-type]


def test_models_for_tasks() -> None:
    from cxml.tracking._backtest import models_for_tasks

    assert models_for_tasks(None) is None and models_for_tasks(" ") is None
    assert models_for_tasks("churn, recommend") == {"churn": {}, "recommend": "auto"}
    with pytest.raises(ParameterError, match="uplift"):
        models_for_tasks("churn,uplift")
