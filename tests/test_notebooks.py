"""The notebooks run top to bottom in a fresh kernel, and are committed without outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SHARED_DATA

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = REPO / "notebooks"
NAMES = ["01_quickstart", "02_recommendations", "03_churn_and_cltv"]
CELL_TIMEOUT = 120


def _read(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _execute(name: str) -> tuple[str, int]:
    """Run a notebook with cwd = notebooks/; return its text outputs and the number of png images."""
    nb = _read(name)
    # "python3" resolves to this interpreter (jupyter_client maps a bare python argv to
    # sys.executable, and ipykernel ships the spec), so the kernel sees the same cxml as the tests.
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    texts: list[str] = []
    images = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", f"{name}: {out.get('ename')}: {out.get('evalue')}"
            if out.output_type == "stream":
                texts.append(out.text)
            elif "data" in out:
                images += "image/png" in out.data
                texts.append(str(out.data.get("text/plain", "")))
    return "\n".join(texts), images


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_stripped(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for cell in code:
        assert cell.outputs == [], f"{name}: committed with outputs in cell {cell.source[:60]!r}"
        assert cell.execution_count is None, f"{name}: committed with execution counts"


def test_quickstart_runs() -> None:
    text, images = _execute("01_quickstart")
    assert images >= 1, "the segment bar chart did not render"
    for expected in ("net_revenue", "champions", "churn_probability", "expected_value", "recommended_items",
                     "MANIFEST.sha256", "a-customer-we-never-saw"):
        assert expected in text, f"01_quickstart output lacks {expected!r}"


def test_recommendations_runs() -> None:
    text, _ = _execute("02_recommendations")
    for expected in ("popularity", "item-kNN", "EASE", "similar_item_id", "brand-new-customer",
                     "chosen on validation", "ALS tuned on validation", "exclude_seen=False"):
        assert expected in text, f"02_recommendations output lacks {expected!r}"
    if (SHARED_DATA / "ml-100k" / "ratings.csv").exists():
        assert "skipping MovieLens" not in text
        assert text.count("popularity ") >= 2, "no MovieLens 100K comparison table"


def test_churn_and_cltv_runs() -> None:
    text, images = _execute("03_churn_and_cltv")
    assert images >= 1, "lift and calibration plots did not render"
    for expected in ("cxml ChurnModel", "bgnbd_p_no_purchase", "model beats every baseline", "contribution",
                     "recency_roc_auc", "cxml CLTVModel", "bgnbd_gamma_gamma"):
        assert expected in text, f"03_churn_and_cltv output lacks {expected!r}"
    if (SHARED_DATA / "cdnow-sample" / "transactions.csv").exists():
        # Fader, Hardie & Lee (2005) CDNOW parameters, printed beside cxml's fit (rounded to 3 places).
        for param, value in (("r", "0.243"), ("alpha", "4.414"), ("a", "0.793"), ("b", "2.426")):
            assert re.search(rf"^{param}\s+{value}\s+{value}\s*$", text, flags=re.M), f"BG/NBD {param} != {value}"


def test_notebooks_dir_lists_every_notebook() -> None:
    on_disk = sorted(p.stem for p in Path(NOTEBOOKS).glob("*.ipynb"))
    assert on_disk == NAMES, "a notebook was added or removed without updating tests/test_notebooks.py"
