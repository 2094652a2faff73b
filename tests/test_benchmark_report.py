"""`benchmarks/run_all.py` renders RESULTS.md and the README's summary from the committed JSON only:
the README's benchmark table must be exactly what the renderer makes of `benchmarks/results/*.json`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def run_all() -> ModuleType:
    path = REPO / "benchmarks" / "run_all.py"
    spec = importlib.util.spec_from_file_location("cxml_bench_run_all", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_report_renders_every_results_file(run_all: ModuleType, tmp_path: Path) -> None:
    results = sorted((REPO / "benchmarks" / "results").glob("*.json"))
    assert results, "no committed benchmark results"
    out = run_all.write_report(path=tmp_path / "RESULTS.md")
    text = out.read_text(encoding="utf-8")
    assert "layout not understood" not in text
    for path in results:
        assert f"`benchmarks/results/{path.name}`" in text, path.name
        json.loads(path.read_text(encoding="utf-8"))  # valid JSON (no NaN literals)
    assert "## Summary of the bars" in text


def test_readme_benchmark_block_is_generated_not_typed(run_all: ModuleType, tmp_path: Path) -> None:
    readme = REPO / "README.md"
    copy = tmp_path / "README.md"
    shutil.copy(readme, copy)
    _, bars, _ = run_all.render_results()
    assert run_all.update_readme(bars, copy)
    assert copy.read_text(encoding="utf-8") == readme.read_text(encoding="utf-8"), (
        "README's benchmark summary differs from benchmarks/results/*.json; "
        "run `python benchmarks/run_all.py --report-only`")


def test_update_readme_leaves_a_file_without_markers_alone(run_all: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text("# no markers here\n", encoding="utf-8")
    assert not run_all.update_readme([["area", "check", 1.0, "< 2", True]], path)
    assert path.read_text(encoding="utf-8") == "# no markers here\n"
