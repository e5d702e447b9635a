"""The inputs of the loss checks (:func:`make_case`) and one call of a loss (:func:`call_loss`).

A case is a few rows (or, for a ``per_sequence`` loss, a few time-major sequences with trailing
padding) with random outputs or readout features, targets of the loss's kind, and 0/1 weights
that leave some rows out. A loss that draws (``rng``) gets a fresh
``numpy.random.default_rng(seed)`` on every call, so every call draws the same.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..losses.base import Loss
from ..ops import Ops
from ..rowsparse import dense
from ..task import ModelSpec
from ._common import host

PAD_LABEL = 0  # what make_case pads label sequences with (label 0 is never a target)
RESULTS = ("loss_sum", "count", "d_outputs", "d_weight", "d_bias")


# ---- inputs ----------------------------------------------------------------------------------


@dataclass
class LossCase:
    """One call's inputs, as host float64 / int64 arrays.

    Attributes:
        targets: (N,) class ids, (N, O) values; ``per_sequence``: as a task gives them, batch-major
            ((B, L) label sequences padded with :data:`PAD_LABEL`, (B, T, O) values, (B, T) ids).
        weights: (N,) 0/1 row weights; ``per_sequence``: the (T, B) step mask.
        outputs: (N, O') scores, or (T, B, O') for ``per_sequence`` (``needs = "logits"``).
        features, weight, bias: (N, F), (O', F), (O',) (``needs = "features"``).
    """

    targets: np.ndarray
    weights: np.ndarray
    outputs: np.ndarray | None = None
    features: np.ndarray | None = None
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None

    def inputs(self) -> dict[str, np.ndarray]:
        """The differentiable inputs by name (``outputs``, or ``features``/``weight``/``bias``)."""
        names = ("outputs",) if self.outputs is not None else ("features", "weight", "bias")
        return {name: getattr(self, name) for name in names}

    def copy(self) -> LossCase:
        return LossCase(**{f.name: None if getattr(self, f.name) is None
                           else getattr(self, f.name).copy() for f in fields(self)})


def draw_targets(kind: str, rng: np.random.Generator, lead: tuple, size: int, width: int):
    """Targets of ``kind`` for ``lead`` rows: ids below ``width``, (.., size) values, or label
    sequences (B, 2) from 1, padded with PAD_LABEL."""
    if kind == "classes":
        return rng.integers(0, width, size=lead)
    if kind == "values":
        return rng.normal(size=(*lead, size))
    labels = rng.integers(1, width, size=(lead[0], 2))  # (B, L): never PAD_LABEL
    labels[0, 1] = PAD_LABEL  # the first sequence is one label long, padded
    return labels


def make_case(loss: Loss, rng: np.random.Generator, *, size: int = 3, rows: int = 6,
              steps: int = 5, batch: int = 3, features: int = 4) -> LossCase:
    """Random inputs for ``loss``; rows 1 and 4 (or each sequence's padding) are left out.

    Args:
        size: the task's O (classes, or values per target); the loss's width is
            ``loss.output_size(size)``.
        rows: N, for a row loss. ``steps``, ``batch``: T and B, for a ``per_sequence`` loss.
        features: F, for a loss that needs the readout's features.
    """
    width = loss.output_size(size)
    if loss.per_sequence:
        lengths = np.array([steps, steps - 2, steps - 1])[:batch]  # valid steps per sequence
        mask = (np.arange(steps)[:, None] < lengths[None, :]).astype(np.float64)  # (T, B)
        lead = (batch, steps)
        return LossCase(draw_targets(loss.targets, rng, lead, size, width), mask,
                        outputs=rng.normal(size=(steps, batch, width)))
    weights = np.ones(rows)
    weights[[1, 4]] = 0.0  # two rows that must not count
    targets = draw_targets(loss.targets, rng, (rows,), size, width)
    if loss.needs == "features":
        return LossCase(targets, weights, features=rng.normal(size=(rows, features)),
                        weight=rng.normal(size=(width, features)), bias=rng.normal(size=width))
    return LossCase(targets, weights, outputs=rng.normal(size=(rows, width)))


def default_spec(loss: Loss, size: int = 3, class_frequencies: Any = None) -> ModelSpec:
    """The ModelSpec a check hands ``loss.prepare``: O = ``size``, every-step readout."""
    return ModelSpec(input_size=2, output_size=size, readout="every_step", loss=loss.name,
                     class_frequencies=class_frequencies)


# ---- calling a loss --------------------------------------------------------------------------


def call_loss(loss: Loss, ops: Ops, case: LossCase, *, grad: bool = True,
              seed: int | None = 0) -> dict[str, np.ndarray | None]:
    """``loss`` on ``case`` through ``ops``: host arrays for every field of its LossResult.

    ``seed`` None passes ``rng=None`` (what evaluation passes); otherwise a fresh generator.
    """
    rng = None if seed is None else np.random.default_rng(seed)
    targets = ops.asarray(case.targets, "int64" if case.targets.dtype.kind in "iu" else None)
    weights = ops.asarray(case.weights)
    if loss.needs == "features":
        result = loss.loss_and_grad_features(ops, ops.asarray(case.features),
                                             ops.asarray(case.weight), ops.asarray(case.bias),
                                             targets, weights, grad=grad, rng=rng)
    else:
        result = loss.loss_and_grad(ops, ops.asarray(case.outputs), targets, weights, grad=grad,
                                    rng=rng)
    out = {name: getattr(result, name) for name in RESULTS}  # a row-sparse gradient whole
    out = {name: None if v is None else dense(ops, v) for name, v in out.items()}
    return {k: None if v is None else host(ops, v).astype(np.float64) for k, v in out.items()}


def named_gradients(loss: Loss, result: dict) -> dict[str, np.ndarray | None]:
    """The gradients a result holds, named by the input each is the derivative of."""
    if loss.needs == "features":
        return {"features": result["d_outputs"], "weight": result["d_weight"],
                "bias": result["d_bias"]}
    return {"outputs": result["d_outputs"]}
