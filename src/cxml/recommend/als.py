"""``ALSRecommender``: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) via *implicit*."""

from __future__ import annotations

import warnings
from typing import Any, Self, Unpack

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cxml._checks import check_bool, check_float, check_int, check_random_state
from cxml._params import keep_init_args
from cxml.exceptions import ParameterError
from cxml.recommend._docs import fill_doc
from cxml.recommend._signature import RepeatParams
from cxml.recommend._state import saved_array
from cxml.recommend.base import BaseRecommender

__all__ = ["ALSRecommender"]

_FILTERED = np.finfo(np.float32).min  # implicit's topk score for filtered / missing slots


@fill_doc
class ALSRecommender(BaseRecommender):
    """Alternating least squares on the customer × item confidence matrix.

    Wraps :class:`implicit.cpu.als.AlternatingLeastSquares`. Every ``fit`` builds a new implicit
    model (no warm start); BLAS is limited to one thread inside fit and fold-in (implicit
    parallelises itself with ``n_jobs`` threads). Batch ``recommend`` uses implicit's multi-threaded
    top-k over all requested customers at once. ``history=`` folds customers in by solving their
    least-squares factor against the fixed item factors (implicit's ``recalculate_user``).

    Parameters
    ----------
    factors, regularization, alpha, iterations
        As in implicit: latent dimension, L2 penalty, confidence scaling ``C = 1 + alpha * w``
        (implicit 0.7 scales the matrix by ``alpha``), ALS sweeps.
    random_state
        Seed of the factor initialisation (int or None).
    n_jobs
        Threads for fit and recommend: ``-1`` (the default) = all cores, as implicit does by
        default, or a number >= 1. Results do not depend on it.
    num_threads
        Deprecated name of the thread count (implicit's, where 0 = all cores); use ``n_jobs``.
    use_native, use_cg, calculate_training_loss
        Passed to implicit.
    {{repeat_params}}

    Examples
    --------
    >>> import pandas as pd, cxml
    >>> ev = cxml.load_events(pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...     "timestamp": ["2024-01-01"] * 4, "item_id": ["x", "y", "x", "z"]}))
    >>> m = ALSRecommender(factors=4, iterations=2, random_state=0, n_jobs=1).fit(ev)
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
        n_jobs: int = -1,
        num_threads: int | None = None,
        use_native: bool = True,
        use_cg: bool = True,
        calculate_training_loss: bool = False,
        **shared: Unpack[RepeatParams],
    ) -> None:
        super().__init__(**shared)
        keep_init_args(self, locals())

    name = "als"

    def _check_params(self) -> None:
        check_int("factors", self.factors, minimum=1)
        check_int("iterations", self.iterations, minimum=1)
        check_float("regularization", self.regularization, minimum=0.0)
        check_float("alpha", self.alpha, minimum=0.0)
        check_random_state(self.random_state)
        if self.num_threads is not None:
            warnings.warn("ALSRecommender(num_threads=...) is deprecated; use n_jobs (-1 = all cores)",
                          FutureWarning, stacklevel=5)
        self._threads()
        for flag in ("use_native", "use_cg", "calculate_training_loss"):
            check_bool(flag, getattr(self, flag))

    def _threads(self) -> int:
        """implicit's ``num_threads`` (0 = all cores) from ``n_jobs`` (or the deprecated ``num_threads``)."""
        if self.num_threads is not None:
            return check_int("num_threads", self.num_threads, minimum=0)
        n = check_int("n_jobs", self.n_jobs, minimum=-1)
        if n == 0:
            raise ParameterError("n_jobs=0 must be -1 (all cores) or an integer >= 1")
        return 0 if n == -1 else n

    @classmethod
    def _from_saved_params(cls, params: dict[str, Any], where: str) -> Self:
        if "n_jobs" not in params and "num_threads" in params:  # saved before the rename
            threads = params.pop("num_threads")
            params["n_jobs"] = -1 if threads == 0 else threads
        return super()._from_saved_params(params, where)

    def _new_implicit(self) -> Any:
        # implicit is imported when a model is built: it is heavy and starts its thread pool on import
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
                num_threads=self._threads(),
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

    def _attach_implicit(self) -> None:
        """An implicit model over the current factors, for fold-in (built here, so recommend writes nothing)."""
        model = self._new_implicit()
        model.user_factors, model.item_factors = self.user_factors_, self.item_factors_
        self._implicit = model

    def _user_vectors(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        if not recalc.any():
            return self.user_factors_[codes]
        U = np.empty((len(codes), self.item_factors_.shape[1]), dtype=np.float32)
        U[~recalc] = self.user_factors_[codes[~recalc]]
        idx = np.flatnonzero(recalc)
        with threadpool_limits(1, "blas"):
            U[idx] = self._implicit.recalculate_user(idx, X[idx].tocsr())
        return U

    def _score_block(self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray) -> np.ndarray:
        return np.asarray(self._user_vectors(codes, X, recalc) @ self.item_factors_.T)

    def _rank_fast(
        self, codes: np.ndarray, X: sp.csr_matrix, recalc: np.ndarray, k: int, exclude_seen: bool,
        cand: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        from implicit.cpu.topk import topk  # heavy third-party module, see _new_implicit

        V = self.item_factors_ if cand is None else np.ascontiguousarray(self.item_factors_[cand])
        if len(V) == 0:
            return None
        U = np.ascontiguousarray(self._user_vectors(codes, X, recalc))
        filt = None
        if exclude_seen:
            filt = X if cand is None else X[:, cand].tocsr()
        k_eff = min(k, len(V))
        ids, vals = topk(V, U, k_eff, filter_query_items=filt, num_threads=self._threads())
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
        self._implicit.user_factors = self.user_factors_

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _restore_state(self, arrays: dict[str, np.ndarray]) -> None:
        items = saved_array(arrays, "item_factors", "f", ndim=2, shape=(len(self.item_map_), None))
        users = saved_array(arrays, "user_factors", "f", ndim=2, shape=(len(self.user_map_), items.shape[1]))
        self.user_factors_ = np.ascontiguousarray(users, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(items, dtype=np.float32)
        self._attach_implicit()
