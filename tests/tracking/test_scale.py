"""`cxml train` on a parquet dataset bigger than its memory budget (issue 15 §4), on small data.

A tiny ``memory_budget`` forces the streamed path on a hive-partitioned synthetic dataset: churn and
CLTV train on a hash sample of customers, BG/NBD and Gamma-Gamma see every customer through counted
summary rows, the recommender sees every purchase row. Real MLflow (a sqlite store in a temp dir),
real models, the bundle scored by `Scorer.score` (streamed) and through the logged pyfunc model.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

import cxml
from cxml import Scorer
from cxml._uri import tracking_uri_context
from cxml.churn import BGNBDModel, GammaGammaModel, rfm_summary
from cxml.cli import main
from cxml.data._scale import write_dataset
from cxml.tracking import load_config, train
from cxml.tracking._inputs import _streamed_config
from cxml.tracking._scale import (
    MIN_SAMPLE_CUSTOMERS,
    SAMPLE_BYTES_PER_EVENT,
    SAMPLE_MODULUS,
    in_sample,
    sample_fraction,
    streaming_budget,
)

AS_OF = "2024-12-01"
BUDGET = "16M"  # the smallest budget: far below what these 120k events need in memory
CONFIG = """
[events]
path = "{events}"
[train]
as_of = "{as_of}"
bundle_dir = "{bundle}"
experiment = "scale-test"
{extra}
[recommender]
model = "als"
k = 5
[recommender.params]
factors = 8
iterations = 3
n_jobs = 1
{models}
"""
VALUE_MODELS = """
[churn]
horizon = "90D"
[churn.params]
n_snapshots = 2
[cltv]
horizon = "90D"
[cltv.params]
n_snapshots = 2
"""


def _write_config(root: Path, name: str, events: Path, *, extra: str = "", models: str = VALUE_MODELS) -> Path:
    cfg = root / f"{name}.toml"
    cfg.write_text(CONFIG.format(events=events, as_of=AS_OF, bundle=root / f"bundle-{name}", extra=extra,
                                 models=models))
    return cfg


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 customers / 120k events in four part files, moved into hive folders ``region=a`` and ``region=b``."""
    root = tmp_path_factory.mktemp("scale-data")
    flat = write_dataset(root / "flat", n_customers=4_000, n_events=120_000, n_items=400, block_customers=1_000)
    hive = root / "hive"
    for i, part in enumerate(sorted(flat.glob("part-*.parquet"))):
        folder = hive / f"region={'ab'[i % 2]}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(str(part), folder / part.name)
    return hive


