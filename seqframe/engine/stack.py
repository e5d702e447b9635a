"""The recurrent stack: layers one above the other, directions side by side, dropout between.

Arrays here are time-major, (T, B, ...), so every step's slice is one contiguous block. Each
(layer, direction) is unrolled by a :class:`~seqframe.engine.recurrence.Recurrence` (core's
generic BPTT, or a backend's fused kernels); :func:`run_stack` chains them upwards and
:func:`backprop_stack` downwards, right beneath it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import Array, Ops
from .model import Model
from .recurrence import DirectionRun, Recurrence
from .window import Window


@dataclass
class StackRun:
    """A stack's forward.

    Attributes:
        top: (T, B, F) the top layer's outputs, dropped out, F = H * directions.
        runs: one :class:`DirectionRun` per (layer, direction), layer by layer.
        finals, carried: states nested layer -> direction -> cell state.
    """

    top: Array
    runs: list[DirectionRun]
    finals: tuple
    carried: tuple


def layer_weights(model: Model, params: dict, layer: int, suffix: str) -> dict[str, Array]:
    """One (layer, direction)'s parameters as its cell declares them, without their suffix."""
    return {name: params[f"{name}{suffix}"] for name in model.layer_params(layer)}


def run_stack(model: Model, recurrence: Recurrence, params: dict, inputs: Array, window: Window,
              start: tuple, *, keep: bool, drop: list, carry_at: int | None = None,
              input_grad: bool = False, start_grad: bool = False) -> StackRun:
    """Unroll every layer and direction over ``inputs`` (T, B, D) from ``start``.

    ``input_grad``: the backward also returns dLoss/d(inputs) (an embedding table learns from
    it). ``start_grad``: the backward also leaves dLoss/d(start state) in each run's ``d_start``
    (an encoder-decoder's decoder starts from a state computed from the encoder).
    """
    ops: Ops = window.ops
    x = inputs
    # asked only when wanted, so a recurrence written before need_dstart existed still runs
    extra = {"need_dstart": True} if keep and start_grad else {}
    runs, finals, carried = [], [], []
    for layer in range(model.config.layers):
        outs, layer_final, layer_carried = [], [], []
        for direction, (_, _, suffix) in enumerate(model.layer_suffixes()[
                layer * model.directions:(layer + 1) * model.directions]):
            run = recurrence.forward(layer_weights(model, params, layer, suffix), x,
                                     start[layer][direction], window, reverse=direction == 1,
                                     carry_at=carry_at, keep=keep,
                                     need_dx=keep and (layer > 0 or input_grad),
                                     **extra)
            runs.append(run)
            outs.append(run.outputs)
            layer_final.append(run.final)
            layer_carried.append(run.carried)
        x = outs[0] if len(outs) == 1 else ops.concat(outs, axis=2)  # (T, B, F)
        if drop and drop[layer].ndim == 3:
            x = x * drop[layer]
        finals.append(tuple(layer_final))
        carried.append(tuple(layer_carried))
    return StackRun(x, runs, tuple(finals), tuple(carried))


def backprop_stack(model: Model, recurrence: Recurrence, run: StackRun, d_top: Array | None,
                   seeds: list | None, drop: list) -> tuple[dict[str, Array], Array | None]:
    """Backward through every layer, top down.

    Args:
        d_top: (T, B, F) dLoss/d(top outputs) from the readout, or None (a ``last`` readout).
        seeds: per direction dLoss/d(final state of the top layer) (``last``), or None.
        drop: the dropout masks the forward applied.

    Returns:
        The recurrent layers' gradients, and dLoss/d(inputs) (T, B, D) when the forward was run
        with ``input_grad`` (else None).
    """
    cfg, hidden, grads = model.config, model.config.hidden_size, {}
    d_seq = d_top
    suffixes = model.layer_suffixes()
    for layer in range(cfg.layers - 1, -1, -1):
        if d_seq is not None and drop and drop[layer].ndim == 3:
            d_seq = d_seq * drop[layer]
        d_x = None
        for direction in range(model.directions):
            index = layer * model.directions + direction
            d_y = d_seq
            if d_seq is not None and model.directions > 1:  # this direction's H columns
                d_y = d_seq[:, :, direction * hidden : (direction + 1) * hidden]
            seed = seeds[direction] if (seeds is not None and layer == cfg.layers - 1) else None
            dx, g = recurrence.backward(run.runs[index], d_y, seed)
            suffix = suffixes[index][2]
            grads.update({f"{name}{suffix}": value for name, value in g.items()})
            d_x = dx if d_x is None else (d_x if dx is None else d_x + dx)
        d_seq = d_x
    return grads, d_seq
