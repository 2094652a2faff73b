"""The spill directory of a streaming run (issue 15): removed when the run fails, left by a killed run
and removed by the next run of the same output (which then completes with the in-memory rows), never
read as output, and another output's spill is not touched."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.batch import is_complete, score_events
from cxml.bundle import Bundle, load_bundle, save_bundle
from cxml.recommend import PopularityRecommender
from cxml.schema import Columns, events_before

AS_OF = pd.Timestamp("2024-07-01")
BUDGET = "16M"  # the sample (65k events) in several buckets


@pytest.fixture(scope="module")
def setup(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[Bundle, Path]:
    root = tmp_path_factory.mktemp("spill")
    bundle = load_bundle(save_bundle(root / "bundle",
                                     recommender=PopularityRecommender().fit(events_before(sample_events, AS_OF))))
    data = root / "events"
    data.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(sample_events)), 3)):
        sample_events.iloc[rows].to_parquet(data / f"part-{i}.parquet", index=False)
    return bundle, data


def _score(bundle: Bundle, data: Path, out: Path, **kwargs: object) -> dict:
    kwargs.setdefault("memory_budget", BUDGET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return score_events(bundle, data, as_of=AS_OF, out=out, k=3, chunk_size=200, progress=False, **kwargs)


def _spills(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.spill-*"))


def _sorted(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out).sort_values(Columns.CUSTOMER, ignore_index=True)


def test_a_failed_streaming_run_removes_its_spill(setup: tuple[Bundle, Path], tmp_path: Path) -> None:
    bundle, data = setup
    out = tmp_path / "scores"
    seen: list[list[Path]] = []

    def fail_after_one(n_done: int) -> None:
        seen.append([bucket for spill in _spills(out) for bucket in spill.glob("bucket-*.parquet")])
        raise RuntimeError("the job was stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        _score(bundle, data, out, _on_commit=fail_after_one)
    assert len({p.parent for p in seen[0]}) == 1 and len(seen[0]) > 1  # one spill, written, during the run
    assert _spills(out) == [] and not is_complete(out)


def test_a_killed_run_leaves_its_spill_and_the_rerun_removes_it(setup: tuple[Bundle, Path], tmp_path: Path) -> None:
    bundle, data = setup
    out = tmp_path / "scores"
    neighbour = tmp_path / ".other.spill-abc"  # the spill of another output: not ours to delete
    neighbour.mkdir()
    code = (
        "import os, warnings, cxml\n"
        "from cxml.batch import score_events\nfrom cxml.bundle import load_bundle\n"
        "warnings.simplefilter('ignore')\n"
        "def die(n):\n    if n == 1:\n        os._exit(9)  # like SIGKILL: no finally, no cleanup\n"
        f"score_events(load_bundle({str(bundle.path)!r}), {str(data)!r}, as_of={str(AS_OF)!r}, out={str(out)!r}, "
        f"k=3, chunk_size=200, progress=False, memory_budget={BUDGET!r}, _on_commit=die)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    left = _spills(out)
    assert len(left) == 1 and len(list(left[0].glob("bucket-*.parquet"))) > 1
    assert not is_complete(out) and len(list(out.glob("part-*.parquet"))) == 1
    partial = pd.read_parquet(out)  # the spill sits outside the output: never read as scores
    assert set(partial.columns) == {Columns.CUSTOMER, "segment", "recommended_items"}

    commits: list[int] = []
    summary = _score(bundle, data, out, _on_commit=commits.append)
    assert _spills(out) == [] and neighbour.is_dir()
    assert is_complete(out) and len(commits) == summary["chunks"] - 1 > 0  # the committed part is kept
    reference = _score(bundle, data, tmp_path / "in-memory", memory_budget=None)
    assert reference["customers"] == summary["customers"]
    pd.testing.assert_frame_equal(_sorted(out), _sorted(tmp_path / "in-memory"))
