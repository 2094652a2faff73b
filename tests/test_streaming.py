"""Streaming batch scoring of parquet datasets (issue 15): the bucketed path gives exactly the rows and
values of the in-memory path (the sample with every model; Online Retail as a hive-partitioned
dataset), resumes through the journal, and reads only the columns it needs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import cxml
from cxml import Scorer
from cxml.batch import JOURNAL, is_complete, score_events
from cxml.batch._budget import BYTES_PER_EVENT, bucket_count, parse_memory_budget
from cxml.bundle import Bundle, load_bundle, save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.data.dataset import EventsDataset, LoadReport, stable_bucket
from cxml.recommend import ALSRecommender, PopularityRecommender
from cxml.schema import Columns, events_before

AS_OF = pd.Timestamp("2024-07-01")
RETAIL_AS_OF = pd.Timestamp("2010-09-01")
#: small enough that the sample (65k events) is cut into several buckets
BUDGET = "16M"


def _write_files(events: pd.DataFrame, root: Path, n_files: int, seed: int = 1) -> Path:
    """``events`` shuffled (so no file is sorted by time or customer) into ``n_files`` parquet files."""
    root.mkdir(parents=True)
    shuffled = events.sample(frac=1, random_state=seed)
    for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), n_files)):
        shuffled.iloc[rows].to_parquet(root / f"part-{i}.parquet", index=False)
    return root


def _sorted(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out).sort_values(Columns.CUSTOMER, ignore_index=True)


@pytest.fixture(scope="module")
def sample_bundle(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    history = events_before(sample_events, AS_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        rec = ALSRecommender(factors=8, iterations=3, random_state=0).fit(history)
        churn = ChurnModel(horizon="90D", n_snapshots=1, random_state=0).fit(sample_events, as_of=AS_OF)
        cltv = CLTVModel(horizon="90D", n_snapshots=1, random_state=0).fit(sample_events, as_of=AS_OF)
    root = tmp_path_factory.mktemp("stream-bundle")
    return load_bundle(save_bundle(root / "full", recommender=rec, churn=churn, cltv=cltv))


@pytest.fixture(scope="module")
def sample_dataset(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_files(sample_events, tmp_path_factory.mktemp("stream-data") / "events", n_files=5)


def _score(bundle: Bundle, data: Path, out: Path, **kwargs: object) -> dict:
    kwargs.setdefault("memory_budget", BUDGET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # the future events are counted in the summary
        return score_events(bundle, data, as_of=AS_OF, out=out, k=5, chunk_size=150, progress=False, **kwargs)


@pytest.fixture(scope="module")
def in_memory(sample_bundle: Bundle, sample_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("stream-ref") / "scores"
    summary = _score(sample_bundle, sample_dataset, out, memory_budget=None)
    return summary, _sorted(out)


def test_streaming_equals_the_in_memory_path_on_the_sample(sample_bundle: Bundle, sample_dataset: Path,
                                                           in_memory: tuple, tmp_path: Path) -> None:
    summary_mem, reference = in_memory
    assert "buckets" not in summary_mem  # a dataset that fits is scored in memory by default
    out = tmp_path / "scores"
    summary = _score(sample_bundle, sample_dataset, out)
    expected_buckets = bucket_count(EventsDataset(sample_dataset).count_rows(), parse_memory_budget(BUDGET) or 0)
    assert summary["buckets"] == expected_buckets > 3
    assert summary["chunks"] == len(list(out.glob("part-*.parquet"))) > 1
    for key in ("customers", "models", "cold_start_customers", "ignored_future_events", "as_of", "k"):
        assert summary[key] == summary_mem[key], key
    assert set(reference.columns) == {Columns.CUSTOMER, Columns.CHURN_PROBABILITY, Columns.EXPECTED_VALUE,
                                      "segment", "recommended_items"}
    pd.testing.assert_frame_equal(_sorted(out), reference)
    assert is_complete(out)
    assert not [p for p in tmp_path.iterdir() if ".spill-" in p.name]  # the spill directory is removed


def test_a_customer_is_in_one_bucket_and_buckets_are_stable() -> None:
    ids = pd.Series([f"C{i % 97}" for i in range(1000)], dtype=cxml.schema.STRING_DTYPE)
    first = stable_bucket(ids, 7)
    assert first.groupby(ids.to_numpy()).nunique().max() == 1
    assert first.equals(stable_bucket(ids.iloc[::-1], 7).sort_index())
    assert set(first.unique()) == set(range(7))


def test_a_killed_streaming_run_resumes_and_a_damaged_part_is_rescored(sample_bundle: Bundle, sample_dataset: Path,
                                                                       in_memory: tuple, tmp_path: Path) -> None:
    out = tmp_path / "scores"

    def die_after_two(n_done: int) -> None:
        if n_done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _score(sample_bundle, sample_dataset, out, _on_commit=die_after_two)
    assert not is_complete(out) and len(list(out.glob("part-*.parquet"))) == 2
    commits: list[int] = []
    summary = _score(sample_bundle, sample_dataset, out, _on_commit=commits.append)
    assert len(commits) == summary["chunks"] - 2  # only the parts not yet committed
    pd.testing.assert_frame_equal(_sorted(out), in_memory[1])
    (out / "part-00001.parquet").unlink()
    commits.clear()
    with pytest.warns(cxml.CxmlWarning, match=r"1 committed parts .*part-00001.parquet"):
        _score(sample_bundle, sample_dataset, out, _on_commit=commits.append)
    assert commits == [1] and is_complete(out)
    pd.testing.assert_frame_equal(_sorted(out), in_memory[1])
    with pytest.raises(cxml.OutputExistsError, match="different inputs"):  # another budget: other buckets
        _score(sample_bundle, sample_dataset, out, memory_budget="32M")


def test_scorer_score_streams_a_single_parquet_file(sample_bundle: Bundle, sample_events: pd.DataFrame,
                                                    in_memory: tuple, tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    sample_events.to_parquet(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        summary = Scorer(sample_bundle).score(path, as_of=AS_OF, out=tmp_path / "s", k=5, chunk_size=150,
                                              progress=False, memory_budget=64 * 2**20)
    assert summary["buckets"] >= 1
    pd.testing.assert_frame_equal(_sorted(tmp_path / "s"), in_memory[1])


@pytest.mark.parametrize("value, expected", [("2G", 2 * 2**30), ("512MB", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)),
                                             (" 64 m ", 64 * 2**20), (2**30, 2**30), (None, None)])
def test_memory_budget_accepts_sizes(value: object, expected: int | None) -> None:
    assert parse_memory_budget(value) == expected


@pytest.mark.parametrize("value", ["lots", "2X", "-1G", 1024, "1K", True, 2.5e9, "1e9"])
def test_a_bad_memory_budget_is_a_parameter_error(value: object, sample_bundle: Bundle, sample_dataset: Path,
                                                  tmp_path: Path) -> None:
    with pytest.raises(cxml.ParameterError, match="memory_budget"):
        _score(sample_bundle, sample_dataset, tmp_path / "s", memory_budget=value)
    assert not (tmp_path / "s").exists()


def test_buckets_follow_the_budget() -> None:
    assert bucket_count(10_000_000, 2**30) == -(-10_000_000 * BYTES_PER_EVENT // 2**30)
    assert bucket_count(0, 2**30) == 1 and bucket_count(10, 2**40) == 1


def test_a_dataset_is_read_batch_by_batch_with_only_the_canonical_columns(sample_events: pd.DataFrame,
                                                                          tmp_path: Path) -> None:
    raw = sample_events.head(3000).copy()
    raw["customer_id"] = raw["customer_id"].astype(object)
    raw.loc[raw.index[:10], "customer_id"] = None
    raw["country"] = "NL"  # not read
    data = EventsDataset(_write_files(raw, tmp_path / "d", n_files=3))
    assert "country" not in data.columns and set(data.columns) <= {*Columns.EVENTS, Columns.ORDER, "price"}
    report = LoadReport()
    batches = list(data.batches(700, report))
    assert len(batches) >= 3 and all(cxml.data.loading.is_canonical(b) for b in batches)
    assert sum(len(b) for b in batches) == 2990 and report.counts["dropped_missing_customer_id"] == 10
    whole = cxml.load_events(tmp_path / "d", keep_columns=False)
    assert "country" not in whole.columns
    together = pd.concat(batches).sort_values([Columns.CUSTOMER, Columns.TIMESTAMP], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(
        together, whole.sort_values([Columns.CUSTOMER, Columns.TIMESTAMP], kind="stable", ignore_index=True),
        check_like=True)
    with pytest.warns(cxml.DataWarning, match="dropped 10 of 3000 rows"):
        report.warn("d")


@pytest.fixture(scope="module")
def retail_dataset(retail_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Online Retail as a hive-partitioned dataset (``month=YYYY-MM`` folders), rows shuffled."""
    frame = retail_events.sample(frac=1, random_state=3)
    frame = frame.assign(month=frame[Columns.TIMESTAMP].dt.strftime("%Y-%m"))
    root = tmp_path_factory.mktemp("retail") / "events"
    ds.write_dataset(pa.Table.from_pandas(frame, preserve_index=False), root, format="parquet",
                     partitioning=["month"], partitioning_flavor="hive", max_rows_per_file=60_000,
                     max_rows_per_group=60_000)
    return root


