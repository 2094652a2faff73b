"""``SnapshotModel``: the shared fit/predict/save/load machinery of ChurnModel and CLTVModel
(multi-snapshot training frames, LightGBM boosting, feature alignment, persistence without pickle)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from cxml.churn import _lgbm
from cxml.churn.summary import rfm_summary
from cxml.exceptions import (
    BundleError,
    InsufficientDataError,
    NotFittedError,
    SchemaError,
)
from cxml.features import CHURNED, customer_features
from cxml.schema import Columns, parse_as_of, parse_horizon, validate_events

__all__ = ["SnapshotModel", "finite_baselines"]


def finite_baselines(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The baseline scores that are finite for every customer; the others are left out with a
    :class:`~cxml.DataWarning` (a BG/NBD that could not be fitted at the validation cutoff gives
    NaN or infinite scores, and a metric on those would compare with nothing real)."""
    import warnings

    from cxml.exceptions import DataWarning

    kept: dict[str, np.ndarray] = {}
    for name, values in scores.items():
        bad = int((~np.isfinite(values)).sum())
        if bad:
            warnings.warn(f"validation baseline {name!r} left out: {bad} of {len(values)} customers have no "
                          "finite score (BG/NBD could not be fitted at the validation cutoff)",
                          DataWarning, stacklevel=4)
        else:
            kept[name] = values
    return kept


