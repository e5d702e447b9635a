"""Ranking metrics against values worked out by hand; the negative sampler's guarantees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_nextitem import ranking

# Two questions over items 1..5 (column 0 is padding and must never count).
SCORES = np.array([[9.0, 0.1, 0.5, 0.3, 0.5, 0.2],
                   [9.0, 0.4, 0.3, 0.2, 0.1, 0.0]])


def test_full_ranks_count_every_item_at_or_above_the_target():
    # question 0, target 3 (0.3): 2 and 4 (0.5) are above -> rank 2; padding's 9.0 is ignored
    # question 1, target 1 (0.4): nothing above -> rank 0
    assert ranking.full_ranks(SCORES, np.array([3, 1])).tolist() == [2, 0]


def test_ties_count_against_the_true_item():
    # target 2 (0.5) ties with 4 (0.5): conservatively 4 ranks first -> rank 1, not 0
    assert ranking.full_ranks(SCORES, np.array([2, 1])).tolist() == [1, 0]
    flat = np.zeros((1, 6))
    assert ranking.full_ranks(flat, np.array([4])).tolist() == [4]  # behind all 4 others


def test_excluded_items_are_not_candidates_but_the_target_always_is():
    ranks = ranking.full_ranks(SCORES, np.array([3, 2]), exclude=[np.array([2, 4]),
                                                                 np.array([1, 2])])
    # question 0: 2 and 4 excluded -> rank 0; question 1: 1 excluded, target 2 kept -> rank 0
    assert ranks.tolist() == [0, 0]


def test_nan_scores_rank_last():
    scores = np.array([[0.0, np.nan, 0.2, 0.1]])
    assert ranking.full_ranks(scores, np.array([1])).tolist() == [2]
    assert ranking.full_ranks(scores, np.array([3])).tolist() == [1]


def test_sampled_ranks_use_only_the_negatives_and_skip_empty_slots():
    negatives = np.array([[1, 5, 0], [2, 3, 5]])
    # question 0, target 3 (0.3) vs 1 (0.1), 5 (0.2) -> rank 0; empty slot 0 ignored
    # question 1, target 4 (0.1) vs 2 (0.3), 3 (0.2), 5 (0.0) -> 2 above -> rank 2
    assert ranking.sampled_ranks(SCORES, np.array([3, 4]), negatives).tolist() == [0, 2]


def test_hr_ndcg_mrr_by_hand():
    ranks = np.array([0, 2, 9, 10, 50])
    assert ranking.hit_rate(ranks, 10) == pytest.approx(3 / 5)
    expected_ndcg = (1 + 1 / math.log2(4) + 1 / math.log2(11)) / 5
    assert ranking.ndcg(ranks, 10) == pytest.approx(expected_ndcg)
    assert ranking.mrr(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 10) / 5)
    assert ranking.mrr(ranks, 20) == pytest.approx((1 + 1 / 3 + 1 / 10 + 1 / 11) / 5)


def test_curves_agree_with_the_metric_at_each_k():
    ranks = np.random.default_rng(0).integers(0, 80, size=300)
    hr, nd = ranking.curves(ranks, 50)
    for k in (1, 7, 50):
        assert hr[k - 1] == pytest.approx(ranking.hit_rate(ranks, k))
        assert nd[k - 1] == pytest.approx(ranking.ndcg(ranks, k))
    assert np.all(np.diff(hr) >= 0) and np.all(np.diff(nd) >= 0)


def test_negatives_avoid_consumed_items_and_repeat_nothing():
    rng = np.random.default_rng(1)
    interacted = [rng.choice(np.arange(1, 201), size=rng.integers(1, 120), replace=False)
                  for _ in range(50)]
    neg = ranking.sample_negatives(interacted, 200, 60, seed=7)
    assert neg.shape == (50, 60)
    for row, had in zip(neg, interacted, strict=True):
        real = row[row > 0]
        assert len(real) == min(60, 200 - len(had))
        assert len(set(real)) == len(real) and not set(real) & set(had)
        assert real.min() >= 1 and real.max() <= 200
    assert np.array_equal(neg, ranking.sample_negatives(interacted, 200, 60, seed=7))
    assert not np.array_equal(neg, ranking.sample_negatives(interacted, 200, 60, seed=8))


def test_negatives_are_uniform_over_the_items_left():
    # 4000 draws of 3 out of the 8 items 3..10 (1 and 2 consumed): each item ~ 3/8 of draws
    neg = ranking.sample_negatives([np.array([1, 2])] * 4000, 10, 3, seed=0)
    counts = np.bincount(neg.ravel(), minlength=11)
    assert counts[:3].tolist() == [0, 0, 0]
    expected = 4000 * 3 / 8
    # a binomial's std here is sqrt(4000 * 3/8 * 5/8) ~ 31; 5 std either way
    assert np.all(np.abs(counts[3:] - expected) < 155), counts


def test_full_ranks_of_movielens_size_in_one_pass():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(943, 1683))
    targets = rng.integers(1, 1683, size=943)
    history = [rng.integers(1, 1683, size=100) for _ in range(943)]
    ranks = ranking.full_ranks(scores, targets, history)
    for q in (0, 500, 942):  # one question at a time, the plain way
        allowed = np.ones(1683, bool)
        allowed[0] = False
        allowed[history[q]] = False
        allowed[targets[q]] = False
        assert ranks[q] == np.sum(scores[q][allowed] >= scores[q, targets[q]])
