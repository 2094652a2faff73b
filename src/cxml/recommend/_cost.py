"""A small cost model of recommender fits and evaluations, calibrated on this project's machine
(internal; AutoRecommender uses it to decide which trials fit its time budget).

Each cost is a non-negative linear combination of a few work counts of the data shape and the
parameters (``features``); the coefficients are seconds per unit of work. They were fitted by
non-negative least squares (relative error) by ``benchmarks/_calibrate_recommend.py`` on
2026-12-01 17:29-17:34 UTC, on the project's 2-core machine (x86-64, OpenBLAS, implicit 0.7) while
other sessions loaded it (load average 15-17, so these are pessimistic for a quiet machine), from
45 fits, rankings and 10 blends on grocery-like generated baskets of 2k-20k customers, 2k-20k items
and 40k-600k rows; rerun that script and paste its output here on other hardware.
The model predicts wall time on a quiet machine; a busy machine makes trials slower than predicted,
which AutoRecommender absorbs by re-checking the time actually left before every trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from cxml.recommend._sparse import item_pairs
from cxml.recommend.ease import ease_items

__all__ = ["COEFFICIENTS", "Shape", "build_seconds", "features", "fit_seconds", "score_seconds", "shape_of"]


@dataclass(frozen=True)
class Shape:
    """The sizes a cost depends on: customers, items, stored interactions, ``sum_u n_u²`` (the work
    of ``X'X``), purchase rows, and customers scored per evaluation."""

    n_users: int
    n_items: int
    nnz: int
    pairs: int
    n_rows: int
    n_eval: int

    def scaled(self, n_rows: int) -> Shape:
        """The shape of a data set with ``n_rows`` purchase rows of the same kind (for the refit on all events)."""
        f = n_rows / max(self.n_rows, 1)
        return Shape(n_users=int(self.n_users * f ** 0.5), n_items=self.n_items, nnz=int(self.nnz * f),
                     pairs=int(self.pairs * f), n_rows=n_rows, n_eval=self.n_eval)


def shape_of(X: sp.csr_matrix, n_rows: int, n_eval: int) -> Shape:
    """The :class:`Shape` of a fitted interaction matrix."""
    return Shape(n_users=X.shape[0], n_items=X.shape[1], nnz=int(X.nnz), pairs=item_pairs(X), n_rows=n_rows,
                 n_eval=n_eval)


def _p(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    return float(default if value is None else value)


def features(name: str, params: Mapping[str, Any], s: Shape) -> tuple[np.ndarray, np.ndarray]:
    """Work counts of fitting ``name`` with ``params`` on ``s``, and of scoring ``s.n_eval`` customers.

    Each count grows with every size and parameter, so a predicted cost never falls when the data
    or the model grows."""
    dense = float(s.n_eval) * s.n_items  # a dense customers × items block
    # lists read off one shared order: k (10) per customer + their seen items (at most all stored ones)
    listed = 10.0 * s.n_eval + s.nnz
    if name == "als":
        f, it = _p(params, "factors", 100), _p(params, "iterations", 15)
        fit = [1.0, it * s.nnz * f, it * (s.n_users + s.n_items) * f * f]
        score = [1.0, dense, dense * f]
    elif name == "ease":
        m = float(ease_items(s.n_items, params.get("max_items")))
        fit = [1.0, float(s.pairs), m * m, m ** 3]
        score = [1.0, listed, float(s.n_eval) * m]  # kept items dense, the others off one order
    elif name == "itemknn":
        k = min(_p(params, "k_neighbors", 100), float(s.n_items))
        fit = [1.0, float(s.pairs), float(s.n_items), s.n_items * k]
        score = [1.0, dense, float(s.n_eval) * k]
    elif name == "blend":  # the rank blend on top of its inner model's scoring: a sort of each row
        fit = [0.0]
        score = [1.0, dense]
    else:
        fit = [1.0, float(s.nnz), float(s.n_rows)]
        score = [1.0, listed, float(s.n_items)]
    return np.asarray(fit), np.asarray(score)


#: Seconds per unit of each feature of :func:`features` (fit, score) and of :func:`build_seconds`.
#: Measured by ``benchmarks/_calibrate_recommend.py`` (see the module docstring) on this 2-core machine
#: with nothing else running (load < 2, 2026-12-01); a busier machine runs slower than predicted, and
#: the clock check of the time budget then skips what no longer fits.
COEFFICIENTS: Final[Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]]] = {
    "als": ((0.0793, 3.86e-09, 6.09e-11), (0.0545, 3.16e-10, 1.23e-11)),
    "ease": ((0.00365, 1.71e-09, 0.0, 3.24e-11), (0.00388, 5.63e-09, 1.16e-08)),
    "itemknn": ((0.0, 1.78e-08, 1.86e-05, 0.0), (0.0, 6.58e-09, 1.7e-07)),
    "popularity": ((0.00141, 0.0, 4.95e-08), (0.011, 0.0, 0.0)),
    # calibration gives 3.39e-09 s per cell on <= 20k items; on 43k customers x 50k items the blend
    # measured 3.2x its calibrated cost (it scores its inner model densely: wider rows cost more per
    # cell), so the per-cell cost is kept at 3.2 x 3.39e-09
    "blend": ((0.0,), (0.0998, 1.09e-08)),
    "build": ((0.00312, 2.49e-07), ()),
}


def fit_seconds(name: str, params: Mapping[str, Any], s: Shape) -> float:
    """Predicted seconds to fit ``name`` with ``params`` on a built interaction matrix of shape ``s``."""
    fit, _ = features(name, params, s)
    return float(fit @ np.asarray(COEFFICIENTS[name][0]))


def score_seconds(name: str, params: Mapping[str, Any], s: Shape) -> float:
    """Predicted seconds to rank all items for ``s.n_eval`` customers and score the result."""
    _, score = features(name, params, s)
    return float(score @ np.asarray(COEFFICIENTS[name][1]))


def build_seconds(s: Shape) -> float:
    """Predicted seconds to build the interaction matrix and id maps from ``s.n_rows`` purchase rows."""
    a, b = COEFFICIENTS["build"][0]
    return a + b * s.n_rows
