"""Generating adding-problem sequences.

The variant is the one of Arjovsky, Shah & Bengio (2016, "Unitary evolution recurrent neural
networks"), also used by many later papers: at each of T steps the input has two channels,

* channel 0: a value drawn uniformly from [0, 1);
* channel 1: a marker, 0 everywhere except at exactly two steps where it is 1 -- one step drawn
  uniformly from the first half ``[0, T // 2)``, the other from the second half ``[T // 2, T)``.

The target is the sum of the two marked values, read out after the last step. The first marker
can be as far as T - 1 steps before the readout, so the network has to carry one number across
up to T steps while ignoring everything else.

(Hochreiter & Schmidhuber's 1997 original differs: values in [-1, 1], both markers early in the
sequence, and a rescaled target. The half/half variant makes the gap grow with T on average.)

Predicting the sum as the constant E[U1 + U2] = 1 scores Var[U1 + U2] = 2 * (1/12) = 1/6 ~ 0.167
mean squared error; a model that scores well below that has learned to remember.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Seeds of the held-out splits: fixed, so every run of a given length scores the same sequences.
SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}


@dataclass
class AddingData:
    """``n`` adding-problem sequences of length T.

    Attributes:
        inputs: (n, T, 2) float64; channel 0 values, channel 1 markers.
        targets: (n, 1) float64, the sum of the two marked values.
        positions: (n, 2) int64, the marked steps (first half, second half).
    """

    inputs: np.ndarray
    targets: np.ndarray
    positions: np.ndarray

    def __len__(self) -> int:
        return self.inputs.shape[0]


def generate(n: int, length: int, rng: np.random.Generator) -> AddingData:
    """Draw ``n`` sequences of ``length`` steps (``length`` >= 2 so each half has a step)."""
    if length < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {length}")
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=(n, length))  # (n, T)
    first = rng.integers(0, half, size=n)  # (n,) in [0, T//2)
    second = rng.integers(half, length, size=n)  # (n,) in [T//2, T)
    markers = np.zeros((n, length))  # (n, T)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = np.stack([values, markers], axis=-1)  # (n, T, 2)
    targets = (values[rows, first] + values[rows, second])[:, None]  # (n, 1)
    return AddingData(inputs, targets, np.stack([first, second], axis=1))


def split_rng(split: str, length: int, *extra: int) -> np.random.Generator:
    """The generator of one split: fixed per ``(split, length)``, refined by ``extra`` ints.

    ``val`` and ``test`` never take a run seed, so runs with different seeds are scored on the
    same sequences; training data may (``extra = (seed, epoch)``) so that runs and epochs see
    different draws.
    """
    return np.random.default_rng([0xADD, SPLIT_SEEDS[split], length, *extra])
