"""Chronological splits and (lookback, horizon) windows.

Times are indices ``t`` into the series. A window with *origin* ``o`` forecasts the steps
``o .. o+H-1`` from the inputs at ``o-L .. o-1``. The splits are contiguous::

    [0, train_end)  train   [train_end, val_end)  val   [val_end, n)  test

A window belongs to the split that holds all of its *targets*; its inputs may reach back into
earlier splits (that history is known at forecast time). So training windows never see a
validation or test value, and validation/test windows are scored on unseen values only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError
from seqframe.task import Batch


@dataclass(frozen=True)
class Splits:
    """Split boundaries as time indices."""

    n: int
    train_end: int
    val_end: int

    def bounds(self, split: str) -> tuple[int, int]:
        return {"train": (0, self.train_end), "val": (self.train_end, self.val_end),
                "test": (self.val_end, self.n)}[split]

    def size(self, split: str) -> int:
        lo, hi = self.bounds(split)
        return hi - lo


def split_steps(size: float, n: int, name: str) -> int:
    """``-o test_size``/``val_size``: a fraction of the series if below 1, else a step count."""
    if size < 0:
        raise ConfigError(f"-o {name} must be >= 0, got {size:g}.")
    if size < 1:
        return int(round(size * n))
    if size != int(size):
        raise ConfigError(
            f"-o {name}={size:g}: a value >= 1 is a number of steps and must be whole "
            f"(use a fraction below 1 for a share of the series)."
        )
    return int(size)


def make_splits(n: int, test_size: float, val_size: float) -> Splits:
    n_test, n_val = split_steps(test_size, n, "test_size"), split_steps(val_size, n, "val_size")
    if n_test + n_val >= n:
        raise ConfigError(
            f"test_size ({n_test} steps) and val_size ({n_val} steps) leave no training data "
            f"in a series of {n} steps; make them smaller."
        )
    return Splits(n, n - n_test - n_val, n - n_test)


def origins_in(lo: int, hi: int, lookback: int, horizon: int, first_input: int) -> np.ndarray:
    """Every origin whose targets lie in ``[lo, hi)`` and inputs start at or after
    ``first_input`` (the first time the transformed target is defined): (W,) int64."""
    start = max(lo, first_input + lookback)
    return np.arange(start, hi - horizon + 1, dtype=np.int64)


def spread(origins: np.ndarray, count: int) -> np.ndarray:
    """``count`` origins evenly spaced from the first to the last (a rolling-origin backtest)."""
    if count <= 0 or count >= len(origins):
        return origins
    picks = np.round(np.linspace(0, len(origins) - 1, count)).astype(np.int64)
    return origins[np.unique(picks)]


def anchors(x_windows: np.ndarray, normalize: str) -> np.ndarray:
    """Per-window level subtracted from the target channel (inputs and targets) and added back.

    Args:
        x_windows: (W, L) the scaled target over each window's inputs.
        normalize: ``none`` (0), ``last`` (the last input value) or ``mean`` (the window mean).

    Returns:
        (W,) anchors.
    """
    if normalize == "last":
        return x_windows[:, -1].copy()
    if normalize == "mean":
        return x_windows.mean(axis=1)
    return np.zeros(len(x_windows))


def gather(features: np.ndarray, origins: np.ndarray, lookback: int) -> np.ndarray:
    """Raw input windows: (W, L, D) rows ``o-L .. o-1`` of ``features`` (N, D)."""
    index = origins[:, None] + np.arange(-lookback, 0)[None, :]  # (W, L)
    return features[index]


def targets_at(x: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(W, H) the scaled target at ``o .. o+H-1``."""
    return x[origins[:, None] + np.arange(horizon)[None, :]]


def normalized(windows: np.ndarray, normalize: str) -> tuple[np.ndarray, np.ndarray]:
    """Subtract each window's anchor from its target channel (channel 0).

    Returns:
        (W, L, D) model inputs and (W,) anchors.
    """
    level = anchors(windows[:, :, 0], normalize)
    inputs = windows.copy()
    inputs[:, :, 0] -= level[:, None]
    return inputs, level


class WindowBatches(Sequence):
    """One epoch of shuffled training windows, built batch by batch on access.

    Args:
        features: (N, D) model input features (target channel first).
        x: (N,) the scaled target.
        origins: (W,) training origins in the order of this epoch.
        lookback, horizon, normalize: the window shape and anchoring.
        batch_size: rows per batch; the last batch may be smaller.
    """

    def __init__(self, features: np.ndarray, x: np.ndarray, origins: np.ndarray, lookback: int,
                 horizon: int, normalize: str, batch_size: int):
        self.features, self.x, self.origins = features, x, origins
        self.lookback, self.horizon, self.normalize = lookback, horizon, normalize
        self.batch_size = batch_size

    def __len__(self) -> int:
        return -(-len(self.origins) // self.batch_size)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        chosen = self.origins[i * self.batch_size:(i + 1) * self.batch_size]
        inputs, level = normalized(gather(self.features, chosen, self.lookback), self.normalize)
        targets = targets_at(self.x, chosen, self.horizon) - level[:, None]  # (B, H)
        rows, steps = inputs.shape[:2]
        return Batch(inputs=inputs, targets=targets, mask=np.ones((rows, steps), dtype=bool),
                     reset=np.ones(rows, dtype=bool))
