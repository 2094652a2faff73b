"""cxml.batch unit by unit: the journal (rows + sha256 per part, verification, re-scoring of a damaged
part, corruption), the writer lock (second writer, stale lock), the completeness check, the k cap and
the chunk-scoring function. End-to-end runs with every model live in test_scoring.py."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.batch import (
    JOURNAL,
    LOCK,
    RECOMMENDED,
    SUCCESS,
    Population,
    capped_k,
    is_complete,
    population_inputs,
    read_scores,
    score_chunk,
    score_events,
)
from cxml.batch._lock import OutputLock
from cxml.bundle import Bundle, load_bundle, save_bundle
from cxml.recommend import PopularityRecommender
from cxml.schema import Columns, events_before

AS_OF = pd.Timestamp("2024-07-01")
CHUNK = 200


@pytest.fixture(scope="module")
def past(sample_events: pd.DataFrame) -> pd.DataFrame:
    return events_before(sample_events, AS_OF)


@pytest.fixture(scope="module")
def bundle(past: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """A real bundle with a fast recommender: chunks get segments and recommendation lists."""
    rec = PopularityRecommender().fit(past)
    return load_bundle(save_bundle(tmp_path_factory.mktemp("b") / "pop", recommender=rec))


def _run(bundle: Bundle, past: pd.DataFrame, out: Path, **kwargs: object) -> dict:
    return score_events(bundle, past, as_of=AS_OF, out=out, k=4, chunk_size=CHUNK, progress=False, **kwargs)


@pytest.fixture(scope="module")
def reference(bundle: Bundle, past: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ref") / "scores"
    _run(bundle, past, out)
    return pd.read_parquet(out)


def _journal(out: Path) -> dict:
    return json.loads((out / JOURNAL).read_text())


def test_journal_records_rows_and_sha256_of_every_part(bundle: Bundle, past: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "s"
    summary = _run(bundle, past, out)
    journal = _journal(out)
    assert journal["complete"] is True and journal["n_chunks"] == summary["chunks"] > 2
    assert sorted(journal["parts"]) == [f"part-{i:05d}.parquet" for i in range(summary["chunks"])]
    for name, rec in journal["parts"].items():
        data = (out / name).read_bytes()
        assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["bytes"] == len(data)
        assert rec["rows"] == len(pd.read_parquet(out / name))
    assert sum(rec["rows"] for rec in journal["parts"].values()) == summary["customers"]
    assert json.loads((out / SUCCESS).read_text())["summary"] == summary
    assert is_complete(out) and not (out / LOCK).exists()
    pd.testing.assert_frame_equal(read_scores(out), pd.read_parquet(out))


def _delete(path: Path) -> None:
    path.unlink()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _one_row_less(path: Path) -> None:
    pd.read_parquet(path).iloc[1:].to_parquet(path, index=False)


@pytest.mark.parametrize("damage", [_delete, _truncate, _flip_a_byte, _one_row_less])
def test_a_damaged_part_is_scored_again(damage, bundle: Bundle, past: pd.DataFrame, reference: pd.DataFrame,
                                        tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = _run(bundle, past, out)
    untouched = (out / "part-00000.parquet").stat().st_mtime_ns
    damage(out / "part-00001.parquet")
    assert not is_complete(out)
    with pytest.raises(cxml.SourceError, match="not a complete cxml scores dataset"):
        read_scores(out)
    with pytest.warns(cxml.CxmlWarning, match=r"1 committed parts .* missing or changed \(part-00001.parquet\)"):
        again = _run(bundle, past, out)
    assert again == first and is_complete(out)
    assert (out / "part-00000.parquet").stat().st_mtime_ns == untouched  # intact parts are kept
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)


def test_a_rerun_of_a_complete_intact_run_scores_nothing(bundle: Bundle, past: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = _run(bundle, past, out)
    commits: list[int] = []
    assert _run(bundle, past, out, _on_commit=commits.append) == first
    assert commits == []
    (out / SUCCESS).unlink()  # complete journal but lost marker: rewritten without scoring
    assert _run(bundle, past, out, _on_commit=commits.append) == first and commits == []
    assert is_complete(out)


@pytest.mark.parametrize("content", [b"\xff\xfe not json", b"[1, 2]", b'{"done": [0, 1]}',
                                     b'{"format": "cxml.scores/2", "fingerprint": "x", "n_chunks": 2, '
                                     b'"parts": {"part-00007.parquet": {}}}'])
def test_a_corrupt_journal_is_a_clear_error(content: bytes, bundle: Bundle, past: pd.DataFrame,
                                            reference: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "s"
    _run(bundle, past, out)
    (out / JOURNAL).write_bytes(content)
    assert not is_complete(out)
    with pytest.raises(cxml.OutputExistsError, match=r"_journal.json' is corrupt: .*pass overwrite=True"):
        _run(bundle, past, out)
    _run(bundle, past, out, overwrite=True)
    assert is_complete(out)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(bundle: Bundle, past: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    with OutputLock(out):
        holder = json.loads((out / LOCK).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(cxml.OutputExistsError, match=rf"being written by another process \(pid {os.getpid()}"):
            _run(bundle, past, out)
        assert not (out / JOURNAL).exists()
    assert not (out / LOCK).exists()
    _run(bundle, past, out)
    assert is_complete(out)


def test_a_second_writer_process_is_refused(bundle: Bundle, past: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    code = ("import sys; from pathlib import Path; from cxml.batch._lock import OutputLock\n"
            f"with OutputLock(Path({str(out)!r})):\n    print('locked', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(cxml.OutputExistsError, match=rf"another process \(pid {holder.pid} "):
            _run(bundle, past, out)
    finally:
        holder.communicate("", timeout=60)
    _run(bundle, past, out)
    assert is_complete(out)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stale_lock_of_a_dead_writer_is_taken_over_with_a_warning(bundle: Bundle, past: pd.DataFrame,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    pid = _dead_pid()
    (out / LOCK).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": "earlier"}))
    (out / f".part-00000.parquet.tmp-{pid}").write_bytes(b"half a part")  # what a killed writer leaves
    with pytest.warns(cxml.CxmlWarning, match=rf"taking over the stale lock .* \(pid {pid} on"):
        _run(bundle, past, out)
    assert is_complete(out) and not (out / LOCK).exists()
    assert not list(out.glob(".*.tmp-*"))


def test_a_lock_left_on_another_host_is_refused(bundle: Bundle, past: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": "earlier"}))
    with pytest.raises(cxml.OutputExistsError, match="another host .*elsewhere.example.*delete the lock file"):
        _run(bundle, past, out)
    assert (out / LOCK).exists() and not (out / JOURNAL).exists()


def test_a_reader_can_tell_a_partial_output_from_a_complete_one(bundle: Bundle, past: pd.DataFrame,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert not is_complete(out)
    seen: list[bool] = []

    def check(n: int) -> None:
        seen.append(is_complete(out))
        assert _journal(out)["complete"] is False and not (out / SUCCESS).exists()

    summary = _run(bundle, past, out, _on_commit=check)
    assert seen == [False] * summary["chunks"]
    assert is_complete(out)
    (out / "notes.txt").write_text("a file next to the parts does not make it partial")
    assert is_complete(out)


def test_bad_arguments_are_refused_before_anything_is_written(bundle: Bundle, past: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "s"
    for bad in ({"k": 0}, {"k": 2.5}, {"chunk_size": "10"}, {"overwrite": "yes"}):
        args = {"k": 3, "chunk_size": 10, **bad}
        with pytest.raises(cxml.ParameterError, match=next(iter(bad))):
            score_events(bundle, past, as_of=AS_OF, out=out, progress=False, **args)  # type: ignore[arg-type]
    assert not out.exists()


def test_k_larger_than_the_catalogue_is_capped_before_allocation(bundle: Bundle, past: pd.DataFrame,
                                                                 tmp_path: Path) -> None:
    rec = bundle.recommender
    n_items = len(rec.item_map_)
    assert capped_k(rec, 10**12) == n_items and capped_k(rec, 3) == 3
    with pytest.raises(cxml.ParameterError, match="k=0"):
        capped_k(rec, 0)
    huge = score_events(bundle, past, as_of=AS_OF, out=tmp_path / "huge", k=10**12, chunk_size=5000, progress=False)
    full = score_events(bundle, past, as_of=AS_OF, out=tmp_path / "full", k=n_items, chunk_size=5000, progress=False)
    assert huge["k"] == 10**12 and full["k"] == n_items
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "huge"), pd.read_parquet(tmp_path / "full"))
    scorer = cxml.Scorer(bundle)
    some = past[Columns.CUSTOMER].drop_duplicates().head(3).tolist()
    pd.testing.assert_frame_equal(scorer.recommend(some, k=10**12), scorer.recommend(some, k=n_items))


def test_score_chunk_takes_population_inputs_computed_elsewhere(bundle: Bundle, past: pd.DataFrame,
                                                                reference: pd.DataFrame) -> None:
    population = population_inputs(past, AS_OF)
    ids = reference[Columns.CUSTOMER].to_numpy(dtype=object)[::7]
    own = past[past[Columns.CUSTOMER].isin(ids)]
    chunk = score_chunk(bundle, own, ids, AS_OF, 4, population)
    expected = reference.set_index(Columns.CUSTOMER).loc[ids].reset_index()
    pd.testing.assert_frame_equal(chunk, expected)
    # the segment comes from the population, not from the chunk's own customers
    alone = population_inputs(own, AS_OF)
    assert not alone.segments.reindex(ids).equals(population.segments.reindex(ids))
    bare = score_chunk(bundle, own, ids, AS_OF, 4, Population())
    assert list(bare.columns) == [Columns.CUSTOMER, RECOMMENDED]
    assert bare[RECOMMENDED].map(len).eq(4).all() and np.array_equal(bare[Columns.CUSTOMER], ids)


def test_an_out_path_that_is_a_file_or_a_foreign_directory_is_refused(bundle: Bundle, past: pd.DataFrame,
                                                                      tmp_path: Path) -> None:
    (tmp_path / "file").write_text("user data")
    with pytest.raises(cxml.OutputExistsError, match="not a cxml scores dataset"):
        _run(bundle, past, tmp_path / "file")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "notes.txt").write_text("user data")
    with pytest.raises(cxml.OutputExistsError, match="not a cxml scores dataset"):
        _run(bundle, past, tmp_path / "dir", overwrite=True)
    assert (tmp_path / "file").read_text() == (tmp_path / "dir" / "notes.txt").read_text() == "user data"
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == ["notes.txt"]  # no lock left in it
