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
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from cxml._checks import check_choice, check_float
from cxml.churn import _lgbm
from cxml.churn import metrics as M
from cxml.churn._docs import fill_doc
from cxml.churn._explained import ExplainedModel
from cxml.churn._lgbm import finite_baselines
from cxml.exceptions import DataWarning, ParameterError
from cxml.features import FUTURE_VALUE
from cxml.schema import Columns

__all__ = ["CLTVModel"]

_OBJECTIVES = ("tweedie",)


@fill_doc
class CLTVModel(ExplainedModel):
    """Expected net spend of each customer in ``[as_of, as_of + horizon)``.

    Parameters
    ----------
    horizon
        Value window, e.g. ``"180D"``.
    objective
        ``"tweedie"`` (the only one implemented).
    tweedie_variance_power
        Tweedie power in (1, 2): closer to 1 = more mass at zero, closer to 2 = heavier tail.
    {{snapshot_settings}}

    With ``bgnbd_prior`` boosting starts from the log of the BG/NBD × Gamma-Gamma forecast.

    Attributes
    ----------
    booster_, feature_names_, best_iteration_, training_cutoffs_, as_of_ :
        As in ``ChurnModel``.
    metrics_ : dict
        Held-out metrics of the model and of the BG/NBD × Gamma-Gamma baseline.
    reference_ : dict or None
        The population the reasons compare with (the customers of the latest training snapshot:
        percentiles of every feature, the median raw score and prior); ``None`` for a model saved
        before references existed.

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

    _output_column = Columns.EXPECTED_VALUE
    _target = FUTURE_VALUE
    _prior_column = "bg_gg_expected_value"
    _both_classes = True  # a snapshot in which nobody bought has nothing to learn a value from

    def __init__(
        self,
        *,
        horizon: Any = "180D",
        objective: str = "tweedie",
        tweedie_variance_power: float = 1.3,
        **shared: Any,
    ) -> None:
        super().__init__(horizon=horizon, **shared)
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power

    def _objective(self) -> dict[str, Any]:
        return {
            "objective": "tweedie",
            "tweedie_variance_power": float(self.tweedie_variance_power),
            "metric": "tweedie",
        }

    def _check_settings(self) -> tuple[Any, Any, Any, int]:
        check_choice("objective", self.objective, _OBJECTIVES)
        power = check_float("tweedie_variance_power", self.tweedie_variance_power, minimum=1.0,
                            exclusive_minimum=True, maximum=2.0)
        if power == 2.0:  # the interval is open at both ends
            raise ParameterError("tweedie_variance_power=2.0 must be a finite number > 1 and < 2")
        return super()._check_settings()

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

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(np.exp(self._raw(X)))



def _quiet_cltv_metrics(actual: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        # decile MAPE skips bins without actual spend and warns; expected with many zero outcomes
        warnings.simplefilter("ignore", DataWarning)
        return M.cltv_metrics(actual, pred)
