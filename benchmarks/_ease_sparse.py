"""Issue 14 §2 experiment: EASE on the most popular items (cxml's ``max_items``) against a sparse
approximate EASE over *all* items, in the spirit of SANSA (Spišák et al., RecSys 2023).

The sparse variant: the Gram matrix ``X'X`` is sparsified to its ``gram_top`` largest off-diagonal
entries per column (symmetrised), ``l2`` is added to the diagonal, it is factorised once with a
sparse LU (``scipy.sparse.linalg.splu``), ``P = G^-1`` is solved in blocks of columns, and each
column of ``B = -P / diag(P)`` keeps its ``keep`` largest weights, so memory stays
``O(n_items * keep)``. (SANSA proper uses an incomplete LDL^T and a sparse approximate inverse of
L; scipy has neither, so this is the "sparsified Gram + sparse solve" variant.)

Data: grocery-like baskets from the benchmark generator, PROTOCOL.md split (0.8 quantile), NDCG@10
with seen items excluded. Merged into the ``scale.ease_sparse`` section of ``results/recommend.json``.

    nice -n 10 python benchmarks/_ease_sparse.py
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from _memory import PeakRSS  # benchmarks/ is on sys.path when a script runs
from _scale_recommend import load

import cxml
from cxml.recommend import EASERecommender, PopularityRecommender, evaluate, temporal_split
from cxml.recommend._matrix import binarised
from cxml.recommend._sparse import topk_per_row
from cxml.recommend.base import BaseRecommender

OUT = Path(__file__).parent / "results" / "recommend.json"
GB = 1024**3


class SparseEASE(BaseRecommender):
    """EASE over every item with a sparsified Gram matrix and a sparse, column-pruned ``B``."""

    name = "sparse_ease_experiment"

    def __init__(self, *, l2: float = 200.0, gram_top: int = 100, keep: int = 200, repeat_weight: float = 0.5,
                 repeat_half_life: float | None = 90.0) -> None:
        self.l2 = l2
        self.gram_top = gram_top
        self.keep = keep
        self.repeat_weight = repeat_weight
        self.repeat_half_life = repeat_half_life

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        n = X.shape[1]
        Xb = binarised(X, True).astype(np.float64)
        gram = (Xb.T @ Xb).tocsr()
        diag = gram.diagonal()
        gram.setdiag(0.0)
        gram.eliminate_zeros()
        pruned = topk_per_row(gram, int(self.gram_top)).astype(np.float64)
        sym = pruned.maximum(pruned.T).tocsc()
        sym = (sym + sp.diags(diag + float(self.l2))).tocsc()
        lu = spla.splu(sym)
        cols = []
        step = 1024
        for start in range(0, n, step):
            stop = min(start + step, n)
            rhs = np.zeros((n, stop - start))
            rhs[np.arange(start, stop), np.arange(stop - start)] = 1.0
            P = lu.solve(rhs)  # columns start..stop of G^-1
            B = -P / np.diag(P[start:stop])[None, :]
            B[np.arange(start, stop), np.arange(stop - start)] = 0.0
            cols.append(topk_per_row(sp.csr_matrix(B.T), int(self.keep)))  # rows = columns of B
        self.weights_ = sp.vstack(cols).T.tocsr().astype(np.float32)  # items x items, column-pruned
        self.fill_in_ = int(lu.L.nnz + lu.U.nnz)

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        return np.asarray((binarised(X, True) @ self.weights_).toarray())

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(self.weights_[codes].toarray(), dtype=np.float64)


def run(customers: int, items: int, rows: int, models: dict[str, Any]) -> list[dict[str, Any]]:
    events = load(customers, items, rows, Path("/tmp/cxml-scale"))
    train, test = temporal_split(events, test_fraction=0.2)
    out = []
    for name, model in models.items():
        with PeakRSS() as mem:
            start = time.perf_counter()
            try:
                model.fit(train)
            except cxml.CxmlError as exc:
                out.append({"data": f"{customers}x{items}x{rows}", "model": name, "error": str(exc)[:200]})
                print(out[-1], flush=True)
                continue
            fit = time.perf_counter() - start
        ndcg = evaluate(model, train, test, k=10)["ndcg"]
        row = {"data": f"{customers}x{items}x{rows}", "model": name, "fit_seconds": round(fit, 2),
               "peak_rss_gb": round(mem.peak / GB, 3), "ndcg": round(float(ndcg), 4),
               "train_items": int(train["item_id"].nunique())}
        if isinstance(model, SparseEASE):
            row["lu_nnz"] = model.fill_in_
        out.append(row)
        print(row, flush=True)
    return out


def main() -> int:
    warnings.simplefilter("ignore", cxml.DataWarning)
    sizes = [(2_500, 20_000, 75_000), (10_000, 20_000, 300_000)]
    if len(sys.argv) > 1:
        sizes = [tuple(int(x) for x in a.split("x")) for a in sys.argv[1:]]  # type: ignore[misc]
    rows = []
    for c, i, r in sizes:
        models: dict[str, Any] = {
            "popularity": PopularityRecommender(),
            "ease max_items=2500 l2=150": EASERecommender(l2=150.0, max_items=2_500),
            "ease max_items=2500 l2=600": EASERecommender(l2=600.0, max_items=2_500),
            "ease max_items=8000 l2=600": EASERecommender(l2=600.0, max_items=8_000),
            "sparse ease all items l2=150 gram_top=50 keep=200": SparseEASE(l2=150.0, gram_top=50, keep=200),
            "sparse ease all items l2=600 gram_top=50 keep=200": SparseEASE(l2=600.0, gram_top=50, keep=200),
        }
        rows += run(c, i, r, models)
    out = json.loads(OUT.read_text()) if OUT.exists() else {"benchmark": "recommend"}
    out.setdefault("scale", {})["ease_sparse"] = rows
    OUT.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
