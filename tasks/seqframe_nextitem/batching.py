"""Training batches of item sequences: input at each step the current item, target the next.

Two layouts (``-o batching``):

* ``padded`` -- each row is one training sequence (a user's training items, or a session), cut
  into pieces of at most ``max_len`` transitions from its end backwards (each piece starts from
  a zero state); rows are padded to the batch's longest piece and masked.
* ``parallel`` -- GRU4Rec's session-parallel mini-batches: B rows run in parallel, each through
  its own queue of training sequences; a window of ``window`` steps per batch, and when a row's
  sequence ends its next sequence starts in the row's next window (``reset`` True, the state is
  zeroed). Steps of a window after its sequence ended are masked. With ``window = 1`` this is
  exactly GRU4Rec's scheme. Sequences are shuffled per epoch and dealt to the rows so that the
  rows' lengths come out nearly equal; the epoch ends when the first row runs out (the Batch
  contract keeps B fixed in a stateful stream), which drops at most a sequence or so per row.

Inputs are the item ids themselves, ``(B, T)`` int64 with 0 on padded steps: the task declares
token inputs (``ModelSpec(tokens=True, padding_id=0)``), so the model looks each id up in its
embedding table (``--embed``). Targets are the next ids, ``(B, T)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from seqframe.errors import ConfigError
from seqframe.task import Batch, RowBatches


def make_batch(windows: list[np.ndarray], reset: np.ndarray) -> Batch:
    """Rows from item windows of ``T_r + 1`` items each (inputs ``[:-1]``, targets ``[1:]``)."""
    steps = max(len(w) for w in windows) - 1
    items = np.zeros((len(windows), steps), dtype=np.int64)  # (B, T)
    targets = np.zeros((len(windows), steps), dtype=np.int64)  # (B, T)
    for r, w in enumerate(windows):
        items[r, : len(w) - 1], targets[r, : len(w) - 1] = w[:-1], w[1:]
    mask = np.arange(steps)[None, :] < np.array([len(w) - 1 for w in windows])[:, None]
    return Batch(items, targets, mask, np.asarray(reset, dtype=bool))


def pieces(train: list[np.ndarray], max_len: int) -> list[np.ndarray]:
    """Training sequences cut into pieces of at most ``max_len`` transitions, from the end.

    Consecutive pieces share one item (the last target of one is the first input of the next),
    so every transition is trained exactly once; sequences of one item have none and are left out.
    """
    out = []
    for seq in train:
        stop = len(seq)
        while stop >= 2:
            start = max(0, stop - 1 - max_len)
            out.append(seq[start:stop])
            stop = start + 1
    return out


class PaddedBatches(RowBatches):
    """One epoch of padded, masked pieces (``-o batching=padded``)."""

    def __init__(self, rows: list[np.ndarray], order: np.ndarray, batch_size: int):
        super().__init__(order, batch_size)
        self.pieces = rows

    def make(self, rows: np.ndarray, index: int) -> Batch:
        return make_batch([self.pieces[r] for r in rows], np.ones(len(rows), bool))


def deal(lengths: np.ndarray, rows: int) -> list[list[int]]:
    """Sequence indices dealt to ``rows`` queues in the given order, each to the shortest queue."""
    heap = [(0, r) for r in range(rows)]
    queues: list[list[int]] = [[] for _ in range(rows)]
    for s, length in enumerate(lengths):
        load, r = heapq.heappop(heap)
        queues[r].append(s)
        heapq.heappush(heap, (load + int(length), r))
    return queues


class ParallelBatches(Sequence):
    """One epoch of session-parallel windows (``-o batching=parallel``); indexable and sized.

    Args:
        train: training sequences (those with fewer than 2 items are skipped).
        order: (S,) this epoch's order of ``train``.
        batch_size: B rows.
        window: T steps per batch.
    """

    def __init__(self, train: list[np.ndarray], order: np.ndarray, batch_size: int,
                 window: int):
        seqs = [train[i] for i in order if len(train[i]) >= 2]
        if len(seqs) < batch_size:
            raise ConfigError(
                f"session-parallel batches need at least --batch-size ({batch_size}) training "
                f"sequences of 2+ items; there are {len(seqs)}. Lower --batch-size or use "
                "-o batching=padded."
            )
        windows = np.array([-(-(len(s) - 1) // window) for s in seqs])  # windows per sequence
        # per row: the (sequence, first step) of each of its windows, in order
        self.plan = [[(seqs[s], k * window, k == 0) for s in queue for k in range(windows[s])]
                     for queue in deal(windows, batch_size)]
        self.window, self.count = window, min(len(p) for p in self.plan)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Batch:  # type: ignore[override]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        index %= self.count
        cells = [row[index] for row in self.plan]
        spans = [seq[lo: lo + self.window + 1] for seq, lo, _ in cells]
        return make_batch(spans, np.array([first for _, _, first in cells]))
