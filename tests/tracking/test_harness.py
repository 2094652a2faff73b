"""The MLflow harness end to end: a real sqlite tracking store in a temp dir, real models, the
registry, the pyfunc model and `mlflow models serve` answering on 127.0.0.1."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import cxml
from cxml import Scorer
from cxml.cli import main
from cxml.tracking import promote, train
from tests.conftest import SAMPLE_EVENTS

CONFIG = """
[events]
path = "{events}"
[train]
as_of = "2024-10-01"
bundle_dir = "{bundle}"
experiment = "cxml-test"
register = "cxml-test-model"
[recommender]
model = "als"
k = 5
[recommender.params]
factors = 16
iterations = 4
[churn]
horizon = "90D"
[churn.params]
n_snapshots = 2
[cltv]
horizon = "90D"
[cltv.params]
n_snapshots = 2
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not SAMPLE_EVENTS.exists():
        pytest.skip("data/sample/events.csv is absent")
    root = tmp_path_factory.mktemp("harness")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cfg = root / "cxml.toml"
    cfg.write_text(CONFIG.format(events=SAMPLE_EVENTS, bundle=root / "bundle"))
    result = train(cfg, tracking_uri=uri)
    return {"root": root, "uri": uri, "cfg": cfg, "result": result}


def test_run_logs_params_metrics_nested_runs_and_artifacts(trained: dict) -> None:
    result, uri = trained["result"], trained["uri"]
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(result.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["churn.horizon"] == "90D" and params["recommender.params.factors"] == "16"
    assert int(params["data.rows"]) > 0 and len(params["data.sha256"]) == 64
    assert params["data.last_event"] < "2024-10-01"  # only history before as_of is used
    for key in ("recommender.ndcg", "recommender.popularity_ndcg", "churn.roc_auc",
                "churn.recency.roc_auc", "churn.bgnbd_neg_expected_purchases.roc_auc",
                "cltv.spearman", "cltv.bgnbd_gamma_gamma.spearman"):
        assert key in metrics, key
        assert metrics[key] == pytest.approx(result.metrics[key])
    assert 0.5 < metrics["churn.roc_auc"] <= 1.0
    children = client.search_runs([run.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert sorted(r.info.run_name for r in children) == ["churn", "cltv", "recommender"]
    assert {"bundle", "report"} <= {a.path for a in client.list_artifacts(result.run_id)}
    page = Path(client.download_artifacts(result.run_id, "report/report.html", str(trained["root"])))
    assert "Customers worth saving" in page.read_text(encoding="utf-8")  # the shop owner's report of this run
    churn_run = next(r for r in children if r.info.run_name == "churn")
    plots = {a.path for a in client.list_artifacts(churn_run.info.run_id, "plots")}
    assert {"plots/churn_lift.png", "plots/churn_calibration.png"} <= plots
    # each nested run shows the fitted model's hyper-parameters
    rec_params = next(r for r in children if r.info.run_name == "recommender").data.params
    assert rec_params["model.class"] == "ALSRecommender" and rec_params["model.factors"] == "16"
    assert churn_run.data.params["model.class"] == "ChurnModel" and churn_run.data.params["model.horizon"] == "90D"
    assert (result.bundle_dir / "MANIFEST.sha256").exists()
    assert cxml.bundle.read_metadata(result.bundle_dir)["metadata"]["run_id"] == result.run_id


def test_pyfunc_model_predicts_from_customer_ids_and_from_events(trained: dict) -> None:
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model(trained["result"].model_uri)
    out = model.predict(pd.DataFrame({"customer_id": ["C0001", "nobody"]}), params={"k": 3})
    assert out["customer_id"].tolist() == ["C0001", "nobody"]
    assert out["recommended_items"].map(len).tolist() == [3, 3]  # the unknown one gets popularity
    events = pd.read_csv(SAMPLE_EVENTS, nrows=4000)
    scored = model.predict(events, params={"k": 2, "as_of": "2023-06-01"})
    assert {"churn_probability", "expected_value", "recommended_items"} <= set(scored.columns)
    assert scored["churn_probability"].between(0, 1).all()


def test_pyfunc_model_refuses_bad_input_with_cxml_errors(trained: dict) -> None:
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model(trained["result"].model_uri).unwrap_python_model()
    customers = pd.DataFrame({"customer_id": ["C0001"]})
    with pytest.raises(cxml.ParameterError, match="k=0"):
        model.predict(None, customers, params={"k": 0})
    with pytest.raises(cxml.SchemaError, match="'customer_id' is missing"):
        model.predict(None, pd.DataFrame({"user": ["C0001"]}))
    events = pd.read_csv(SAMPLE_EVENTS, nrows=500)
    with pytest.raises(cxml.CxmlError, match="as_of"):
        model.predict(None, events, params={"as_of": "soon"})


def test_registry_alias_promote_and_scorer_from_models_uri(trained: dict) -> None:
    uri, result = trained["uri"], trained["result"]
    assert result.registered_name == "cxml-test-model" and result.registered_version == "1"
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert str(client.get_model_version_by_alias("cxml-test-model", "challenger").version) == "1"
    version, table = promote("cxml-test-model", tracking_uri=uri)
    assert version == "1" and "churn.roc_auc" in table.index
    scorer = Scorer.load("models:/cxml-test-model@champion", tracking_uri=uri)
    assert set(scorer.models) == {"recommender", "churn", "cltv"}
    assert len(scorer.recommend("C0001", k=4)) == 4
    downloaded = scorer.bundle.path
    assert downloaded.exists()
    del scorer
    gc.collect()
    assert not downloaded.exists()  # the temporary download goes with its Scorer


def test_cli_train_info_promote_and_errors(trained: dict, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    uri = trained["uri"]
    cfg = tmp_path / "pop.toml"
    cfg.write_text(f'[events]\npath = "{SAMPLE_EVENTS}"\n[train]\nas_of = "2024-10-01"\n'
                   f'bundle_dir = "{tmp_path / "b"}"\n[recommender]\nmodel = "popularity"\n')
    assert main(["train", "--config", str(cfg), "--tracking-uri", uri, "--register", "cxml-test-model"]) == 0
    printed = capsys.readouterr().out
    assert "registered cxml-test-model version 2 as 'challenger'" in printed
    assert f"mlflow ui --backend-store-uri {uri}" in printed
    assert main(["promote", "cxml-test-model", "--tracking-uri", uri]) == 0
    assert "'champion' now points at version 2" in capsys.readouterr().out
    assert main(["info", str(tmp_path / "b")]) == 0
    assert json.loads(capsys.readouterr().out)["format_version"] == 1
    cfg.write_text('[events]\npath = "x.csv"\n[train]\nas_off = "2024"\n')
    assert main(["train", "--config", str(cfg), "--tracking-uri", uri]) == 2  # a CxmlError is bad input: exit 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ConfigError: unknown key 'train.as_off'" in err
    with pytest.raises(SystemExit) as usage:
        main(["train"])
    assert usage.value.code == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mlflow_models_serve_answers_invocations(trained: dict, tmp_path: Path) -> None:
    uri = trained["uri"]
    version = trained["result"].registered_version
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = (tmp_path / "serve.log").open("wb")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [str(mlflow_bin), "models", "serve", "-m", f"models:/cxml-test-model/{version}",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
        # mlflow starts uvicorn through PATH, as in an activated virtualenv
        env={**os.environ, "MLFLOW_TRACKING_URI": uri,
             "PATH": f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "server did not start within 90 s"
            time.sleep(0.5)
        body = json.dumps({"dataframe_split": {"columns": ["customer_id"], "data": [["C0001"], ["C0002"]]},
                           "params": {"k": 2}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        rows = answer["predictions"]
        assert [row["customer_id"] for row in rows] == ["C0001", "C0002"]
        assert all(len(row["recommended_items"]) == 2 for row in rows)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_tracking_uri_context_restores_unset_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxml._uri import tracking_uri_context

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    outer = f"sqlite:///{tmp_path / 'outer.db'}"
    mlflow.set_tracking_uri(outer)
    try:
        inner = f"sqlite:///{tmp_path / 'inner.db'}"
        with tracking_uri_context(inner):
            assert mlflow.get_tracking_uri() == inner and mlflow.get_registry_uri() == inner
        assert mlflow.get_tracking_uri() == outer
        # the registry was never set explicitly, so it follows the tracking URI again (not pinned to inner)
        assert mlflow.get_registry_uri() == outer
        assert "MLFLOW_REGISTRY_URI" not in os.environ
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
