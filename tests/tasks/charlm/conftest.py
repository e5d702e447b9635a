"""Fake predictors with known outputs, and a helper to build a prepared charlm task.

Tests get the fakes through the ``fakes`` fixture (pytest runs with ``--import-mode=importlib``,
so test modules cannot import this file by name).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from seqframe_charlm.task import CharLMTask


def check_inputs(inputs, mask, vocab_size):
    """The contract a real predictor relies on: (B, T) int64 ids in [0, V) (token inputs, the
    default) or (B, T, V) float32 one-hot rows (``-o inputs=onehot``); a (B, T) bool mask.
    Returns the ids."""
    if inputs.ndim == 2:
        assert inputs.dtype == np.int64 and inputs.min() >= 0 and inputs.max() < vocab_size
        ids = inputs
    else:
        assert inputs.ndim == 3 and inputs.shape[2] == vocab_size
        assert inputs.dtype == np.float32
        assert np.all(inputs.sum(axis=-1) == 1.0) and set(np.unique(inputs)) <= {0.0, 1.0}
        ids = inputs.argmax(-1)
    if mask is not None:
        assert mask.dtype == bool and mask.shape == ids.shape
    return ids


class UniformPredictor:
    """All-zero logits: every character equally likely."""

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size

    def predict(self, inputs, mask=None, state=None):
        ids = check_inputs(inputs, mask, self.vocab_size)
        return np.zeros(ids.shape + (self.vocab_size,), dtype=np.float32), None


class RepeatTwoBackPredictor:
    """Stateful fake: probability ``hit`` on the character two steps back, the rest uniform.

    The state is each row's last valid input id (-1 before any), updated only on valid steps,
    so it tests that the task carries state across chunks and masks padding correctly.
    """

    def __init__(self, vocab_size, hit=0.9):
        self.vocab_size, self.hit = vocab_size, hit

    def predict(self, inputs, mask=None, state=None):
        ids = check_inputs(inputs, mask, self.vocab_size)
        (b, t), v = ids.shape, self.vocab_size
        mask = np.ones((b, t), bool) if mask is None else mask
        prev = np.full(b, -1) if state is None else state.copy()
        miss = np.log((1 - self.hit) / (v - 1))
        logits = np.zeros((b, t, v))
        for step in range(t):
            for row in range(b):
                if prev[row] >= 0:
                    logits[row, step] = miss
                    logits[row, step, prev[row]] = np.log(self.hit)
                if mask[row, step]:
                    prev[row] = ids[row, step]
        return logits.astype(np.float32), prev


class TablePredictor:
    """Logits a function of the previous input only (``table[prev]``); counts its calls."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=np.float32)  # (V, V)
        self.calls = 0

    def predict(self, inputs, mask=None, state=None):
        ids = check_inputs(inputs, mask, self.table.shape[0])
        self.calls += 1
        return self.table[ids], None


class CountingPredictor:
    """Favours character ``(steps seen so far) % n``: only right if the state is carried."""

    def __init__(self, vocab_size, n):
        self.vocab_size, self.n = vocab_size, n

    def predict(self, inputs, mask=None, state=None):
        ids = check_inputs(inputs, mask, self.vocab_size)
        seen = 0 if state is None else state
        b, t = ids.shape
        logits = np.zeros((b, t, self.vocab_size), dtype=np.float32)
        for step in range(t):
            logits[:, step, (seen + step + 1) % self.n] = 5.0
        return logits, seen + t


@pytest.fixture
def make_task(tmp_path):
    """``make_task(text, **options)``: a prepared task on ``text`` written to a file."""

    def make(text, **options):
        path = tmp_path / "corpus.txt"
        path.write_text(text, encoding="utf-8")
        task = CharLMTask(options, data=str(path))
        task.prepare()
        return task

    return make


@pytest.fixture
def fakes():
    """The fake predictors of this module."""
    return SimpleNamespace(
        Uniform=UniformPredictor,
        RepeatTwoBack=RepeatTwoBackPredictor,
        Table=TablePredictor,
        Counting=CountingPredictor,
    )
