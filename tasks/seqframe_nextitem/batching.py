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

The model reads one-hot rows (B, T, N + 1) through :func:`encode_items`, for now: the core has
no embedding table yet. Every batch also carries the integer ids as ``items`` (:class:`ItemBatch`),
which is what an embedding-table model will read instead.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError
from seqframe.task import Batch, RowBatches


def encode_items(items: np.ndarray, width: int) -> np.ndarray:
    """The model inputs for item ids ``items`` (any shape): one-hot rows ``(..., width)``.

    Item ``0`` (padding) is the zero row. The one place the task turns ids into model inputs:
    when the core gains token-id inputs with an embedding table, this returns ``items`` itself.
    """
    out = np.zeros(items.shape + (width,), dtype=np.float32)  # (..., V)
    np.put_along_axis(out, items[..., None], 1.0, axis=-1)
    out[..., 0] = 0.0
    return out


@dataclass
class ItemBatch(Batch):
    """A :class:`~seqframe.task.Batch` that also carries the input item ids.

    Attributes:
        items: (B, T) int64 input item ids (0 on padded steps); ``inputs`` is their encoding.
    """

    items: np.ndarray | None = None

    def rows(self, start: int, stop: int) -> ItemBatch:
        parts = (self.inputs, self.targets, self.mask, self.reset)
        return ItemBatch(*(a[start:stop] for a in parts),
                         items=None if self.items is None else self.items[start:stop])


def make_batch(windows: list[np.ndarray], reset: np.ndarray, width: int) -> ItemBatch:
    """Rows from item windows of ``T_r + 1`` items each (inputs ``[:-1]``, targets ``[1:]``)."""
    steps = max(len(w) for w in windows) - 1
    items = np.zeros((len(windows), steps), dtype=np.int64)  # (B, T)
    targets = np.zeros((len(windows), steps), dtype=np.int64)  # (B, T)
    for r, w in enumerate(windows):
        items[r, : len(w) - 1], targets[r, : len(w) - 1] = w[:-1], w[1:]
    mask = np.arange(steps)[None, :] < np.array([len(w) - 1 for w in windows])[:, None]
    return ItemBatch(encode_items(items, width), targets, mask, np.asarray(reset, dtype=bool),
                     items=items)


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

    def __init__(self, rows: list[np.ndarray], order: np.ndarray, batch_size: int, width: int):
        super().__init__(order, batch_size)
        self.pieces, self.width = rows, width

    def make(self, rows: np.ndarray, index: int) -> ItemBatch:
        return make_batch([self.pieces[r] for r in rows], np.ones(len(rows), bool), self.width)


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
        width: V, the one-hot width.
    """

    def __init__(self, train: list[np.ndarray], order: np.ndarray, batch_size: int,
                 window: int, width: int):
        seqs = [train[i] for i in order if len(train[i]) >= 2]
        if len(seqs) < batch_size:
            raise ConfigError(
                f"session-parallel batches need at least --batch-size ({batch_size}) training "
                f"sequences of 2+ items; there are {len(seqs)}. Lower --batch-size or use "
                "-o batching=padded."
            )
        self.width = width
        windows = np.array([-(-(len(s) - 1) // window) for s in seqs])  # windows per sequence
        # per row: the (sequence, first step) of each of its windows, in order
        self.plan = [[(seqs[s], k * window, k == 0) for s in queue for k in range(windows[s])]
                     for queue in deal(windows, batch_size)]
        self.window, self.count = window, min(len(p) for p in self.plan)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> ItemBatch:  # type: ignore[override]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        index %= self.count
        cells = [row[index] for row in self.plan]
        spans = [seq[lo: lo + self.window + 1] for seq, lo, _ in cells]
        return make_batch(spans, np.array([first for _, _, first in cells]), self.width)
