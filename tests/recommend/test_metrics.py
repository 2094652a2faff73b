"""Ranking metrics against hand-computed values (PROTOCOL.md definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import cxml
from cxml.recommend import metrics as m

# user 0: relevant {1, 4, 7}, list [1, 2, 4] -> hits at ranks 1 and 3
# user 1: relevant {9}, list [3, 9, 5] -> hit at rank 2
# user 2: relevant {0, 1, 2, 3, 4} (more than k), list [5, 6, 7] -> no hit
REC = np.array([[1, 2, 4], [3, 9, 5], [5, 6, 7]])
REL = [[1, 4, 7], [9], [0, 1, 2, 3, 4]]
K = 3


def test_precision() -> None:
    np.testing.assert_allclose(m.precision_at_k(REC, REL, K), [2 / 3, 1 / 3, 0.0])


def test_recall_uses_min_k_relevant() -> None:
    # user 0: 2 / min(3, 3); user 1: 1 / min(3, 1); user 2: 0 / 3
    np.testing.assert_allclose(m.recall_at_k(REC, REL, K), [2 / 3, 1.0, 0.0])


def test_ndcg() -> None:
    u0 = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4))
    u1 = (1 / math.log2(3)) / 1.0
    np.testing.assert_allclose(m.ndcg_at_k(REC, REL, K), [u0, u1, 0.0])


def test_map() -> None:
    # user 0: (P@1 + P@3) / min(3, 3) = (1 + 2/3) / 3; user 1: P@2 / 1 = 1/2
    np.testing.assert_allclose(m.average_precision_at_k(REC, REL, K), [(1 + 2 / 3) / 3, 0.5, 0.0])


def test_mrr_and_hit_rate() -> None:
    np.testing.assert_allclose(m.reciprocal_rank_at_k(REC, REL, K), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(m.hit_rate_at_k(REC, REL, K), [1.0, 1.0, 0.0])


def test_ranking_metrics_means_match_per_user_functions() -> None:
    res = m.ranking_metrics(REC, REL, K)
    assert res["ndcg"] == pytest.approx(m.ndcg_at_k(REC, REL, K).mean())
    assert res["map"] == pytest.approx(((1 + 2 / 3) / 3 + 0.5) / 3)
    assert res["mrr"] == pytest.approx(0.5)
    assert res["hit_rate"] == pytest.approx(2 / 3)
    assert res["precision"] == pytest.approx(1 / 3)
    assert res["recall"] == pytest.approx(5 / 9)


def test_sparse_relevant_and_padding_and_duplicates() -> None:
    rel = sp.csr_matrix(([1.0, 1.0], ([0, 0], [2, 5])), shape=(1, 6))
    # -1 slots are empty; the repeated 2 must count once
    rec = np.array([[2, 2, -1]])
    np.testing.assert_allclose(m.precision_at_k(rec, rel, 3), [1 / 3])
    np.testing.assert_allclose(m.ndcg_at_k(rec, rel, 3), [1 / (1 + 1 / math.log2(3))])
    # k larger than the list: missing positions are misses
    np.testing.assert_allclose(m.precision_at_k(np.array([[5]]), rel, 2), [0.5])


def test_coverage_and_novelty() -> None:
    assert m.coverage(REC, n_items=20) == pytest.approx(len({1, 2, 4, 3, 9, 5, 6, 7}) / 20)
    share = np.array([0.5, 0.25, 1.0])
    # -log2: 1, 2, 0 -> mean over the four recommended slots [0, 1, 1, 2]
    assert m.novelty(np.array([[0, 1], [1, 2]]), share) == pytest.approx((1 + 2 + 2 + 0) / 4)


def test_bad_inputs() -> None:
    with pytest.raises(cxml.ParameterError, match="k=0"):
        m.precision_at_k(REC, REL, 0)
    with pytest.raises(cxml.ParameterError, match="rows"):
        m.precision_at_k(REC, REL[:2], K)


@given(st.lists(st.sets(st.integers(0, 30), min_size=1, max_size=12), min_size=1, max_size=8),
       st.integers(1, 10))
def test_perfect_ranking_scores_one_and_all_metrics_are_bounded(rel: list[set[int]], k: int) -> None:
    perfect = np.full((len(rel), k), -1)
    for u, items in enumerate(rel):
        top = sorted(items)[:k]
        perfect[u, : len(top)] = top
    res = m.ranking_metrics(perfect, [sorted(r) for r in rel], k)
    assert res["ndcg"] == pytest.approx(1.0) and res["recall"] == pytest.approx(1.0)
    assert res["map"] == pytest.approx(1.0) and res["mrr"] == 1.0 and res["hit_rate"] == 1.0
    shifted = m.ranking_metrics(perfect + 100 * (perfect >= 0), [sorted(r) for r in rel], k)
    assert all(v == 0.0 for v in shifted.values())