def test_streaming_equals_in_memory_on_online_retail(retail_events: pd.DataFrame, retail_dataset: Path,
                                                     tmp_path: Path) -> None:
    history = events_before(retail_events, RETAIL_AS_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        churn = ChurnModel(horizon="90D", n_snapshots=1, random_state=0).fit(retail_events, as_of=RETAIL_AS_OF)
    bundle = load_bundle(save_bundle(tmp_path / "b", recommender=PopularityRecommender().fit(history), churn=churn))
    assert len(list(retail_dataset.glob("month=*/*.parquet"))) > 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        kw = {"as_of": RETAIL_AS_OF, "k": 10, "chunk_size": 500, "progress": False}
        mem = score_events(bundle, retail_dataset, out=tmp_path / "mem", **kw)
        stream = score_events(bundle, retail_dataset, out=tmp_path / "stream", memory_budget="64M", **kw)
    assert stream["buckets"] > 3 and stream["customers"] == mem["customers"] > 3000
    assert stream["ignored_future_events"] == mem["ignored_future_events"] > 0
    assert (tmp_path / "stream" / JOURNAL).exists()
    pd.testing.assert_frame_equal(_sorted(tmp_path / "stream"), _sorted(tmp_path / "mem"))


def test_cli_score_reads_a_parquet_directory(sample_bundle: Bundle, sample_dataset: Path, in_memory: tuple,
                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cxml.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        code = main(["score", "--model", str(sample_bundle.path), "--events", str(sample_dataset), "--as-of",
                     str(AS_OF.date()), "--out", str(tmp_path / "s"), "--k", "5", "--chunk-size", "150", "--quiet"])
    assert code == 0 and '"customers": ' in capsys.readouterr().out
    pd.testing.assert_frame_equal(_sorted(tmp_path / "s"), in_memory[1])
