"""``backtest`` and ``paired_bootstrap`` on messy input: a result or a CxmlError, never a raw exception."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.evaluate import backtest, paired_bootstrap
from tests.test_entry_points_properties import as_ofs, events_frames, horizons, only_cxml_errors

cutoff_lists = st.one_of(st.lists(as_ofs, min_size=0, max_size=3), as_ofs)
model_specs = st.sampled_from([None, {"churn": {"n_snapshots": 1}}, {"cltv": {}}, {"recommend": "popularity"},
                               {"recommend": "auto"}, {"churn": "x"}, {}, "churn"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events_frames(), cutoffs=cutoff_lists, horizon=horizons, models=model_specs,
       n_boot=st.sampled_from([1, 5, 0, "10", None]))
def test_backtest_gives_a_frame_or_a_cxml_error(raw: pd.DataFrame, cutoffs: Any, horizon: Any, models: Any,
                                                n_boot: Any) -> None:
    out = only_cxml_errors(lambda: backtest(raw, cutoffs, horizon=horizon, models=models, n_boot=n_boot))
    assert out is None or isinstance(out, pd.DataFrame)


@settings(max_examples=60, deadline=None)
@given(
    metric=st.sampled_from(["roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10", "spearman", "normalized_gini",
                            "mae", "decile_mape", "nope"]),
    values=st.lists(st.one_of(st.floats(-2, 2), st.just(float("nan"))), min_size=0, max_size=12),
    n_boot=st.sampled_from([1, 3, 0, -1, 2.5]),
)
def test_paired_bootstrap_gives_numbers_or_a_cxml_error(metric: str, values: list[float], n_boot: Any) -> None:
    truth = np.round(np.abs(values)) if metric in ("roc_auc", "pr_auc", "lift_at_10") else np.abs(values)
    out = only_cxml_errors(lambda: paired_bootstrap(metric, truth, values, values[::-1], n_boot=n_boot))
    assert out is None or set(out) >= {"difference", "ci_low", "ci_high"}
