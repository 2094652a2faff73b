"""``CLTVModel``: expected net spend in ``[as_of, as_of + horizon)`` with a LightGBM Tweedie model.

Training follows :class:`~cxml.churn.churn_model.ChurnModel`: labelled snapshots at cutoffs whose
label windows end by ``as_of``, point-in-time hybrid features (customer features plus BG/NBD and
Gamma-Gamma outputs fitted before each cutoff), early stopping on held-out customers of the latest
snapshot. The target is :func:`cxml.features.future_value` (net spend in the window, refunds
included, clipped at 0), whose many exact zeros and long right tail are what a Tweedie (compound
Poisson-gamma) objective with a log link describes; predictions ``exp(raw score)`` are > 0.

With ``bgnbd_prior=True`` (default) boosting starts from the BG/NBD × Gamma-Gamma forecast of each
customer (``log`` of it as the initial score), so the trees learn corrections to the probabilistic
model rather than the whole value from scratch.

Examples
--------
>>> from cxml.churn.cltv_model import CLTVModel
>>> CLTVModel(horizon="180D").get_params()["objective"]
'tweedie'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml.churn import _lgbm
from cxml.churn import metrics as M
from cxml.churn._snapshot import SnapshotModel, finite_baselines
from cxml.exceptions import DataWarning, SchemaError
from cxml.features import DEFAULT_WINDOWS, FUTURE_VALUE
from cxml.schema import Columns

__all__ = ["CLTVModel"]

_OBJECTIVES = ("tweedie",)


class CLTVModel(SnapshotModel):
    """Expected net spend of each customer in ``[as_of, as_of + horizon)``.

    Parameters
    ----------
    horizon
        Value window, e.g. ``"180D"``.
    objective
        ``"tweedie"`` (the only one implemented).
    tweedie_variance_power
        Tweedie power in (1, 2): closer to 1 = more mass at zero, closer to 2 = heavier tail.
    n_snapshots, snapshot_step, windows, lgbm_params, use_bgnbd_features, bgnbd_prior,
    held_out_fraction, refit, max_rounds, early_stopping_rounds, random_state, n_jobs
        As in :class:`~cxml.churn.churn_model.ChurnModel`.

    Attributes
    ----------
    booster_, feature_names_, best_iteration_, training_cutoffs_, as_of_ :
        As in ``ChurnModel``.
    metrics_ : dict
        Held-out metrics of the model and of the BG/NBD × Gamma-Gamma baseline.

    Examples
    --------
    >>> import cxml
    >>> from cxml.data.sample import generate_sample
    >>> ev = cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=0))
    >>> model = CLTVModel(horizon="90D", n_snapshots=2, use_bgnbd_features=False).fit(
    ...     ev, as_of="2024-09-01")
    >>> value = model.predict(ev, as_of="2024-09-01")
    >>> value.columns.tolist(), bool((value["expected_value"] >= 0).all())
    (['customer_id', 'expected_value'], True)
    """

    _target = FUTURE_VALUE
    _prior_column = "bg_gg_expected_value"
    _both_classes = True  # a snapshot in which nobody bought has nothing to learn a value from

    def __init__(
        self,
        *,
        horizon: Any = "180D",
        objective: str = "tweedie",
        tweedie_variance_power: float = 1.3,
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
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.horizon = horizon
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power
        self.n_snapshots = n_snapshots
        self.snapshot_step = snapshot_step
        self.windows = windows
        self.lgbm_params = lgbm_params
        self.use_bgnbd_features = use_bgnbd_features
        self.bgnbd_prior = bgnbd_prior
        self.held_out_fraction = held_out_fraction
        self.refit = refit
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lgbm_base(self) -> dict[str, Any]:
        return {
            "objective": "tweedie",
            "tweedie_variance_power": float(self.tweedie_variance_power),
            "metric": "tweedie",
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_data_in_leaf": 50,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
        }

    def _check_settings(self) -> None:
        super()._check_settings()
        if self.objective not in _OBJECTIVES:
            raise SchemaError(f"objective={self.objective!r}; expected one of {list(_OBJECTIVES)}")
        power = self.tweedie_variance_power
        if isinstance(power, bool) or not isinstance(power, int | float) or not 1 < power < 2:
            raise SchemaError(f"tweedie_variance_power={power!r} must be a number in (1, 2)")

    def _link(self, value: np.ndarray) -> np.ndarray:
        # a BG/NBD x GG forecast is > 0 by construction; the floor only guards log(0)
        return np.asarray(np.log(np.maximum(value, 1e-3)))

    def _validation_metrics(
        self, booster: lgb.Booster, best: int, valid: pd.DataFrame, names: list[str]
    ) -> dict[str, Any]:
        X = _lgbm.align_features(valid, names)
        actual = self._label(valid)
        out: dict[str, Any] = {
            "model": _quiet_cltv_metrics(actual, np.exp(self._raw_scores(booster, X, best))),
            "baselines": {},
            "cutoff": valid[Columns.CUTOFF].iloc[0].isoformat(),
            "n": len(valid),
        }
        if "bg_gg_expected_value" in valid.columns:
            scores = finite_baselines({"bgnbd_gamma_gamma": valid["bg_gg_expected_value"].to_numpy(dtype=np.float64)})
            out["baselines"].update({k: _quiet_cltv_metrics(actual, v) for k, v in scores.items()})
        return out

    def predict(self, events: pd.DataFrame, as_of: Any) -> pd.DataFrame:
        """``DataFrame[customer_id, expected_value]`` (>= 0) for every customer existing at ``as_of``.

        Only events before ``as_of`` are used.

        Parameters
        ----------
        events
            Canonical events table (:func:`cxml.load_events`).
        as_of
            Date-like prediction date; the features (and the BG/NBD and Gamma-Gamma features, with
            the parameters fitted in ``fit``) are computed from the events before it.

        Returns
        -------
        pandas.DataFrame
            One row per customer with a purchase before ``as_of``, sorted by ``customer_id`` (str);
            ``expected_value`` (float64, ``exp`` of the booster's raw score) is the expected net
            spend in ``[as_of, as_of + horizon)``, in the currency of ``amount``.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        SchemaError
            When ``events`` is not a canonical events table or ``as_of`` is not a date.
        """
        X = self.features(events, as_of)
        value = np.exp(self._raw(X))
        return pd.DataFrame(
            {Columns.CUSTOMER: X.index.to_numpy(), Columns.EXPECTED_VALUE: value}
        ).astype({Columns.CUSTOMER: "str"})


def _quiet_cltv_metrics(actual: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        # decile MAPE skips bins without actual spend and warns; expected with many zero outcomes
        warnings.simplefilter("ignore", DataWarning)
        return M.cltv_metrics(actual, pred)
