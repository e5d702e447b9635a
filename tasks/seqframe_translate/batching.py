"""Sentence-length bucketing: batches of similar length, in a shuffled order, from a seed.

Padding a short sentence to a long one in the same batch is wasted work (and, for a recurrent
encoder, many masked steps). Each epoch the training pairs are sorted by source length, then
target length, ties broken at random; consecutive runs of ``batch_size`` pairs form the batches,
and the batches are visited in a random order. Both random draws come from
``numpy.random.default_rng([seed, epoch, ...])``, so asking again for the same epoch gives the
same batches in the same order (a resumed run skips to its cursor) and every epoch differs.
Evaluation batches are sorted the same way without shuffling (:func:`eval_batches`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from seqframe.errors import ConfigError

from .contract import Seq2SeqBatch, make_batch

_STREAM = 0xB0C4E7  # keeps this generator apart from other seeded draws of the run


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"batch size must be a positive number of sentence pairs; got "
                          f"{batch_size}.")


def bucket_order(source_lengths: np.ndarray, target_lengths: np.ndarray, batch_size: int,
                 rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of each batch: sorted by (source, target) length, batches shuffled."""
    ties = rng.random(len(source_lengths))
    order = np.lexsort((ties, target_lengths, source_lengths))  # last key sorts first
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [chunks[k] for k in rng.permutation(len(chunks))]


class BucketBatches(Sequence[Seq2SeqBatch]):
    """One epoch's training batches, each built when indexed (indexable and sized).

    Args:
        sources: token ids of each training source sentence (no specials).
        targets: token ids of each training target sentence (no specials).
        batch_size: sentence pairs per batch (the last batch of a length run may be smaller).
        epoch: the epoch, 0-based.
        seed: the run's seed.
    """

    def __init__(self, sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                 batch_size: int, epoch: int, seed: int):
        _check_batch_size(batch_size)
        self.sources, self.targets = sources, targets
        rng = np.random.default_rng([seed, epoch, _STREAM])
        self.batches = bucket_order(np.array([len(s) for s in sources]),
                                    np.array([len(t) for t in targets]), batch_size, rng)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Seq2SeqBatch:  # type: ignore[override]
        rows = self.batches[index]
        return make_batch([list(self.sources[r]) for r in rows],
                          [list(self.targets[r]) for r in rows])


def eval_batches(sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                 batch_size: int) -> Iterator[tuple[np.ndarray, Seq2SeqBatch]]:
    """``(rows, batch)`` over every pair, grouped by length, in a fixed order (no shuffling)."""
    _check_batch_size(batch_size)
    order = np.lexsort((np.array([len(t) for t in targets]), np.array([len(s) for s in sources])))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, make_batch([list(sources[r]) for r in rows], [list(targets[r]) for r in rows])
