"""The linear prior's column specs: transforms, hinge knots, the time-validated L2 strength, and the
specs travelling with a saved ChurnModel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn._linear_prior import (
    C_GRID,
    LINEAR_PRIOR_COLUMNS,
    _choose_C,
    design,
    fit_linear_prior,
    hinge_specs,
    linear_prior,
    valid_specs,
)
from cxml.churn.churn_model import ChurnModel
from cxml.data.sample import generate_sample
from cxml.exceptions import BundleError
from cxml.schema import Columns


def _log_loss(y: np.ndarray, z: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def test_transforms_and_hinge_knots() -> None:
    frame = pd.DataFrame({"p": [0.5, 0.9], "days": [0.0, np.e ** 2 - 1], "v": [-3.0, 2.0]})
    Z = design(frame, ("logit:p", "log1p:days", "raw:v", "hinge:days:1.5"))
    np.testing.assert_allclose(Z, [[0.0, 0.0, -3.0, 0.0], [np.log(9.0), 2.0, 2.0, 0.5]], atol=1e-9)
    days = pd.DataFrame({"days": np.expm1(np.arange(101) / 10)})
    assert hinge_specs(days, "days", (0.25, 0.5)) == ("hinge:days:2.5", "hinge:days:5.0")


def test_a_hinge_captures_a_kink_the_default_columns_miss() -> None:
    rng = np.random.default_rng(0)
    n = 6000
    recency = np.expm1(rng.uniform(0, 6, n))
    frame = pd.DataFrame({"bg_p_no_purchase": rng.uniform(0.2, 0.8, n), "recency_days": recency,
                          "n_purchase_days": rng.integers(1, 9, n).astype(float),
                          "tenure_days": recency + rng.exponential(300.0, n)})
    # churn risk is flat below log1p(recency) = 3 and climbs steeply above it
    y = (rng.random(n) < 1 / (1 + np.exp(-(3.0 * np.maximum(np.log1p(recency) - 3.0, 0) - 1.0)))).astype(float)
    specs = (*LINEAR_PRIOR_COLUMNS, *hinge_specs(frame, "recency_days", (0.5,)))
    plain, kinked = fit_linear_prior(frame, y), fit_linear_prior(frame, y, specs)
    assert plain is not None and kinked is not None and kinked.shape == (3 * len(specs) + 1,)
    assert _log_loss(y, linear_prior(kinked, frame, specs)) < _log_loss(y, linear_prior(plain, frame)) - 0.01


def test_auto_strength_regularises_noise_and_needs_two_cutoffs() -> None:
    rng = np.random.default_rng(3)
    n_old, n_new, k = 60, 2000, 12
    noise = pd.DataFrame(rng.normal(size=(n_old + n_new, k)), columns=[f"c{i}" for i in range(k)])
    noise[Columns.CUTOFF] = np.r_[np.zeros(n_old), np.ones(n_new)]
    y = (rng.random(n_old + n_new) < 0.3).astype(float)  # the columns say nothing about y
    Z = noise[[f"c{i}" for i in range(k)]].to_numpy()
    assert _choose_C(noise, Z, y) <= 0.1 < max(C_GRID)
    assert _choose_C(noise.assign(**{Columns.CUTOFF: 0.0}), Z, y) == 1.0  # one cutoff: no validation rows
    specs = [f"raw:c{i}" for i in range(k)]
    assert fit_linear_prior(noise, y, specs, "auto") is not None


def test_valid_specs() -> None:
    assert valid_specs(LINEAR_PRIOR_COLUMNS) and valid_specs(("hinge:recency_days:3.25", "raw:x"))
    for bad in (("recency_days",), ("exp:x",), ("hinge:x",), ("hinge:x:abc",), ("log1p:x:2",)):
        assert not valid_specs(bad), bad


class _HingedChurn(ChurnModel):
    def _prior_specs(self, train: pd.DataFrame) -> tuple[str, ...]:
        return (*LINEAR_PRIOR_COLUMNS, *hinge_specs(train, "recency_days", (0.5,)))


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=300, n_items=30, random_state=2))


def test_specs_are_saved_with_the_model(events: pd.DataFrame, tmp_path) -> None:
    model = _HingedChurn(horizon="90D", n_snapshots=2, max_rounds=30).fit(events, as_of="2024-09-01")
    assert len(model.linear_prior_columns_) == 5 and model.linear_prior_columns_[-1].startswith("hinge:")
    loaded = _HingedChurn.load(model.save(tmp_path / "m"))
    assert loaded.linear_prior_columns_ == model.linear_prior_columns_
    pd.testing.assert_frame_equal(loaded.predict(events, "2024-09-01"), model.predict(events, "2024-09-01"))


def test_old_bundles_get_the_default_specs_and_bad_specs_are_refused(events: pd.DataFrame, tmp_path) -> None:
    model = ChurnModel(horizon="90D", n_snapshots=2, max_rounds=30).fit(events, as_of="2024-09-01")
    path = model.save(tmp_path / "m") / "calibrator.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(path, **{k: v for k, v in arrays.items() if k != "linear_prior_columns"})
    old = ChurnModel.load(tmp_path / "m")
    assert old.linear_prior_columns_ == LINEAR_PRIOR_COLUMNS
    pd.testing.assert_frame_equal(old.predict(events, "2024-09-01"), model.predict(events, "2024-09-01"))
    np.savez(path, **{**arrays, "linear_prior_columns": np.array(["exp:recency_days"] * 4)})
    with pytest.raises(BundleError, match="linear prior"):
        ChurnModel.load(tmp_path / "m")
