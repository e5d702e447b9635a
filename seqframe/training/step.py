"""One optimizer step: a window through BPTT, accumulation, clipping and the update.

This is the step the trainer takes, and the one ``seqframe check --parity`` and ``seqframe
bench`` time and compare, so what they check is what training does::

    window (B rows, T steps) --split in rows--> micro-batches (--accumulate)
    for each micro-batch: loss_sum, count, grads = BPTT(micro-batch, its rows of the state)
    sum over micro-batches (and, data parallel, over ranks)  -> accumulation == a larger batch
    grads / total count -> clip once (after accumulation) -> optimizer step at rate lr

The model may be a single stack or an encoder-decoder: the step reaches it only through its
:class:`~seqframe.engine.topology.Topology` (one window's loss and gradients), so both train the
same way. Clipping comes after accumulation: clipping each micro-batch would make the result
depend on how the batch is split. A step whose loss or gradient norm is not finite, or whose loss
is above the trainer's ``loss_limit`` (an exploding run), updates nothing and says so in its
:class:`StepResult`; the trainer's guard decides what happens next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.recurrence import Recurrence
from ..engine.state import concat_states, state_rows
from ..engine.topology import Topology, as_topology
from ..ops import Ops
from ..rowsparse import add
from ..task import Batch, Seq2SeqBatch
from .clipping import Clipper
from .distributed import SINGLE, DataParallel
from .optim import Optimizer


@dataclass
class StepResult:
    """What one optimizer step did.

    Attributes:
        loss_sum: the loss summed over the step's counted targets (every rank's).
        count: the counted targets; 0 for a window of padding only (nothing to learn).
        timesteps: valid time steps trained on (the look-back of TBPTT excluded).
        grad_norm: the global gradient norm before clipping (NaN when ``count`` is 0).
        clipped: whether clipping changed the gradient.
        updated: whether the optimizer stepped.
        state: the state to carry to the next window (no gradient link).
        path: the recurrence that ran the last micro-batch (``generic BPTT``, ``fused ...``).
    """

    loss_sum: float
    count: float
    timesteps: float
    grad_norm: float
    clipped: bool
    updated: bool
    state: Any
    path: str

    @property
    def loss(self) -> float:
        """The mean loss per counted target (NaN for an empty window)."""
        return self.loss_sum / self.count if self.count else math.nan

    @property
    def finite(self) -> bool:
        """False when the loss or the gradient norm is NaN/Inf (nothing was updated)."""
        return self.count == 0 or (math.isfinite(self.loss) and math.isfinite(self.grad_norm))


class TrainStep:
    """Takes optimizer steps of ``model`` on ``ops``: see the module docstring.

    Args:
        model: the model: a single-stack :class:`~seqframe.engine.model.Model`, or any
            :class:`~seqframe.engine.topology.Topology` (an encoder-decoder).
        ops: the backend.
        optimizer: updates the parameters in place.
        clipper: clips the step's gradient (and keeps the norm statistics).
        accumulate: micro-batches per step.
        dp: this process's data parallelism (one process by default).
        fused: the backend's fused recurrence for the model's cell, or None (generic BPTT).
    """

    def __init__(self, model: Any, ops: Ops, optimizer: Optimizer, clipper: Clipper, *,
                 accumulate: int = 1, dp: DataParallel = SINGLE,
                 fused: Recurrence | None = None):
        self.model, self.ops, self.optimizer, self.clipper = model, ops, optimizer, clipper
        self.accumulate, self.dp, self.fused = accumulate, dp, fused
        self.topology: Topology = as_topology(model)

    def __call__(self, params: dict, batch: Batch | Seq2SeqBatch, state: Any, lr: float, *,
                 loss_from: int = 0,
                 carry_at: int | None = None, dropout_rng: np.random.Generator | None = None,
                 loss_rng: np.random.Generator | None = None,
                 loss_limit: float = math.inf) -> StepResult:
        """One step on the window ``batch`` (host arrays, already cut to the window's steps).

        Args:
            params: the parameters, updated in place when the step succeeds.
            batch: this process's rows of the window.
            state: the state carried in (or None for zeros).
            lr: the learning rate of this step.
            loss_from: steps at the window's start that carry no loss (TBPTT look-back).
            carry_at: carry the state after this many steps (None: the window's end; 0: the
                state carried in, for a next window that starts where this one did).
            dropout_rng: the host generator dropout masks are drawn from (None: no dropout).
            loss_rng: the host generator a sampled loss draws from.
            loss_limit: a finite mean loss above this counts as an exploded step: nothing is
                updated (``updated`` stays False), as for a NaN/Inf one.
        """
        loss_sum, count, grads, next_state, path = self._accumulate(
            params, batch, state, loss_from, carry_at, dropout_rng, loss_rng)
        timesteps = self.topology.timesteps(batch, loss_from)
        # Data parallel: the global sums, so clipping and the optimizer see the global gradient.
        loss_sum, count, timesteps, grads = self.dp.reduce(self.ops, loss_sum, count, timesteps,
                                                           grads)
        if count == 0:  # an all-padding window: nothing to learn, but the state moves on
            return StepResult(loss_sum, count, timesteps, math.nan, False, False, next_state, path)
        grads, norm, clipped = self.clipper({k: g / count for k, g in grads.items()})
        result = StepResult(loss_sum, count, timesteps, norm, clipped, False, next_state, path)
        if result.finite and not result.loss > loss_limit:
            self.optimizer.step(params, grads, lr)
            result.updated = True
        return result

    def _accumulate(self, params, batch, state, loss_from, carry_at, dropout_rng, loss_rng):
        """Loss sum (host float), count, gradient sums and next state over the micro-batches."""
        ops = self.ops
        rows = self.dp.micro_batches(batch.batch_size, self.accumulate)
        loss_sum, count, grads, states = None, 0.0, None, []
        path = self.fused.path if self.fused is not None else "generic BPTT"
        for start, stop in rows:
            micro = batch.rows(start, stop) if len(rows) > 1 else batch
            state_in = state_rows(state, start, stop) if len(rows) > 1 else state
            if not self.dp.before_micro(lambda m=micro: self.topology.skip_draws(dropout_rng, m),
                                        dropout_rng, start, stop):
                states.append(state_in)  # a rank's empty shard of a short batch
                continue
            result = self.topology.window_loss_and_grad(
                ops, params, micro, state_in, loss_from=loss_from, carry_at=carry_at or None,
                dropout_rng=dropout_rng, loss_rng=loss_rng, fused=self.fused)
            loss_sum = result.loss_sum if loss_sum is None else loss_sum + result.loss_sum
            count += result.count
            grads = dict(result.grads) if grads is None else {
                k: add(ops, grads[k], g) for k, g in result.grads.items()}
            # carry_at 0: the next window re-runs from this one's start, so it needs state_in.
            states.append(state_in if carry_at == 0 else result.state)
            path = result.path
        next_state = states[0] if len(states) == 1 else concat_states(ops, states)
        if grads is None:  # nothing on this rank; it still takes part in the sums
            return 0.0, 0.0, {k: ops.zeros_like(p) for k, p in params.items()}, next_state, path
        return ops.item(loss_sum), count, grads, next_state, path
