"""Issue 18 §2: ChurnModel.reasons / CLTVModel.reasons — ordering, direction rule, one str customer,
population references saved and loaded, and the fallback for models saved before references existed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.churn import ChurnModel, CLTVModel
from cxml.churn._reasons import PRIOR_FEATURE, REASON_COLUMNS
from cxml.data.sample import generate_sample

AS_OF = "2024-06-01"
_FAST = dict(n_snapshots=2, max_rounds=120, early_stopping_rounds=20)


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return cxml.load_events(generate_sample(n_customers=400, n_items=40, random_state=5))


def _fit(cls: type, shop: pd.DataFrame) -> ChurnModel | CLTVModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        return cls(horizon="60D", **_FAST).fit(shop, AS_OF)


@pytest.fixture(scope="module")
def churn(shop: pd.DataFrame) -> ChurnModel:
    return _fit(ChurnModel, shop)


@pytest.fixture(scope="module")
def cltv(shop: pd.DataFrame) -> CLTVModel:
    return _fit(CLTVModel, shop)


@pytest.fixture(scope="module", params=["churn", "cltv"])
def model(request: pytest.FixtureRequest, churn: ChurnModel, cltv: CLTVModel) -> ChurnModel | CLTVModel:
    return churn if request.param == "churn" else cltv


def _signed_drivers(model: ChurnModel | CLTVModel, shop: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Independently of reasons(): every driver's effect (prior centred on the population median) and
    each customer's raw score, from explain()."""
    why = model.explain(shop, AS_OF)
    raw = why.groupby("customer_id")["contribution"].sum()
    drivers = why[why["feature"] != "__bias__"].copy()
    prior = drivers["feature"] == "__bgnbd_prior__"
    drivers.loc[prior, "contribution"] -= model.reference_["prior_median"]
    drivers.loc[prior, "feature"] = PRIOR_FEATURE
    return drivers, raw


def test_reasons_follow_the_contributions_in_the_direction_of_the_prediction(model, shop) -> None:
    top = 3
    got = model.reasons(shop, AS_OF, top=top)
    assert list(got.columns) == list(REASON_COLUMNS)
    drivers, raw = _signed_drivers(model, shop)
    # the direction rule: at or above the population's median raw score -> why high; below -> why low
    expected_dir = np.where(raw >= model.reference_["raw_median"], "up", "down")
    got_dir = got.groupby("customer_id")["direction"].first()
    assert (got_dir == pd.Series(expected_dir, index=raw.index).reindex(got_dir.index)).all()
    assert {"up", "down"} == set(got_dir)  # both kinds of customer exist in a real population
    sign = np.where(got["direction"] == "up", 1.0, -1.0)
    assert (got["contribution"].to_numpy() * sign > 0).all()  # never a driver pushing the other way
    for cid, rows in got.groupby("customer_id", sort=False):
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
        s = 1.0 if rows["direction"].iloc[0] == "up" else -1.0
        signed = (drivers.loc[drivers["customer_id"] == cid, "contribution"] * s).sort_values(ascending=False)
        assert rows["contribution"].iloc[0] * s == pytest.approx(signed.iloc[0])  # rank 1 = strongest
        assert (np.diff(rows["contribution"].to_numpy() * s) <= 1e-12).all()  # then weaker and weaker
        assert len(rows) == min(top, int((signed > 0).sum())) or len(set(rows["reason"])) == len(rows)
    assert not got["reason"].str.contains("_").any()
    assert got.groupby("customer_id").size().max() == top


def test_forced_direction_and_top(churn: ChurnModel, shop: pd.DataFrame) -> None:
    down = churn.reasons(shop, AS_OF, top=1, direction="down")
    assert (down["contribution"] < 0).all() and (down["direction"] == "down").all()
    assert down.groupby("customer_id").size().max() == 1
    up = churn.reasons(shop, AS_OF, top=5, direction="up")
    assert (up["contribution"] > 0).all() and up.groupby("customer_id").size().max() == 5


def test_the_prior_is_a_reason_in_words(churn: ChurnModel, shop: pd.DataFrame) -> None:
    got = churn.reasons(shop, AS_OF, top=3)
    prior = got[got["feature"] == PRIOR_FEATURE]
    assert len(prior)  # the BG/NBD prior drives many customers
    assert prior["reason"].str.contains("the purchase model puts their chance of buying again").all()
    assert not got["reason"].str.contains("bgnbd|__", regex=True).any()
    assert not got["feature"].str.startswith("__").any()


