"""ChurnModel: fit/predict contract, determinism, persistence, point-in-time, explanations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import cxml
from cxml.churn._calibration import _centred_isotonic, fit_calibrator
from cxml.churn._lgbm import BTYD_COLUMNS
from cxml.churn.churn_model import ChurnModel
from cxml.churn.summary import rfm_summary
from cxml.data.sample import generate_sample

AS_OF = "1997-10-01"


@pytest.fixture(scope="module")
def small_events() -> pd.DataFrame:
    """A 300-customer synthetic shop with engagement events (fast to fit)."""
    return cxml.load_events(generate_sample(n_customers=300, n_items=40, random_state=3))


@pytest.fixture(scope="module")
def cdnow_model(cdnow_events: pd.DataFrame) -> ChurnModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)  # the oldest cutoff has no repeat buyers
        return ChurnModel(horizon="90D", n_snapshots=3, random_state=0).fit(cdnow_events, as_of=AS_OF)


def _after(events: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """Junk that lies entirely at or after ``as_of``: shifted copies of events plus a new customer."""
    later = events.iloc[:200].copy()
    later["timestamp"] = pd.Timestamp(as_of) + pd.to_timedelta(np.arange(len(later)), unit="h")
    later.loc[later.index[:50], "customer_id"] = "newcomer"
    return pd.concat([events, later], ignore_index=True)


def test_predict_shape_and_range(cdnow_model: ChurnModel, cdnow_events: pd.DataFrame) -> None:
    risk = cdnow_model.predict(cdnow_events, as_of=AS_OF)
    existing = rfm_summary(cdnow_events, AS_OF).index
    assert risk.columns.tolist() == ["customer_id", "churn_probability"]
    assert len(risk) == len(existing) == 2357
    assert set(risk["customer_id"]) == set(existing.astype(str))
    p = risk["churn_probability"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    assert p.std() > 0.05  # a real ranking, not a constant


def test_fitted_attributes(cdnow_model: ChurnModel) -> None:
    m = cdnow_model
    assert m.as_of_ == pd.Timestamp(AS_OF)
    assert all(c + pd.Timedelta("90D") <= m.as_of_ for c in m.training_cutoffs_)
    assert m.training_cutoffs_[-1] == pd.Timestamp(AS_OF) - pd.Timedelta("90D")
    assert set(BTYD_COLUMNS) <= set(m.feature_names_)
    assert "recency_days" in m.feature_names_
    assert m.best_iteration_ >= 1 and m.booster_.num_trees() == m.best_iteration_
    assert set(m.metrics_["baselines"]) >= {"recency", "bgnbd_neg_expected_purchases"}
    assert 0.5 < m.metrics_["model"]["roc_auc"] <= 1
    imp = m.feature_importance()
    assert imp.columns.tolist() == ["feature", "importance"]
    assert sorted(imp["feature"]) == sorted(m.feature_names_)
    assert imp["importance"].is_monotonic_decreasing


def test_deterministic_with_seed(small_events: pd.DataFrame) -> None:
    kw = dict(horizon="60D", n_snapshots=3, random_state=7, max_rounds=150, early_stopping_rounds=20)
    a = ChurnModel(**kw).fit(small_events, as_of="2024-06-01").predict(small_events, as_of="2024-06-01")
    b = ChurnModel(**kw).fit(small_events, as_of="2024-06-01").predict(small_events, as_of="2024-06-01")
    pd.testing.assert_frame_equal(a, b)


def test_save_load_round_trip(cdnow_model: ChurnModel, cdnow_events: pd.DataFrame, tmp_path) -> None:
    path = cdnow_model.save(tmp_path / "churn")
    assert {p.name for p in path.iterdir()} == {"params.json", "model.txt", "calibrator.npz"}
    np.load(path / "calibrator.npz", allow_pickle=False)  # no object arrays
    loaded = ChurnModel.load(path)
    assert loaded.get_params() == cdnow_model.get_params()
    assert loaded.feature_names_ == cdnow_model.feature_names_
    assert loaded.training_cutoffs_ == cdnow_model.training_cutoffs_
    pd.testing.assert_frame_equal(
        loaded.predict(cdnow_events, AS_OF), cdnow_model.predict(cdnow_events, AS_OF)
    )
    pd.testing.assert_frame_equal(
        loaded.explain(cdnow_events, AS_OF, customers=["1", "5"]),
        cdnow_model.explain(cdnow_events, AS_OF, customers=["1", "5"]),
    )


def test_load_refuses_other_class(cdnow_model: ChurnModel, tmp_path) -> None:
    from cxml.churn.cltv_model import CLTVModel

    path = cdnow_model.save(tmp_path / "churn")
    with pytest.raises(cxml.BundleError, match="ChurnModel"):
        CLTVModel.load(path)


def test_predict_ignores_events_after_as_of(cdnow_model: ChurnModel, cdnow_events: pd.DataFrame) -> None:
    before = cdnow_events.loc[cdnow_events["timestamp"] < pd.Timestamp(AS_OF)]
    base = cdnow_model.predict(before, AS_OF)
    pd.testing.assert_frame_equal(cdnow_model.predict(_after(before, AS_OF), AS_OF), base)
    pd.testing.assert_frame_equal(cdnow_model.predict(cdnow_events, AS_OF), base)


def test_fit_ignores_events_after_as_of(small_events: pd.DataFrame) -> None:
    as_of = "2024-03-01"
    kw = dict(horizon="60D", n_snapshots=2, random_state=0, max_rounds=150, early_stopping_rounds=20)
    a = ChurnModel(**kw).fit(small_events, as_of=as_of)
    b = ChurnModel(**kw).fit(_after(small_events, as_of), as_of=as_of)
    pd.testing.assert_frame_equal(a.predict(small_events, as_of), b.predict(small_events, as_of))


def test_cdnow_273d_has_no_observed_snapshot(cdnow_events: pd.DataFrame) -> None:
    # CDNOW starts 1997-01-01: the latest cutoff as_of - 273D = 1997-01-01 has no earlier purchase
    with pytest.raises(cxml.InsufficientDataError, match="no fully observed training snapshot"):
        ChurnModel(horizon="273D").fit(cdnow_events, as_of=AS_OF)


def test_data_not_reaching_as_of(cdnow_events: pd.DataFrame) -> None:
    with pytest.raises(cxml.InsufficientDataError, match="not observed"):
        ChurnModel(horizon="90D").fit(cdnow_events, as_of="1999-01-01")
    # a few empty days at the end of the history (weekend, holiday) are not missing data
    history = cdnow_events.loc[cdnow_events["timestamp"] < pd.Timestamp("1997-09-28")]
    model = ChurnModel(horizon="90D", n_snapshots=2, max_rounds=50).fit(history, as_of=AS_OF)
    assert len(model.predict(history, AS_OF)) == 2357


def test_latest_snapshot_with_one_class_is_an_error(small_events: pd.DataFrame) -> None:
    # nobody buys in the label window of the latest snapshot: no churn signal to validate on
    cut = pd.Timestamp("2024-03-01")
    ts = small_events["timestamp"]
    ev = small_events.loc[(ts < cut) | (ts >= cut + pd.Timedelta("60D"))]
    with pytest.raises(cxml.InsufficientDataError, match="one class only"):
        ChurnModel(horizon="60D", n_snapshots=2).fit(ev, as_of=cut + pd.Timedelta("60D"))


def test_explain_sums_to_raw_log_odds(cdnow_model: ChurnModel, cdnow_events: pd.DataFrame) -> None:
    ids = ["1", "2", "100"]
    why = cdnow_model.explain(cdnow_events, AS_OF, customers=ids)
    assert why.columns.tolist() == ["customer_id", "feature", "value", "contribution"]
    assert why["customer_id"].unique().tolist() == ids
    X = cdnow_model.features(cdnow_events, AS_OF).loc[ids]
    raw = cdnow_model._raw(X)
    sums = why.groupby("customer_id", sort=False)["contribution"].sum().loc[ids].to_numpy()
    np.testing.assert_allclose(sums, raw, rtol=1e-9, atol=1e-9)
    # the probability is the calibrated raw log-odds
    proba = cdnow_model.predict(cdnow_events, AS_OF).set_index("customer_id").loc[ids, "churn_probability"]
    assert np.all(np.diff(proba.to_numpy()[np.argsort(raw)]) >= 0)
    for _, rows in why.groupby("customer_id"):
        feats = rows.loc[~rows["feature"].str.startswith("__")]
        assert feats["contribution"].abs().is_monotonic_decreasing
        assert len(feats) == len(cdnow_model.feature_names_)


def test_explain_top_n_and_unknown(cdnow_model: ChurnModel, cdnow_events: pd.DataFrame) -> None:
    why = cdnow_model.explain(cdnow_events, AS_OF, customers=["3", "4"], top_n=2)
    feats = why.loc[~why["feature"].str.startswith("__")]
    assert feats.groupby("customer_id").size().tolist() == [2, 2]
    with pytest.raises(cxml.UnknownIdError, match="nobody"):
        cdnow_model.explain(cdnow_events, AS_OF, customers=["nobody"])


def test_not_fitted() -> None:
    model = ChurnModel()
    for call in (
        lambda: model.predict(pd.DataFrame(), "2020-01-01"),
        lambda: model.explain(pd.DataFrame(), "2020-01-01"),
        lambda: model.save("unused"),
        model.feature_importance,
    ):
        with pytest.raises(cxml.NotFittedError):
            call()


def test_bad_input(cdnow_events: pd.DataFrame) -> None:
    # issue 13: a frame without optional columns is normalised; one without a timestamp is refused
    with pytest.raises(cxml.SchemaError, match="timestamp"):
        ChurnModel().fit(cdnow_events[["customer_id", "amount"]], as_of=AS_OF)
    # issue 13: bad hyper-parameters are ParameterErrors (they were SchemaErrors)
    with pytest.raises(cxml.ParameterError, match="calibration"):
        ChurnModel(calibration="beta").fit(cdnow_events, as_of=AS_OF)
    with pytest.raises(cxml.ParameterError, match="is_unbalance"):
        ChurnModel(lgbm_params={"is_unbalance": True}).fit(cdnow_events, as_of=AS_OF)
    with pytest.raises(cxml.ParameterError, match="n_snapshots"):
        ChurnModel(n_snapshots=0).fit(cdnow_events, as_of=AS_OF)
    with pytest.raises(cxml.ParameterError, match="horizon"):
        ChurnModel(horizon="soon").fit(cdnow_events, as_of=AS_OF)


def test_new_engagement_type_at_predict(small_events: pd.DataFrame) -> None:
    as_of = "2024-06-01"
    no_support = small_events.loc[small_events["event_type"] != "support"]
    model = ChurnModel(horizon="60D", n_snapshots=2, use_bgnbd_features=False).fit(no_support, as_of=as_of)
    assert not any("support" in f for f in model.feature_names_)
    risk = model.predict(small_events, as_of)  # an event type the model never saw is ignored
    assert len(risk) == len(model.predict(no_support, as_of))


@pytest.mark.parametrize("calibration", ["sigmoid", None])
def test_other_calibrations(small_events: pd.DataFrame, calibration: str | None) -> None:
    model = ChurnModel(horizon="60D", n_snapshots=2, calibration=calibration).fit(small_events, "2024-06-01")
    p = model.predict(small_events, "2024-06-01")["churn_probability"].to_numpy()
    assert np.all((p >= 0) & (p <= 1)) and p.std() > 0


def test_sklearn_params() -> None:
    model = ChurnModel(horizon="30D", lgbm_params={"num_leaves": 7})
    assert clone(model).get_params() == model.get_params()
    assert model.set_params(n_snapshots=2).n_snapshots == 2


def test_centred_isotonic_is_strictly_increasing() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    kind, x, yk = fit_calibrator("isotonic", raw, y)
    assert kind == "isotonic" and np.all(np.diff(x) > 0) and np.all(np.diff(yk) > 0)
    inside = _centred_isotonic(np.linspace(x[0], x[-1], 500), x, yk)
    assert np.all(np.diff(inside) > 0)  # strictly increasing between the end block centres
    tails = _centred_isotonic(np.linspace(-20, 20, 500), x, yk)
    assert np.all(np.diff(tails) >= 0) and tails.min() >= 0 and tails.max() <= 1
    # a tail block with an observed rate strictly inside (0, 1) keeps increasing beyond its centre
    p = _centred_isotonic(np.array([x[-1] + 1, x[-1] + 2]), np.array([0.0, 1.0]), np.array([0.2, 0.6]))
    assert 0.6 < p[0] < p[1] < 1


def test_isotonic_never_claims_certainty() -> None:
    # perfectly separable held-out scores: every end block is pure, yet no probability may be 0 or 1
    raw = np.linspace(-3, 3, 400)
    y = (raw > 0).astype(float)
    kind, x, yk = fit_calibrator("isotonic", raw, y)
    assert yk.min() == 0.5 / 400 and yk.max() == 1 - 0.5 / 400
    p = _centred_isotonic(np.linspace(-5, 5, 101), x, yk)
    assert 0 < p.min() and p.max() < 1 and np.all(np.diff(p) >= 0)
    assert p.min() >= 0.25 / 400 and p.max() <= 1 - 0.25 / 400  # half the clamped end levels


def test_refit_trains_all_snapshots_for_best_rounds(small_events: pd.DataFrame) -> None:
    # BG/NBD's own prior and no blend: with the defaults this small shop's trees stop at round 0 and the
    # blend weight is 0 (the output is BG/NBD's probability), so refit could not change anything
    kw = dict(horizon="60D", n_snapshots=2, max_rounds=150, early_stopping_rounds=20, linear_prior=False,
              blend=False)
    kept = ChurnModel(**kw).fit(small_events, "2024-06-01")
    refit = ChurnModel(refit=True, **kw).fit(small_events, "2024-06-01")
    assert refit.best_iteration_ == kept.best_iteration_ == refit.booster_.num_trees()
    p = refit.predict(small_events, "2024-06-01")["churn_probability"]
    assert p.between(0, 1).all()
    assert not np.allclose(p, kept.predict(small_events, "2024-06-01")["churn_probability"])


def test_align_features_drops_extra_and_fills_missing() -> None:
    from cxml.churn._lgbm import align_features

    X = pd.DataFrame({"b": [1, 2], "extra": [5, 6]}, index=["c1", "c2"])
    out = align_features(X, ["a", "b"])
    assert out.columns.tolist() == ["a", "b"] and out["a"].isna().all()
    assert out["b"].tolist() == [1.0, 2.0] and out.index.tolist() == ["c1", "c2"]


def test_load_refuses_incomplete_params(cdnow_model: ChurnModel, tmp_path) -> None:
    import json

    path = cdnow_model.save(tmp_path / "churn")
    meta = json.loads((path / "params.json").read_text())
    del meta["feature_names"]
    (path / "params.json").write_text(json.dumps(meta))
    with pytest.raises(cxml.BundleError, match="feature_names"):
        ChurnModel.load(path)


def test_baseline_without_finite_scores_is_left_out_with_a_warning() -> None:
    """Customers who buy often and then stop abruptly make BG/NBD diverge (a, b → ∞) at the
    validation cutoff; its E[purchases] is then not finite. The fit must go on without that
    baseline, say so, and keep the baselines that are finite (this used to raise in roc_auc)."""
    rng = np.random.default_rng(0)
    n, span = 2000, 731
    first = rng.uniform(0, span - 60, n)
    last = np.minimum(first + rng.exponential(300.0, n), span - 1e-3)
    n_buys = 1 + rng.poisson(3.5, n)
    c = np.repeat(np.arange(n), n_buys)
    day = first[c] + rng.random(len(c)) * (last - first)[c]
    day[np.cumsum(n_buys) - n_buys] = first
    events = cxml.load_events(pd.DataFrame({
        "customer_id": c.astype(str),
        "timestamp": np.datetime64("2023-01-01") + (day * 86400).astype("timedelta64[s]"),
        "amount": rng.lognormal(2.5, 0.8, len(c)),
    }))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of="2025-01-01")
    left_out = [str(w.message) for w in caught
                if issubclass(w.category, cxml.DataWarning) and "left out" in str(w.message)]
    assert left_out and "bgnbd_neg_expected_purchases" in left_out[0]
    baselines = model.metrics_["baselines"]
    assert "bgnbd_neg_expected_purchases" not in baselines
    assert 0.0 <= baselines["recency"]["roc_auc"] <= 1.0
    assert all(np.isfinite(v["roc_auc"]) for v in baselines.values())
