from __future__ import annotations

from pathlib import Path

import pytest

import cxml
from cxml.tracking import load_config

TOML = """
[events]
path = "events.csv"
[events.columns]
timestamp = "date"

[train]
as_of = 2024-10-01
experiment = "exp"

[recommender]
model = "als"
k = 5
[recommender.params]
factors = 16

[churn]
horizon = "60D"
"""


def test_toml_file_is_read_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "cxml.toml").write_text(TOML)
    cfg = load_config(tmp_path / "cxml.toml")
    assert cfg.events_path == tmp_path / "events.csv"
    assert cfg.columns == {"timestamp": "date"}
    assert cfg.as_of == "2024-10-01"  # a TOML date is accepted and kept as ISO text
    assert cfg.recommender is not None and cfg.recommender.params == {"factors": 16}
    assert cfg.churn is not None and cfg.churn.horizon == "60D"
    assert cfg.cltv is None
    params = cfg.to_params()
    assert params["recommender.params.factors"] == 16 and params["churn.horizon"] == "60D"


def test_overrides_replace_file_values(tmp_path: Path) -> None:
    (tmp_path / "cxml.toml").write_text(TOML)
    cfg = load_config(tmp_path / "cxml.toml", as_of="2025-01-01", events_path="/data/x.parquet",
                      bundle_dir="out/b", register=None)
    assert cfg.as_of == "2025-01-01" and cfg.events_path == Path("/data/x.parquet")
    assert cfg.bundle_dir == Path("out/b") and cfg.register is None


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"events": {"path": "e.csv"}, "trian": {}}, r"unknown section 'trian'"),
        ({"events": {"path": "e.csv"}, "train": {"as_off": "x"}}, r"unknown key 'train.as_off'"),
        ({"events": {"path": "e.csv"}, "recommender": {"k": "10"}}, r"'recommender.k' must be int, got '10'"),
        ({"events": {"path": "e.csv"}, "train": {"random_state": True}}, r"'train.random_state' must be int"),
        ({"train": {}}, r"missing key 'events.path'"),
        ({"events": {"path": "e.csv", "columns": {"ts": "date"}}}, r"unknown key 'events.columns.ts'"),
        ({"events": {"path": "e.csv"}, "recommender": {"model": "svd"}}, r"'recommender.model' = 'svd'"),
        ({"events": {"path": "e.csv"}, "churn": "90D"}, r"section 'churn' must be a table"),
    ],
)
def test_invalid_configs_name_the_key(raw: dict, match: str) -> None:
    with pytest.raises(cxml.ConfigError, match=match):
        load_config(raw)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(cxml.ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("[events\npath=")
    with pytest.raises(cxml.ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_override_events_path_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "cxml.toml").write_text(TOML)
    cfg = load_config(tmp_path / "cxml.toml", events_path="mine.csv")
    assert cfg.events_path == Path("mine.csv")  # a CLI flag means "from here", not "next to the config"


def test_overrides_are_type_checked_and_apply_to_a_train_config(tmp_path: Path) -> None:
    from cxml.tracking import apply_overrides

    (tmp_path / "cxml.toml").write_text(TOML)
    with pytest.raises(cxml.ConfigError, match=r"override random_state='3' must be int"):
        load_config(tmp_path / "cxml.toml", random_state="3")
    with pytest.raises(cxml.ConfigError, match=r"unknown override\(s\) \['horizon'\]"):
        load_config(tmp_path / "cxml.toml", horizon="30D")
    cfg = load_config(tmp_path / "cxml.toml")
    new = apply_overrides(cfg, as_of="2025-02-01", bundle_dir=tmp_path / "b", events_path="e2.csv", register=None)
    assert new.as_of == "2025-02-01" and new.bundle_dir == tmp_path / "b" and new.events_path == Path("e2.csv")
    assert cfg.as_of == "2024-10-01"  # the original is not modified
    with pytest.raises(cxml.ConfigError, match="must be str"):
        apply_overrides(cfg, experiment=5)


# --- the whole config is checked before any data is read or any MLflow run is started ---

BAD_CONFIGS = [
    ({"trian": {}}, r"unknown section 'trian'"),
    ({"train": {"bundle_dri": "x"}}, r"unknown key 'train.bundle_dri'"),
    ({"recommender": {"k": "10"}}, r"'recommender.k' must be int, got '10'"),
    ({"recommender": {"k": 0}}, r"'recommender.k' = 0 is not valid"),
    ({"churn": {"horizon": "90"}}, r"'churn.horizon' = '90' is not valid"),
    ({"recommender": {"model": "svd"}}, r"'recommender.model' = 'svd'; expected one of: als, auto, .*popularity"),
    ({"recommender": {"model": "als", "params": {"factor": 64}}},
     r"unknown key 'recommender.params.factor' \(= 64\) for ALSRecommender; expected one of: .*factors"),
    ({"recommender": {"model": "als", "params": {"factors": "64"}}},
     r"'recommender.params.factors' = '64' has the wrong type for ALSRecommender; expected int"),
    ({"recommender": {"model": "als", "params": {"use_cg": 1}}}, r"'recommender.params.use_cg' = 1 .*expected bool"),
    ({"recommender": {"model": "auto", "params": {"candidates": [1, 2]}}}, r"'recommender.params.candidates'"),
    ({"recommender": {"model": "blend"}}, r"'recommender.params.model' = None: 'blend' needs the name"),
    ({"recommender": {"model": "blend", "params": {"model": "blend"}}}, r"'recommender.params.model' = 'blend'"),
    ({"churn": {"params": {"n_snapshot": 2}}}, r"unknown key 'churn.params.n_snapshot' .*ChurnModel.*n_snapshots"),
    ({"churn": {"params": {"horizon": "30D"}}}, r"'churn.params.horizon' = '30D': set 'horizon' in the section"),
    ({"churn": {"horizon": "ninety days"}}, r"'churn.horizon' = 'ninety days' is not valid"),
    ({"cltv": {"params": {"objective": 3}}}, r"'cltv.params.objective' = 3 has the wrong type for CLTVModel"),
    ({"cltv": {"params": {"held_out_fraction": "0.3"}}}, r"'cltv.params.held_out_fraction' = '0.3'.*float"),
    ({"train": {"as_of": "yesterday"}}, r"'train.as_of' = 'yesterday' is not valid"),
    ({"train": {"random_state": -1}}, r"'train.random_state' = -1 is not valid"),
]


@pytest.mark.parametrize(("raw", "match"), BAD_CONFIGS)
def test_train_refuses_a_bad_config_before_reading_data_or_starting_a_run(raw: dict, match: str,
                                                                          tmp_path: Path) -> None:
    from cxml.tracking import train

    db = tmp_path / "mlflow.db"
    # the events file does not exist: reading it first would raise SourceError, not ConfigError
    config = {"events": {"path": str(tmp_path / "missing.csv")}, **raw}
    with pytest.raises(cxml.ConfigError, match=match):
        train(config, tracking_uri=f"sqlite:///{db}", bundle_dir=str(tmp_path / "bundle"))
    assert not db.exists(), "an MLflow store was created for a config that was never valid"
    assert not (tmp_path / "bundle").exists()


def test_train_checks_a_hand_built_config_and_cli_overrides(tmp_path: Path) -> None:
    from cxml.tracking import TrainConfig, train
    from cxml.tracking.config import RecommenderSection

    db = tmp_path / "mlflow.db"
    cfg = TrainConfig(events_path=tmp_path / "missing.csv",
                      recommender=RecommenderSection(model="ease", params={"lambda": 10.0}))
    with pytest.raises(cxml.ConfigError, match=r"unknown key 'recommender.params.lambda'"):
        train(cfg, tracking_uri=f"sqlite:///{db}")
    with pytest.raises(cxml.ConfigError, match=r"'train.as_of' = 'soon' is not valid"):
        train({"events": {"path": "x.csv"}}, as_of="soon", tracking_uri=f"sqlite:///{db}")
    assert not db.exists()


def test_every_exported_recommender_can_be_configured() -> None:
    from cxml.recommend import BlendRecommender
    from cxml.tracking._catalog import recommender_classes
    from cxml.tracking._models import make_recommender

    classes = recommender_classes()
    assert set(classes) == {"auto", "als", "blend", "ease", "itemknn", "popularity"}
    for name, cls in classes.items():
        params = {"model": "als", "weight": 0.3} if name == "blend" else {}
        cfg = load_config({"events": {"path": "e.csv"}, "recommender": {"model": name, "k": 7, "params": params}},
                          random_state=3)
        assert cfg.recommender is not None
        model = make_recommender(cfg.recommender, cfg.random_state)
        assert type(model) is cls
        if "random_state" in model.get_params(deep=False):
            assert model.get_params(deep=False)["random_state"] == 3
    blend = make_recommender(load_config({"events": {"path": "e.csv"}, "recommender": {
        "model": "blend", "params": {"model": "ease"}}}).recommender, 0)
    assert isinstance(blend, BlendRecommender) and type(blend.model).__name__ == "EASERecommender"


def test_params_types_follow_the_model_signature() -> None:
    cfg = load_config({"events": {"path": "e.csv"},
                       "recommender": {"model": "auto", "params": {"candidates": ["als", "ease"], "blend": False}},
                       "cltv": {"params": {"held_out_fraction": 0, "windows": [30, 90],
                                           "lgbm_params": {"num_leaves": 8}}}})
    assert cfg.recommender is not None and cfg.recommender.params["candidates"] == ["als", "ease"]
    assert cfg.cltv is not None and cfg.cltv.params["held_out_fraction"] == 0  # an int where a float goes


def test_thread_count_is_accepted_under_either_name() -> None:
    from cxml.tracking._models import make_recommender

    for key in ("num_threads", "n_jobs"):
        cfg = load_config({"events": {"path": "e.csv"}, "recommender": {"model": "als", "params": {key: 2}}})
        assert cfg.recommender is not None
        params = make_recommender(cfg.recommender, 0).get_params()
        assert 2 in {params.get("num_threads"), params.get("n_jobs")}


def test_churn_and_cltv_have_their_own_sections() -> None:
    from cxml.tracking.config import ChurnSection, CLTVSection

    cfg = load_config({"events": {"path": "e.csv"}, "churn": {}, "cltv": {}})
    assert type(cfg.churn) is ChurnSection and cfg.churn.horizon == "90D"
    assert type(cfg.cltv) is CLTVSection and cfg.cltv.horizon == "180D"
    assert load_config({"events": {"path": "e.csv"}, "cltv": {}}).churn is None


def test_what_the_config_asks_of_the_events_is_checked_before_a_run(tmp_path: Path) -> None:
    from cxml.tracking import train

    events = tmp_path / "events.csv"
    events.write_text("customer_id,timestamp,amount\nc1,2024-01-02,5.0\nc2,2024-01-03,7.0\n")
    db = tmp_path / "mlflow.db"
    with pytest.raises(cxml.SchemaError, match=r"\[recommender\] section needs item ids"):
        train({"events": {"path": str(events)}, "recommender": {"model": "popularity"}},
              tracking_uri=f"sqlite:///{db}", bundle_dir=str(tmp_path / "b"))
    events.write_text("customer_id,timestamp,item_id\nc1,2024-01-02,i1\nc2,2024-01-03,i2\n")
    with pytest.raises(cxml.ConfigError, match=r"'recommender.weight' = 'margin' is not a column"):
        train({"events": {"path": str(events)}, "recommender": {"model": "popularity", "weight": "margin"}},
              tracking_uri=f"sqlite:///{db}", bundle_dir=str(tmp_path / "b"))
    assert not db.exists()


def test_events_reading_options_are_checked_against_load_events() -> None:
    from cxml.tracking._catalog import read_option_names

    assert "timestamp_unit" in read_option_names()
    cfg = load_config({"events": {"path": "e.csv", "timestamp_unit": "ms"}})
    assert cfg.read_options == {"timestamp_unit": "ms"} and cfg.to_params()["events.timestamp_unit"] == "ms"
    with pytest.raises(cxml.ConfigError, match=r"unknown key 'events.encoding' \(= 'latin1'\); expected one of: "
                                               r"path, columns, .*timestamp_unit"):
        load_config({"events": {"path": "e.csv", "encoding": "latin1"}})
    with pytest.raises(cxml.ConfigError, match=r"'events.timestamp_unit' = 5 has the wrong type for load_events"):
        load_config({"events": {"path": "e.csv", "timestamp_unit": 5}})


def test_ambiguous_dates_are_settled_from_the_config(tmp_path: Path) -> None:
    from cxml.tracking._catalog import read_option_names

    if "dayfirst" not in read_option_names():
        pytest.skip("this load_events has no dayfirst= (it arrives with the input round)")
    cfg = load_config({"events": {"path": "e.csv", "dayfirst": True}})
    assert cfg.read_options == {"dayfirst": True}
    with pytest.raises(cxml.ConfigError, match=r"'events.dayfirst' = 'yes' has the wrong type"):
        load_config({"events": {"path": "e.csv", "dayfirst": "yes"}})
