"""Issue 19: CLTVModel's held-out steps (cxml.churn._cltv_post), small trees on small shops, and the
persistence of the fitted steps in params.json."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn import metrics as M
from cxml.churn._cltv_post import IDENTITY, apply_post, check_post, fit_post, snapshot_weights
from cxml.churn.cltv_model import SMALL_TREES, CLTVModel
from cxml.data.sample import generate_sample

AS_OF = "2024-06-01"
_FAST = dict(n_snapshots=2, max_rounds=150, early_stopping_rounds=20)


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=400, n_items=40, random_state=7))


def _fit(model: CLTVModel, shop: pd.DataFrame) -> CLTVModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return model.fit(shop, AS_OF)


class _Unshifted(CLTVModel):
    _level = "none"


class _Calibrated(CLTVModel):
    _level = "poisson"
    _blend = "auto"
    _pool_low = 0.5


def test_identity_is_exp_of_the_raw_score() -> None:
    raw = np.array([-1.0, 0.0, 2.5])
    np.testing.assert_allclose(apply_post(IDENTITY, raw, raw - 1.0), np.exp(raw))


def test_level_total_matches_the_held_out_total_and_keeps_the_order() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0.0, 1.0, 500)
    actual = 3.0 * np.exp(raw) * rng.gamma(2.0, 0.5, 500)
    post = fit_post(raw, None, actual, level="total")
    value = apply_post(post, raw, None)
    assert value.sum() == pytest.approx(actual.sum())
    assert (np.argsort(value) == np.argsort(raw)).all()


def test_poisson_line_recovers_level_and_spread() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(0.0, 1.0, 20_000)
    actual = rng.poisson(np.exp(0.4 + 0.6 * raw)).astype(np.float64)
    post = fit_post(raw, None, actual, level="poisson")
    assert post["slope"] == pytest.approx(0.6, abs=0.03)
    assert post["level_shift"] == pytest.approx(0.4, abs=0.03)


def test_blend_picks_the_prior_when_the_booster_only_adds_noise() -> None:
    rng = np.random.default_rng(2)
    prior = rng.normal(0.0, 1.0, 2000)
    actual = rng.poisson(np.exp(prior)).astype(np.float64)
    raw = prior + rng.normal(0.0, 3.0, 2000)  # the correction is pure noise
    assert fit_post(raw, prior, actual, blend="auto")["blend"] == 0.0
    assert fit_post(prior + 0.5 * (np.log(actual + 0.5) - prior), prior, actual, blend="auto")["blend"] > 0.0


def test_pool_ties_the_lowest_fraction_at_their_mean() -> None:
    raw = np.log(np.arange(1.0, 11.0))
    post = fit_post(raw, None, np.arange(10.0), pool=0.5)
    value = apply_post(post, raw, None)
    assert np.unique(value[:5]).size == 1 and value[0] == pytest.approx(np.exp(raw[:5]).mean())
    np.testing.assert_allclose(value[5:], np.exp(raw[5:]))


def test_snapshot_weights_decay_with_age() -> None:
    cuts = np.array(["2024-01-01", "2024-04-01", "2024-04-01", "2023-10-01"], dtype="datetime64[ns]")
    np.testing.assert_allclose(snapshot_weights(cuts, 0.5), [0.5, 1.0, 1.0, 0.25])
    assert snapshot_weights(cuts, 1.0) is None


@pytest.mark.parametrize("bad", [{"blend": 1.0}, {**IDENTITY, "slope": float("nan")}, {**IDENTITY, "pool": [1.0]},
                                 {**IDENTITY, "level_shift": True}, [1, 2]])
def test_check_post_refuses_malformed_values(bad) -> None:
    with pytest.raises(cxml.BundleError):
        check_post(bad)


def test_small_shops_get_small_trees_unless_lgbm_params_say_otherwise(shop: pd.DataFrame) -> None:
    small = _fit(CLTVModel(horizon="60D", **_FAST), shop)
    leaves = [t["num_leaves"] for t in small.booster_.dump_model()["tree_info"]]
    assert max(leaves) <= SMALL_TREES["num_leaves"]
    wide = _fit(CLTVModel(horizon="60D", lgbm_params={"num_leaves": 15, "min_data_in_leaf": 5}, **_FAST), shop)
    assert max(t["num_leaves"] for t in wide.booster_.dump_model()["tree_info"]) > SMALL_TREES["num_leaves"]


def test_default_model_only_shifts_the_level_and_explain_still_adds_up(shop: pd.DataFrame) -> None:
    model = _fit(CLTVModel(horizon="60D", **_FAST), shop)
    assert model.post_ == {**IDENTITY, "level_shift": model.post_["level_shift"]} == model.metrics_["post"]
    assert model.post_["level_shift"] != 0.0
    value = model.predict(shop, AS_OF).set_index("customer_id")["expected_value"]
    raw = model.explain(shop, AS_OF).groupby("customer_id")["contribution"].sum()
    np.testing.assert_allclose(np.exp(raw.reindex(value.index)), value, rtol=1e-6)
    # the held-out customers' predicted total is their observed total
    unshifted = _fit(_Unshifted(horizon="60D", **_FAST), shop).predict(shop, AS_OF)["expected_value"]
    np.testing.assert_allclose(value.to_numpy(), unshifted.to_numpy() * np.exp(model.post_["level_shift"]),
                               rtol=1e-6)


def test_without_the_prior_the_shift_is_applied_to_the_output(shop: pd.DataFrame) -> None:
    model = _fit(CLTVModel(horizon="60D", bgnbd_prior=False, **_FAST), shop)
    plain = _fit(_Unshifted(horizon="60D", bgnbd_prior=False, **_FAST), shop)
    ratio = model.predict(shop, AS_OF)["expected_value"] / plain.predict(shop, AS_OF)["expected_value"]
    np.testing.assert_allclose(ratio, np.exp(model.post_["level_shift"]), rtol=1e-6)


def test_fitted_steps_change_the_values_not_the_order_and_survive_save_load(shop: pd.DataFrame,
                                                                            tmp_path: Path) -> None:
    plain = _fit(CLTVModel(horizon="60D", **_FAST), shop)
    model = _fit(_Calibrated(horizon="60D", **_FAST), shop)
    assert model.post_["slope"] != 1.0 and model.post_["blend"] in (0.0, 0.5, 0.75, 1.0, 1.25, 1.5)
    assert model.post_ != IDENTITY and model.post_["pool"][0] > 0
    value = model.predict(shop, AS_OF)["expected_value"].to_numpy()
    assert np.isfinite(value).all() and (value > 0).all()
    assert np.unique(value).size < len(value)  # the pooled block is tied
    loaded = _Calibrated.load(model.save(tmp_path / "m"))
    assert loaded.post_ == model.post_
    pd.testing.assert_frame_equal(loaded.predict(shop, AS_OF), model.predict(shop, AS_OF))
    # a model saved before the held-out steps existed has no "post" in its metrics: exp(raw) as it was
    path = plain.save(tmp_path / "old")
    meta = json.loads((path / "params.json").read_text())
    del meta["metrics"]["post"]
    (path / "params.json").write_text(json.dumps(meta))
    old = CLTVModel.load(path)
    assert old.post_ == IDENTITY
    np.testing.assert_allclose(old.predict(shop, AS_OF)["expected_value"] * np.exp(plain.post_["level_shift"]),
                               plain.predict(shop, AS_OF)["expected_value"], rtol=1e-6)


def test_corrupt_post_in_params_json_is_a_bundle_error(shop: pd.DataFrame, tmp_path: Path) -> None:
    path = _fit(CLTVModel(horizon="60D", **_FAST), shop).save(tmp_path / "m")
    meta = json.loads((path / "params.json").read_text())
    meta["metrics"]["post"] = {"blend": "x"}
    (path / "params.json").write_text(json.dumps(meta))
    with pytest.raises(cxml.BundleError, match="post"):
        CLTVModel.load(path)


def test_held_out_metrics_are_those_of_the_output(shop: pd.DataFrame) -> None:
    model = _fit(_Calibrated(horizon="60D", **_FAST), shop)
    assert set(model.metrics_["model"]) == set(M.cltv_metrics([1.0, 2.0], [1.0, 2.0]))
    assert model.metrics_["post"] == model.post_


def test_snapshot_decay_weights_the_older_snapshots_down(shop: pd.DataFrame) -> None:
    class _Decayed(CLTVModel):
        _snapshot_decay = 0.25

    params = dict(horizon="60D", n_snapshots=3, max_rounds=150, early_stopping_rounds=20,
                  lgbm_params={"bagging_fraction": 1.0, "bagging_freq": 0})
    equal = _fit(CLTVModel(**params), shop).predict(shop, AS_OF)["expected_value"].to_numpy()
    decayed = _fit(_Decayed(**params), shop).predict(shop, AS_OF)["expected_value"].to_numpy()
    assert not np.allclose(equal, decayed)
