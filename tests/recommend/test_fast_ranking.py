"""The shortcut rankings (popularity's shared order, the blend's candidate pruning) equal the dense
block ranking they replace, ties and masks included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cxml.recommend import (
    ALSRecommender,
    BlendRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    temporal_split,
)
from cxml.recommend._blendrank import Allowed, blend_topk
from cxml.recommend._topk import mask_rows, topk_dense, topk_shared
from cxml.recommend.blend import _percentiles


def _seen(rng: np.random.Generator, n_rows: int, n_cols: int, density: float) -> sp.csr_matrix:
    dense = rng.random((n_rows, n_cols)) < density
    dense[0] = True  # a customer who bought everything gets empty slots
    return sp.csr_matrix(dense.astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_topk_shared_equals_masked_dense_topk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_cols, k = 30, 200, 10
    scores = rng.integers(0, 15, n_cols).astype(np.float64)  # many ties
    seen = _seen(rng, n_rows, n_cols, 0.2)
    dense = np.tile(scores, (n_rows, 1))
    mask_rows(dense, seen)
    want_ids, want_vals = topk_dense(dense, k)
    ids, vals = topk_shared(scores, seen, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(vals, want_vals)
    assert (ids[0] == -1).all()
    same, _ = topk_shared(scores, None, k)
    np.testing.assert_array_equal(same[0], topk_dense(scores[None, :], k)[0][0])


@pytest.mark.parametrize(("seed", "weight", "levels"), [(0, 0.5, 7), (1, 0.25, 1000), (2, 0.75, 3),
                                                        (3, 1.0, 50), (4, 0.0, 50)])
def test_blend_topk_equals_dense_percentile_blend(seed: int, weight: float, levels: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_cols, k = 40, 300, 10
    s = (rng.integers(0, levels, (n_rows, n_cols)) / levels).astype(np.float32)  # ties in the model scores
    pop_pct = _percentiles(rng.integers(0, 20, n_cols).astype(np.float64))
    seen = _seen(rng, n_rows, n_cols, 0.1)
    columns = np.ones(n_cols, dtype=bool)
    columns[rng.choice(n_cols, 50, replace=False)] = False  # outside the candidates
    allowed = np.broadcast_to(columns, (n_rows, n_cols)).copy()
    seen_r = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
    allowed[seen_r, seen.indices] = False
    dense = weight * _percentiles(s.astype(np.float64)) + (1 - weight) * pop_pct[None, :]
    dense[~allowed] = -np.inf
    want_ids, want_vals = topk_dense(dense, k)
    keys = np.sort(seen_r.astype(np.int64) * n_cols + seen.indices)
    order = np.argsort(-pop_pct, kind="stable")
    ids, vals = blend_topk(s, pop_pct, order, weight, Allowed(keys, columns), k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(vals, want_vals)


class _Dense:
    """Mixin that turns the shortcut off, so the dense block path ranks."""

    def _rank_fast(self, *args: object, **kwargs: object) -> None:
        return None


class DensePopularity(_Dense, PopularityRecommender):
    pass


class DenseBlend(_Dense, BlendRecommender):
    pass


class DenseEASE(_Dense, EASERecommender):
    pass


@pytest.mark.parametrize("inner", [ALSRecommender(factors=8, iterations=3, n_jobs=1), EASERecommender(max_items=60),
                                   ItemKNNRecommender(k_neighbors=20)])
def test_models_rank_as_the_dense_path(sample_events: pd.DataFrame, inner: object) -> None:
    train, _ = temporal_split(sample_events, test_fraction=0.2)
    customers = [*train["customer_id"].unique()[:300], "nobody"]
    items = train["item_id"].dropna().unique()[::2]
    for fast, dense in ((PopularityRecommender(half_life=30.0), DensePopularity(half_life=30.0)),
                        (BlendRecommender(model=inner, weight=0.5), DenseBlend(model=inner, weight=0.5)),
                        (EASERecommender(max_items=40), DenseEASE(max_items=40))):
        fast.fit(train)
        dense.fit(train)
        for kwargs in ({}, {"items": items}, {"exclude_seen": False}):
            got = fast.recommend(customers, k=7, **kwargs)
            want = dense.recommend(customers, k=7, **kwargs)
            pd.testing.assert_frame_equal(got, want)


def test_without_repeat_blend_seen_items_come_back_in_the_shortcuts(sample_events: pd.DataFrame) -> None:
    train, _ = temporal_split(sample_events, test_fraction=0.2)
    customers = list(train["customer_id"].unique()[:200])
    for fast, dense in ((PopularityRecommender(repeat_weight=0.0), DensePopularity(repeat_weight=0.0)),
                        (EASERecommender(max_items=40, repeat_weight=0.0), DenseEASE(max_items=40, repeat_weight=0.0))):
        got = fast.fit(train).recommend(customers, k=5, exclude_seen=False)
        pd.testing.assert_frame_equal(got, dense.fit(train).recommend(customers, k=5, exclude_seen=False))
        assert got.groupby("customer_id")["item_id"].nunique().eq(5).all()
