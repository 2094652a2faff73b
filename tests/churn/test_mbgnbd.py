"""MBG/NBD (the churn model's second purchase model): published CDNOW numbers, the gradient, and the
closed forms against a simulation of the process itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from cxml.churn._mbgnbd import (
    fit_mbgnbd,
    mbg_frame,
    mbgnbd_expected_new,
    mbgnbd_loglik,
    mbgnbd_scores,
    prepared_summary,
)
from cxml.churn.summary import purchase_rows, summary_at
from cxml.features._base import prepare

# BTYDplus (Platzer) / lifetimes' ModifiedBetaGeoFitter on the CDNOW calibration weeks 1-39
PUBLISHED = np.array([0.525, 6.183, 0.891, 1.614])
AS_OF = pd.Timestamp("1997-10-01")


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_events: pd.DataFrame) -> pd.DataFrame:
    return summary_at(purchase_rows(cdnow_events), AS_OF, time_unit="W", monetary=False)


def test_cdnow_fit_reproduces_the_published_parameters(cdnow_summary: pd.DataFrame) -> None:
    assert len(cdnow_summary) == 2357
    fit = fit_mbgnbd(*(cdnow_summary[c].to_numpy() for c in ("frequency", "recency", "T")))
    assert fit.converged
    np.testing.assert_allclose(fit.params, PUBLISHED, atol=6e-4)


def test_gradient_matches_finite_differences() -> None:
    x, tx, T = np.array([0.0, 1.0, 4.0]), np.array([0.0, 5.0, 20.0]), np.array([30.0, 30.0, 38.0])
    p = np.array([0.6, 5.0, 0.9, 1.7])
    _, grad = mbgnbd_loglik(p, x, tx, T)
    for i in range(3):
        numeric = approx_fprime(p, lambda q, i=i: float(mbgnbd_loglik(q, x, tx, T)[0][i]), 1e-7)
        np.testing.assert_allclose(grad[:, i], numeric, rtol=1e-4, atol=1e-6)


def test_new_customer_curve_starts_at_the_alive_share_times_the_mean_rate() -> None:
    r, alpha, a, b = PUBLISHED
    small = mbgnbd_expected_new(PUBLISHED, np.array([1e-4]))[0] / 1e-4
    # MBG/NBD drops a customer at time 0 with probability p: E[1 - p] = b / (a + b) start alive
    assert small == pytest.approx(b / (a + b) * r / alpha, rel=1e-3)
    curve = mbgnbd_expected_new(PUBLISHED, np.array([1.0, 10.0, 39.0, 78.0]))
    assert np.all(np.diff(curve) > 0)


def _simulate(params: np.ndarray, n: int, T: float, t: float, rng: np.random.Generator) -> pd.DataFrame:
    """The MBG/NBD process itself: drop-out at time 0 and after every purchase with probability p."""
    r, alpha, a, b = params
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    rows = []
    for i in range(n):
        alive, now, times = rng.random() >= p[i], 0.0, []
        while alive:
            now += rng.exponential(1.0 / lam[i])
            if now > T + t:
                break
            times.append(now)
            alive = rng.random() >= p[i]
        before = [s for s in times if s <= T]
        future = len(times) - len(before)
        alive_at_T = alive or future > 0
        rows.append((len(before), before[-1] if before else 0.0, future, alive_at_T))
    return pd.DataFrame(rows, columns=["x", "tx", "future", "alive"])


def test_closed_forms_agree_with_a_simulation() -> None:
    params, T, t = np.array([0.8, 4.0, 0.7, 2.0]), 30.0, 12.0
    sim = _simulate(params, 40_000, T, t, np.random.default_rng(0))
    scores = mbgnbd_scores(params, sim["x"].to_numpy(float), sim["tx"].to_numpy(float), np.full(len(sim), T), t)
    for group in (sim["x"] == 0, sim["x"].between(1, 3), sim["x"] >= 4):
        assert scores["p_alive"][group].mean() == pytest.approx(sim["alive"][group].mean(), abs=0.015)
        no_purchase = (sim["future"][group] == 0).mean()
        assert scores["p_no_purchase"][group].mean() == pytest.approx(no_purchase, abs=0.015)
        expected = scores["expected_purchases"][group].mean()
        assert expected == pytest.approx(sim["future"][group].mean(), rel=0.06, abs=0.02)


def test_prepared_summary_is_the_rfm_summary(cdnow_events: pd.DataFrame, cdnow_summary: pd.DataFrame) -> None:
    got = prepared_summary(prepare(cdnow_events), AS_OF)
    pd.testing.assert_frame_equal(got, cdnow_summary, check_index_type=False)


def test_feature_frame_columns_and_missing_fit(cdnow_summary: pd.DataFrame) -> None:
    bg = np.full(len(cdnow_summary), 0.5)
    frame = mbg_frame(cdnow_summary, PUBLISHED, 90 / 7, bg)
    assert frame["mbg_p_alive"].between(0, 1).all() and frame["mbg_p_no_purchase"].between(0, 1).all()
    assert (frame.loc[cdnow_summary["frequency"] == 0, "mbg_p_alive"] < 1).all()  # not BG/NBD's blind spot
    assert np.isfinite(frame["mbg_bg_logit_gap"]).all()
    assert mbg_frame(cdnow_summary, None, 90 / 7).isna().all().all()
