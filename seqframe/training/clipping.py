"""Gradient clipping, shared by every backend: global norm and per-element value.

Clipping runs once per optimizer step, on the gradient of the whole step (after accumulating all
micro-batches and dividing by the target count): clipping each micro-batch would make the result
depend on how a batch is split, and accumulation would no longer equal one larger batch.

The global norm before clipping is always computed, logged and summarised, clipping or not: it is
the signal that shows an exploding gradient (and what ``--clip-norm`` to choose).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from ..ops import Array, Ops
from ..rowsparse import RowSparse, stored

Grads = dict[str, Array | RowSparse]


def global_norm(ops: Ops, grads: Grads) -> float:
    """``sqrt(sum over every gradient entry of g^2)``, a host float (NaN/Inf pass through)."""
    # Summed on the device and read once: one host sync per step, not one per parameter.
    total = None
    for grad in grads.values():
        g = stored(grad)
        square = ops.sum(g * g)
        total = square if total is None else total + square
    return math.sqrt(ops.item(total)) if total is not None else 0.0


@dataclass
class ClipStats:
    """Running statistics of pre-clip gradient norms, stored in checkpoints and the summary."""

    steps: int = 0
    clipped: int = 0
    norm_sum: float = 0.0
    norm_max: float = 0.0
    last_norm: float = 0.0

    def record(self, norm: float, clipped: bool) -> None:
        self.steps += 1
        self.clipped += int(clipped)
        self.norm_sum += norm
        self.norm_max = max(self.norm_max, norm)
        self.last_norm = norm

    def summary(self) -> dict[str, float]:
        """What ``summary.json`` shows under ``"clipping"``."""
        return {
            "clipped_fraction": self.clipped / self.steps if self.steps else 0.0,
            "grad_norm_mean": self.norm_sum / self.steps if self.steps else 0.0,
            "grad_norm_max": self.norm_max,
            "grad_norm_last": self.last_norm,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClipStats:
        return cls(**data)


class Clipper:
    """Clip gradients by value (``|g| <= clip_value`` per element), then by global norm.

    Both may be on: value clipping first tames single outliers, then the norm bound caps the step
    length. 0 disables either. The norm rule is ``torch.nn.utils.clip_grad_norm_``'s: when the
    norm ``n`` exceeds ``c``, every gradient is scaled by ``c / (n + 1e-6)``.
    """

    def __init__(self, ops: Ops, clip_norm: float = 0.0, clip_value: float = 0.0):
        for flag, value in (("--clip-norm", clip_norm), ("--clip-value", clip_value)):
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"{flag} must be >= 0 (0 disables clipping); got {value!r}.")
        self.ops, self.clip_norm, self.clip_value = ops, clip_norm, clip_value
        self.stats = ClipStats()

    def __call__(self, grads: Grads) -> tuple[Grads, float, bool]:
        """Clip one optimizer step's gradients.

        Returns:
            The (possibly new) gradients, the global norm before any clipping, and whether
            anything was clipped. Statistics are recorded only for finite norms: a step the
            non-finite guard throws away must not poison the mean.
        """
        ops = self.ops
        norm = global_norm(ops, grads)
        if not math.isfinite(norm):
            return grads, norm, False
        clipped = False
        if self.clip_value > 0:
            v = self.clip_value
            largest = None
            for grad in grads.values():
                g = stored(grad)
                if g.shape[0] == 0:  # a row-sparse gradient that touched no row
                    continue
                top = ops.max(ops.abs(g))
                largest = top if largest is None else ops.maximum(largest, top)
            if largest is not None and ops.item(largest) > v:
                grads = {k: _clip(ops, g, v) for k, g in grads.items()}
                clipped = True
        if self.clip_norm > 0:
            current = global_norm(ops, grads) if clipped else norm
            if current > self.clip_norm:
                scale = self.clip_norm / (current + 1e-6)
                grads = {k: g * scale for k, g in grads.items()}
                clipped = True
        self.stats.record(norm, clipped)
        return grads, norm, clipped


def _clip(ops: Ops, grad: Array | RowSparse, bound: float) -> Array | RowSparse:
    """Every entry of ``grad`` clipped to ``[-bound, bound]`` (a row-sparse one stays sparse)."""
    if isinstance(grad, RowSparse):
        return RowSparse(grad.rows, ops.clip(grad.values, -bound, bound), grad.shape)
    return ops.clip(grad, -bound, bound)
