"""write_dataset: a partitioned parquet events dataset, deterministic, block-size independent, atomic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import cxml
from cxml.data._scale import MANIFEST, SEED_BLOCK
from cxml.data.sample import generate_sample, main, write_dataset
from cxml.exceptions import OutputExistsError, ParameterError
from cxml.schema import Columns, EventTypes, validate_events

SMALL: dict[str, Any] = {"n_customers": 2_500, "n_events": 75_000, "n_items": 400, "random_state": 3}


def _by_customer(ev: pd.DataFrame) -> pd.DataFrame:
    """Rows in an order that does not depend on how customers were cut into files."""
    return ev.sort_values([Columns.CUSTOMER, Columns.TIMESTAMP], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("ds") / "events", block_customers=1_000, **SMALL)


def test_layout_parts_and_manifest(dataset: Path) -> None:
    names = sorted(p.name for p in dataset.iterdir())
    assert names == [MANIFEST, "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    manifest = json.loads((dataset / MANIFEST).read_text())
    assert manifest["parameters"]["n_customers"] == 2_500 and manifest["parameters"]["random_state"] == 3
    rows = [pq.ParquetFile(dataset / p["file"]).metadata.num_rows for p in manifest["parts"]]
    assert rows == [p["rows"] for p in manifest["parts"]]
    assert manifest["counts"]["rows"] == sum(rows)
    assert [p["customers"] for p in manifest["parts"]] == [1_000, 1_000, 500]
    # every customer lives in exactly one part, the one the manifest names
    for part in manifest["parts"]:
        ids = pq.read_table(dataset / part["file"], columns=[Columns.CUSTOMER]).column(0).unique()
        numbers = sorted(int(c[1:]) for c in ids.to_pylist())
        assert numbers == list(range(part["first_customer"], part["first_customer"] + part["customers"]))
    # no temporary directory left next to it
    assert [p.name for p in dataset.parent.iterdir()] == ["events"]


def test_loads_as_canonical_events_within_the_row_target(dataset: Path) -> None:
    ev = cxml.load_events(dataset)
    assert list(ev.columns) == [*Columns.EVENTS, Columns.ORDER]
    assert validate_events(ev, require=[Columns.ITEM, Columns.ORDER]) is ev
    # the same dtypes as the in-memory generator
    assert ev.dtypes.equals(generate_sample(n_customers=20, n_items=10).dtypes)
    assert ev[Columns.TIMESTAMP].is_monotonic_increasing
    assert ev[Columns.CUSTOMER].nunique() == SMALL["n_customers"]
    assert abs(len(ev) / SMALL["n_events"] - 1) < 0.10, len(ev)
    assert set(ev[Columns.EVENT_TYPE].unique()) == {"purchase", "view", "login", "support", "nps", "csat"}
    assert ev[Columns.TIMESTAMP].min() >= pd.Timestamp("2023-01-01")
    assert ev[Columns.TIMESTAMP].max() < pd.Timestamp("2025-01-01")
    assert pd.read_parquet(dataset).shape == ev.shape


def test_orders_belong_to_one_customer_and_returns_follow_their_line(dataset: Path) -> None:
    ev = cxml.load_events(dataset)
    buys = ev.loc[ev[Columns.EVENT_TYPE].eq(EventTypes.PURCHASE).to_numpy()]
    assert buys[Columns.ORDER].notna().all()
    assert (buys.groupby(Columns.ORDER)[Columns.CUSTOMER].nunique() == 1).all()
    lines, returns = buys[buys[Columns.QUANTITY] > 0], buys[buys[Columns.QUANTITY] < 0]
    key = [Columns.CUSTOMER, Columns.ITEM, Columns.ORDER]
    matched = returns.merge(lines, on=key, how="left", suffixes=("", "_bought"), validate="one_to_one")
    assert len(returns) > 0 and (matched["timestamp_bought"] < matched[Columns.TIMESTAMP]).all()


def test_same_seed_same_rows_whatever_the_block_size(dataset: Path, tmp_path: Path) -> None:
    one_block = write_dataset(tmp_path / "one", block_customers=3_000, **SMALL)
    by_budget = write_dataset(tmp_path / "budget", memory_budget=16 * 2**20, **SMALL)
    assert len(list(one_block.glob("part-*.parquet"))) == 1
    expected = _by_customer(cxml.load_events(dataset))
    pd.testing.assert_frame_equal(_by_customer(cxml.load_events(one_block)), expected)
    pd.testing.assert_frame_equal(_by_customer(cxml.load_events(by_budget)), expected)
    other = write_dataset(tmp_path / "other", **{**SMALL, "random_state": 4})
    assert not _by_customer(cxml.load_events(other)).equals(expected)


def test_more_customers_keep_the_first_units(tmp_path: Path) -> None:
    # a unit's stream depends only on its index: without a row target the first 1,000 customers
    # of a 1,500-customer dataset are those of a 1,000-customer one
    small = cxml.load_events(write_dataset(tmp_path / "a", n_customers=SEED_BLOCK, n_items=100))
    big = cxml.load_events(write_dataset(tmp_path / "b", n_customers=SEED_BLOCK + 500, n_items=100))
    head = big[big[Columns.CUSTOMER].str[1:].astype(int) < SEED_BLOCK]
    # customer ids are padded to the widest id, so compare their numbers
    for frame in (small, head):
        frame[Columns.CUSTOMER] = frame[Columns.CUSTOMER].str[1:].astype(int)
    cols = [c for c in small.columns if c != Columns.ORDER]
    pd.testing.assert_frame_equal(_by_customer(head[cols]), _by_customer(small[cols]))


def test_refuses_a_non_empty_output_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "events"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    kw: dict[str, Any] = {"n_customers": 300, "n_items": 50}
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        write_dataset(out, **kw)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    write_dataset(out, overwrite=True, **kw)
    assert (out / MANIFEST).exists() and not (out / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (write_dataset(empty, **kw) / MANIFEST).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, "n_customers=0"),
        ({"n_events": 10}, "n_events=10 for n_customers=100"),
        ({"zipf_exponent": -0.5}, "zipf_exponent=-0.5"),
        ({"basket_size": 0}, "basket_size=0"),
        ({"memory_budget": 1024}, "memory_budget=1024"),
        ({"block_customers": 0}, "block_customers=0"),
        ({"random_state": -1}, "random_state=-1"),
        ({"overwrite": "yes"}, "overwrite='yes'"),
        ({"end": "2022-01-01"}, "before start"),
    ],
)
def test_bad_arguments_raise_parameter_error(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    args = {"n_customers": 100, "n_items": 50, **kwargs}
    with pytest.raises(ParameterError, match=message):
        write_dataset(tmp_path / "events", **args)
    assert not (tmp_path / "events").exists()


def test_command_line_writes_a_dataset_and_reports_an_existing_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--format", "parquet-dataset", "--customers", "1200", "--events", "40000", "--items", "300",
            "--basket-size", "3", "--memory-budget", "16M", "--block-customers", "1000",
            "--out", str(tmp_path / "ds")]
    assert main(argv) == 0
    assert "rows of 1,200 customers in 2 parts" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "ds" / MANIFEST).read_text())
    assert manifest["parameters"]["basket_size"] == 3.0 and manifest["counts"]["customers"] == 1_200
    assert main(argv) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    # --events alone asks for a dataset; without it the csv sample stays the default
    assert main(["--customers", "1000", "--events", "30000", "--items", "50", "--out", str(tmp_path / "auto")]) == 0
    assert (tmp_path / "auto" / MANIFEST).exists()
    assert main(["--customers", "50", "--items", "20", "--out", str(tmp_path / "csv")]) == 0
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["README.md", "events.csv"]