def test_a_str_is_one_customer_and_order_is_kept(churn: ChurnModel, shop: pd.DataFrame) -> None:
    ids = churn.predict(shop, AS_OF)["customer_id"].tolist()
    one = churn.reasons(shop, AS_OF, customers=ids[3])
    pd.testing.assert_frame_equal(one, churn.reasons(shop, AS_OF, customers=[ids[3]]))
    assert set(one["customer_id"]) == {ids[3]}
    two = churn.reasons(shop, AS_OF, customers=[ids[5], ids[1]])
    assert two["customer_id"].drop_duplicates().tolist() == [ids[5], ids[1]]
    with pytest.raises(cxml.UnknownIdError):
        churn.reasons(shop, AS_OF, customers="nobody")


@pytest.mark.parametrize(("kwargs", "match"), [({"top": 0}, "top"), ({"top": 1.5}, "top"),
                                               ({"direction": "sideways"}, "direction")])
def test_bad_arguments_are_parameter_errors(churn: ChurnModel, shop: pd.DataFrame, kwargs, match) -> None:
    with pytest.raises(cxml.ParameterError, match=match):
        churn.reasons(shop, AS_OF, **kwargs)


def test_cltv_explain_adds_up_to_the_expected_value(cltv: CLTVModel, shop: pd.DataFrame) -> None:
    why = cltv.explain(shop, AS_OF)
    raw = why.groupby("customer_id")["contribution"].sum()
    value = cltv.predict(shop, AS_OF).set_index("customer_id")["expected_value"]
    np.testing.assert_allclose(np.exp(raw.reindex(value.index)), value, rtol=1e-6)


def test_cltv_reasons_explain_high_value_with_spend_and_orders(cltv: CLTVModel, shop: pd.DataFrame) -> None:
    value = cltv.predict(shop, AS_OF).sort_values("expected_value")
    best = value["customer_id"].iloc[-10:].tolist()
    got = cltv.reasons(shop, AS_OF, customers=best)
    assert (got["direction"] == "up").all() and (got["contribution"] > 0).all()
    # every sentence carries the customer's number, or says that there is none
    assert got["reason"].str.contains(r"\d|never", regex=True).all()


def test_save_load_keeps_the_references_and_the_reasons(model, shop: pd.DataFrame, tmp_path: Path) -> None:
    loaded = type(model).load(model.save(tmp_path / "m"))
    assert loaded.reference_ == model.reference_
    assert "typical customer" in " ".join(model.reasons(shop, AS_OF)["reason"])
    pd.testing.assert_frame_equal(loaded.reasons(shop, AS_OF), model.reasons(shop, AS_OF))


def test_a_model_saved_without_references_still_gives_reasons(churn: ChurnModel, shop: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    root = churn.save(tmp_path / "old")
    meta = json.loads((root / "params.json").read_text())
    del meta["reference"]  # what a model saved before population references looks like
    (root / "params.json").write_text(json.dumps(meta))
    old = ChurnModel.load(root)
    assert old.reference_ is None
    got = old.reasons(shop, AS_OF)
    assert len(got) and (got["direction"] == "up").all() and got["reference"].isna().all()
    assert not got["reason"].str.contains("typical customer|% of customers", regex=True).any()
    pd.testing.assert_frame_equal(old.predict(shop, AS_OF), churn.predict(shop, AS_OF))


@pytest.mark.parametrize("bad", [{"features": []}, {"features": {"n_orders": [1.0]}, "raw_median": 0.0,
                                                    "prior_median": None}, "yes",
                                 {"features": {}, "raw_median": "0", "prior_median": None}])
def test_a_malformed_reference_is_a_bundle_error(churn: ChurnModel, tmp_path: Path, bad) -> None:
    root = churn.save(tmp_path / "bad")
    meta = json.loads((root / "params.json").read_text())
    meta["reference"] = bad
    (root / "params.json").write_text(json.dumps(meta))
    with pytest.raises(cxml.BundleError, match="reference"):
        ChurnModel.load(root)
