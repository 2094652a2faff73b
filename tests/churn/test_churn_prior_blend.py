"""Issue 19 additions to ChurnModel: the linear prior, the blend with BG/NBD, Platt by default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn._calibration import blend_weight
from cxml.churn._linear_prior import LINEAR_PRIOR_COLUMNS, fit_linear_prior, linear_prior
from cxml.churn.churn_model import ChurnModel
from cxml.data.sample import generate_sample


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=400, n_items=30, random_state=5))


def _frame(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    recency = rng.exponential(60.0, n)
    frame = pd.DataFrame({"bg_p_no_purchase": rng.uniform(0.05, 0.95, n), "recency_days": recency,
                          "n_purchase_days": rng.integers(1, 20, n).astype(float),
                          "tenure_days": recency + rng.exponential(200.0, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(np.log1p(recency) - 4.0) * 2))).astype(float)
    return frame, y


def test_linear_prior_learns_the_signal_and_handles_missing_values() -> None:
    frame, y = _frame(4000, np.random.default_rng(0))
    packed = fit_linear_prior(frame, y)
    assert packed is not None and packed.shape == (3 * len(LINEAR_PRIOR_COLUMNS) + 1,)
    coef = packed[2 * len(LINEAR_PRIOR_COLUMNS):3 * len(LINEAR_PRIOR_COLUMNS)]
    assert coef[1] > 1.0 and abs(coef[0]) < 0.2  # recency drives it, the uniform noise does not
    frame.loc[frame.index[:5], "bg_p_no_purchase"] = np.nan
    logit = linear_prior(packed, frame)
    assert np.all(np.isfinite(logit))
    assert fit_linear_prior(frame, np.ones(len(frame))) is None  # one class: no prior


def test_blend_weight_follows_the_better_forecast() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.05, 0.95, 3000)
    y = (rng.random(3000) < truth).astype(float)
    noise_raw = rng.normal(0.0, 1.0, 3000)
    good_raw = np.log(truth / (1 - truth))
    assert blend_weight("sigmoid", noise_raw, y, truth, 0) <= 0.1  # the prior is the truth
    assert blend_weight("sigmoid", good_raw, y, np.full(3000, y.mean()), 0) >= 0.9  # the prior is flat
    assert blend_weight("sigmoid", good_raw[:10], y[:10], truth[:10], 0) == 1.0  # too few rows


def test_defaults_fit_save_and_load(events: pd.DataFrame, tmp_path) -> None:
    model = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of="2024-09-01")
    assert model.calibration == "sigmoid" and model.calibrator_[0] == "sigmoid"
    assert model.linear_prior_ is not None and 0.0 <= model.blend_weight_ <= 1.0
    assert any(c.startswith("rhythm_") for c in model.feature_names_)
    loaded = ChurnModel.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.linear_prior_, model.linear_prior_)
    assert loaded.blend_weight_ == model.blend_weight_
    pd.testing.assert_frame_equal(loaded.predict(events, "2024-09-01"), model.predict(events, "2024-09-01"))


def test_a_calibrator_file_without_the_new_arrays_loads_as_before(events: pd.DataFrame, tmp_path) -> None:
    model = ChurnModel(horizon="90D", n_snapshots=2, random_state=0, linear_prior=False, blend=False).fit(
        events, as_of="2024-09-01")
    root = model.save(tmp_path / "m")
    kind, x, y = model.calibrator_
    np.savez(root / "calibrator.npz", kind=np.array(kind), x=x, y=y)  # the round-2 layout
    loaded = ChurnModel.load(root)
    assert loaded.linear_prior_ is None and loaded.blend_weight_ == 1.0
    pd.testing.assert_frame_equal(loaded.predict(events, "2024-09-01"), model.predict(events, "2024-09-01"))


def test_malformed_blend_weight_is_a_bundle_error(events: pd.DataFrame, tmp_path) -> None:
    model = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of="2024-09-01")
    root = model.save(tmp_path / "m")
    kind, x, y = model.calibrator_
    np.savez(root / "calibrator.npz", kind=np.array(kind), x=x, y=y, blend=np.array([2.0]))
    with pytest.raises(cxml.BundleError, match="blend weight"):
        ChurnModel.load(root)
