"""``ChurnModel``: calibrated LightGBM churn risk on point-in-time hybrid features.

How ``fit(events, as_of=T)`` trains (only events before ``T`` are read; a later timestamp only
tells that the data reach ``T``):

1. Snapshots at cutoffs ``T − horizon``, ``T − horizon − step``, ... (``n_snapshots`` of them, the
   label window of each ends by ``T``). Features of a cutoff are the
   :func:`cxml.features.customer_features` columns plus BG/NBD and Gamma-Gamma outputs from models
   fitted on the purchases *before that cutoff* (P(alive), expected purchases and P(no purchase) in
   the horizon, expected order value, BG/NBD × Gamma-Gamma value) — a hybrid that is strictly
   point-in-time at every cutoff.
2. With ``bgnbd_prior=True`` (default) boosting starts from BG/NBD's answer: each row's initial
   score is the logit of its P(no purchase in the horizon), so the trees learn corrections to the
   probabilistic model (on small or BG/NBD-like data, such as CDNOW, few corrections survive early
   stopping and the model stays close to BG/NBD; on richer data the corrections add up).
3. ``held_out_fraction`` (30 %) of the customers of the latest snapshot are held out; LightGBM
   trains on the older snapshots plus the other 70 % of the latest one, stops early on the held-out
   customers (validation ROC-AUC, which a base-rate shift between snapshots does not disturb), and a
   calibrator — centred isotonic by default, or Platt (``"sigmoid"``) — maps the raw log-odds to
   probabilities on those same held-out customers. ``is_unbalance`` is refused: reweighting the
   classes would distort the probabilities.
4. ``refit=True`` retrains on every snapshot for the early-stopped number of rounds (the calibrator
   of step 3 is kept, so it is then only approximately right); off by default.

Only events before ``as_of`` shape the features at prediction time too, and the BG/NBD and
Gamma-Gamma parameters used there are fitted once, in ``fit``, on all purchases before the fit's
``as_of`` (stored in ``btyd_params_`` and saved as JSON).

Examples
--------
>>> from cxml.churn.churn_model import ChurnModel
>>> ChurnModel(horizon="30D").get_params()["horizon"]
'30D'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from cxml.churn import _lgbm
from cxml.churn import metrics as M
from cxml.churn.summary import rfm_summary
from cxml.exceptions import (
    BundleError,
    InsufficientDataError,
    NotFittedError,
    SchemaError,
    UnknownIdError,
)
from cxml.features import CHURNED, DEFAULT_WINDOWS, customer_features
from cxml.schema import Columns, parse_as_of, parse_horizon, validate_events

__all__ = ["ChurnModel"]

_BIAS = "__bias__"
_PRIOR = "__bgnbd_prior__"


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


class ChurnModel(SnapshotModel):
    """Probability that a customer makes no purchase in ``[as_of, as_of + horizon)``.

    Parameters
    ----------
    horizon
        Churn window, e.g. ``"90D"``.
    n_snapshots
        Training snapshots (cutoffs stepping back from ``as_of − horizon``); cutoffs on or before
        the first purchase in the data are skipped with a :class:`cxml.DataWarning`.
    snapshot_step
        Distance between cutoffs (default: ``horizon``).
    windows
        Look-back windows of the customer features.
    lgbm_params
        Overrides of the LightGBM parameters (``learning_rate``, ``num_leaves`` ...). The seed,
        threads and determinism settings always come from ``random_state``/``n_jobs``.
    calibration
        ``"isotonic"``, ``"sigmoid"`` (Platt) or ``None`` (the booster's own sigmoid).
    use_bgnbd_features
        Add the point-in-time BG/NBD and Gamma-Gamma features (the hybrid model).
    bgnbd_prior
        Start boosting from the logit of BG/NBD's P(no purchase) (needs ``use_bgnbd_features``).
    held_out_fraction
        Share of the latest snapshot's customers held out for early stopping and calibration.
    refit
        Retrain on all snapshots, including the held-out customers, for the early-stopped number
        of rounds (the calibrator is not refitted).
    max_rounds, early_stopping_rounds
        Boosting round limit and patience on the held-out snapshot.
    random_state, n_jobs
        LightGBM seed and threads; the same seed gives identical predictions.

    Attributes
    ----------
    booster_, feature_names_, best_iteration_, training_cutoffs_, as_of_ :
        The final LightGBM booster, its inputs, its rounds, the cutoffs it trained on and ``as_of``.
    metrics_ : dict
        Held-out snapshot metrics of the model and of the baselines (recency, BG/NBD scores).
        The calibrator is fitted on that same snapshot, so its Brier score there is optimistic.

    Examples
    --------
    >>> import cxml
    >>> from cxml.data.sample import generate_sample
    >>> ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))
    >>> model = ChurnModel(horizon="90D", n_snapshots=2, use_bgnbd_features=False).fit(
    ...     ev, as_of="2024-09-01")
    >>> risk = model.predict(ev, as_of="2024-09-01")
    >>> risk.columns.tolist(), bool(risk["churn_probability"].between(0, 1).all())
    (['customer_id', 'churn_probability'], True)
    """

    _target = CHURNED
    _prior_column = "bg_p_no_purchase"
    _base_params: ClassVar[dict[str, Any]] = {
        "objective": "binary",
        "metric": "auc",
        "learning_rate": 0.03,
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
    }
    _both_classes = True

    def __init__(
        self,
        *,
        horizon: Any = "90D",
        n_snapshots: int = 4,
        snapshot_step: Any = None,
        windows: Sequence[Any] = DEFAULT_WINDOWS,
        lgbm_params: dict[str, Any] | None = None,
        calibration: str | None = "isotonic",
        use_bgnbd_features: bool = True,
        bgnbd_prior: bool = True,
        held_out_fraction: float = 0.3,
        refit: bool = False,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.horizon = horizon
        self.n_snapshots = n_snapshots
        self.snapshot_step = snapshot_step
        self.windows = windows
        self.lgbm_params = lgbm_params
        self.calibration = calibration
        self.use_bgnbd_features = use_bgnbd_features
        self.bgnbd_prior = bgnbd_prior
        self.held_out_fraction = held_out_fraction
        self.refit = refit
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_settings(self) -> None:
        super()._check_settings()
        if self.calibration not in ("isotonic", "sigmoid", None):
            raise SchemaError(
                f"calibration={self.calibration!r}; expected 'isotonic', 'sigmoid' or None"
            )

    def _link(self, value: np.ndarray) -> np.ndarray:
        # logit, clipped so that a BG/NBD probability of exactly 0 or 1 stays finite
        p = np.clip(value, 1e-6, 1 - 1e-6)
        return np.asarray(np.log(p) - np.log1p(-p))

    def _after_validation(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> None:
        raw = self._raw_scores(booster, _lgbm.align_features(valid, names), best)
        self.calibrator_ = fit_calibrator(self.calibration, np.asarray(raw), self._label(valid))

    def _validation_metrics(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> dict[str, Any]:
        raw = self._raw_scores(booster, _lgbm.align_features(valid, names), best)
        y = self._label(valid)
        out: dict[str, Any] = {"model": M.churn_metrics(y, apply_calibrator(self.calibrator_, raw))}
        scores = {"recency": valid["recency_days"].to_numpy(dtype=np.float64)}
        if "bg_p_alive" in valid.columns and valid["bg_p_alive"].notna().all():
            scores["bgnbd_neg_expected_purchases"] = -valid["bg_expected_purchases"].to_numpy()
            scores["bgnbd_p_no_purchase"] = valid["bg_p_no_purchase"].to_numpy()
            scores["bgnbd_1_minus_p_alive"] = 1.0 - valid["bg_p_alive"].to_numpy()
        out["baselines"] = {
            k: {"roc_auc": M.roc_auc(y, s), "pr_auc": M.pr_auc(y, s)} for k, s in scores.items()
        }
        out["cutoff"] = valid[Columns.CUTOFF].iloc[0].isoformat()
        out["n"] = len(valid)
        return out

    def predict(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """``DataFrame[customer_id, churn_probability]`` for every customer existing at ``as_of``.

        Only events before ``as_of`` are used.
        """
        X = self.features(events, as_of)
        proba = apply_calibrator(self.calibrator_, self._raw(X))
        return pd.DataFrame(
            {Columns.CUSTOMER: X.index.to_numpy(), Columns.CHURN_PROBABILITY: proba}
        ).astype({Columns.CUSTOMER: "str"})

    def explain(
        self,
        events: pd.DataFrame,
        as_of: Any,
        customers: Sequence[Any] | None = None,
        top_n: int | None = None,
    ) -> pd.DataFrame:
        """Per-customer feature contributions (LightGBM ``pred_contrib``, TreeSHAP).

        Contributions are in **log-odds of the uncalibrated booster**, not in probability: per
        customer, the feature contributions plus the ``"__bias__"`` row (the booster's expected
        log-odds; its ``value`` is NaN) and, with ``bgnbd_prior=True``, the ``"__bgnbd_prior__"``
        row (the logit of BG/NBD's P(no purchase) that boosting started from; ``value`` is that
        probability) sum to the raw log-odds that the calibrator turns into ``churn_probability``.
        Rows are sorted by ``|contribution|`` within each customer, those two rows last; ``top_n``
        keeps the largest ``top_n`` feature rows per customer (plus those two rows).

        Returns ``DataFrame[customer_id, feature, value, contribution]``; customers in the order
        given (default: all existing customers, sorted). Unknown or non-existing customers raise
        :class:`cxml.UnknownIdError`.
        """
        X = self.features(events, as_of)
        if customers is not None:
            wanted = pd.Index([str(c) for c in customers])
            missing = wanted[~wanted.isin(X.index)]
            if len(missing):
                raise UnknownIdError(
                    f"{len(missing)} customers have no purchase before as_of={as_of} "
                    f"(first: {missing[0]!r}); expected customers that exist at as_of"
                )
            X = X.loc[wanted]
        if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
            raise SchemaError(f"top_n={top_n!r} must be a positive integer or None")
        n, k = X.shape
        contrib = (
            np.asarray(self.booster_.predict(X, pred_contrib=True)) if n else np.zeros((0, k + 1))
        )
        pos = np.repeat(np.arange(n), k)
        c = contrib[:, :k].ravel()
        order = np.lexsort((-np.abs(c), pos))
        feats = pd.DataFrame(
            {
                Columns.CUSTOMER: np.repeat(X.index.to_numpy(), k)[order],
                "feature": np.tile(np.asarray(self.feature_names_, dtype=object), n)[order],
                "value": X.to_numpy().ravel()[order],
                "contribution": c[order],
                "_pos": pos[order],
            }
        )
        if top_n is not None:
            feats = feats.loc[feats.groupby("_pos").cumcount().to_numpy() < top_n]
        bias = pd.DataFrame(
            {
                Columns.CUSTOMER: X.index.to_numpy(),
                "feature": _BIAS,
                "value": np.nan,
                "contribution": contrib[:, k],
                "_pos": np.arange(n),
            }
        )
        extra = [bias]
        prior = self._prior(X)
        if prior is not None:
            extra.append(
                pd.DataFrame(
                    {
                        Columns.CUSTOMER: X.index.to_numpy(),
                        "feature": _PRIOR,
                        "value": X[self._prior_column].to_numpy(),
                        "contribution": prior,
                        "_pos": np.arange(n),
                    }
                )
            )
        out = pd.concat([feats, *extra], ignore_index=True).sort_values("_pos", kind="stable")
        return out.drop(columns="_pos").reset_index(drop=True).astype(
            {Columns.CUSTOMER: "str", "feature": "str"}
        )

    def _save_extra(self, root: Path) -> None:
        kind, x, y = self.calibrator_
        np.savez(root / "calibrator.npz", kind=np.array(kind), x=x, y=y)

    def _load_extra(self, root: Path) -> None:
        path = root / "calibrator.npz"
        if not path.is_file():
            raise BundleError(f"{str(path)!r} is missing")
        with np.load(path, allow_pickle=False) as z:
            self.calibrator_ = (str(z["kind"]), z["x"].copy(), z["y"].copy())


Calibrator = tuple[str, np.ndarray, np.ndarray]


def fit_calibrator(method: str | None, raw: np.ndarray, y: np.ndarray) -> Calibrator:
    """Map raw log-odds to probabilities: isotonic (interpolation knots), Platt (slope/intercept)."""
    if method is None:
        return ("none", np.zeros(0), np.zeros(0))
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y.astype(int))
        return ("sigmoid", np.array([float(lr.coef_[0, 0])]), np.array([float(lr.intercept_[0])]))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    # Centred isotonic regression (Oron & Flournoy 2017): knots at the mean score of each PAV block
    # instead of a step function, so the map is strictly increasing between the first and last block
    # centres and keeps the booster's ranking (a step function ties whole blocks and costs ROC-AUC).
    fitted = iso.predict(raw)
    order = np.argsort(raw, kind="stable")
    xs, ys = raw[order], fitted[order]
    starts = np.flatnonzero(np.r_[True, ys[1:] != ys[:-1]])
    sizes = np.diff(np.r_[starts, len(xs)])
    centres = np.add.reduceat(xs, starts) / sizes
    return ("isotonic", centres.astype(np.float64), ys[starts].astype(np.float64))


def apply_calibrator(cal: Calibrator, raw: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] from raw log-odds (the same maths before and after ``load``)."""
    kind, x, y = cal
    raw = np.asarray(raw, dtype=np.float64)
    if kind == "none":
        return np.asarray(expit(raw))
    if kind == "sigmoid":
        return np.asarray(expit(x[0] * raw + y[0]))
    return _centred_isotonic(raw, x, y)


def _centred_isotonic(raw: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear between the block centres; beyond the end centres an exponential approach to 0 / 1
    whose slope matches the end segment, so the whole map stays strictly increasing and in [0, 1]."""
    p = np.interp(raw, x, y)
    if len(x) < 2:
        return np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        below, above = raw < x[0], raw > x[-1]
        if y[0] > 0 and np.any(below):
            p[below] = y[0] * np.exp(lo_slope / y[0] * (raw[below] - x[0]))
        if y[-1] < 1 and np.any(above):
            p[above] = 1.0 - (1.0 - y[-1]) * np.exp(-hi_slope / (1.0 - y[-1]) * (raw[above] - x[-1]))
    return np.clip(p, 0.0, 1.0)
