"""Stand-ins for a trained model that a task's checks feed it, and hand-computed metric cases.

A task never sees a backend: it gets a :class:`~seqframe.task.Predictor` that takes and returns
NumPy arrays. The predictors here stand in for a trained model, so a task's batches, evaluation,
baselines and checkpoint state can be checked without training anything:

* :class:`ConstantPredictor` -- the same output everywhere (zeros by default);
* :class:`FunctionPredictor` -- outputs computed by your function, for hand-computed metric cases
  (``MetricCase``): e.g. "predict the last input" for a persistence forecast whose MAE you know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..task import ModelSpec


class FunctionPredictor:
    """A Predictor whose outputs are ``fn(inputs, mask)``; it records every call it gets.

    Args:
        fn: ``(inputs (B, T, D), mask (B, T) bool or None) -> outputs``, host arrays, shaped as
            :meth:`seqframe.task.Predictor.predict` says: (B, T, O') or (B, O').

    Attributes:
        calls: ``(inputs.shape, mask.shape or None, state)`` of each call, in order.
    """

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray]):
        self.fn = fn
        self.calls: list[tuple[tuple, tuple | None, Any]] = []

    def predict(self, inputs: np.ndarray, mask: np.ndarray | None = None,
                state: Any = None) -> tuple[np.ndarray, Any]:
        inputs = np.asarray(inputs)
        self.calls.append((inputs.shape, None if mask is None else np.shape(mask), state))
        return np.asarray(self.fn(inputs, mask), dtype=np.float64), len(self.calls)


class ConstantPredictor(FunctionPredictor):
    """Outputs ``value`` everywhere, shaped for ``spec`` (O' = 2*O for ``gaussian_nll``)."""

    def __init__(self, spec: ModelSpec, value: float = 0.0):
        width = spec.output_size * (2 if spec.loss == "gaussian_nll" else 1)

        def constant(inputs: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
            lead = inputs.shape[:2] if spec.readout == "every_step" else inputs.shape[:1]
            return np.full((*lead, width), value, dtype=np.float64)

        super().__init__(constant)


@dataclass
class MetricCase:
    """A hand-computed expectation: ``task.evaluate(predictor, split)`` gives ``expected``.

    Attributes:
        split: ``"val"`` or ``"test"``.
        predictor: usually a :class:`FunctionPredictor`.
        expected: metric name -> value you worked out independently (by hand, or with a
            different formula); only these names are compared.
        rel, abs: tolerances, as for ``math.isclose``.
    """

    split: str
    predictor: Any
    expected: dict[str, float]
    rel: float = 1e-6
    abs: float = 1e-9
    note: str = field(default="")
