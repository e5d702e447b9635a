"""Padded and session-parallel batches: item-id inputs, targets, masks, resets."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_nextitem.batching import PaddedBatches, ParallelBatches, pieces

from seqframe.errors import ConfigError
from seqframe.task import Batch

TRAIN = [np.array([1, 2, 3, 4, 5]), np.array([6, 7]), np.array([8]), np.array([2, 4, 6, 8])]


def transitions(seqs) -> list[tuple[int, int]]:
    return sorted((int(a), int(b)) for s in seqs for a, b in zip(s[:-1], s[1:], strict=True))


def batch_transitions(batch: Batch) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in zip(batch.inputs[batch.mask], batch.targets[batch.mask],
                                             strict=True)]


def test_pieces_cut_from_the_end_and_cover_each_transition_once():
    cut = pieces(TRAIN, 2)
    assert [p.tolist() for p in cut] == [[3, 4, 5], [1, 2, 3], [6, 7], [4, 6, 8], [2, 4]]
    assert transitions(cut) == transitions(TRAIN)


def test_padded_batches_hold_inputs_targets_and_masks():
    rows = pieces(TRAIN, 10)
    batches = PaddedBatches(rows, np.arange(len(rows)), 2)
    first = batches[0]
    # the inputs are the item ids themselves (token inputs), 0 on padded steps
    assert first.inputs.dtype == np.int64
    assert first.inputs.tolist() == [[1, 2, 3, 4], [6, 0, 0, 0]]
    assert first.targets[first.mask].tolist() == [2, 3, 4, 5, 7]
    assert first.mask.tolist() == [[True] * 4, [True, False, False, False]]
    assert first.reset.all() and len(batches) == 2
    assert first.rows(1, 2).inputs.tolist() == [[6, 0, 0, 0]]


@pytest.mark.parametrize("window", [1, 2, 3])
def test_parallel_rows_continue_sequences_and_reset_at_each_start(window):
    train = [np.arange(10 * s + 1, 10 * s + 2 + n) for s, n in enumerate([4, 2, 5, 1, 3, 2])]
    batches = ParallelBatches(train, np.arange(len(train)), 2, window)
    seen = []
    for k in range(len(batches)):
        b = batches[k]
        assert b.batch_size == 2 and b.length <= window
        assert b.mask.any(axis=1).all()
        for r in range(2):
            steps = b.inputs[r][b.mask[r]]
            # a new sequence starts exactly where its first item (10 s + 1) is read
            assert b.reset[r] == (steps[0] % 10 == 1)
        seen += batch_transitions(b)
    assert batches[0].reset.all()
    assert len(set(seen)) == len(seen)  # nothing trained twice in one epoch
    assert set(seen) <= set(transitions(train))
    # the rows come out nearly equal: at most the last sequence of one row is left over
    assert len(transitions(train)) - len(seen) <= 5


def test_parallel_window_one_is_gru4rec():
    # rows take sequences in order, each to the row with the fewest steps so far
    train = [np.array([1, 2, 3]), np.array([4, 5]), np.array([6, 7, 8])]
    batches = ParallelBatches(train, np.arange(3), 2, 1)
    items = [batches[k].inputs[:, 0].tolist() for k in range(len(batches))]
    resets = [batches[k].reset.tolist() for k in range(len(batches))]
    assert items == [[1, 4], [2, 6]] and resets == [[True, True], [False, True]]


def test_parallel_needs_as_many_sequences_as_rows():
    with pytest.raises(ConfigError, match=r"at least --batch-size \(4\) training sequences of "
                                          r"2\+ items; there are 3"):
        ParallelBatches(TRAIN, np.arange(4), 4, 1)
