"""Helpers of the nextitem tests: the tiny data files, a predictor with known scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"

# The events of data/tiny.inter as (user, item, time), in file order.
TINY_EVENTS = [(1, 30, 300), (1, 10, 100), (1, 20, 200), (1, 50, 400), (2, 80, 100),
               (2, 70, 200), (2, 60, 300), (3, 40, 500), (3, 10, 600)]


class TableScores:
    """A predictor whose every-step output row is a fixed score vector ``(V,)``, or a function
    of the last input item: ``table[item]`` (V, V); records the inputs it was given."""

    def __init__(self, scores: np.ndarray):
        self.scores = np.asarray(scores, dtype=float)
        self.calls: list[tuple] = []

    def predict(self, inputs, mask=None, state=None):
        self.calls.append((inputs.shape, None if mask is None else mask.shape))
        if self.scores.ndim == 1:
            return np.broadcast_to(self.scores, inputs.shape[:2] + self.scores.shape).copy(), None
        return self.scores[inputs], None  # inputs: (B, T) item ids
