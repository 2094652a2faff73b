"""CLTVModel: fit/predict contract, non-negative values, determinism, persistence, point-in-time."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn.cltv_model import CLTVModel
from cxml.churn.summary import rfm_summary
from cxml.data.sample import generate_sample

AS_OF = "1997-10-01"


@pytest.fixture(scope="module")
def small_events() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=300, n_items=40, random_state=5))


@pytest.fixture(scope="module")
def cdnow_cltv(cdnow_events: pd.DataFrame) -> CLTVModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # the oldest cutoff has no repeat buyers
        return CLTVModel(horizon="90D", n_snapshots=3).fit(cdnow_events, as_of=AS_OF)


def test_predict_shape_and_non_negative(cdnow_cltv: CLTVModel, cdnow_events: pd.DataFrame) -> None:
    value = cdnow_cltv.predict(cdnow_events, AS_OF)
    assert value.columns.tolist() == ["customer_id", "expected_value"]
    assert len(value) == len(rfm_summary(cdnow_events, AS_OF)) == 2357
    v = value["expected_value"].to_numpy()
    assert np.all(np.isfinite(v)) and np.all(v >= 0) and v.std() > 0
    assert "gg_expected_order_value" in cdnow_cltv.feature_names_
    assert "bgnbd_gamma_gamma" in cdnow_cltv.metrics_["baselines"]


def test_deterministic_with_seed(small_events: pd.DataFrame) -> None:
    kw = dict(horizon="60D", n_snapshots=3, random_state=3, max_rounds=150, early_stopping_rounds=20)
    a = CLTVModel(**kw).fit(small_events, as_of="2024-06-01").predict(small_events, "2024-06-01")
    b = CLTVModel(**kw).fit(small_events, as_of="2024-06-01").predict(small_events, "2024-06-01")
    pd.testing.assert_frame_equal(a, b)


def test_save_load_round_trip(cdnow_cltv: CLTVModel, cdnow_events: pd.DataFrame, tmp_path) -> None:
    path = cdnow_cltv.save(tmp_path / "cltv")
    assert {p.name for p in path.iterdir()} == {"params.json", "model.txt"}
    loaded = CLTVModel.load(path)
    assert loaded.get_params() == cdnow_cltv.get_params()
    assert loaded.btyd_params_ == cdnow_cltv.btyd_params_
    pd.testing.assert_frame_equal(
        loaded.predict(cdnow_events, AS_OF), cdnow_cltv.predict(cdnow_events, AS_OF)
    )


def test_predict_ignores_events_after_as_of(cdnow_cltv: CLTVModel, cdnow_events: pd.DataFrame) -> None:
    before = cdnow_events.loc[cdnow_events["timestamp"] < pd.Timestamp(AS_OF)]
    pd.testing.assert_frame_equal(cdnow_cltv.predict(cdnow_events, AS_OF), cdnow_cltv.predict(before, AS_OF))


def test_without_bgnbd_features(small_events: pd.DataFrame) -> None:
    model = CLTVModel(horizon="60D", n_snapshots=2, use_bgnbd_features=False).fit(small_events, "2024-06-01")
    assert model.btyd_params_ is None
    assert not any(f.startswith(("bg_", "gg_")) for f in model.feature_names_)
    assert (model.predict(small_events, "2024-06-01")["expected_value"] >= 0).all()


def test_errors(cdnow_events: pd.DataFrame) -> None:
    with pytest.raises(cxml.NotFittedError):
        CLTVModel().predict(cdnow_events, AS_OF)
    # issue 13: bad hyper-parameters are ParameterErrors (they were SchemaErrors)
    with pytest.raises(cxml.ParameterError, match="tweedie_variance_power"):
        CLTVModel(tweedie_variance_power=2.5).fit(cdnow_events, AS_OF)
    with pytest.raises(cxml.ParameterError, match="objective"):
        CLTVModel(objective="poisson").fit(cdnow_events, AS_OF)
    with pytest.raises(cxml.InsufficientDataError, match="no fully observed training snapshot"):
        CLTVModel(horizon="273D").fit(cdnow_events, AS_OF)


def test_no_amounts_is_a_clear_error(small_events: pd.DataFrame) -> None:
    no_money = small_events.assign(amount=np.nan)
    with pytest.raises(cxml.InsufficientDataError, match="no spend"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cxml.DataWarning)  # Gamma-Gamma has no amounts either
            CLTVModel(horizon="60D", n_snapshots=2).fit(no_money, as_of="2024-06-01")
