"""Baselines against hand-computed scores, and against a plain-Python oracle on MovieLens 100K."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from seqframe_nextitem.baselines import ItemKNN, Markov, Popularity
from seqframe_nextitem.task import NextItemTask

# Training sequences over items 1..4: popularity 2 2 3 1; transitions 1->2, 2->3 (twice), 1->3,
# 3->4; co-occurrence (in how many sequences): 1&2 1, 1&3 2, 1&4 1, 2&3 2, 2&4 0, 3&4 1.
TRAIN = [np.array([1, 2, 3]), np.array([2, 3]), np.array([1, 3, 4])]


def test_popularity_counts_training_occurrences():
    got = Popularity(TRAIN, 4).scores([np.array([1]), np.array([4, 2])])
    assert got[:, 1:].tolist() == [[2, 2, 3, 1]] * 2


def test_markov_counts_transitions_and_backs_off_to_popularity():
    base = np.array([2, 2, 3, 1]) / 4  # popularity / (max popularity + 1)
    got = Markov(TRAIN, 4).scores([np.array([3, 2]), np.array([1]), np.array([2, 4])])
    np.testing.assert_allclose(got[0, 1:], base + [0, 0, 2, 0])  # after 2: 3 twice
    np.testing.assert_allclose(got[1, 1:], base + [0, 1, 1, 0])  # after 1: 2 once, 3 once
    np.testing.assert_allclose(got[2, 1:], base)  # 4 never led anywhere: popularity alone


@pytest.mark.parametrize("dense", [True, False])
def test_item_knn_sums_cosine_similarities_of_the_history(monkeypatch, dense):
    monkeypatch.setattr(ItemKNN, "DENSE_ITEMS", 4096 if dense else 0)
    knn = ItemKNN(TRAIN, 4)
    got = knn.scores([np.array([1, 2]), np.array([1, 1])])
    cos12, cos13, cos14, cos23 = 1 / 2, 2 / math.sqrt(6), 1 / math.sqrt(2), 2 / math.sqrt(6)
    np.testing.assert_allclose(got[0, 1:], [cos12, cos12, cos13 + cos23, cos14], atol=1e-12)
    # a repeated item counts once; an item's similarity to itself is left out
    np.testing.assert_allclose(got[1, 1:], [0, cos12, cos13, cos14], atol=1e-12)


@pytest.mark.parametrize("dense", [True, False])
def test_scores_along_a_session_equal_scoring_each_prefix(monkeypatch, dense):
    monkeypatch.setattr(ItemKNN, "DENSE_ITEMS", 4096 if dense else 0)
    knn = ItemKNN(TRAIN, 4)
    session, cuts = np.array([1, 2, 1, 4, 3]), np.array([1, 2, 3, 4])
    expected = knn.scores([session[:p] for p in cuts])
    np.testing.assert_allclose(knn.scores_along(session, cuts), expected, atol=1e-12)


def _oracle(path, scorer, every: int) -> dict[int, int]:
    """Leave-one-out full-catalogue test rank of every ``every``-th user, one item at a time."""
    events = defaultdict(list)
    with open(path) as fh:
        for n, row in enumerate(list(csv.reader(fh, delimiter="\t"))[1:]):
            events[int(row[0])].append((float(row[3]), n, int(row[1])))
    seqs = {u: [i for _, _, i in sorted(e)] for u, e in events.items()}
    catalogue = sorted({i for s in seqs.values() for i in s})
    train = [s[:-2] if len(s) >= 3 else s for s in seqs.values()]
    pop = Counter(i for s in train for i in s)
    moves = Counter((a, b) for s in train for a, b in zip(s, s[1:], strict=False))
    ranks = {}
    for u in sorted(seqs)[::every]:
        s = seqs[u]
        target, history = s[-1], set(s[:-1])
        score = scorer(pop, moves, s[-2])
        mine = score(target)
        ranks[u] = sum(1 for i in catalogue
                       if i != target and i not in history and score(i) >= mine)
    return ranks


def _popularity(pop, moves, last):
    return lambda i: pop[i]


def _markov(pop, moves, last):
    top = max(pop.values())
    return lambda i: moves[(last, i)] + pop[i] / (top + 1)


def test_baselines_match_a_plain_python_oracle_on_movielens(ml100k):
    task = NextItemTask({}, str(ml100k))
    task.prepare()
    ranks = task.baseline_ranks("test")
    users = task.protocol.cases["test"].seq  # user indices; MovieLens users are 1..943 in order
    assert len(users) == 943  # every user has 3+ ratings
    for name, scorer in (("popularity", _popularity), ("markov", _markov)):
        expected = _oracle(ml100k, scorer, every=4)
        got = {1 + int(u): int(r) for u, r in zip(users, ranks[name]["full"], strict=True)}
        assert {u: got[u] for u in expected} == expected, name
        hr = np.mean(ranks[name]["full"] < 10)
        assert task.baselines("test")[name]["full_hr@10"] == pytest.approx(hr)
