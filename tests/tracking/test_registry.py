"""Registry helpers against a real MLflow sqlite store in a temp dir: register, compare_aliases, promote.

The registered models are tiny pyfunc models logged from code (the full cxml model is covered by
test_harness.py); what is tested here is the alias bookkeeping and the comparison table."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

import cxml
from cxml._uri import tracking_uri_context
from cxml.tracking import compare_aliases, promote, register

MODEL_CODE = """
import mlflow.models
from mlflow.pyfunc import PythonModel


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


mlflow.models.set_model(Echo())
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A sqlite store with two logged runs (metrics differ) and nothing registered yet."""
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    code = root / "echo_model.py"
    code.write_text(MODEL_CODE)
    runs = []
    with tracking_uri_context(uri):
        mlflow.set_experiment("registry-test")
        for auc, ndcg in ((0.70, 0.10), (0.75, 0.12)):
            with mlflow.start_run() as run:
                mlflow.log_metrics({"churn.roc_auc": auc, "recommender.ndcg": ndcg})
                info = mlflow.pyfunc.log_model(name="model", python_model=str(code), pip_requirements=[])
            runs.append({"run_id": run.info.run_id, "model_uri": info.model_uri, "auc": auc})
    return {"uri": uri, "runs": runs}


def _alias_version(uri: str, name: str, alias: str) -> str:
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    return str(client.get_model_version_by_alias(name, alias).version)


def test_register_promote_and_compare(store: dict) -> None:
    uri, (first, second) = store["uri"], store["runs"]
    name = "cxml-registry-flow"
    assert compare_aliases(name, tracking_uri=uri).empty  # nothing registered: an empty table, no error

    assert register(first["model_uri"], name, tracking_uri=uri) == "1"
    assert _alias_version(uri, name, "challenger") == "1"
    only = compare_aliases(name, tracking_uri=uri)
    assert list(only.columns) == ["challenger (v1)"]  # no champion yet: that alias is skipped
    assert only.loc["churn.roc_auc", "challenger (v1)"] == pytest.approx(first["auc"])

    version, table = promote(name, tracking_uri=uri)
    assert version == "1" and _alias_version(uri, name, "champion") == "1"
    assert list(table.columns) == ["challenger (v1)"]  # the table is taken before the move

    assert register(second["model_uri"], name, tracking_uri=uri) == "2"
    assert _alias_version(uri, name, "challenger") == "2"  # the alias moved to the new version
    assert _alias_version(uri, name, "champion") == "1"
    both = compare_aliases(name, tracking_uri=uri)
    assert list(both.columns) == ["champion (v1)", "challenger (v2)"]
    assert list(both.index) == sorted(both.index) == ["churn.roc_auc", "recommender.ndcg"]
    assert both.dtypes.eq("float64").all()
    assert both.loc["churn.roc_auc"].tolist() == pytest.approx([first["auc"], second["auc"]])

    version, table = promote(name, tracking_uri=uri)
    assert version == "2" and _alias_version(uri, name, "champion") == "2"
    pd.testing.assert_frame_equal(table, both)  # champion v1 beside challenger v2, as before the move


def test_register_with_another_alias_and_compare_chosen_aliases(store: dict) -> None:
    uri, (first, _) = store["uri"], store["runs"]
    name = "cxml-registry-alias"
    assert register(first["model_uri"], name, alias="shadow", tracking_uri=uri) == "1"
    assert _alias_version(uri, name, "shadow") == "1"
    table = compare_aliases(name, tracking_uri=uri, aliases=("shadow", "champion"))
    assert list(table.columns) == ["shadow (v1)"]
    with pytest.raises(cxml.ConfigError, match=r"'cxml-registry-alias' has no 'challenger' alias"):
        promote(name, tracking_uri=uri)


def test_promote_unknown_model_and_register_a_missing_model_are_cxml_errors(store: dict, tmp_path: Path) -> None:
    uri = store["uri"]
    with pytest.raises(cxml.ConfigError, match=r"'no-such-model' has no 'challenger' alias"):
        promote("no-such-model", tracking_uri=uri)
    with pytest.raises(cxml.ParameterError, match=r"cannot register model_uri='runs:/0123456789abcdef/model'"):
        register("runs:/0123456789abcdef/model", "cxml-registry-missing", tracking_uri=uri)
