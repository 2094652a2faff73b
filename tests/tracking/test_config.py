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
