"""Leakage control (issue 19): a ChurnModel trained on shuffled labels ranks the next window at chance.

If any feature carried information from the label window, trees fitted on labels that have been
shuffled among the customers could still rank the future better than chance through that leak; a
model that only sees the past cannot. The same model on the real labels is the positive control
(it shows the check can fail).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import cxml
from cxml.churn import metrics as M
from cxml.churn.churn_model import ChurnModel
from cxml.features import churn_labels

AS_OF = "1997-10-01"
SETTINGS = {"horizon": "90D", "n_snapshots": 2, "bgnbd_prior": False, "blend": False, "calibration": "sigmoid",
            "random_state": 0}


class ShuffledLabels(ChurnModel):
    """A ChurnModel whose training and held-out labels are permuted among the customers."""

    def _label(self, frame: pd.DataFrame) -> np.ndarray:
        y = super()._label(frame)
        return np.random.default_rng(len(y)).permutation(y)


def _next_window_auc(model: ChurnModel, events: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        model.fit(events, as_of=AS_OF)
    risk = model.predict(events, as_of=AS_OF).set_index("customer_id")["churn_probability"]
    truth = churn_labels(events, AS_OF, "90D").reindex(risk.index).to_numpy(dtype=np.float64)
    return M.roc_auc(truth, risk.to_numpy())


def test_shuffled_labels_give_chance_auc(cdnow_events: pd.DataFrame) -> None:
    auc = _next_window_auc(ShuffledLabels(**SETTINGS), cdnow_events)
    assert 0.44 < auc < 0.56, auc


def test_real_labels_are_the_positive_control(cdnow_events: pd.DataFrame) -> None:
    assert _next_window_auc(ChurnModel(**SETTINGS), cdnow_events) > 0.75
