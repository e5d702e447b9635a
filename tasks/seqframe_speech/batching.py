"""Mini-batches of variable-length feature sequences (padded and masked)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from seqframe.task import Batch, RowBatches

BLANK = 0  # CTC class 0; it never occurs in a target, so it also pads label sequences


def pad_features(features: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(T_i, D)`` sequences -> inputs ``(B, T, D)`` zero-padded to the longest and the mask
    ``(B, T)``."""
    lengths = np.array([len(f) for f in features])
    B, T, D = len(features), int(lengths.max()), features[0].shape[1]
    inputs = np.zeros((B, T, D), dtype=features[0].dtype)  # (B, T, D)
    for i, f in enumerate(features):
        inputs[i, : len(f)] = f
    mask = np.arange(T)[None, :] < lengths[:, None]  # (B, T) bool
    return inputs, mask


def pad_labels(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Label-id sequences -> ``(B, L)`` int64, padded with the blank (CTC targets)."""
    L = max(1, max(len(s) for s in sequences))
    out = np.full((len(sequences), L), BLANK, dtype=np.int64)  # (B, L)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def make_batch(features: Sequence[np.ndarray], targets: Sequence, sequences: bool) -> Batch:
    """Words mode: ``targets`` are class ids -> (B,); CTC mode (``sequences``): label-id
    sequences -> (B, L) padded with the blank."""
    inputs, mask = pad_features(features)
    y = pad_labels(targets) if sequences else np.asarray(targets, dtype=np.int64)
    return Batch(inputs, y, mask, np.ones(len(features), dtype=bool))


class EpochBatches(RowBatches):
    """One epoch's batches over ``order``, built on demand; ``transform(features, index)``
    (training-time augmentation, seeded by the batch index) runs before padding."""

    def __init__(self, features: Sequence[np.ndarray], targets: Sequence, order: np.ndarray,
                 batch_size: int, sequences: bool,
                 transform: Callable[[list[np.ndarray], int], list[np.ndarray]] | None = None):
        super().__init__(order, batch_size)
        self.features, self.targets, self.transform = features, targets, transform
        self.sequences = sequences

    def make(self, rows: np.ndarray, index: int) -> Batch:
        features = [self.features[r] for r in rows]
        if self.transform is not None:
            features = self.transform(features, index)
        return make_batch(features, [self.targets[r] for r in rows], self.sequences)
