"""Backpropagation through time over one window, written once against Ops.

One window is ``T`` steps of ``B`` rows. :func:`window_loss_and_grad` runs it forward through the
recurrent stack (:mod:`seqframe.engine.stack`, each layer and direction by a
:class:`~seqframe.engine.recurrence.Recurrence`), applies the readout and the loss
(:mod:`seqframe.engine.readout`) and backpropagates, returning the summed loss, the count of
targets it sums over, every parameter's gradient and the state to carry on.

Semantics (the same on every backend and every recurrence):

* reset: rows with ``reset = 1`` start from the zero state, the others from the state passed in.
* mask: a masked step leaves the state unchanged, produces no loss and passes no gradient to the
  cell; its output is the unchanged hidden state.
* truncation: ``loss_from`` (in :func:`~seqframe.engine.window.to_window`) drops the loss of the
  first steps of a window; ``carry_at`` returns the state after that many steps rather than after
  the window, so TBPTT with k2 > k1 runs windows of k2 steps, ``loss_from = k2 - k1`` and
  ``carry_at = k1``.
* bidirectional: the reverse direction reads the window back to front from the state passed in
  (zeros by default); with "masked steps keep the state" its start at the padded end is exact.
* dropout: inverted dropout on every layer's output, masks from :func:`dropout_masks`.

Which recurrence runs a window: the backend's fused one when it offers one for the cell (see
:meth:`seqframe.ops.Ops.fused_recurrence`) and the window's mask is a prefix mask; core's
:class:`~seqframe.engine.recurrence.GenericRecurrence` otherwise. The derivation is in
docs/concepts/bptt.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, ShapeError
from ..ops import Array, Ops
from ..rowsparse import add
from . import readout, stack
from .inputs import embedding_grad, first_layer_inputs
from .model import Model
from .recurrence import GenericRecurrence, Recurrence, choose
from .window import Window, check_inputs, check_window, host_window, to_window

__all__ = ["Window", "WindowResult", "dropout_masks", "forward", "hidden_grads", "loss_only",
           "to_window", "window_loss_and_grad"]

State = Any  # tuple over layers of tuple over directions of the cell's state tuple


@dataclass
class WindowResult:
    """What one window's forward and backward produce.

    Attributes:
        loss_sum: 0-d array, the SUM of per-target losses over counted targets.
        count: counted targets: steps with a loss (every-step readout) or rows with one
            (last/mean/max). ``loss_sum / count`` is the mean loss; the trainer divides the
            gradients by the total count of an optimizer step.
        grads: d loss_sum / d param, same keys and shapes as the parameters.
        state: the state after ``carry_at`` steps (the window's end by default), no gradient link.
        outputs: (B, T, O') for the every-step readout, (B, O') otherwise; None when the loss
            scored only some classes (sampled softmax).
        path: the recurrence that ran, e.g. ``"generic BPTT"`` or ``"fused lstm kernels
            (oneDNN)"``.
    """

    loss_sum: Array
    count: float
    grads: dict[str, Array]
    state: State
    outputs: Array | None
    path: str = GenericRecurrence.path


def dropout_masks(model: Model, rng: np.random.Generator, batch_size: int, steps: int) -> list:
    """The host dropout masks of one training window, one per layer, already scaled by 1/(1-p).

    Drawn layer by layer as ``(rng.random(shape) >= p) / (1 - p)`` with shape (B, T, F),
    F = H * directions, except the top layer of a ``last`` readout, whose mask has shape
    (B, F) because it applies to the final state. Every backend draws exactly these.

    Returns:
        A list of float64 arrays, empty when the model has no dropout.
    """
    p = model.config.dropout
    if p == 0.0:
        return []
    out = []
    for layer in range(model.config.layers):
        top_last = layer == model.config.layers - 1 and model.config.readout == "last"
        shape = (batch_size,) + (() if top_last else (steps,)) + (model.feature_size,)
        out.append((rng.random(shape) >= p) / (1.0 - p))
    return out


def device_dropout(model: Model, ops: Ops, rng: np.random.Generator | None,
                   window: Window) -> list:
    """:func:`dropout_masks` for ``window``, time-major, on the backend ([] without dropout)."""
    if rng is None or model.config.dropout == 0:
        return []
    host = dropout_masks(model, rng, window.batch_size, window.length)
    time_major = [np.ascontiguousarray(np.swapaxes(m, 0, 1)) if m.ndim == 3 else m for m in host]
    return [ops.asarray(m) for m in time_major]


def start_state(model: Model, ops: Ops, window: Window, state: State) -> State:
    """The state each row starts from: the one passed in, or zeros where the row resets."""
    if state is None or window.all_reset:
        return model.zero_state(ops, window.batch_size)
    model.check_state(state, window.batch_size)
    if not window.any_reset:
        return state
    keep = ops.reshape(1.0 - window.reset, (-1, 1))  # (B, 1)
    return tuple(tuple(tuple(s * keep for s in cell) for cell in layer) for layer in state)


def choose_recurrence(model: Model, ops: Ops, window: Window,
                      fused: Recurrence | None) -> Recurrence:
    """The recurrence that runs ``window`` for ``model`` (:func:`.recurrence.choose`)."""
    return choose(ops, model.cell, window, fused)


def window_loss_and_grad(
    model: Model,
    ops: Ops,
    params: dict[str, Array],
    window: Window,
    state: State = None,
    dropout_rng: np.random.Generator | None = None,
    carry_at: int | None = None,
    fused: Recurrence | None = None,
    loss_rng: np.random.Generator | None = None,
) -> WindowResult:
    """Forward, loss and backward over one window (training mode).

    Args:
        model: the model.
        ops: the backend.
        params: name -> backend array, as :meth:`Model.param_shapes` says.
        window: from :func:`~seqframe.engine.window.to_window`.
        state: the state carried in, or None for zeros.
        dropout_rng: the host generator dropout masks are drawn from; None disables dropout.
        carry_at: return the state after this many steps (truncated BPTT with k2 > k1).
        fused: the backend's fused recurrence for this model's cell (``ops.fused_recurrence``),
            or None for core's generic BPTT.
        loss_rng: the host generator of a loss that draws (sampled softmax).

    Returns:
        A :class:`WindowResult`.

    Raises:
        ShapeError: parameters, state or window that do not fit the model.
        ConfigError: ``carry_at`` outside the window.
    """
    check_window(model, params, window)
    if carry_at is not None and not 0 < carry_at <= window.length:
        raise ConfigError(
            f"carry_at={carry_at} is outside the window of {window.length} steps; expected "
            f"1 <= carry_at <= {window.length} (it is k1 in truncated BPTT)."
        )
    recurrence = choose_recurrence(model, ops, window, fused)
    drop = device_dropout(model, ops, dropout_rng, window)
    start = start_state(model, ops, window, state)
    run = stack.run_stack(model, recurrence, params, first_layer_inputs(model, ops, params, window),
                          window, start, keep=True, drop=drop, carry_at=carry_at,
                          input_grad=model.embedded)
    out = readout.readout_loss(model, ops, params, window, run.top, run.finals, drop,
                               rng=loss_rng)
    grads, d_inputs = stack.backprop_stack(model, recurrence, run, out.d_top, out.seeds, drop)
    for name, value in out.grads.items():  # a tied readout adds to the embedding's gradient
        grads[name] = value if name not in grads else add(ops, grads[name], value)
    if model.embedded:
        table = embedding_grad(model, ops, params, window, d_inputs)
        grads["embedding.weight"] = table if "embedding.weight" not in grads else \
            add(ops, grads["embedding.weight"], table)
    state_out = run.carried if carry_at is not None else run.finals
    return WindowResult(out.loss_sum, window.count(model.config.readout, model.loss.per_sequence),
                        grads, state_out, out.outputs, recurrence.path)


def loss_only(model: Model, ops: Ops, params: dict[str, Array], window: Window,
              state: State = None, fused: Recurrence | None = None,
              loss_rng: np.random.Generator | None = None) -> tuple[Array, float]:
    """Loss of a window in eval mode (no dropout, nothing kept for a backward).

    ``loss_rng``: the host generator of a loss that draws (sampled softmax), so a finite
    difference can hold its draw fixed; None lets such a loss pick its own fixed draw.

    Returns:
        ``(loss_sum, count)`` as in :class:`WindowResult`.
    """
    check_window(model, params, window)
    recurrence = choose_recurrence(model, ops, window, fused)
    start = start_state(model, ops, window, state)
    run = stack.run_stack(model, recurrence, params, first_layer_inputs(model, ops, params, window),
                          window, start, keep=False, drop=[])
    out = readout.readout_loss(model, ops, params, window, run.top, run.finals, [], grad=False,
                               rng=loss_rng)
    return out.loss_sum, window.count(model.config.readout, model.loss.per_sequence)


def forward(model: Model, ops: Ops, params: dict[str, Array], inputs: Array,
            mask: Array | None = None, state: State = None, reset: Array | None = None,
            fused: Recurrence | None = None):
    """Run the model in eval mode (no dropout, nothing cached for a backward).

    Args:
        inputs: (B, T, D) backend array.
        mask: (B, T) backend array of 0/1 (or bool), or None when every step is real.
        state: as returned by a previous call, or None for zeros.
        reset: (B,) 0/1, rows that start from zeros although a state is given.
        fused: the backend's fused recurrence, or None for the generic one.

    Returns:
        ``(outputs, final_state)``: raw scores (B, T, O') for the every-step readout, else
        (B, O'); the state after the last step.
    """
    model.check_params(params)
    check_inputs(model, tuple(inputs.shape), "inputs")
    batch, steps = inputs.shape[0], inputs.shape[1]
    host_mask = np.ones((batch, steps), bool) if mask is None else ops.to_numpy(mask).astype(bool)
    host_reset = np.zeros(batch, bool) if reset is None else ops.to_numpy(reset).astype(bool)
    if host_mask.shape != (batch, steps):
        raise ShapeError(
            f"mask has shape {host_mask.shape}; expected (batch, time) = {(batch, steps)} to "
            "match the inputs."
        )
    if host_reset.shape != (batch,):
        raise ShapeError(f"reset has shape {host_reset.shape}; expected (batch,) = ({batch},).")
    window = host_window(ops, inputs, None, host_mask, host_mask, host_reset)
    recurrence = choose_recurrence(model, ops, window, fused)
    start = start_state(model, ops, window, state)
    run = stack.run_stack(model, recurrence, params, first_layer_inputs(model, ops, params, window),
                          window, start, keep=False, drop=[])
    outputs = readout.readout_outputs(model, ops, params, window, run.top, run.finals)
    return outputs, run.finals


def hidden_grads(model: Model, ops: Ops, params: dict[str, Array], window: Window,
                 state: State = None) -> np.ndarray:
    """dLoss/dh_t: the total derivative of ``loss_sum`` w.r.t. every layer's hidden states.

    Computed by the generic backward of :func:`window_loss_and_grad` (eval mode, no dropout). To
    see how the gradient of the LAST step's loss decays back through time, build the window with
    ``to_window(ops, batch, loss_from=T - 1)``.

    Returns:
        Host array (layers, T, B, H * directions); for a bidirectional model the forward
        direction's H columns come first.
    """
    check_window(model, params, window)
    recurrence = GenericRecurrence(ops, model.cell, record=True)
    start = start_state(model, ops, window, state)
    run = stack.run_stack(model, recurrence, params, first_layer_inputs(model, ops, params, window),
                          window, start, keep=True, drop=[])
    out = readout.readout_loss(model, ops, params, window, run.top, run.finals, [])
    stack.backprop_stack(model, recurrence, run, out.d_top, out.seeds, [])
    per_layer = []
    for layer in range(model.config.layers):
        runs = run.runs[layer * model.directions:(layer + 1) * model.directions]
        per_layer.append(np.concatenate(
            [np.stack([ops.to_numpy(d) for d in recurrence.recorded(r)]) for r in runs], -1))
    return np.stack(per_layer)
