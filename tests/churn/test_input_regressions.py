"""Issue 13 regressions for the churn family: as_of with a time of day, one-customer explain, bad
arguments as ParameterError, malformed saved models as BundleError naming the file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn import BGNBDModel, ChurnModel, CLTVModel, GammaGammaModel, evaluate_churn, rfm_summary
from cxml.data.sample import generate_sample
from cxml.schema import purchase_mask

AS_OF = "2024-06-01"
_FAST = dict(n_snapshots=2, max_rounds=80, early_stopping_rounds=10)


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=300, n_items=40, random_state=3))


@pytest.fixture(scope="module")
def churn(shop: pd.DataFrame) -> ChurnModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return ChurnModel(horizon="60D", **_FAST).fit(shop, AS_OF)


# --------------------------------------------------------------------------- as_of with a time of day
def test_summary_with_a_time_of_day_keeps_same_day_purchases_and_observes_that_day() -> None:
    ev = cxml.load_events(pd.DataFrame({
        "customer_id": ["a", "a", "a", "b"],
        "timestamp": ["2024-01-01 10:00", "2024-01-10 09:00", "2024-01-10 16:00", "2024-01-05"],
    }))
    s = rfm_summary(ev, as_of="2024-01-10 15:00", time_unit="D", monetary=False)
    # the 09:00 purchase is in (before 15:00), the 16:00 one is not; 2024-01-10 is the last observed day
    assert s.loc["a"].tolist() == [1.0, 9.0, 9.0]
    assert s.loc["b", "T"] == 5.0
    assert (s["recency"] <= s["T"]).all()
    # a midnight as_of observes up to the day before (PROTOCOL.md)
    assert rfm_summary(ev, as_of="2024-01-10", time_unit="D").loc["b", "T"] == 4.0
    assert rfm_summary(ev, as_of="2024-01-11", time_unit="D").loc["b", "T"] == 5.0
    pd.testing.assert_frame_equal(rfm_summary(ev, as_of="2024-01-11 00:00"), rfm_summary(ev, as_of="2024-01-11"))


def _existing(events: pd.DataFrame, as_of: str) -> list[str]:
    rows = events[purchase_mask(events) & (events["timestamp"] < pd.Timestamp(as_of))]
    return sorted(rows["customer_id"].unique().tolist())


@pytest.mark.parametrize("as_of", ["2024-06-01 15:00", "2024-05-31 23:59:59"])
def test_every_model_accepts_as_of_with_a_time_of_day(shop: pd.DataFrame, as_of: str) -> None:
    # a purchase on the as_of day before the time must count; it used to crash with "recency > T"
    stamp = pd.Timestamp(as_of)
    same_day = shop.iloc[[0]].assign(timestamp=stamp.floor("D") + (stamp - stamp.floor("D")) / 2,
                                     event_type="purchase", quantity=1.0, amount=5.0)
    ev = cxml.load_events(pd.concat([shop, same_day], ignore_index=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        bg = BGNBDModel().fit(ev, as_of)
        outputs = [
            bg.predict(ev, as_of, horizon="60D"),
            GammaGammaModel().fit(ev, as_of).predict(ev, as_of),
            ChurnModel(horizon="60D", **_FAST).fit(ev, as_of).predict(ev, as_of),
            CLTVModel(horizon="60D", **_FAST).fit(ev, as_of).predict(ev, as_of),
        ]
    for out in outputs:
        assert out["customer_id"].tolist() == _existing(ev, as_of)
        assert np.isfinite(out.drop(columns="customer_id").to_numpy(dtype=np.float64)).all()


def test_evaluate_with_a_time_of_day(shop: pd.DataFrame, churn: ChurnModel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        report = evaluate_churn(churn, shop, "2024-07-01 12:00")
    assert report["n_customers"] == len(_existing(shop, "2024-07-01 12:00"))


# --------------------------------------------------------------------------- explain with one id
def test_explain_with_a_str_is_one_customer(shop: pd.DataFrame, churn: ChurnModel) -> None:
    one = churn.explain(shop, AS_OF, customers="C072")
    assert one["customer_id"].unique().tolist() == ["C072"]
    pd.testing.assert_frame_equal(one, churn.explain(shop, AS_OF, customers=["C072"]))
    with pytest.raises(cxml.UnknownIdError, match="C07"):
        churn.explain(shop, AS_OF, customers="C07")  # one (unknown) id, not three characters


def test_explain_bad_arguments_are_parameter_errors(shop: pd.DataFrame, churn: ChurnModel) -> None:
    with pytest.raises(cxml.ParameterError, match="top_n"):
        churn.explain(shop, AS_OF, top_n=0)
    with pytest.raises(cxml.ParameterError, match="customers"):
        churn.explain(shop, AS_OF, customers=3.5)
    with pytest.raises(cxml.ParameterError, match="importance_type"):
        churn.feature_importance("cover")


def test_btyd_arguments_are_parameter_errors() -> None:
    bg = BGNBDModel().set_fitted_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    for call, match in [
        (lambda: bg.p_alive(1, 5, 2), "recency > T"),
        (lambda: bg.expected_purchases(-1, 1, 1, 2), "t="),
        (lambda: bg.p_alive("x", 1, 2), "frequency"),
        (lambda: BGNBDModel().set_fitted_params(r=-1, alpha=1, a=1, b=1), "r=-1"),
        (lambda: GammaGammaModel().set_fitted_params(p=1, q=0.9, v=1).conditional_expected_average_profit(1, 2),
         "q=0.9"),
        (lambda: GammaGammaModel().set_fitted_params(p=1, q=2, v=1).customer_lifetime_value(
            "not a model", pd.DataFrame(), AS_OF, "30D"), "bgnbd"),
    ]:
        with pytest.raises(cxml.ParameterError, match=match):
            call()


# --------------------------------------------------------------------------- malformed saved models
@pytest.fixture
def saved(churn: ChurnModel, tmp_path: Path) -> Path:
    return churn.save(tmp_path / "churn")


def _meta(path: Path) -> dict:
    return json.loads((path / "params.json").read_text(encoding="utf-8"))


def test_garbage_lightgbm_text(saved: Path) -> None:
    (saved / "model.txt").write_text("tree\nnot a model at all\n", encoding="utf-8")
    with pytest.raises(cxml.BundleError, match="model.txt"):
        ChurnModel.load(saved)
    (saved / "model.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(cxml.BundleError, match="model.txt"):
        ChurnModel.load(saved)


def test_params_json_not_utf8_or_wrong_shape(saved: Path) -> None:
    good = _meta(saved)
    cases = [
        b"\xff\xfe{not utf-8",
        b"[1, 2, 3]",
        json.dumps({k: v for k, v in good.items() if k != "params"}).encode(),
        json.dumps({**good, "params": 5}).encode(),
        json.dumps({**good, "params": {**good["params"], "held_out_fraction": 7}}).encode(),
        json.dumps({**good, "params": {**good["params"], "unknown": 1}}).encode(),
        json.dumps({**good, "feature_names": 3}).encode(),
        json.dumps({**good, "btyd_params": {"bgnbd": {"r": "x"}, "gamma_gamma": None}}).encode(),
        json.dumps({**good, "format_version": "1"}).encode(),
        json.dumps({**good, "format_version": 0}).encode(),
    ]
    for content in cases:
        (saved / "params.json").write_bytes(content)
        with pytest.raises(cxml.BundleError, match="params.json"):
            ChurnModel.load(saved)


def test_calibrator_with_object_array_or_wrong_shape(saved: Path) -> None:
    np.savez(saved / "calibrator.npz", kind=np.array(["isotonic"], dtype=object), x=np.zeros(2), y=np.zeros(2))
    with pytest.raises(cxml.BundleError, match="calibrator.npz"):
        ChurnModel.load(saved)
    np.savez(saved / "calibrator.npz", kind=np.array("magic"), x=np.zeros(2), y=np.zeros(3))
    with pytest.raises(cxml.BundleError, match="calibrator.npz"):
        ChurnModel.load(saved)
    (saved / "calibrator.npz").unlink()
    with pytest.raises(cxml.BundleError, match="calibrator.npz"):
        ChurnModel.load(saved)
