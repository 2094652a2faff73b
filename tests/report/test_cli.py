"""``cxml report`` writes the same page as ``cxml.report.build``, with item names from a catalogue csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxml.cli import main
from tests.report.conftest import AS_OF

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "events.csv"


def test_cli_report_writes_the_page_with_item_names(bundle_dir: Path, catalogue: pd.DataFrame, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    names = tmp_path / "catalogue.csv"
    catalogue.to_csv(names, index=False)
    out = tmp_path / "shop.html"
    args = ["report", "--model", str(bundle_dir / "full"), "--events", str(SAMPLE), "--as-of", AS_OF,
            "--out", str(out), "--catalogue", str(names), "--title", "Corner shop"]
    assert main(args) == 0
    page = out.read_text()
    assert "Corner shop" in page
    assert "Product " in page  # item names come from the catalogue ("Product 001"), not raw ids
    assert f"wrote {out}" in capsys.readouterr().out
    # a second run refuses to replace the page unless asked
    assert main(args) == 2
    assert "OutputExistsError" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_cli_report_refuses_a_catalogue_without_names(bundle_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "catalogue.csv"
    bad.write_text("item_id,title\nI001,Tea\n")
    assert main(["report", "--model", str(bundle_dir / "full"), "--events", str(SAMPLE), "--as-of", AS_OF,
                 "--out", str(tmp_path / "r.html"), "--catalogue", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "SchemaError" in err and "name" in err


def test_cli_report_shows_a_backtest_table_with_intervals(bundle_dir: Path, tmp_path: Path) -> None:
    table = pd.DataFrame({"cutoff": ["2024-06-01", "pooled"], "task": "churn", "metric": "roc_auc",
                          "model": [0.80, 0.79], "baseline": [0.75, 0.76], "baseline_name": "recency",
                          "difference": [0.05, 0.03], "ci_low": [0.02, 0.01], "ci_high": [0.08, 0.05],
                          "n_customers": 100, "crosses_zero": False})
    path = tmp_path / "backtest.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "r.html"
    assert main(["report", "--model", str(bundle_dir / "full"), "--events", str(SAMPLE), "--as-of", AS_OF,
                 "--out", str(out), "--backtest", str(path)]) == 0
    page = out.read_text()
    assert "2024-06-01" in page and "0.02" in page and "0.08" in page  # the interval of the first cutoff
    bad = tmp_path / "bad.csv"
    bad.write_text("metric,model\nroc_auc,0.8\n")
    assert main(["report", "--model", str(bundle_dir / "full"), "--events", str(SAMPLE), "--as-of", AS_OF,
                 "--out", str(tmp_path / "r2.html"), "--backtest", str(bad)]) == 2
