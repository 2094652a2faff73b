"""Scorer.explain(reasons=True) and score_chunk(reasons=): the churn model's reasons where scores are served."""
import warnings

import pandas as pd
import pytest

import cxml
from cxml import Scorer
from cxml.batch._chunks import REASONS, population_inputs, score_chunk
from cxml.bundle import load_bundle, save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.data.sample import generate_sample
from cxml.schema import Columns, events_before

AS_OF = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        churn = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(ev, as_of=AS_OF)
        cltv = CLTVModel(horizon="90D", n_snapshots=2, random_state=0).fit(ev, as_of=AS_OF)
    full = save_bundle(tmp_path_factory.mktemp("b") / "full", churn=churn, cltv=cltv)
    return {"churn": churn, "cltv": cltv, "full": full, "events": ev}


def test_scorer_explain_gives_reasons_in_words(fitted) -> None:
    scorer, ev = Scorer.load(fitted["full"]), fitted["events"]
    some = fitted["churn"].predict(ev, AS_OF)[Columns.CUSTOMER].head(5).tolist()
    why = scorer.explain(ev, AS_OF, some[0], top_n=2, reasons=True)
    pd.testing.assert_frame_equal(why, fitted["churn"].reasons(ev, AS_OF, customers=[some[0]], top=2))
    value = scorer.explain(ev, AS_OF, some, top_n=3, reasons=True, model="cltv")
    pd.testing.assert_frame_equal(value, fitted["cltv"].reasons(ev, AS_OF, customers=some, top=3))
    with pytest.raises(cxml.ParameterError, match="model"):
        scorer.explain(ev, AS_OF, some, model="recommender")


def test_score_chunk_adds_a_reasons_column(fitted) -> None:
    bundle, ev = load_bundle(fitted["full"]), fitted["events"]
    past = events_before(ev, AS_OF)
    ids = fitted["churn"].predict(ev, AS_OF)[Columns.CUSTOMER].head(6).tolist() + ["ghost"]
    out = score_chunk(bundle, past, ids, AS_OF, 10, population_inputs(past, AS_OF), reasons=2)
    expected = fitted["churn"].reasons(ev, AS_OF, customers=ids[:-1], top=2)
    assert out[REASONS].tolist() == [expected.loc[expected[Columns.CUSTOMER] == c, "reason"].tolist()
                                     for c in ids[:-1]] + [[]]
    assert REASONS not in score_chunk(bundle, past, ids, AS_OF, 10, population_inputs(past, AS_OF)).columns


def test_scorer_score_writes_the_reasons_column(fitted, tmp_path) -> None:
    scorer, ev = Scorer.load(fitted["full"]), fitted["events"]
    plain = scorer.score(ev, as_of=AS_OF, out=tmp_path / "plain", progress=False)
    with_reasons = scorer.score(ev, as_of=AS_OF, out=tmp_path / "why", progress=False, reasons=2)
    assert plain["customers"] == with_reasons["customers"]
    a = cxml.batch.read_scores(tmp_path / "plain")
    b = cxml.batch.read_scores(tmp_path / "why")
    assert REASONS not in a.columns
    pd.testing.assert_frame_equal(a, b.drop(columns=[REASONS]))  # the scores themselves do not change
    expected = fitted["churn"].reasons(ev, AS_OF, top=2)
    first = b[Columns.CUSTOMER].iloc[0]
    assert list(b[REASONS].iloc[0]) == expected.loc[expected[Columns.CUSTOMER] == first, "reason"].tolist()
    assert any(len(r) for r in b[REASONS])
    with pytest.raises(cxml.ParameterError, match="reasons"):
        scorer.score(ev, as_of=AS_OF, out=tmp_path / "bad", progress=False, reasons=-1)
