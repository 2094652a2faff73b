"""Issue 19: the linear prior of CLTVModel (cxml.churn._cltv_prior): what it fits, that it does not
extrapolate, the out-of-time choice against the BG/NBD × Gamma-Gamma prior, and its persistence."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn._cltv_prior import LINEAR_COLUMNS, choose_cltv_prior, cltv_prior, fit_cltv_prior, valid_packed
from cxml.churn.cltv_model import CLTVModel
from cxml.data.sample import generate_sample
from cxml.schema import Columns

AS_OF = "2024-06-01"
_FAST = dict(n_snapshots=2, max_rounds=150, early_stopping_rounds=20)


def _frame(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    frame = pd.DataFrame({c: rng.gamma(2.0, 10.0, n) for c in LINEAR_COLUMNS})
    frame["spend_90d"] = rng.gamma(1.0, 20.0, n) * np.exp(shift)
    return frame


def _values(frame: pd.DataFrame, rng: np.random.Generator, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """Tweedie-like values whose log mean is log(BG/NBD x GG) + effect * (centred log1p(spend_90d)) - 2."""
    x = np.log1p(frame["spend_90d"].to_numpy())
    log_mu = np.log(frame["bg_gg_expected_value"].to_numpy()) + effect * (x - x.mean()) - 2
    buys = rng.poisson(np.exp(log_mu) / 5.0)
    return np.array([rng.gamma(2.0, 2.5, k).sum() for k in buys]), log_mu


def test_the_linear_prior_finds_a_signal_the_bgnbd_value_misses() -> None:
    rng = np.random.default_rng(0)
    frame = _frame(4000, rng)
    y, log_mu = _values(frame, rng, effect=0.8)
    packed = fit_cltv_prior(frame, y, power=1.3)
    assert packed is not None and valid_packed(packed) and valid_packed(packed.tolist())
    prior = cltv_prior(packed, frame)
    bgnbd = np.log(frame["bg_gg_expected_value"].to_numpy())
    assert np.corrcoef(prior, log_mu)[0, 1] > 0.95 > np.corrcoef(bgnbd, log_mu)[0, 1]
    # the level is fitted too: predicted and observed totals agree
    assert np.exp(prior).sum() == pytest.approx(y.sum(), rel=0.05)


def test_values_outside_the_training_range_are_clipped_not_extrapolated() -> None:
    rng = np.random.default_rng(1)
    frame = _frame(2000, rng)
    y, _ = _values(frame, rng, effect=0.8)
    packed = fit_cltv_prior(frame, y, power=1.3)
    assert packed is not None
    top = frame.loc[[frame["spend_90d"].idxmax()]]
    far = top.assign(spend_90d=top["spend_90d"] * 1000)
    np.testing.assert_allclose(cltv_prior(packed, far), cltv_prior(packed, top))
    # a missing value sits at the training mean instead of breaking the prior
    assert np.isfinite(cltv_prior(packed, top.assign(spend_90d=np.nan))).all()


def test_no_prior_without_its_columns_or_without_spend() -> None:
    rng = np.random.default_rng(2)
    frame = _frame(100, rng)
    assert fit_cltv_prior(frame.drop(columns="spend_90d"), np.ones(100), power=1.3) is None
    assert fit_cltv_prior(frame, np.zeros(100), power=1.3) is None
    assert not valid_packed([1.0, 2.0]) and not valid_packed("x")


def _snapshots(rng: np.random.Generator, effects: tuple[float, float]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    parts, ys = [], []
    for i, effect in enumerate(effects):
        frame = _frame(3000, rng).assign(**{Columns.CUTOFF: pd.Timestamp("2024-01-01") + pd.Timedelta(days=90 * i)})
        parts.append(frame)
        ys.append(_values(frame, rng, effect)[0])
    frame = pd.concat(parts, ignore_index=True)
    return frame, np.concatenate(ys), frame[Columns.CUTOFF].to_numpy()


def test_the_linear_prior_is_chosen_only_when_it_wins_out_of_time() -> None:
    rng = np.random.default_rng(3)
    stable, y, cuts = _snapshots(rng, (0.8, 0.8))
    packed, losses = choose_cltv_prior(stable, y, cuts, power=1.3)
    assert packed is not None and losses["linear"] < losses["bgnbd"]
    # the relation is gone in the latest snapshot: what the older one taught does not hold there
    drifting, y, cuts = _snapshots(rng, (0.8, 0.0))
    packed, losses = choose_cltv_prior(drifting, y, cuts, power=1.3)
    assert packed is None and losses["linear"] > losses["bgnbd"]
    # one snapshot: nothing to check out of time, so the BG/NBD x GG prior stays
    latest = cuts == cuts.max()
    packed, losses = choose_cltv_prior(stable.loc[latest], y[latest], cuts[latest], power=1.3)
    assert packed is None and np.isnan(losses["linear"])


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=400, n_items=40, random_state=7))


class _Linear(CLTVModel):
    _prior_model = "linear"


def _fit(model: CLTVModel, shop: pd.DataFrame) -> CLTVModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return model.fit(shop, AS_OF)


def test_a_model_boosted_from_the_linear_prior_explains_and_round_trips(shop: pd.DataFrame, tmp_path: Path) -> None:
    model = _fit(_Linear(horizon="60D", **_FAST), shop)
    plain = _fit(type("Plain", (CLTVModel,), {"_prior_model": "bgnbd"})(horizon="60D", **_FAST), shop)
    assert model.linear_prior_ is not None and plain.linear_prior_ is None
    value = model.predict(shop, AS_OF).set_index("customer_id")["expected_value"]
    assert not np.allclose(value.to_numpy(), plain.predict(shop, AS_OF)["expected_value"].to_numpy())
    raw = model.explain(shop, AS_OF).groupby("customer_id")["contribution"].sum()
    np.testing.assert_allclose(np.exp(raw.reindex(value.index)), value, rtol=1e-6)
    loaded = _Linear.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.linear_prior_, model.linear_prior_)
    pd.testing.assert_frame_equal(loaded.predict(shop, AS_OF), model.predict(shop, AS_OF))


def test_a_corrupt_linear_prior_in_params_json_is_a_bundle_error(shop: pd.DataFrame, tmp_path: Path) -> None:
    path = _fit(_Linear(horizon="60D", **_FAST), shop).save(tmp_path / "m")
    meta = json.loads((path / "params.json").read_text())
    meta["metrics"]["linear_prior"] = [1.0, "x"]
    (path / "params.json").write_text(json.dumps(meta))
    with pytest.raises(cxml.BundleError, match="linear_prior"):
        CLTVModel.load(path)


def test_the_default_records_its_out_of_time_check(shop: pd.DataFrame) -> None:
    model = _fit(CLTVModel(horizon="60D", **_FAST), shop)
    check = model.metrics_["prior_check"]
    assert set(check) == {"linear", "bgnbd"}
    chose_linear = check["linear"] < check["bgnbd"]
    assert (model.linear_prior_ is not None) == chose_linear == (model.metrics_["linear_prior"] is not None)
