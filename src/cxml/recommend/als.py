"""``ALSRecommender``: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) via *implicit*."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cxml.exceptions import SchemaError
from cxml.recommend.base import BaseRecommender

__all__ = ["ALSRecommender"]

_FILTERED = np.finfo(np.float32).min  # implicit's topk score for filtered / missing slots


class ALSRecommender(BaseRecommender):
    """Alternating least squares on the customer × item confidence matrix.

    Wraps :class:`implicit.cpu.als.AlternatingLeastSquares`. Every ``fit`` builds a new implicit
    model (no warm start); BLAS is limited to one thread inside fit and fold-in (implicit
    parallelises itself with ``num_threads``). Batch ``recommend`` uses implicit's multi-threaded
    top-k over all requested customers at once. ``history=`` folds customers in by solving their
    least-squares factor against the fixed item factors (implicit's ``recalculate_user``).

    Parameters
    ----------
    factors, regularization, alpha, iterations
        As in implicit: latent dimension, L2 penalty, confidence scaling ``C = 1 + alpha * w``
        (implicit 0.7 scales the matrix by ``alpha``), ALS sweeps.
    random_state
        Seed of the factor initialisation (int or None).
    num_threads
        implicit's threads for fit and recommend (0 = all cores). Results do not depend on it.
    use_native, use_cg, calculate_training_loss
        Passed to implicit.
    repeat_weight, repeat_half_life
        Repeat-purchase blend used when ``exclude_seen=False`` (see :mod:`cxml.recommend.base`).

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...     "timestamp": ["2024-01-01"] * 4, "item_id": ["x", "y", "x", "z"]}))
    >>> m = ALSRecommender(factors=4, iterations=2, random_state=0, num_threads=1).fit(ev)
    >>> m.recommend(["b"], k=1)[["customer_id", "rank"]].values.tolist()
    [['b', 1]]
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        random_state: int | None = 0,
        num_threads: int = 0,
        use_native: bool = True,
        use_cg: bool = True,
        calculate_training_loss: bool = False,
        repeat_weight: float = 0.5,
        repeat_half_life: float | None = 90.0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.use_native = use_native
        self.use_cg = use_cg
        self.calculate_training_loss = calculate_training_loss
        self.repeat_weight = repeat_weight
        self.repeat_half_life = repeat_half_life

    def _check_params(self) -> None:
        for name in ("factors", "iterations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise SchemaError(f"{name}={v!r} is not valid; expected an integer >= 1")
        for name in ("regularization", "alpha"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
                raise SchemaError(f"{name}={v!r} is not valid; expected a number >= 0")
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, int | np.integer)):
            raise SchemaError(f"random_state={rs!r} is not valid; expected an int or None")
        n = self.num_threads
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise SchemaError(f"num_threads={n!r} is not valid; expected an integer >= 0 (0 = all cores)")

    def _new_implicit(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        # implicit checks the BLAS thread count when it is constructed, so build it under the limit
        with threadpool_limits(1, "blas"):
            return AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=float(self.alpha),
                dtype=np.float32,
                use_native=bool(self.use_native),
                use_cg=bool(self.use_cg),
                iterations=int(self.iterations),
                calculate_training_loss=bool(self.calculate_training_loss),
                num_threads=int(self.num_threads),
                random_state=self.random_state,
            )

    def _fit(self, X: sp.csr_matrix, rows: pd.DataFrame) -> None:
        model = self._new_implicit()
        with threadpool_limits(1, "blas"):
            model.fit(X, show_progress=False)
        self._implicit = model
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        model.user_factors, model.item_factors = self.user_factors_, self.item_factors_

    def _model(self) -> Any:
        model = getattr(self, "_implicit", None)
        if model is None or model.item_factors is not self.item_factors_:
            model = self._new_implicit()
            model.user_factors, model.item_factors = self.user_factors_, self.item_factors_
            self._implicit = model
        return model

    def _user_vectors(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        if not recalc.any():
            return self.user_factors_[codes]
        U = np.empty((len(codes), self.item_factors_.shape[1]), dtype=np.float32)
        U[~recalc] = self.user_factors_[codes[~recalc]]
        idx = np.flatnonzero(recalc)
        with threadpool_limits(1, "blas"):
            U[idx] = self._model().recalculate_user(idx, X[idx].tocsr())
        return U

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        return np.asarray(self._user_vectors(codes, X, recalc) @ self.item_factors_.T)

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        from implicit.cpu.topk import topk

        V = self.item_factors_ if cand is None else np.ascontiguousarray(self.item_factors_[cand])
        if len(V) == 0:
            return None
        U = np.ascontiguousarray(self._user_vectors(codes, X, recalc))
        filt = None
        if exclude_seen:
            filt = X if cand is None else X[:, cand].tocsr()
        k_eff = min(k, len(V))
        ids, vals = topk(V, U, k_eff, filter_query_items=filt, num_threads=int(self.num_threads))
        ids = np.asarray(ids, dtype=np.int64).reshape(len(codes), k_eff)
        vals = np.asarray(vals, dtype=np.float32).reshape(len(codes), k_eff)
        missing = (vals <= _FILTERED) | (ids < 0)
        ids[missing], vals[missing] = -1, -np.inf
        if k_eff < k:
            ids = np.hstack([ids, np.full((len(codes), k - k_eff), -1, np.int64)])
            vals = np.hstack([vals, np.full((len(codes), k - k_eff), -np.inf, np.float32)])
        return ids, vals

    def _item_block(self, codes: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        norms[norms == 0] = 1.0
        unit = self.item_factors_ / norms[:, None]
        return np.asarray(unit[codes] @ unit.T)

    def _forget_rows(self, keep: np.ndarray) -> None:
        self.user_factors_ = np.ascontiguousarray(self.user_factors_[keep])
        self._implicit = None

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors_ = np.ascontiguousarray(arrays["user_factors"], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        self._implicit = None
