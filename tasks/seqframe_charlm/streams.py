"""Stateful batches: B parallel streams through the text, cut into windows of T characters.

Row ``b`` of batch ``k`` continues row ``b`` of batch ``k - 1``, so the trainer carries the hidden
state across batches and the model sees context far longer than one window (truncated BPTT).
Each epoch starts its streams at a random offset in ``[0, T)``, drawn from ``(seed, epoch)``, so
window boundaries move between epochs while any epoch can be rebuilt exactly on resume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqframe.errors import DataError
from seqframe.task import Batch

INPUTS = ("tokens", "onehot")  # how characters reach the model (the task option ``inputs``)


def one_hot(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """(..., V) float32 one-hot rows for integer ``ids`` of any shape."""
    out = np.zeros(ids.shape + (vocab_size,), dtype=np.float32)
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


def model_inputs(ids: np.ndarray, vocab_size: int, inputs: str) -> np.ndarray:
    """What the model reads for character ``ids`` (B, T): the ids themselves, int64 (``tokens``:
    the model embeds them, or feeds them one-hot), or (B, T, V) float32 one-hot rows
    (``onehot``: the dense features runs trained before token inputs read)."""
    if inputs == "tokens":
        return np.ascontiguousarray(ids, dtype=np.int64)
    return one_hot(ids, vocab_size)


def check_fits(n_chars: int, batch_size: int, seq_len: int, what: str = "training text") -> None:
    """Raise a :class:`DataError` unless ``n_chars`` fill at least one batch of windows."""
    needed = batch_size * seq_len + 1  # +1: the last input's target
    if n_chars < needed:
        raise DataError(
            f"the {what} has {n_chars:,} characters, too few for batch_size {batch_size} x "
            f"seq_len {seq_len} (needs at least {needed:,}). Use a longer text, or lower "
            f"--batch-size or -o seq_len."
        )


class StreamBatches(Sequence):
    """The training batches of one epoch, built on demand (indexable and sized).

    Args:
        ids: (N,) int64 encoded training text.
        vocab_size: V, the one-hot width.
        batch_size: B streams.
        seq_len: T characters per window.
        offset: where stream 0 starts; ``< T`` and small enough to leave one full batch.
        inputs: ``tokens`` (inputs are the ids, (B, T) int64) or ``onehot`` ((B, T, V) float32).
    """

    def __init__(self, ids: np.ndarray, vocab_size: int, batch_size: int, seq_len: int,
                 offset: int = 0, inputs: str = "tokens"):
        check_fits(len(ids), batch_size, seq_len)
        self.vocab_size, self.batch_size, self.seq_len = vocab_size, batch_size, seq_len
        self.inputs = inputs
        stream_len = (len(ids) - 1 - offset) // batch_size  # inputs per stream
        self.n_batches = stream_len // seq_len
        used = self.n_batches * seq_len
        starts = offset + stream_len * np.arange(batch_size)  # (B,)
        cols = starts[:, None] + np.arange(used + 1)[None, :]  # (B, used + 1)
        self._streams = ids[cols]  # (B, used + 1): inputs and, shifted by one, targets

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, k: int) -> Batch:
        if not isinstance(k, (int, np.integer)):
            raise TypeError("StreamBatches indices must be integers")
        if k < 0:
            k += self.n_batches
        if not 0 <= k < self.n_batches:
            raise IndexError(f"batch {k} out of range for {self.n_batches} batches")
        lo = k * self.seq_len
        window = self._streams[:, lo : lo + self.seq_len + 1]  # (B, T + 1)
        return Batch(
            inputs=model_inputs(window[:, :-1], self.vocab_size, self.inputs),  # (B, T[, V])
            targets=np.ascontiguousarray(window[:, 1:]),  # (B, T) int64, the next characters
            mask=np.ones((self.batch_size, self.seq_len), dtype=bool),  # (B, T)
            reset=np.full(self.batch_size, k == 0, dtype=bool),  # (B,) new streams at k = 0
        )


def epoch_offset(n_chars: int, batch_size: int, seq_len: int, epoch: int, seed: int) -> int:
    """The stream offset of one epoch: uniform in ``[0, T)``, capped so one batch still fits."""
    slack = n_chars - 1 - batch_size * seq_len
    rng = np.random.default_rng([seed, epoch, 0x636C6D])  # 'clm': its own stream of the seed
    return int(rng.integers(0, min(seq_len, slack + 1)))


def eval_layout(n_targets: int, n_streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n_targets`` positions into at most ``n_streams`` contiguous streams.

    Returns:
        starts (S,) and lengths (S,) int64; lengths differ by at most one and sum to
        ``n_targets``, so every target is scored exactly once.
    """
    n_streams = max(1, min(n_streams, n_targets))
    base, extra = divmod(n_targets, n_streams)
    lengths = np.full(n_streams, base, dtype=np.int64)
    lengths[:extra] += 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return starts, lengths
