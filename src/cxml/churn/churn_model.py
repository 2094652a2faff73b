"""``ChurnModel``: calibrated LightGBM churn risk on point-in-time hybrid features.

How ``fit(events, as_of=T)`` trains (only events before ``T`` are read; a later timestamp only
tells that the data reach ``T``):

1. Snapshots at cutoffs ``T − horizon``, ``T − horizon − step``, ... (``n_snapshots`` of them, the
   label window of each ends by ``T``). Features of a cutoff are the
   :func:`cxml.features.customer_features` columns plus BG/NBD and Gamma-Gamma outputs from models
   fitted on the purchases *before that cutoff* (P(alive), expected purchases and P(no purchase) in
   the horizon, expected order value, BG/NBD × Gamma-Gamma value) — a hybrid that is strictly
   point-in-time at every cutoff.
   With ``rhythm_features=True`` (default) the columns of :mod:`cxml.features.rhythm` are added:
   the current gap relative to the customer's own gaps (÷ median, ÷ longest, its log-probability
   under the customer's shrunk exponential gap law), the latest gap's trend, recent and same-season
   activity, weekday regularity.
2. With ``bgnbd_prior=True`` (default) boosting starts from BG/NBD's answer: each row's initial
   score is the logit of its P(no purchase in the horizon), so the trees learn corrections to the
   probabilistic model. With ``linear_prior=True`` (default) that start is refined by a logistic
   regression on the BG/NBD logit, log recency, log purchase days and log tenure, fitted on the
   booster's training rows (:mod:`cxml.churn._linear_prior`): on small or BG/NBD-like data, such as
   CDNOW, few tree corrections survive early stopping and these four coefficients are the margin.
3. ``held_out_fraction`` (30 %) of the customers of the latest snapshot are held out; LightGBM
   (small, regularised trees by default: :data:`cxml.churn._lgbm.SMALL_TREES`) trains on the older
   snapshots plus the other 70 % of the latest one, stops early on the held-out customers
   (validation ROC-AUC, which a base-rate shift between snapshots does not disturb), and a
   calibrator — Platt (``"sigmoid"``) by default, or centred isotonic — maps the raw log-odds to
   probabilities on those same held-out customers. With ``blend=True`` the calibrated probability
   is then mixed with BG/NBD's P(no purchase), ``w · model + (1 − w) · BG/NBD``, ``w`` on a grid of
   0.05 with the least held-out log-loss, cross-fitted (each half of the held-out customers is
   scored by a calibrator fitted on the other half). ``is_unbalance`` is refused: reweighting the
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

from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml._checks import check_bool, check_choice
from cxml._params import keep_init_args
from cxml.churn import _lgbm, _persist
from cxml.churn import metrics as M
from cxml.churn._calibration import apply_calibrator, blend_weight, fit_calibrator, load_blend_weight
from cxml.churn._docs import fill_doc
from cxml.churn._explained import ExplainedModel
from cxml.churn._lgbm import finite_baselines
from cxml.churn._linear_prior import (
    LINEAR_PRIOR_COLUMNS,
    clipped_logit,
    fit_linear_prior,
    linear_prior,
    valid_packed,
    valid_specs,
)
from cxml.exceptions import BundleError
from cxml.features import CHURNED
from cxml.features._base import Prepared
from cxml.features.rhythm import rhythm_frame
from cxml.schema import Columns

__all__ = ["ChurnModel"]

_CALIBRATIONS = ("isotonic", "sigmoid", None)


@fill_doc
class ChurnModel(ExplainedModel):
    """Probability that a customer makes no purchase in ``[as_of, as_of + horizon)``.

    Parameters
    ----------
    horizon
        Churn window, e.g. ``"90D"``.
    calibration
        ``"sigmoid"`` (Platt), ``"isotonic"`` (centred isotonic) or ``None`` (the booster's own sigmoid).
    rhythm_features
        Add the customer-rhythm columns of :mod:`cxml.features.rhythm`.
    linear_prior
        Boost from a logistic regression on the BG/NBD logit and log recency, purchase days and
        tenure instead of the BG/NBD logit alone (needs ``use_bgnbd_features`` and ``bgnbd_prior``).
    blend
        Mix the calibrated probability with BG/NBD's P(no purchase) by the held-out weight
        ``blend_weight_`` (1.0 = model only).
    {{snapshot_settings}}

    With ``bgnbd_prior`` boosting starts from the logit of BG/NBD's P(no purchase); with ``refit``
    the calibrator is not refitted.

    Attributes
    ----------
    booster_, feature_names_, best_iteration_, training_cutoffs_, as_of_ :
        The final LightGBM booster, its inputs, its rounds, the cutoffs it trained on and ``as_of``.
    metrics_ : dict
        Held-out snapshot metrics of the model and of the baselines (recency, BG/NBD scores).
        The calibrator is fitted on that same snapshot, so its Brier score there is optimistic.
    linear_prior_ : numpy.ndarray or None
        The fitted linear prior (``None``: BG/NBD's logit, or no prior).
    linear_prior_columns_ : tuple of str
        Its column specs (``"transform:column"``, :mod:`cxml.churn._linear_prior`), saved with it.
    blend_weight_ : float
        The model's weight in the blend with BG/NBD's probability (1.0 without ``blend``).
    {{reference_attribute}}

    {{sample_example}}
    >>> model = ChurnModel(horizon="90D", n_snapshots=2, use_bgnbd_features=False).fit(
    ...     ev, as_of="2024-09-01")
    >>> risk = model.predict(ev, as_of="2024-09-01")
    >>> risk.columns.tolist(), bool(risk["churn_probability"].between(0, 1).all())
    (['customer_id', 'churn_probability'], True)
    """

    _output_column = Columns.CHURN_PROBABILITY
    _target = CHURNED
    _prior_column = "bg_p_no_purchase"
    _both_classes = True
    #: smaller, more regularised trees than CLTVModel's: they won on every backtested shop (issue 19)
    _lgbm_defaults = {**_lgbm.LGBM_DEFAULTS, **_lgbm.SMALL_TREES}
    #: inverse L2 strength of the linear prior's logistic regression
    _prior_C: ClassVar[float | str] = 1.0

    def __init__(
        self,
        *,
        horizon: Any = "90D",
        calibration: str | None = "sigmoid",
        rhythm_features: bool = True,
        linear_prior: bool = True,
        blend: bool = True,
        **shared: Any,
    ) -> None:
        super().__init__(horizon=horizon, **shared)
        keep_init_args(self, locals())

    def _objective(self) -> dict[str, Any]:
        return {"objective": "binary", "metric": "auc"}

    def _check_settings(self) -> tuple[Any, Any, Any, int]:
        check_choice("calibration", self.calibration, _CALIBRATIONS)
        check_bool("rhythm_features", self.rhythm_features)
        check_bool("linear_prior", self.linear_prior)
        check_bool("blend", self.blend)
        return super()._check_settings()

    def _extra_features(self, prepared: Prepared, cutoff: pd.Timestamp) -> pd.DataFrame | None:
        return rhythm_frame(prepared, cutoff) if self.rhythm_features else None

    def _before_training(self, train: pd.DataFrame) -> None:
        use = self.linear_prior and self.use_bgnbd_features and self.bgnbd_prior
        specs = self._prior_specs(train)
        self.linear_prior_columns_ = specs
        self.linear_prior_ = fit_linear_prior(train, self._label(train), specs, self._prior_C) if use else None

    def _prior(self, frame: pd.DataFrame) -> np.ndarray | None:
        packed = getattr(self, "linear_prior_", None)
        if packed is None or not (self.use_bgnbd_features and self.bgnbd_prior):
            return super()._prior(frame)
        return linear_prior(packed, frame, getattr(self, "linear_prior_columns_", LINEAR_PRIOR_COLUMNS))

    def _prior_specs(self, train: pd.DataFrame) -> tuple[str, ...]:
        """Hook: the linear prior's column specs (:mod:`cxml.churn._linear_prior`) for ``train``."""
        return LINEAR_PRIOR_COLUMNS

    def _link(self, value: np.ndarray) -> np.ndarray:
        return clipped_logit(value)  # a BG/NBD probability of exactly 0 or 1 stays finite

    def _after_validation(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> None:
        raw = np.asarray(self._raw_scores(booster, _lgbm.align_features(valid, names), best))
        y = self._label(valid)
        self.calibrator_ = fit_calibrator(self.calibration, raw, y)
        prior = _prior_probability(valid)
        self.blend_weight_ = (
            blend_weight(self.calibration, raw, y, prior, int(self.random_state or 0))
            if self.blend and prior is not None else 1.0
        )

    def _validation_metrics(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> dict[str, Any]:
        raw = self._raw_scores(booster, _lgbm.align_features(valid, names), best)
        y = self._label(valid)
        p = _blended(apply_calibrator(self.calibrator_, raw), _prior_probability(valid), self.blend_weight_)
        out: dict[str, Any] = {"model": M.churn_metrics(y, p), "blend_weight": self.blend_weight_}
        scores = {"recency": valid["recency_days"].to_numpy(dtype=np.float64)}
        if "bg_p_alive" in valid.columns:
            scores["bgnbd_neg_expected_purchases"] = -valid["bg_expected_purchases"].to_numpy(dtype=np.float64)
            scores["bgnbd_p_no_purchase"] = valid["bg_p_no_purchase"].to_numpy(dtype=np.float64)
            scores["bgnbd_1_minus_p_alive"] = 1.0 - valid["bg_p_alive"].to_numpy(dtype=np.float64)
        scores = finite_baselines(scores)
        out["baselines"] = {
            k: {"roc_auc": M.roc_auc(y, s), "pr_auc": M.pr_auc(y, s)} for k, s in scores.items()
        }
        out["cutoff"] = valid[Columns.CUTOFF].iloc[0].isoformat()
        out["n"] = len(valid)
        return out

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        p = apply_calibrator(self.calibrator_, self._raw(X))
        return _blended(p, _prior_probability(X), getattr(self, "blend_weight_", 1.0))

    def _save_extra(self, root: Path) -> None:
        kind, x, y = self.calibrator_
        prior = np.zeros(0) if self.linear_prior_ is None else self.linear_prior_
        specs = getattr(self, "linear_prior_columns_", LINEAR_PRIOR_COLUMNS)
        np.savez(root / "calibrator.npz", kind=np.array(kind), x=x, y=y,
                 blend=np.array([self.blend_weight_], dtype=np.float64), linear_prior=prior,
                 linear_prior_columns=np.array(specs, dtype=str))

    def _load_extra(self, root: Path) -> None:
        path = root / "calibrator.npz"
        arrays = _persist.load_arrays(path, ("kind", "x", "y"))
        kind, x, y = arrays["kind"], arrays["x"], arrays["y"]
        ok = kind.shape == () and kind.dtype.kind == "U" and str(kind) in ("none", "sigmoid", "isotonic")
        ok = ok and all(a.ndim == 1 and a.dtype.kind == "f" for a in (x, y)) and x.shape == y.shape
        if not ok:
            raise BundleError(f"{str(path)!r} does not hold a calibrator (kind, x, y float arrays of one length)")
        self.calibrator_ = (str(kind), x.astype(np.float64), y.astype(np.float64))
        self.blend_weight_ = load_blend_weight(path)
        self.linear_prior_columns_, self.linear_prior_ = _load_linear_prior(path)


def _prior_probability(frame: pd.DataFrame) -> np.ndarray | None:
    """BG/NBD's P(no purchase in the horizon) of each row, or None without the BG/NBD features."""
    if "bg_p_no_purchase" not in frame.columns:
        return None
    return frame["bg_p_no_purchase"].to_numpy(dtype=np.float64)


def _blended(p: np.ndarray, prior: np.ndarray | None, weight: float) -> np.ndarray:
    """``weight · p + (1 − weight) · prior``; ``p`` itself where the prior is missing."""
    p = np.asarray(p, dtype=np.float64)
    if prior is None or weight >= 1.0:
        return p
    return np.where(np.isfinite(prior), weight * p + (1.0 - weight) * np.nan_to_num(prior), p)


def _load_linear_prior(path: Path) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The linear prior's column specs and packed array (None: BG/NBD's own prior or none) stored
    beside the calibrator; a model saved before the specs were stored has the default ones."""
    with np.load(path, allow_pickle=False) as z:
        packed = z["linear_prior"] if "linear_prior" in z.files else np.zeros(0)
        specs = z["linear_prior_columns"] if "linear_prior_columns" in z.files else np.array(LINEAR_PRIOR_COLUMNS)
    names = tuple(str(s) for s in specs.tolist()) if specs.ndim == 1 and specs.dtype.kind == "U" else ()
    if not names or not valid_specs(names) or not valid_packed(packed, len(names)):
        raise BundleError(f"{str(path)!r} holds a malformed linear prior (columns {specs.tolist()!r}, "
                          f"array shape {packed.shape}, {packed.dtype})")
    return names, (packed.astype(np.float64) if len(packed) else None)
