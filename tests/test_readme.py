"""The README's API tour runs as written (on the committed sample, in a temp working directory)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

import cxml
from tests.conftest import REPO, SAMPLE_EVENTS


def _tour() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## A tour of the API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match, "README has no python block in its API tour"
    return match.group(1)


def test_readme_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not SAMPLE_EVENTS.exists():
        pytest.skip("data/sample/events.csv is absent")
    code = _tour().replace('"data/sample/events.csv"', repr(str(SAMPLE_EVENTS)))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        exec(compile(code, "README.md", "exec"), namespace)  # our own README, run as a user would
    scores = pd.read_parquet(tmp_path / "scores")
    assert scores["customer_id"].is_unique and scores["churn_probability"].between(0, 1).all()
    assert (tmp_path / "models" / "latest" / "MANIFEST.sha256").exists()