class SnapshotModel(BaseEstimator):
    """Fit/predict/save scaffolding shared by :class:`ChurnModel` and ``CLTVModel``."""

    _target: ClassVar[str] = CHURNED
    _base_params: ClassVar[dict[str, Any]] = {}
    _both_classes: ClassVar[bool] = True
    _prior_column: ClassVar[str] = ""

    horizon: Any
    n_snapshots: int
    snapshot_step: Any
    windows: Sequence[Any]
    lgbm_params: dict[str, Any] | None
    use_bgnbd_features: bool
    bgnbd_prior: bool
    held_out_fraction: float
    refit: bool
    max_rounds: int
    early_stopping_rounds: int
    random_state: int
    n_jobs: int

    # ------------------------------------------------------------------ fit
    def fit(self, events: pd.DataFrame, as_of: Any) -> Self:
        """Train on labelled snapshots whose label windows end by ``as_of``; returns ``self``."""
        validate_events(events)
        _lgbm.check_common_settings(self.horizon, self.n_snapshots, self.random_state, self.n_jobs)
        self._check_settings()
        params = _lgbm.lgbm_params(
            self._lgbm_base(), self.lgbm_params, random_state=int(self.random_state), n_jobs=int(self.n_jobs)
        )
        ts = parse_as_of(as_of)
        horizon = parse_horizon(self.horizon)
        step = None if self.snapshot_step is None else parse_horizon(self.snapshot_step, "snapshot_step")
        cuts = _lgbm.plan_cutoffs(events, ts, horizon, int(self.n_snapshots), step)
        parts, _, names = _lgbm.snapshot_frames(
            events, cuts, horizon, windows=self.windows, use_btyd=self.use_bgnbd_features,
            require_both_classes=self._both_classes, require_spend=self._target != CHURNED,
        )
        fresh, valid = _lgbm.split_by_customer(parts[-1], self.held_out_fraction, int(self.random_state))
        problem = _lgbm.snapshot_problem(valid, self._both_classes, self._target != CHURNED)
        if problem is not None:
            raise InsufficientDataError(
                f"the {len(valid)} held-out customers of the latest snapshot (held_out_fraction="
                f"{self.held_out_fraction}) {problem}; they are needed for early stopping and "
                "calibration. Use more history or a larger held_out_fraction"
            )
        train = pd.concat([*parts[:-1], fresh])
        self.validation_ = (
            f"{self.held_out_fraction:.0%} of the customers of the latest snapshot "
            f"({parts[-1][Columns.CUTOFF].iloc[0].date()}, {len(valid)} rows)"
        )
        first = self._train(params, train, valid, names)
        best = int(first.best_iteration) if first.best_iteration > 0 else first.current_iteration()
        self._after_validation(first, best, valid, names)
        if self.refit:
            booster = self._train(params, pd.concat(parts), None, names, rounds=best)
        else:
            booster = lgb.Booster(model_str=first.model_to_string(num_iteration=best))
        self.booster_ = booster
        self.best_iteration_ = best
        self.feature_names_ = names
        self.training_cutoffs_ = [p[Columns.CUTOFF].iloc[0] for p in parts]
        self.n_training_rows_ = int(sum(len(p) for p in parts))
        self.as_of_ = ts
        self.metrics_ = self._validation_metrics(first, best, valid, names)
        if self.use_bgnbd_features:
            # the BG/NBD models of the prediction features: fitted on everything before as_of
            self.btyd_params_: dict[str, dict[str, float] | None] | None = _lgbm.fit_btyd(
                rfm_summary(events, ts, time_unit="W"), f"at as_of {ts.date()} "
            )
        else:
            self.btyd_params_ = None
        return self

    def _train(
        self,
        params: dict[str, Any],
        train: pd.DataFrame,
        valid: pd.DataFrame | None,
        names: list[str],
        rounds: int | None = None,
    ) -> lgb.Booster:
        data = lgb.Dataset(
            _lgbm.align_features(train, names), label=self._label(train), init_score=self._prior(train)
        )
        if valid is None:
            return lgb.train(params, data, num_boost_round=int(rounds or self.max_rounds))
        vdata = lgb.Dataset(
            _lgbm.align_features(valid, names), label=self._label(valid), init_score=self._prior(valid),
            reference=data,
        )
        return lgb.train(
            params,
            data,
            num_boost_round=int(self.max_rounds),
            valid_sets=[vdata],
            callbacks=[lgb.early_stopping(int(self.early_stopping_rounds), verbose=False)],
        )

    def _lgbm_base(self) -> dict[str, Any]:
        return dict(self._base_params)

    def _label(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[self._target].to_numpy(dtype=np.float64)

    def _uses_prior(self) -> bool:
        return bool(self.use_bgnbd_features and self.bgnbd_prior)

    def _prior(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The BG/NBD prior on the booster's raw scale (boosting starts from it), or None."""
        if not self._uses_prior():
            return None
        prior = self._link(frame[self._prior_column].to_numpy(dtype=np.float64))
        known = np.isfinite(prior)
        fill = float(prior[known].mean()) if known.any() else 0.0
        return np.where(known, prior, fill)

    def _link(self, value: np.ndarray) -> np.ndarray:
        """The prior column mapped to the booster's raw scale."""
        raise NotImplementedError

    def _raw_scores(self, booster: lgb.Booster, X: pd.DataFrame, best: int | None = None) -> np.ndarray:
        """Raw score = the booster's output plus the BG/NBD prior it was boosted from."""
        if len(X) == 0:
            return np.zeros(0)
        raw = np.asarray(booster.predict(X, num_iteration=best, raw_score=True), dtype=np.float64)
        prior = self._prior(X)
        return raw if prior is None else raw + prior

    def _check_settings(self) -> None:
        if not isinstance(self.held_out_fraction, float | int) or not 0 < self.held_out_fraction < 1:
            raise SchemaError(
                f"held_out_fraction={self.held_out_fraction!r} must be a fraction in (0, 1)"
            )
        for name in ("max_rounds", "early_stopping_rounds"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise SchemaError(f"{name}={v!r} must be a positive integer")

    def _after_validation(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> None:
        """Hook: fit what needs the held-out predictions (the churn calibrator)."""

    def _validation_metrics(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(events, as_of=...) first"
            )

    def features(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """The model's input features at ``as_of`` (one row per existing customer), aligned to
        ``feature_names_``: a column the model was not fitted on is dropped, a missing one is NaN."""
        self._check_fitted()
        validate_events(events)
        ts = parse_as_of(as_of)
        base = [c for c in self.feature_names_ if c not in _lgbm.BTYD_COLUMNS]
        X = customer_features(events, ts, windows=self.windows, columns=base)
        if self.btyd_params_ is not None:
            X, _ = _lgbm.hybrid_frame(X, events, ts, parse_horizon(self.horizon), self.btyd_params_)
        return _lgbm.align_features(X, self.feature_names_)

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        return self._raw_scores(self.booster_, X)

    def feature_importance(self, importance_type: str = "gain") -> pd.DataFrame:
        """``DataFrame[feature, importance]`` of the final booster, largest first."""
        self._check_fitted()
        if importance_type not in ("gain", "split"):
            raise SchemaError(f"importance_type={importance_type!r}; expected 'gain' or 'split'")
        imp = self.booster_.feature_importance(importance_type=importance_type)
        out = pd.DataFrame({"feature": self.feature_names_, "importance": imp.astype(np.float64)})
        return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to directory ``path``: ``params.json`` (settings, as_of, features,
        metrics, BG/NBD parameters), ``model.txt`` (LightGBM text model) and ``.npz`` arrays."""
        self._check_fitted()
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(root / "model.txt"))
        meta = {
            "class": type(self).__name__,
            "format_version": _lgbm.FORMAT_VERSION,
            "params": {**self.get_params(), "windows": list(self.windows)},
            "as_of": self.as_of_.isoformat(),
            "horizon": str(parse_horizon(self.horizon)),
            "feature_names": list(self.feature_names_),
            "best_iteration": self.best_iteration_,
            "training_cutoffs": [c.isoformat() for c in self.training_cutoffs_],
            "n_training_rows": self.n_training_rows_,
            "validation": self.validation_,
            "btyd_params": self.btyd_params_,
            "metrics": self.metrics_,
        }
        _lgbm.write_json(root / "params.json", meta)
        self._save_extra(root)
        return root

    def _save_extra(self, root: Path) -> None:
        """Hook: extra arrays (the calibrator)."""

    def _load_extra(self, root: Path) -> None:
        """Hook: read what :meth:`_save_extra` wrote."""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a model written by :meth:`save` (JSON, LightGBM text and npz; never a pickle)."""
        root = Path(path)
        meta = _lgbm.read_json(root / "params.json")
        _lgbm.check_format(meta, cls.__name__, root)
        try:
            params = dict(meta["params"])
            params["windows"] = tuple(params["windows"])
            model = cls(**params)
            model.feature_names_ = [str(f) for f in meta["feature_names"]]
            model.best_iteration_ = int(meta["best_iteration"])
            model.training_cutoffs_ = [pd.Timestamp(c) for c in meta["training_cutoffs"]]
            model.n_training_rows_ = int(meta["n_training_rows"])
            model.validation_ = str(meta["validation"])
            model.as_of_ = pd.Timestamp(meta["as_of"])
            model.btyd_params_ = meta["btyd_params"]
            model.metrics_ = meta["metrics"]
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(
                f"{str(root / 'params.json')!r} is incomplete or has a bad value for {cls.__name__}: {exc!r}"
            ) from exc
        model.booster_ = _lgbm.load_booster(root / "model.txt")
        if model.booster_.num_feature() != len(model.feature_names_):
            raise BundleError(
                f"{str(root)!r}: model.txt has {model.booster_.num_feature()} features but params.json "
                f"lists {len(model.feature_names_)}"
            )
        model._load_extra(root)
        return model
