"""One contract, applied to every churn-family model: fit/predict/params/refit/save/load/bad input/inputs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import cxml
from cxml.churn import BGNBDModel, ChurnModel, CLTVModel, GammaGammaModel
from cxml.data.sample import generate_sample
from cxml.schema import purchase_mask

AS_OF = "2024-06-01"
_FAST = dict(n_snapshots=2, max_rounds=80, early_stopping_rounds=10)


@dataclass
class Spec:
    make: Callable[..., Any]
    columns: list[str]
    predict: Callable[[Any, Any, Any], pd.DataFrame]
    bad: dict[str, Any]
    saves: bool = False
    extra_bad: dict[str, Any] = field(default_factory=dict)


_BTYD_BAD = {"penalizer": -1.0, "tol": 0.0, "max_iter": 0, "strict": "no", "random_state": -3,
             "time_unit": "fortnight"}
_SNAPSHOT_BAD = {"n_snapshots": 0, "held_out_fraction": 1.5, "max_rounds": 0, "early_stopping_rounds": 2.5,
                 "refit": "yes", "use_bgnbd_features": 1, "random_state": 1.5, "n_jobs": 0,
                 "lgbm_params": ["num_leaves", 3]}

SPECS: dict[str, Spec] = {
    "churn": Spec(
        make=lambda **kw: ChurnModel(horizon="60D", **{**_FAST, **kw}),
        columns=["customer_id", "churn_probability"],
        predict=lambda m, ev, as_of: m.predict(ev, as_of),
        bad={**_SNAPSHOT_BAD, "calibration": "beta"},
        saves=True,
    ),
    "cltv": Spec(
        make=lambda **kw: CLTVModel(horizon="60D", **{**_FAST, **kw}),
        columns=["customer_id", "expected_value"],
        predict=lambda m, ev, as_of: m.predict(ev, as_of),
        bad={**_SNAPSHOT_BAD, "tweedie_variance_power": 2.0, "objective": "poisson"},
        saves=True,
    ),
    "bgnbd": Spec(
        make=lambda **kw: BGNBDModel(**kw),
        columns=["customer_id", "expected_purchases", "p_alive", "p_no_purchase"],
        predict=lambda m, ev, as_of: m.predict(ev, as_of, horizon="60D"),
        bad=_BTYD_BAD,
    ),
    "gamma_gamma": Spec(
        make=lambda **kw: GammaGammaModel(**kw),
        columns=["customer_id", "expected_average_value"],
        predict=lambda m, ev, as_of: m.predict(ev, as_of),
        bad=_BTYD_BAD,
    ),
}


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=300, n_items=40, random_state=3))


@pytest.fixture(params=sorted(SPECS))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        warnings.simplefilter("ignore", cxml.ConvergenceWarning)
        return fn()


def _fit(spec: Spec, events: Any, as_of: Any = AS_OF, **kw: Any) -> Any:
    return _quiet(lambda: spec.make(**kw).fit(events, as_of))


def _predict(spec: Spec, model: Any, events: Any, as_of: Any = AS_OF) -> pd.DataFrame:
    return _quiet(lambda: spec.predict(model, events, as_of))


def _existing(events: pd.DataFrame, as_of: Any) -> list[str]:
    rows = events[purchase_mask(events) & (events["timestamp"] < pd.Timestamp(as_of))]
    return sorted(rows["customer_id"].unique().tolist())


def test_fit_returns_self(name: str, shop: pd.DataFrame) -> None:
    model = SPECS[name].make()
    assert _quiet(lambda: model.fit(shop, AS_OF)) is model


def test_predict_shape_and_columns(name: str, shop: pd.DataFrame) -> None:
    spec = SPECS[name]
    pred = _predict(spec, _fit(spec, shop), shop)
    assert pred.columns.tolist() == spec.columns  # DESIGN.md
    assert pred["customer_id"].tolist() == _existing(shop, AS_OF)
    assert pd.api.types.is_string_dtype(pred["customer_id"])
    values = pred.drop(columns="customer_id").to_numpy(dtype=np.float64)
    assert np.isfinite(values).all() and (values >= 0).all()


def test_not_fitted(name: str, shop: pd.DataFrame) -> None:
    spec = SPECS[name]
    with pytest.raises(cxml.NotFittedError, match="not fitted"):
        spec.predict(spec.make(), shop, AS_OF)


def test_get_params_set_params_round_trip(name: str) -> None:
    model = SPECS[name].make()
    params = model.get_params()
    assert "random_state" in params
    assert clone(model).get_params() == params
    assert model.set_params(random_state=5) is model and model.get_params()["random_state"] == 5
    copy = type(model)(**{**params, "random_state": 5})
    assert copy.get_params() == model.get_params()


def test_snapshot_models_list_every_parameter() -> None:
    churn, cltv = ChurnModel().get_params(), CLTVModel().get_params()
    shared = {"horizon", "n_snapshots", "snapshot_step", "windows", "lgbm_params", "use_bgnbd_features",
              "bgnbd_prior", "held_out_fraction", "refit", "max_rounds", "early_stopping_rounds",
              "random_state", "n_jobs"}
    assert set(churn) == shared | {"calibration", "rhythm_features", "linear_prior", "blend"}  # issue 19
    assert set(cltv) == shared | {"objective", "tweedie_variance_power"}
    assert churn["horizon"] == "90D" and cltv["horizon"] == "180D"  # defaults unchanged
    assert churn["random_state"] == 0 and churn["n_jobs"] == 1


def test_refit_starts_from_scratch(name: str, shop: pd.DataFrame) -> None:
    spec = SPECS[name]
    fresh = _predict(spec, _fit(spec, shop), shop)
    model = _fit(spec, shop, as_of="2024-09-01")  # a different fit first
    _quiet(lambda: model.fit(shop, AS_OF))
    pd.testing.assert_frame_equal(_predict(spec, model, shop), fresh)
    pd.testing.assert_frame_equal(_predict(spec, _fit(spec, shop), shop), fresh)  # same seed, same numbers


def test_random_state_none_fits(name: str, shop: pd.DataFrame) -> None:
    spec = SPECS[name]
    pred = _predict(spec, _fit(spec, shop, random_state=None), shop)
    assert len(pred) == len(_existing(shop, AS_OF))


def test_save_load_round_trip(name: str, shop: pd.DataFrame, tmp_path: Path) -> None:
    spec = SPECS[name]
    if not spec.saves:
        pytest.skip(f"{name} has no save/load (its params_ are the whole state)")
    model = _fit(spec, shop)
    loaded = type(model).load(model.save(tmp_path / name))
    assert loaded.get_params() == {**model.get_params(), "windows": tuple(model.windows)}
    pd.testing.assert_frame_equal(_predict(spec, loaded, shop), _predict(spec, model, shop))


def test_bad_hyper_parameters(name: str, shop: pd.DataFrame) -> None:
    spec = SPECS[name]
    for param, value in spec.bad.items():
        with pytest.raises(cxml.ParameterError, match=param):
            _fit(spec, shop, **{param: value})


def test_events_as_incomplete_frame_csv_and_parquet(name: str, shop: pd.DataFrame, tmp_path: Path) -> None:
    spec = SPECS[name]
    # a plain frame with canonical names, no optional columns beyond these, ids and times as text
    raw = pd.DataFrame({
        "customer_id": shop["customer_id"].astype(object),
        "timestamp": shop["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "event_type": shop["event_type"].astype(object),
        "amount": shop["amount"],
    })
    reference = _predict(spec, _fit(spec, cxml.load_events(raw)), cxml.load_events(raw))
    raw.to_csv(tmp_path / "events.csv", index=False)
    raw.to_parquet(tmp_path / "events.parquet")
    for source in (raw, tmp_path / "events.csv", str(tmp_path / "events.parquet")):
        pd.testing.assert_frame_equal(_predict(spec, _fit(spec, source), source), reference)
