"""Scorer and batch scoring on real fitted models (ALS, ChurnModel, CLTVModel) from the sample."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml import Scorer
from cxml.batch import is_complete
from cxml.bundle import load_bundle, save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.recommend import ALSRecommender
from cxml.schema import Columns, events_before

AS_OF = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def fitted(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    history = events_before(sample_events, AS_OF)
    rec = ALSRecommender(factors=16, iterations=4, random_state=0).fit(history)
    churn = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(sample_events, as_of=AS_OF)
    cltv = CLTVModel(horizon="90D", n_snapshots=2, random_state=0).fit(sample_events, as_of=AS_OF)
    root = tmp_path_factory.mktemp("bundles")
    full = save_bundle(root / "full", recommender=rec, churn=churn, cltv=cltv, metadata={"as_of": str(AS_OF)})
    rec_only = save_bundle(root / "rec_only", recommender=rec)
    return {"rec": rec, "churn": churn, "cltv": cltv, "full": full, "rec_only": rec_only,
            "events": sample_events}


def test_scorer_serves_every_model_like_the_models_themselves(fitted: dict) -> None:
    scorer = Scorer.load(fitted["full"])
    ev = fitted["events"]
    assert set(scorer.models) == {"recommender", "churn", "cltv"}
    some = ev[Columns.CUSTOMER].drop_duplicates().head(5).tolist()
    pd.testing.assert_frame_equal(scorer.recommend(some, k=5), fitted["rec"].recommend(some, k=5))
    one = scorer.recommend(some[0], k=3)
    assert one[Columns.CUSTOMER].unique().tolist() == [some[0]] and one[Columns.RANK].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(scorer.churn_risk(ev, as_of=AS_OF), fitted["churn"].predict(ev, as_of=AS_OF))
    pd.testing.assert_frame_equal(scorer.cltv(ev, as_of=AS_OF), fitted["cltv"].predict(ev, as_of=AS_OF))
    why = scorer.explain(ev, AS_OF, some[0], top_n=4)  # one str is one customer, not its characters
    assert why[Columns.CUSTOMER].unique().tolist() == [some[0]]
    pd.testing.assert_frame_equal(why, fitted["churn"].explain(ev, AS_OF, customers=[some[0]], top_n=4))
    assert (~why["feature"].str.startswith("__")).sum() == 4  # top_n features + the bias rows
    sims = scorer.similar_items(ev[Columns.ITEM].dropna().iloc[0], k=3)
    assert len(sims) == 3
    seg = scorer.segments(ev, as_of=AS_OF)
    assert "segment" in seg.columns and len(seg) == len(scorer.churn_risk(ev, as_of=AS_OF))
    assert scorer.metadata["metadata"]["as_of"] == str(AS_OF)


def test_missing_model_is_a_clear_error(fitted: dict) -> None:
    scorer = Scorer.load(fitted["rec_only"])
    with pytest.raises(cxml.MissingModelError, match=r"has no churn model; it holds: recommender"):
        scorer.churn_risk(fitted["events"], as_of=AS_OF)
    with pytest.raises(cxml.MissingModelError, match="no cltv model"):
        scorer.cltv(fitted["events"], as_of=AS_OF)


def test_loading_never_unpickles(fitted: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle was called during bundle load")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    bundle = load_bundle(fitted["full"])
    assert bundle.churn is not None and bundle.recommender is not None and bundle.cltv is not None


def test_tampered_model_file_is_refused(fitted: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(fitted["full"], copy)
    victim = next(p for p in sorted((copy / "churn").rglob("*")) if p.is_file())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(cxml.BundleError, match=rf"'churn/{victim.name}' does not match its sha256"):
        Scorer.load(copy)


@pytest.mark.parametrize("victim, content", [
    ("churn/model.txt", b"tree\nnot a LightGBM model\n"),
    ("cltv/model.txt", b"\x00\x01\x02"),
    ("churn/params.json", b"\xff\xfe"),
    ("churn/params.json", b"[]"),
])
def test_garbage_model_content_is_a_bundle_error_naming_the_component(fitted: dict, tmp_path: Path, victim: str,
                                                                      content: bytes) -> None:
    """Content that passes a (re-written) manifest but cannot be parsed: BundleError, never a parser error."""
    import shutil

    from cxml.bundle import write_manifest

    copy = Path(shutil.copytree(fitted["full"], tmp_path / "b"))
    (copy / victim).write_bytes(content)
    write_manifest(copy)
    component = victim.split("/")[0]
    with pytest.raises(cxml.BundleError, match=rf"{component}\b") as info:
        Scorer.load(copy)
    assert not isinstance(info.value, KeyError | TypeError)


def test_batch_score_matches_single_calls_and_counts(fitted: dict, tmp_path: Path) -> None:
    scorer = Scorer.load(fitted["full"])
    ev = fitted["events"]
    with pytest.warns(cxml.DataWarning, match=r"ignored \d+ of \d+ events at or after as_of"):
        summary = scorer.score(ev, as_of=AS_OF, out=tmp_path / "s", k=5, chunk_size=300, progress=False)
    table = pd.read_parquet(tmp_path / "s")
    risk = scorer.churn_risk(ev, as_of=AS_OF)
    assert summary["customers"] == len(risk) == len(table) == table[Columns.CUSTOMER].nunique()
    assert summary["chunks"] == -(-len(risk) // 300)
    merged = table.merge(risk, on=Columns.CUSTOMER, suffixes=("", "_single"))
    assert len(merged) == len(table)
    gap = merged[Columns.CHURN_PROBABILITY] - merged[f"{Columns.CHURN_PROBABILITY}_single"]
    assert gap.abs().max() < 1e-12
    assert table["recommended_items"].map(len).eq(5).all()
    assert table["segment"].notna().all() and table[Columns.EXPECTED_VALUE].ge(0).all()
    # one big chunk gives the same numbers as many small ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        scorer.score(ev, as_of=AS_OF, out=tmp_path / "one", k=5, chunk_size=10_000, progress=False)
    one = pd.read_parquet(tmp_path / "one").sort_values(Columns.CUSTOMER).reset_index(drop=True)
    many = table.sort_values(Columns.CUSTOMER).reset_index(drop=True)
    pd.testing.assert_frame_equal(one, many)


def test_existing_different_output_is_refused_unless_overwrite(fitted: dict, tmp_path: Path) -> None:
    scorer = Scorer.load(fitted["rec_only"])
    past = events_before(fitted["events"], AS_OF)
    scorer.score(past, as_of=AS_OF, out=tmp_path / "s", k=3, chunk_size=500, progress=False)
    again = scorer.score(past, as_of=AS_OF, out=tmp_path / "s", k=3, chunk_size=500, progress=False)
    assert again["customers"] > 0  # the same call is idempotent
    with pytest.raises(cxml.OutputExistsError, match="pass overwrite=True"):
        scorer.score(past, as_of=AS_OF, out=tmp_path / "s", k=4, chunk_size=500, progress=False)
    scorer.score(past, as_of=AS_OF, out=tmp_path / "s", k=4, chunk_size=500, progress=False, overwrite=True)
    assert pd.read_parquet(tmp_path / "s")["recommended_items"].map(len).max() == 4
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("user data")
    with pytest.raises(cxml.OutputExistsError, match="not a cxml scores dataset"):
        scorer.score(past, as_of=AS_OF, out=tmp_path / "mine", progress=False, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "user data"


def test_killed_batch_resumes_without_duplicates_or_gaps(fitted: dict, tmp_path: Path) -> None:
    """SIGKILL from inside the run right after its 3rd committed part (a test hook, no race), then resume."""
    out = tmp_path / "scores"
    events_file = tmp_path / "events.parquet"
    past = events_before(fitted["events"], AS_OF)
    past.to_parquet(events_file)
    args = dict(as_of=str(AS_OF), k=3, chunk_size=25)
    code = (
        "import os, signal, cxml\n"
        "from cxml.batch import score_events\n"
        "from cxml.bundle import load_bundle\n"
        "def die_after_third(n):\n"
        "    if n == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"ev = cxml.load_events({str(events_file)!r})\n"
        f"score_events(load_bundle({str(fitted['full'])!r}), ev, out={str(out)!r}, progress=False, "
        f"_on_commit=die_after_third, **{args!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONWARNINGS": "ignore"},
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL
    state = json.loads((out / "_journal.json").read_text())
    assert sorted(state["parts"]) == [f"part-{i:05d}.parquet" for i in range(3)] and state["complete"] is False
    assert not (out / "_SUCCESS.json").exists() and not is_complete(out)
    assert (out / "_cxml.lock").exists()  # left behind by the killed writer

    with pytest.warns(cxml.CxmlWarning, match="taking over the stale lock"):
        summary = Scorer.load(fitted["full"]).score(past, out=out, progress=False, **args)
    assert is_complete(out) and not (out / "_cxml.lock").exists()
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    resumed = pd.read_parquet(out)
    uninterrupted_summary = Scorer.load(fitted["full"]).score(past, out=tmp_path / "once", progress=False, **args)
    uninterrupted = pd.read_parquet(tmp_path / "once")
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert {**summary, "out": None} == {**uninterrupted_summary, "out": None}
    assert resumed[Columns.CUSTOMER].is_unique and summary["chunks"] > 3


def test_cli_score_and_evaluate(fitted: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cxml.cli import main

    events_file = tmp_path / "events.csv"
    fitted["events"].to_csv(events_file, index=False)
    out = tmp_path / "scores"
    code = main(["score", "--model", str(fitted["full"]), "--events", str(events_file),
                 "--as-of", str(AS_OF.date()), "--out", str(out), "--k", "3", "--quiet"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["customers"] == len(pd.read_parquet(out)) > 0
    assert summary["ignored_future_events"] > 0
    code = main(["evaluate", "--model", str(fitted["full"]), "--events", str(events_file),
                 "--as-of", str(AS_OF.date()), "--k", "5"])
    assert code == 0
    lines = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert 0.5 < float(lines["churn.roc_auc"]) <= 1 and "churn.recency.roc_auc" in lines
    assert "cltv.spearman" in lines and float(lines["recommender.n_users"]) > 0
    assert main(["score", "--model", str(tmp_path / "nope"), "--events", str(events_file),
                 "--as-of", "2024-07-01", "--out", str(tmp_path / "x")]) == 2  # cxml error
    assert "BundleError" in capsys.readouterr().err


def test_recommend_accepts_a_numpy_array_of_ids(fitted: dict) -> None:
    scorer = Scorer.load(fitted["rec_only"])
    some = fitted["events"][Columns.CUSTOMER].drop_duplicates().head(3).tolist()
    from_array = scorer.recommend(np.array(some, dtype=object), k=4)
    pd.testing.assert_frame_equal(from_array, scorer.recommend(some, k=4))
    assert from_array[Columns.CUSTOMER].unique().tolist() == some
    items = fitted["events"][Columns.ITEM].dropna().unique()[:2]
    assert scorer.similar_items(np.asarray(items), k=2)[Columns.ITEM].unique().tolist() == list(items)
