"""recommend(): top-K items with titles, seen items left out, unknown ids listed."""

from __future__ import annotations

import numpy as np
import pytest
from ni_helpers import TableScores
from seqframe_nextitem.task import NextItemTask

from seqframe.errors import DataError, ExitCode


@pytest.fixture
def tiny_task(tiny_inter):
    task = NextItemTask({}, str(tiny_inter))
    task.prepare()
    return task


def test_top_k_by_score_with_raw_ids_and_titles(tiny_task):
    # raw items 10..80 are ids 1..8; scores favour 30, then 80, then 10
    scores = np.array([9.0, 0.5, 0.1, 0.9, 0.2, 0.0, 0.3, 0.4, 0.8])
    got = tiny_task.recommend(TableScores(scores), [[20]], k=3)
    assert got == [[(30, 0.9, "Thirty"), (80, 0.8, None), (10, 0.5, "Ten")]]


def test_seen_items_are_left_out_unless_asked(tiny_task):
    scores = np.array([0.0, 0.5, 0.1, 0.9, 0.2, 0.0, 0.3, 0.4, 0.8])
    predictor = TableScores(scores)
    assert [r[0] for r in tiny_task.recommend(predictor, [[30, "80"]], k=2)[0]] == [10, 70]
    kept = tiny_task.recommend(predictor, [[30, 80]], k=2, exclude_seen=False)[0]
    assert [r[0] for r in kept] == [30, 80]


def test_the_model_reads_each_history_in_order(tiny_task):
    # score of the next item = a table indexed by the last item read: after 50 (id 5), 60 wins
    table = np.zeros((9, 9))
    table[5, 6], table[1, 2] = 1.0, 1.0
    got = tiny_task.recommend(TableScores(table), [[10, 50], [50, 10]], k=1)
    assert got == [[(60, 1.0, "Sixty")], [(20, 1.0, "Twenty")]]


def test_ties_go_to_the_lower_id_and_k_beyond_the_catalogue(tiny_task):
    got = tiny_task.recommend(TableScores(np.zeros(9)), [[10]], k=50)[0]
    assert [r[0] for r in got] == [20, 30, 40, 50, 60, 70, 80]


def test_unknown_ids_are_listed(tiny_task):
    with pytest.raises(DataError, match=r"unknown item id\(s\): 99 \(history 0\), 'abc' "
                                        r"\(history 1\)\. The model knows the 8 items") as info:
        tiny_task.recommend(TableScores(np.zeros(9)), [[10, 99], ["abc", 20]], k=3)
    assert info.value.exit_code == ExitCode.USAGE == 2


def test_empty_history_and_bad_k(tiny_task):
    with pytest.raises(DataError, match="history 1 is empty"):
        tiny_task.recommend(TableScores(np.zeros(9)), [[10], []], k=3)
    with pytest.raises(DataError, match="k must be 1 or more"):
        tiny_task.recommend(TableScores(np.zeros(9)), [[10]], k=0)


def test_movielens_titles(ml100k):
    task = NextItemTask({}, str(ml100k))
    task.prepare()
    scores = np.zeros(1683)
    scores[[1, 50, 181]] = [3.0, 2.0, 1.0]  # Toy Story, Star Wars, Return of the Jedi
    got = task.recommend(TableScores(scores), [[50, 172, 133]], k=3)[0]
    assert [(i, t) for i, _, t in got] == [(1, "Toy Story"), (181, "Return of the Jedi"),
                                           (2, "GoldenEye")]
