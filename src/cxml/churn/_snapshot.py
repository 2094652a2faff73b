"""``SnapshotModel``: the one base of ChurnModel and CLTVModel.

It owns the keyword-only settings both models share (one ``__init__``, one set of checks, one set of
LightGBM defaults), the multi-snapshot fit, feature computation at prediction time and
persistence without pickle. A subclass adds its own settings in a short ``__init__`` that passes
the shared ones on (``**shared``); :meth:`SnapshotModel.__init_subclass__` gives that ``__init__``
the full keyword-only signature, so ``get_params``/``set_params``/``clone`` and ``help()`` see
every parameter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from cxml._checks import check_bool, check_choice, check_fraction, check_int, check_random_state
from cxml._params import keep_init_args, show_passed_on
from cxml.churn import _lgbm, _persist
from cxml.churn._docs import fill_doc
from cxml.churn._hybrid import BTYD_COLUMNS, BTYD_TIME_UNIT, BTYDParams, fit_btyd
from cxml.churn._reference import Reference, population_reference
from cxml.churn.summary import purchase_rows, summary_at
from cxml.data import as_events
from cxml.exceptions import InsufficientDataError, NotFittedError
from cxml.features import CHURNED, DEFAULT_WINDOWS
from cxml.features._base import Prepared, prepare
from cxml.features.core import features_from_prepared, parse_windows, types_from_columns
from cxml.schema import Columns, parse_as_of, parse_horizon

__all__ = ["SnapshotModel"]


class SnapshotModel(BaseEstimator):
    """Fit/predict/save scaffolding shared by :class:`ChurnModel` and ``CLTVModel``."""

    _output_column: ClassVar[str] = Columns.CHURN_PROBABILITY
    _target: ClassVar[str] = CHURNED
    _both_classes: ClassVar[bool] = True
    _prior_column: ClassVar[str] = ""
    _group_held_out: ClassVar[bool] = False
    _lgbm_defaults: ClassVar[Mapping[str, Any]] = _lgbm.LGBM_DEFAULTS

    def __init__(
        self,
        *,
        horizon: Any,
        n_snapshots: int = 4,
        snapshot_step: Any = None,
        windows: Sequence[Any] = DEFAULT_WINDOWS,
        lgbm_params: dict[str, Any] | None = None,
        use_bgnbd_features: bool = True,
        bgnbd_prior: bool = True,
        held_out_fraction: float = 0.3,
        refit: bool = False,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        random_state: int | None = 0,
        n_jobs: int = 1,
    ) -> None:
        keep_init_args(self, locals())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        show_passed_on(cls)  # the subclass's own keywords, then the shared ones it passes on

    # ------------------------------------------------------------------ settings
    def _objective(self) -> dict[str, Any]:
        """The LightGBM objective and metric of the subclass."""
        raise NotImplementedError

    def _check_settings(self) -> tuple[pd.Timedelta, pd.Timedelta | None, list[pd.Timedelta], int]:
        """Check every shared setting (ParameterError); returns horizon, step, windows and the seed."""
        horizon = parse_horizon(self.horizon)
        step = None if self.snapshot_step is None else parse_horizon(self.snapshot_step, "snapshot_step")
        windows = parse_windows(self.windows)
        check_int("n_snapshots", self.n_snapshots, minimum=1)
        for name in ("use_bgnbd_features", "bgnbd_prior", "refit"):
            check_bool(name, getattr(self, name))
        check_fraction("held_out_fraction", self.held_out_fraction)
        check_int("max_rounds", self.max_rounds, minimum=1)
        check_int("early_stopping_rounds", self.early_stopping_rounds, minimum=1)
        check_int("n_jobs", self.n_jobs, minimum=1)
        seed = check_random_state(self.random_state)
        if seed is None:  # fresh entropy, drawn once so the split and LightGBM share it
            seed = int(np.random.default_rng().integers(2**31 - 1))
        return horizon, step, windows, seed

    # ------------------------------------------------------------------ fit
    @fill_doc
    def fit(self, events: Any, as_of: Any) -> Self:
        """Train on labelled snapshots whose label windows end by ``as_of``; returns ``self``.

        Parameters
        ----------
        {{events}}
        as_of
            Date-like end of training: only events before it shape features, labels and the
            BG/NBD parameters (a later event only shows that the data reach ``as_of``).

        Returns
        -------
        SnapshotModel
            ``self``, fitted (``booster_``, ``feature_names_``, ``metrics_`` ...).

        Raises
        ------
        SchemaError
            When ``events`` does not fit the events schema or ``as_of`` is not a date.
        ParameterError
            When a setting is out of range.
        InsufficientDataError
            When the data do not reach ``as_of`` or give no usable training snapshot.
        """
        return self._fit_trusted(as_events(events), parse_as_of(as_of))

    def _fit_trusted(self, events: pd.DataFrame, ts: pd.Timestamp) -> Self:
        """:meth:`fit` on normalised events."""
        horizon, step, windows, seed = self._check_settings()
        params = _lgbm.lgbm_params({**self._objective(), **self._lgbm_defaults}, self.lgbm_params,
                                   random_state=seed, n_jobs=int(self.n_jobs))
        purchases = purchase_rows(events)
        cuts = _lgbm.plan_cutoffs(events, purchases, ts, horizon, int(self.n_snapshots), step)
        parts, names = _lgbm.snapshot_frames(
            events, purchases, cuts, horizon, windows=windows, use_btyd=bool(self.use_bgnbd_features),
            require_both_classes=self._both_classes, require_spend=self._target != CHURNED,
            extra=self._extra_features,
        )
        fresh, valid = _lgbm.split_by_customer(parts[-1], float(self.held_out_fraction), seed)
        problem = _lgbm.snapshot_problem(valid, self._both_classes, self._target != CHURNED)
        if problem is not None:
            raise InsufficientDataError(
                f"the {len(valid)} held-out customers of the latest snapshot (held_out_fraction="
                f"{self.held_out_fraction}) {problem}; they are needed for early stopping and "
                "calibration. Use more history or a larger held_out_fraction")
        self.validation_ = (f"{self.held_out_fraction:.0%} of the customers of the latest snapshot "
                            f"({parts[-1][Columns.CUTOFF].iloc[0].date()}, {len(valid)} rows)")
        # with _group_held_out the held-out customers are left out of the older snapshots too
        older = [p[~p.index.isin(valid.index)] for p in parts[:-1]] if self._group_held_out else parts[:-1]
        train = pd.concat([*older, fresh])
        self._before_training(train)
        first = self._train(params, train, valid, names)
        best = int(first.best_iteration) if first.best_iteration > 0 else first.current_iteration()
        self._after_validation(first, best, valid, names)
        if self.refit:
            self.booster_ = self._train(params, pd.concat(parts), None, names, rounds=best)
        else:
            self.booster_ = lgb.Booster(model_str=first.model_to_string(num_iteration=best))
        self.best_iteration_ = best
        self.feature_names_ = names
        self.training_cutoffs_ = [p[Columns.CUTOFF].iloc[0] for p in parts]
        self.n_training_rows_ = int(sum(len(p) for p in parts))
        self.as_of_ = ts
        self.metrics_ = self._validation_metrics(first, best, valid, names)
        latest = _lgbm.align_features(parts[-1], names)
        self.reference_: Reference | None = population_reference(latest, self._raw(latest), self._prior(latest))
        # the BG/NBD models of the prediction features: fitted on everything before as_of
        self.btyd_params_: BTYDParams | None = (
            fit_btyd(summary_at(purchases, ts, time_unit=BTYD_TIME_UNIT), f"at as_of {ts.date()} ")
            if self.use_bgnbd_features else None
        )
        return self

    def _train(self, params: dict[str, Any], train: pd.DataFrame, valid: pd.DataFrame | None, names: list[str],
               rounds: int | None = None) -> lgb.Booster:
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

    def _label(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[self._target].to_numpy(dtype=np.float64)

    def _prior(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The BG/NBD prior on the booster's raw scale (boosting starts from it), or None."""
        if not (self.use_bgnbd_features and self.bgnbd_prior):
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

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        """Raw scores of the final booster (with its prior) for aligned feature rows."""
        return self._raw_scores(self.booster_, X)

    def _extra_features(self, prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame | None:
        """Hook: the subclass's own feature columns at ``cutoff`` (rows before it only), or None."""

    def _before_training(self, train: pd.DataFrame) -> None:
        """Hook: fit what the booster's prior needs, on the booster's training rows only."""

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
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(events, as_of=...) first")

    @fill_doc
    def features(self, events: Any, as_of: Any) -> pd.DataFrame:
        """The model's input features at ``as_of``, one row per existing customer.

        Aligned to ``feature_names_``: a column the model was not fitted on is dropped, a missing
        one is NaN.

        Parameters
        ----------
        {{events}}
        {{as_of}}

        Returns
        -------
        pandas.DataFrame
            float64 columns ``feature_names_``, indexed by ``customer_id`` (sorted).

        {{predict_raises}}
        """
        self._check_fitted()
        return self._features(as_events(events), parse_as_of(as_of))

    def _features(self, events: pd.DataFrame, ts: pd.Timestamp) -> pd.DataFrame:
        """The model's input features at ``ts`` from normalised events (see ``features``)."""
        self._check_fitted()
        windows = parse_windows(self.windows)
        prepared = prepare(events, ts)
        added = self._extra_features(prepared, ts)
        skip = set(BTYD_COLUMNS) | set(() if added is None else added.columns)
        base = [c for c in self.feature_names_ if c not in skip]
        kinds = types_from_columns(base, None, None, windows)
        X = features_from_prepared(prepared, ts, windows, event_types=kinds[0], feedback_types=kinds[1], columns=base)
        X = X if added is None else X.join(added.reindex(X.index))
        if self.btyd_params_ is not None:
            X = _lgbm.hybrid_features(X, purchase_rows(events), ts, parse_horizon(self.horizon), self.btyd_params_)
        return _lgbm.align_features(X, self.feature_names_)

    @fill_doc
    def predict(self, events: Any, as_of: Any) -> pd.DataFrame:
        """The forecast of every customer existing at ``as_of``, from the events before it.

        ``ChurnModel``: ``DataFrame[customer_id, churn_probability]``, the calibrated probability of
        no purchase in ``[as_of, as_of + horizon)`` (float64 in [0, 1]). ``CLTVModel``:
        ``DataFrame[customer_id, expected_value]``, the expected net spend in that window (float64
        >= 0, ``exp`` of the booster's raw score, in the currency of ``amount``).

        Parameters
        ----------
        {{events}}
        as_of
            Date-like prediction date; the features (and the BG/NBD and Gamma-Gamma features, with
            the parameters fitted in ``fit``) are computed from the events before it.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``, sorted by ``customer_id`` (str).

        {{predict_raises}}
        """
        self._check_fitted()
        return self._predict_trusted(as_events(events), parse_as_of(as_of))

    def _predict_trusted(self, events: pd.DataFrame, ts: pd.Timestamp) -> pd.DataFrame:
        """:meth:`predict` on normalised events."""
        X = self._features(events, ts)
        return pd.DataFrame(
            {Columns.CUSTOMER: X.index.to_numpy(), self._output_column: self._output(X)}
        ).astype({Columns.CUSTOMER: "str"})

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        """The forecast from aligned feature rows."""
        raise NotImplementedError

    def feature_importance(self, importance_type: str = "gain") -> pd.DataFrame:
        """``DataFrame[feature, importance]`` of the final booster, largest first.

        Parameters
        ----------
        importance_type
            ``"gain"`` (total gain of the splits on the feature) or ``"split"`` (their number).

        Returns
        -------
        pandas.DataFrame
            One row per feature, sorted by importance, largest first.
        """
        self._check_fitted()
        check_choice("importance_type", importance_type, ("gain", "split"))
        imp = self.booster_.feature_importance(importance_type=importance_type)
        out = pd.DataFrame({"feature": self.feature_names_, "importance": imp.astype(np.float64)})
        return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to directory ``path``: ``params.json`` (settings, as_of, features,
        metrics, BG/NBD parameters), ``model.txt`` (LightGBM text model) and ``.npz`` arrays.

        Parameters
        ----------
        path
            Directory to write (created when missing; files in it are overwritten).

        Returns
        -------
        pathlib.Path
            The directory.
        """
        self._check_fitted()
        return _persist.save_model(self, Path(path))

    def _save_extra(self, root: Path) -> None:
        """Hook: extra arrays (the calibrator)."""

    def _load_extra(self, root: Path) -> None:
        """Hook: read what :meth:`_save_extra` wrote."""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a model written by :meth:`save` (JSON, LightGBM text and npz; never a pickle).

        Parameters
        ----------
        path
            The directory :meth:`save` wrote.

        Returns
        -------
        SnapshotModel
            The fitted model, of this class.

        Raises
        ------
        BundleError
            Naming the file, when a file is missing or malformed or holds another class.
        """
        return _persist.restore(cls, Path(path))
