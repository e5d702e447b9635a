"""Planning truncated-BPTT windows and micro-batches, against hand-worked examples."""

import numpy as np

from seqframe.task import Batch
from seqframe.training.windows import Span, micro_batches, plan_windows, time_slice


def test_k1_only_windows_tile_the_batch():
    assert plan_windows(10, 4, 4) == [Span(0, 0, 4, None), Span(4, 4, 8, None),
                                      Span(8, 8, 10, None)]


def test_k2_look_back_reruns_earlier_steps_and_carries_the_state_from_there():
    # k1=4, k2=6: each window starts 2 steps early; the state handed on is the one at the next
    # window's look-back start (2 steps before its end).
    assert plan_windows(12, 4, 6) == [Span(0, 0, 4, 2), Span(2, 4, 8, 4), Span(6, 8, 12, None)]


def test_long_look_back_is_clipped_at_the_batch_start():
    # k1=2, k2=5: windows start 3 steps early, but not before step 0.
    spans = plan_windows(6, 2, 5)
    assert spans == [Span(0, 0, 2, 0), Span(0, 2, 4, 1), Span(1, 4, 6, None)]
    assert [s.loss_from for s in spans] == [0, 2, 3]


def test_micro_batches_split_rows_evenly():
    assert micro_batches(8, 2) == [(0, 4), (4, 8)]
    assert micro_batches(7, 3) == [(0, 2), (2, 5), (5, 7)]
    assert micro_batches(2, 5) == [(0, 1), (1, 2)]


def test_time_slice_resets_only_at_step_zero():
    batch = Batch(np.zeros((2, 6, 1)), np.arange(12).reshape(2, 6), np.ones((2, 6), bool),
                  np.array([True, False]))
    first = time_slice(batch, Span(0, 0, 3, None), whole=False)
    later = time_slice(batch, Span(2, 3, 6, None), whole=False)
    assert first.reset.tolist() == [True, False] and later.reset.tolist() == [False, False]
    assert later.targets.tolist() == [[2, 3, 4, 5], [8, 9, 10, 11]]
