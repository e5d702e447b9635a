"""Task-level behaviour: candidates shared by model and baselines, context length, options."""

from __future__ import annotations

import math

import numpy as np
from ni_helpers import TableScores
from seqframe_nextitem.task import NextItemTask


def dcg(rank: int) -> float:
    return 1 / math.log2(rank + 2)


def test_seen_items_stay_candidates_when_asked(tiny_inter):
    task = NextItemTask({"exclude_seen": False}, str(tiny_inter))
    task.prepare()
    got = task.evaluate(TableScores(np.arange(9.0)), "test")
    # user 1's 5 trails 6 7 8 (rank 3); user 2's 6 now trails its own history's 7 and 8
    assert math.isclose(got["full_ndcg@10"], (dcg(3) + dcg(2)) / 2)


def test_negatives_are_fixed_per_split_and_seed():
    first, second = NextItemTask({}, None), NextItemTask({}, None)
    first.prepare()
    second.prepare()
    val = first.negatives("val")
    assert val.shape == (600, 100) and val is first.negatives("val")
    assert np.array_equal(val, second.negatives("val"))
    assert not np.array_equal(val, first.negatives("test"))
    other = NextItemTask({"eval_seed": 1}, None)
    other.prepare()
    assert not np.array_equal(val, other.negatives("val"))


def test_model_and_baselines_rank_against_the_same_candidates():
    task = NextItemTask({}, None)
    task.prepare()
    # a "model" that scores exactly like popularity must get popularity's figures
    popularity = np.bincount(np.concatenate(task.protocol.train), minlength=task.width)
    assert task.evaluate(TableScores(popularity.astype(float)), "val") == (
        task.baselines("val")["popularity"])


def test_the_model_reads_at_most_max_len_items(tiny_inter):
    task = NextItemTask({"max_len": 2}, str(tiny_inter))
    task.prepare()
    predictor = TableScores(np.zeros(9))
    task.evaluate(predictor, "test")
    assert max(shape[1] for shape, _ in predictor.calls) == 2
    assert [len(p) - 1 for p in task.pieces] == [1, 1]  # 10 20 | 40 10: one step each


def test_sessions_are_run_once_each(sessions_csv):
    opts = {"protocol": "session", "session_gap": 100.0, "val_fraction": 0.2,
            "test_fraction": 0.2, "user": "user", "item": "item", "time": "time"}
    task = NextItemTask(opts, str(sessions_csv))
    task.prepare()
    predictor = TableScores(np.zeros(7))
    task.evaluate(predictor, "test")
    assert predictor.calls == [((1, 1), (1, 1))]  # the test session 5 4: one row, one step
    assert task.metric == "mrr@20" and NextItemTask.metric == "full_ndcg@10"


def test_the_model_spec_declares_token_inputs_and_training_counts(tiny_inter):
    spec = NextItemTask({}, str(tiny_inter)).prepare()
    assert (spec.tokens, spec.input_size, spec.output_size, spec.padding_id) == (True, 9, 9, 0)
    assert spec.loss == "cross_entropy"
    assert set(spec.losses) == {"sampled_softmax", "bpr_max", "top1_max"}
    # training items: user 1's 10 20 (30, 50 held out), user 2's 80 (70, 60 held out), user 3's
    # 40 10 (two events: training only) -> ids 1 2 | 8 | 4 1
    assert spec.class_frequencies == (0, 2, 1, 0, 1, 0, 0, 0, 1)
