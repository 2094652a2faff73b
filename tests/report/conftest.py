"""Fixtures of the report tests: one small bundle fitted on the committed sample, and its report.

Session-scoped so that each pytest worker fits the bundle once for both report test modules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxml import Scorer
from cxml.bundle import save_bundle
from cxml.churn import ChurnModel, CLTVModel
from cxml.recommend import PopularityRecommender
from cxml.report import build
from cxml.schema import Columns, events_before

AS_OF = "2024-09-01"
HORIZON = "90D"


@pytest.fixture(scope="session")
def bundle_dir(sample_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PopularityRecommender + ChurnModel + CLTVModel (horizon 90D) fitted as of 2024-09-01, saved."""
    history = events_before(sample_events, pd.Timestamp(AS_OF))
    rec = PopularityRecommender().fit(history)
    churn = ChurnModel(horizon=HORIZON, n_snapshots=2, random_state=0).fit(sample_events, as_of=AS_OF)
    cltv = CLTVModel(horizon=HORIZON, n_snapshots=2, random_state=0).fit(sample_events, as_of=AS_OF)
    root = tmp_path_factory.mktemp("report-bundles")
    save_bundle(root / "full", recommender=rec, churn=churn, cltv=cltv, metadata={"as_of": AS_OF})
    save_bundle(root / "rec_only", recommender=rec)
    return root


@pytest.fixture(scope="session")
def scorer(bundle_dir: Path) -> Scorer:
    return Scorer.load(bundle_dir / "full")


@pytest.fixture(scope="session")
def catalogue(sample_events: pd.DataFrame) -> pd.DataFrame:
    items = pd.Series(sample_events[Columns.ITEM].dropna().unique()).astype(str)
    return pd.DataFrame({Columns.ITEM: items, "name": "Product " + items.str[1:]})


@pytest.fixture(scope="session")
def report(sample_events: pd.DataFrame, scorer: Scorer, catalogue: pd.DataFrame,
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full report (every model, a catalogue) written by ``build``."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    return build(sample_events, scorer, as_of=AS_OF, out=out, catalogue=catalogue)