@pytest.fixture(scope="module")
def streamed(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("scale-train")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(_write_config(root, "streamed", dataset), tracking_uri=uri, memory_budget=BUDGET)
    return {"root": root, "uri": uri, "result": result, "warnings": [str(w.message) for w in caught]}


@pytest.fixture(scope="module")
def events(dataset: Path) -> pd.DataFrame:
    return cxml.load_events(dataset)


def _run_params(streamed: dict[str, Any]) -> dict[str, str]:
    client = mlflow.MlflowClient(tracking_uri=streamed["uri"])
    return client.get_run(streamed["result"].run_id).data.params


def test_a_tiny_budget_streams_and_logs_the_sample_fraction(streamed: dict[str, Any], events: pd.DataFrame) -> None:
    result = streamed["result"]
    params = _run_params(streamed)
    fraction = float(params["scale.sample_fraction"])
    assert params["scale.streamed"] == "True" and int(params["scale.buckets"]) > 1
    assert 0 < fraction < 1 and result.scale["scale.sample_fraction"] == pytest.approx(fraction)
    # the sample: the customers whose fixed-key hash falls in the first `fraction` of the hash range
    history = events.loc[events["timestamp"] < pd.Timestamp(AS_OF)]
    ids = pd.Series(history["customer_id"].unique())
    hashed = pd.util.hash_pandas_object(ids, index=False, categorize=True).to_numpy() % (1 << 20)
    chosen = set(ids[hashed < round(fraction * (1 << 20))])
    assert int(params["scale.sample_customers"]) == len(chosen) < len(ids) == int(params["scale.customers"])
    sample_rows = int(history["customer_id"].isin(chosen).sum())
    assert int(params["scale.sample_events"]) == sample_rows
    # the run's dataset input is the whole sample LightGBM trained on, not a head of it
    run = mlflow.MlflowClient(tracking_uri=streamed["uri"]).get_run(result.run_id)
    (logged,) = run.inputs.dataset_inputs
    assert logged.dataset.name == "events_sample"
    assert json.loads(logged.dataset.profile)["num_rows"] == sample_rows
    assert int(params["data.rows"]) == len(history) and int(params["data.customers"]) == len(ids)
    assert any("LightGBM trains on" in w for w in streamed["warnings"])  # 16M is below the sample floor
    assert set(result.seconds) >= {"read_and_summary", "btyd", "recommender", "churn", "cltv", "logging"}


def test_btyd_from_the_counted_summary_equals_a_pandas_fit_on_all_customers(
    streamed: dict[str, Any], events: pd.DataFrame
) -> None:
    summary = rfm_summary(events, AS_OF, time_unit="W")
    bg = BGNBDModel(time_unit="W").fit_summary(summary).params_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # one-time buyers are left out of Gamma-Gamma
        gg = GammaGammaModel(time_unit="W").fit_summary(summary).params_
    params = _run_params(streamed)
    assert int(params["btyd.customers"]) == len(summary)
    assert int(params["btyd.bgnbd.rows"]) < len(summary)  # distinct rows with counts, not one per customer
    bundle = Scorer.load(streamed["result"].bundle_dir).bundle
    for model in (bundle.churn, bundle.cltv):
        assert model.btyd_params_["bgnbd"] == pytest.approx(bg, rel=1e-6)
        assert model.btyd_params_["gamma_gamma"] == pytest.approx(gg, rel=1e-6)
    for key, value in bg.items():
        assert float(params[f"btyd.bgnbd.{key}"]) == pytest.approx(value, rel=1e-6)
    # the sample alone gives other parameters: the population fit is not the sample's
    sample_only = BGNBDModel(time_unit="W").fit_summary(summary.sample(frac=0.5, random_state=0)).params_
    assert sample_only != pytest.approx(bg, rel=1e-6)


def test_the_streamed_bundle_scores_streamed_and_through_mlflow(
    streamed: dict[str, Any], dataset: Path, events: pd.DataFrame, tmp_path: Path
) -> None:
    result = streamed["result"]
    scorer = Scorer.load(result.bundle_dir)
    summary = scorer.score(dataset, as_of=AS_OF, out=tmp_path / "scores", k=5, memory_budget=BUDGET,
                           progress=False)
    assert summary["buckets"] > 1
    scores = pd.read_parquet(tmp_path / "scores")
    existing = events.loc[(events["timestamp"] < pd.Timestamp(AS_OF)) & (events["event_type"] == "purchase"),
                          "customer_id"].unique()
    assert set(scores["customer_id"]) == set(existing)
    assert scores["churn_probability"].between(0, 1).all() and (scores["expected_value"] >= 0).all()
    with tracking_uri_context(streamed["uri"]):
        model = mlflow.pyfunc.load_model(result.model_uri)
    some = list(existing[:3])
    out = model.predict(pd.DataFrame({"customer_id": some}), params={"k": 3})
    assert out["customer_id"].tolist() == some and out["recommended_items"].map(len).tolist() == [3, 3, 3]
    theirs = events.loc[events["customer_id"].isin(some), list(cxml.Columns.EVENTS)]
    theirs = theirs.assign(timestamp=theirs["timestamp"].astype(str))  # the signature's text timestamps
    scored = model.predict(theirs, params={"k": 2, "as_of": AS_OF}).set_index("customer_id")
    expected = scores.set_index("customer_id").loc[some, "churn_probability"]
    np.testing.assert_allclose(scored.loc[some, "churn_probability"], expected, rtol=1e-9)


def test_the_streamed_recommender_equals_the_in_memory_one(streamed: dict[str, Any], dataset: Path) -> None:
    """Every purchase row reaches ALS on both paths: same ids, same factors, same metrics."""
    root = streamed["root"]
    cfg = _write_config(root, "in-memory", dataset, models="")
    in_memory = train(cfg, tracking_uri=streamed["uri"], memory_budget="8G")
    assert in_memory.scale == {} and "read" in in_memory.seconds
    ours = Scorer.load(streamed["result"].bundle_dir).bundle.recommender
    theirs = Scorer.load(in_memory.bundle_dir).bundle.recommender
    assert ours.user_map_ == theirs.user_map_ and ours.item_map_ == theirs.item_map_
    np.testing.assert_allclose(ours.item_factors_, theirs.item_factors_, rtol=1e-4, atol=1e-5)
    for key, value in in_memory.metrics.items():
        assert streamed["result"].metrics[key] == pytest.approx(value, rel=1e-6), key
    params = mlflow.MlflowClient(tracking_uri=streamed["uri"]).get_run(in_memory.run_id).data.params
    assert not any(k.startswith(("scale.", "btyd.")) for k in params)


def test_a_streamed_dataset_refuses_column_mappings_and_other_weights(dataset: Path, tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "mapped", dataset, models="")
    text = cfg.read_text().replace("[train]", '[events.columns]\ntimestamp = "timestamp"\n[train]')
    cfg.write_text(text)
    with pytest.raises(cxml.ConfigError, match="streamed parquet dataset is read with the canonical"):
        train(cfg, memory_budget=BUDGET, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = _write_config(tmp_path, "weight", dataset, models="")
    cfg.write_text(cfg.read_text().replace('k = 5', 'k = 5\nweight = "order_id"'))
    with pytest.raises(cxml.ConfigError, match="canonical columns only"):
        train(cfg, memory_budget=BUDGET, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()


def test_cli_train_memory_budget_streams(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write_config(tmp_path, "cli", dataset, models="")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["train", "--config", str(cfg), "--tracking-uri", uri, "--memory-budget", BUDGET]) == 0
    out = capsys.readouterr().out
    assert "streamed in" in out and "recommender on all of them" in out
    assert main(["train", "--config", str(cfg), "--tracking-uri", uri, "--memory-budget", "lots"]) != 0
    assert "'train.memory_budget' = 'lots'" in capsys.readouterr().err


def test_sample_fraction_fits_the_budget_with_a_floor_of_customers() -> None:
    budget = 64 * 2**20
    fraction = sample_fraction(10_000_000, 1_000_000, budget)
    fits = budget / (10_000_000 * SAMPLE_BYTES_PER_EVENT)
    assert fits <= fraction < fits + 1 / SAMPLE_MODULUS  # rounded up to a whole share of the hash range
    assert fraction * SAMPLE_MODULUS == int(fraction * SAMPLE_MODULUS)
    assert sample_fraction(1_000, 100, budget) == 1.0
    with pytest.warns(cxml.CxmlWarning, match="at least"):
        floor = sample_fraction(10**9, 1_000_000, budget)
    assert floor == pytest.approx(MIN_SAMPLE_CUSTOMERS / 1_000_000, rel=1e-3)


def test_in_sample_is_a_fixed_hash_rule_of_the_id() -> None:
    ids = pd.Series([f"C{i:06d}" for i in range(20_000)], dtype=cxml.schema.STRING_DTYPE)
    chosen = in_sample(ids, 0.25)
    assert 0.23 < chosen.mean() < 0.27
    reversed_ids = ids.iloc[::-1].reset_index(drop=True)
    assert (in_sample(reversed_ids, 0.25) == chosen[::-1]).all()  # per id, not per position
    assert (chosen <= in_sample(ids, 0.5)).all()  # a larger sample contains a smaller one
    assert in_sample(ids, 1.0).all()


def test_only_a_parquet_source_over_the_budget_streams(dataset: Path, tmp_path: Path) -> None:
    cfg = load_config({"events": {"path": str(dataset)}}, memory_budget=BUDGET)
    assert streaming_budget(cfg) == 16 * 2**20
    assert streaming_budget(dataclasses.replace(cfg, memory_budget="8G")) is None
    assert streaming_budget(dataclasses.replace(cfg, memory_budget=None)) is None  # fits in half the RAM
    csv = tmp_path / "events.csv"
    csv.write_text("customer_id,timestamp\na,2024-01-01\n")
    assert streaming_budget(dataclasses.replace(cfg, events_path=csv)) is None
    with pytest.raises(cxml.ConfigError, match="train.memory_budget"):
        load_config({"events": {"path": str(dataset)}, "train": {"memory_budget": "1K"}})


def test_a_streamed_run_trains_als_where_the_config_says_auto(dataset: Path) -> None:
    cfg = load_config({"events": {"path": str(dataset)}, "recommender": {"model": "auto", "k": 7,
                                                                         "weight": "quantity"}})
    with pytest.warns(cxml.CxmlWarning, match="'auto' searches several candidates"):
        streamed_cfg = _streamed_config(cfg)
    assert streamed_cfg.recommender is not None
    assert (streamed_cfg.recommender.model, streamed_cfg.recommender.k, streamed_cfg.recommender.weight) == (
        "als", 7, "quantity")
    named = load_config({"events": {"path": str(dataset)}, "recommender": {"model": "popularity"}})
    assert _streamed_config(named) is named
