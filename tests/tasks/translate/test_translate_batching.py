"""Seq2SeqBatch padding and specials, and length bucketing: grouped, shuffled, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_translate.batching import BucketBatches, eval_batches
from seqframe_translate.contract import Seq2SeqBatch, make_batch
from seqframe_translate.task import TranslateTask

from seqframe.errors import ConfigError


def test_make_batch_by_hand():
    batch = make_batch([[5, 6, 7], [8]], [[9], [10, 11]])
    np.testing.assert_array_equal(batch.source, [[5, 6, 7, 3], [8, 3, 0, 0]])
    np.testing.assert_array_equal(batch.source_mask, [[1, 1, 1, 1], [1, 1, 0, 0]])
    np.testing.assert_array_equal(batch.target_in, [[2, 9, 0], [2, 10, 11]])
    np.testing.assert_array_equal(batch.target_out, [[9, 3, 0], [10, 11, 3]])
    np.testing.assert_array_equal(batch.target_mask, [[1, 1, 0], [1, 1, 1]])
    assert batch.source.dtype == np.int64 and batch.target_mask.dtype == bool
    assert (batch.batch_size, batch.target_tokens) == (2, 5)
    second = batch.rows(1, 2)
    assert isinstance(second, Seq2SeqBatch)
    np.testing.assert_array_equal(second.target_out, [[10, 11, 3]])


def test_empty_target_is_just_eos():
    batch = make_batch([[4]], [[]])
    np.testing.assert_array_equal(batch.target_in, [[2]])
    np.testing.assert_array_equal(batch.target_out, [[3]])


def corpus_of_lengths(n=200, seed=0):
    rng = np.random.default_rng(seed)
    src_len = rng.integers(1, 30, n)
    tgt_len = rng.integers(1, 30, n)
    sources = [list(range(100 + i, 100 + i + k)) for i, k in enumerate(src_len)]
    targets = [[4 + i % 50] * k for i, k in enumerate(tgt_len)]
    return sources, targets


def test_every_pair_once_per_epoch_and_batches_of_similar_length():
    sources, targets = corpus_of_lengths()
    batches = BucketBatches(sources, targets, batch_size=16, epoch=0, seed=1)
    assert len(batches) == 13  # ceil(200 / 16)
    seen = []
    spread = []
    for batch in batches:
        lengths = batch.source_mask.sum(1) - 1
        seen += [int(row[0]) - 100 for row in batch.source]  # each source starts at 100 + row
        spread.append(lengths.max() - lengths.min())
    assert sorted(seen) == list(range(200))
    # sorted by source length, a batch of 16 spans ~2-3 lengths of the 29; at random, ~25
    assert np.mean(spread) <= 3


def test_bucketing_is_deterministic_per_epoch_and_shuffled_across_epochs():
    sources, targets = corpus_of_lengths()
    first = [b.source[:, 0].tolist() for b in BucketBatches(sources, targets, 16, 0, 7)]
    again = [b.source[:, 0].tolist() for b in BucketBatches(sources, targets, 16, 0, 7)]
    later = [b.source[:, 0].tolist() for b in BucketBatches(sources, targets, 16, 1, 7)]
    other = [b.source[:, 0].tolist() for b in BucketBatches(sources, targets, 16, 0, 8)]
    assert first == again
    assert first != later and first != other
    order = [b.source_mask.sum(1).min() for b in BucketBatches(sources, targets, 16, 0, 7)]
    assert order != sorted(order)  # batches are visited in a shuffled order


def test_indexing_from_the_end_and_out_of_range():
    sources, targets = corpus_of_lengths(40)
    batches = BucketBatches(sources, targets, 16, 0, 0)
    np.testing.assert_array_equal(batches[-1].source, batches[2].source)
    with pytest.raises(IndexError):
        batches[3]


def test_eval_batches_cover_every_row_in_length_order():
    sources, targets = corpus_of_lengths(50)
    rows = [r for r, _ in eval_batches(sources, targets, 8)]
    assert sorted(np.concatenate(rows).tolist()) == list(range(50))
    firsts = [int(b.source_mask.sum(1).max()) for _, b in eval_batches(sources, targets, 8)]
    assert firsts == sorted(firsts)
    with pytest.raises(ConfigError, match="batch size must be a positive number"):
        next(eval_batches(sources, targets, 0))


def test_task_train_batches_are_seq2seq_batches_of_the_sample():
    task = TranslateTask()
    task.prepare()
    batches = task.train_batches(epoch=0, batch_size=32, seed=0)
    assert len(batches) == -(-600 // 32)
    batch = batches[0]
    assert isinstance(batch, Seq2SeqBatch)
    assert batch.source.max() < task.source.size and batch.target_out.max() < task.target.size
    # every row: target_out is target_in shifted left by one, ending in <eos>
    for t_in, t_out, mask in zip(batch.target_in, batch.target_out, batch.target_mask,
                                 strict=True):
        n = int(mask.sum())
        assert t_in[0] == 2 and t_out[n - 1] == 3
        np.testing.assert_array_equal(t_in[1:n], t_out[: n - 1])
