"""Whole-sequence batches of variable-length series, and the stratified validation split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqframe.errors import ConfigError
from seqframe.task import Batch, RowBatches


def pad_batch(series: Sequence[np.ndarray], targets: np.ndarray) -> Batch:
    """Pad ``(T_i, D)`` series to the longest one; the mask marks the real steps.

    Padded steps are zeros with ``mask`` False, so the model leaves its state unchanged there;
    every row starts a new sequence (``reset`` True).
    """
    lengths = np.array([len(s) for s in series])
    B, T, D = len(series), int(lengths.max()), series[0].shape[1]
    inputs = np.zeros((B, T, D))  # (B, T, D)
    for i, s in enumerate(series):
        inputs[i, : len(s)] = s
    mask = np.arange(T)[None, :] < lengths[:, None]  # (B, T) bool
    return Batch(inputs, np.asarray(targets, dtype=np.int64), mask, np.ones(B, dtype=bool))


class EpochBatches(RowBatches):
    """One epoch's mini-batches over ``order``, built on demand (indexable and sized)."""

    def __init__(self, series: list[np.ndarray], targets: np.ndarray, order: np.ndarray,
                 batch_size: int, transform=None):
        super().__init__(order, batch_size)
        self.series, self.targets, self.transform = series, targets, transform

    def make(self, rows: np.ndarray, index: int) -> Batch:
        series = [self.series[r] for r in rows]
        if self.transform is not None:  # seeded by the batch index: same batch when asked again
            series = self.transform(series, index)
        return pad_batch(series, self.targets[rows])


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split case indices into (fit, val), taking ``fraction`` of every class for validation.

    Each class gives ``round(fraction * n_c)`` cases, at least one, and always keeps one for
    training (a class with a single case stays entirely in training). Deterministic in ``seed``.

    Raises:
        ConfigError: ``fraction`` outside (0, 1), or no class has a case to spare.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(
            f"val_fraction must be between 0 and 1 (exclusive), got {fraction}; the validation "
            "split drives early stopping and is carved out of the training file."
        )
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        take = min(max(int(np.floor(fraction * len(members) + 0.5)), 1), len(members) - 1)
        val.extend(members[:take].tolist())
    if not val:
        raise ConfigError(
            "the training file has no class with two or more cases, so no validation split can "
            "be carved from it; add training cases."
        )
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), val_idx), val_idx
