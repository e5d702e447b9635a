"""Backpropagation through time over one window, written once against Ops.

One window is ``T`` steps of ``B`` rows. Forward, every layer (and direction) computes all ``T``
input projections with ONE GEMM, then steps through time with one GEMM per step for the hidden
projection, keeping only the cell caches and the hidden states (O(B*T*G*H) per layer). Backward
walks the steps in reverse, stashing ``d_xp`` and ``d_hp`` for every step, and then forms each
weight gradient with one GEMM per window (``dW_ih = d_xp^T X``, ``dW_hh = d_hp^T H_prev``).

Semantics (the same on every backend):

* reset: rows with ``reset = 1`` start from the zero state, the others from the state passed in.
* mask: a masked step leaves the state unchanged, produces no loss and passes no gradient to the
  cell; its output is the unchanged hidden state.
* truncation: ``loss_from`` (in :func:`to_window`) drops the loss of the first steps of a window;
  ``carry_at`` returns the state after that many steps rather than after the window, so TBPTT
  with k2 > k1 runs windows of k2 steps, ``loss_from = k2 - k1`` and ``carry_at = k1``.
* bidirectional: the reverse direction reads the window back to front from the state passed in
  (zeros by default); with "masked steps keep the state" its start at the padded end is exact.
* dropout: inverted dropout on every layer's output, masks from :func:`dropout_masks`.

Internally arrays are time-major, (T, B, ...), so each step's slice is contiguous.
The derivation is in docs/concepts/bptt.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..ops import Array, Ops
from ..task import Batch
from . import unroll
from .model import Model

State = Any  # tuple over layers of tuple over directions of the cell's state tuple


@dataclass
class Window:
    """One window of a batch, as backend arrays, plus host facts that avoid device syncs.

    Attributes:
        inputs: (B, T, D) float.
        targets: int64 class ids (B, T) or (B,), or float values (B, T, O) or (B, O); entries
            that carry no loss are zeroed.
        mask: (B, T) float 0/1, 1 on real steps.
        loss_mask: (B, T) float 0/1, ``mask`` with the steps before ``loss_from`` cleared.
        reset: (B,) float 0/1.
        masked_steps: steps where at least one row is masked (the others skip the blending).
        any_reset, all_reset: whether some / every row starts from zeros.
        steps_counted: steps with a loss (the count of the every-step readout).
        rows_counted: rows with at least one loss step (the count of the last/mean readouts).
        max_target: the largest class id, -1 for float targets.
    """

    inputs: Array
    targets: Array
    mask: Array
    loss_mask: Array
    reset: Array
    masked_steps: tuple[int, ...] = ()
    any_reset: bool = False
    all_reset: bool = False
    steps_counted: float = 0.0
    rows_counted: float = 0.0
    max_target: int = -1

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def length(self) -> int:
        return self.inputs.shape[1]


def to_window(ops: Ops, batch: Batch, loss_from: int = 0) -> Window:
    """Check a host batch and move it to the backend.

    Args:
        ops: the backend.
        batch: host arrays (see :class:`seqframe.task.Batch`).
        loss_from: steps before this one carry no loss (truncated BPTT with k2 > k1).

    Raises:
        ShapeError: arrays that do not fit together; ConfigError: ``loss_from`` out of range.
    """
    inputs, targets, mask, reset = _check_batch(batch)
    steps = inputs.shape[1]
    if not 0 <= loss_from <= steps:
        raise ConfigError(
            f"loss_from={loss_from} is outside the window of {steps} steps; "
            f"expected 0 <= loss_from <= {steps} (it is k2 - k1 in truncated BPTT)."
        )
    loss_mask = mask.copy()
    loss_mask[:, :loss_from] = False
    # Entries that carry no loss may hold padding (-1, NaN); zero them so they cannot leak.
    integer = np.issubdtype(targets.dtype, np.integer)
    per_step = targets.ndim == 3 or (targets.ndim == 2 and integer)  # else one target per row
    if per_step and targets.shape[:2] != mask.shape:
        raise ShapeError(
            f"per-step targets have shape {targets.shape}; their first two axes must be "
            f"(batch, time) = {mask.shape}, like the inputs."
        )
    counted = loss_mask if per_step else loss_mask.any(axis=1)
    counted = counted.reshape(counted.shape + (1,) * (targets.ndim - counted.ndim))
    targets = np.where(counted, targets, 0)
    if integer and targets.min(initial=0) < 0:
        raise DataError(
            f"a class id is {int(targets.min())}; class ids must be 0 or more. Mask out padding "
            "steps instead of giving them a negative id."
        )
    return _host_window(ops, ops.asarray(inputs), targets, mask, loss_mask, reset)


@dataclass
class WindowResult:
    """What one window's forward and backward produce.

    Attributes:
        loss_sum: 0-d array, the SUM of per-target losses over counted targets.
        count: counted targets: steps with a loss (every-step readout) or rows with one
            (last/mean). ``loss_sum / count`` is the mean loss; the trainer divides the gradients
            by the total count of an optimizer step.
        grads: d loss_sum / d param, same keys and shapes as the parameters.
        state: the state after ``carry_at`` steps (the window's end by default), no gradient link.
        outputs: (B, T, O') for the every-step readout, (B, O') otherwise.
    """

    loss_sum: Array
    count: float
    grads: dict[str, Array]
    state: State
    outputs: Array


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


def _start_state(model: Model, ops: Ops, window: Window, state: State) -> State:
    """The state each row starts from: the one passed in, or zeros where the row resets."""
    if state is None or window.all_reset:
        return model.zero_state(ops, window.batch_size)
    model.check_state(state, window.batch_size)
    if not window.any_reset:
        return state
    keep = ops.reshape(1.0 - window.reset, (-1, 1))  # (B, 1)
    return tuple(tuple(tuple(s * keep for s in cell) for cell in layer) for layer in state)


def _run(model: Model, ops: Ops, params: dict, window: Window, state: State, *, keep: bool,
         drop: list, carry_at: int | None = None):
    inputs = ops.copy(ops.permute_dims(window.inputs, (1, 0, 2)))  # (T, B, D), one copy
    masks = unroll.step_masks(ops, window.mask, window.masked_steps)
    start = _start_state(model, ops, window, state)
    return unroll.run_stack(model, ops, params, inputs, masks, start, keep=keep, drop=drop,
                            carry_at=carry_at)


def _device_dropout(model: Model, ops: Ops, rng, window: Window) -> list:
    """:func:`dropout_masks`, time-major, on the backend."""
    if rng is None or model.config.dropout == 0:
        return []
    host = dropout_masks(model, rng, window.batch_size, window.length)
    time_major = [np.ascontiguousarray(np.swapaxes(m, 0, 1)) if m.ndim == 3 else m for m in host]
    return [ops.asarray(m) for m in time_major]


def _count(model: Model, window: Window) -> float:
    return window.steps_counted if model.config.readout == "every_step" else window.rows_counted


def window_loss_and_grad(
    model: Model,
    ops: Ops,
    params: dict[str, Array],
    window: Window,
    state: State = None,
    dropout_rng: np.random.Generator | None = None,
    carry_at: int | None = None,
) -> WindowResult:
    """Forward, loss and hand-written backward over one window (training mode).

    Args:
        model: the model.
        ops: the backend.
        params: name -> backend array, as :meth:`Model.param_shapes` says.
        window: from :func:`to_window`.
        state: the state carried in, or None for zeros.
        dropout_rng: the host generator dropout masks are drawn from; None disables dropout.
        carry_at: return the state after this many steps (truncated BPTT with k2 > k1).

    Returns:
        A :class:`WindowResult`.

    Raises:
        ShapeError: parameters, state or window that do not fit the model.
        ConfigError: ``carry_at`` outside the window.
    """
    _check_window(model, params, window)
    if carry_at is not None and not 0 < carry_at <= window.length:
        raise ConfigError(
            f"carry_at={carry_at} is outside the window of {window.length} steps; expected "
            f"1 <= carry_at <= {window.length} (it is k1 in truncated BPTT)."
        )
    drop = _device_dropout(model, ops, dropout_rng, window)
    top, records, finals, carried = _run(model, ops, params, window, state, keep=True, drop=drop,
                                         carry_at=carry_at)
    out = unroll.readout_loss(model, ops, params, window, top, finals, drop)
    grads = unroll.backprop_stack(model, ops, records, out.d_top, out.seeds, drop)
    grads.update(out.grads)
    state_out = carried if carry_at is not None else finals
    return WindowResult(out.loss_sum, _count(model, window), grads, state_out, out.outputs)


def loss_only(model: Model, ops: Ops, params: dict[str, Array], window: Window,
              state: State = None) -> tuple[Array, float]:
    """Loss of a window in eval mode (no dropout, no caches).

    Returns:
        ``(loss_sum, count)`` as in :class:`WindowResult`.
    """
    _check_window(model, params, window)
    top, _, finals, _ = _run(model, ops, params, window, state, keep=False, drop=[])
    out = unroll.readout_loss(model, ops, params, window, top, finals, [], grad=False)
    return out.loss_sum, _count(model, window)


def forward(model: Model, ops: Ops, params: dict[str, Array], inputs: Array,
            mask: Array | None = None, state: State = None, reset: Array | None = None):
    """Run the model in eval mode (no dropout, nothing cached for a backward).

    Args:
        inputs: (B, T, D) backend array.
        mask: (B, T) backend array of 0/1 (or bool), or None when every step is real.
        state: as returned by a previous call, or None for zeros.
        reset: (B,) 0/1, rows that start from zeros although a state is given.

    Returns:
        ``(outputs, final_state)``: raw scores (B, T, O') for the every-step readout, else
        (B, O'); the state after the last step.
    """
    model.check_params(params)
    _check_inputs(model, tuple(inputs.shape), "inputs")
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
    window = _host_window(ops, inputs, None, host_mask, host_mask, host_reset)
    top, _, finals, _ = _run(model, ops, params, window, state, keep=False, drop=[])
    return unroll.readout_outputs(model, ops, params, window, top, finals), finals


def hidden_grads(model: Model, ops: Ops, params: dict[str, Array], window: Window,
                 state: State = None) -> np.ndarray:
    """dLoss/dh_t: the total derivative of ``loss_sum`` w.r.t. every layer's hidden states.

    Computed by the same backward as :func:`window_loss_and_grad` (eval mode, no dropout). To see
    how the gradient of the LAST step's loss decays back through time, build the window with
    ``to_window(ops, batch, loss_from=T - 1)``.

    Returns:
        Host array (layers, T, B, H * directions); for a bidirectional model the forward
        direction's H columns come first.
    """
    _check_window(model, params, window)
    top, records, finals, _ = _run(model, ops, params, window, state, keep=True, drop=[])
    out = unroll.readout_loss(model, ops, params, window, top, finals, [])
    recorded: dict = {}
    unroll.backprop_stack(model, ops, records, out.d_top, out.seeds, [], recorded)
    per_layer = [
        np.concatenate([ops.to_numpy(recorded[(layer, d)]) for d in range(model.directions)], -1)
        for layer in range(model.config.layers)
    ]
    return np.stack(per_layer)


# ---- checks ------------------------------------------------------------------------------------


def _host_window(ops: Ops, inputs, targets, mask: np.ndarray, loss_mask: np.ndarray,
                 reset: np.ndarray) -> Window:
    """A Window from backend inputs/targets and host masks, with its host facts filled in."""
    integer = targets is not None and np.issubdtype(targets.dtype, np.integer)
    return Window(
        inputs=inputs,
        targets=None if targets is None else ops.asarray(targets, "int64" if integer else None),
        mask=ops.asarray(mask, dtype=ops.dtype),
        loss_mask=ops.asarray(loss_mask, dtype=ops.dtype),
        reset=ops.asarray(reset, dtype=ops.dtype),
        masked_steps=tuple(int(t) for t in np.flatnonzero(~mask.all(axis=0))),
        any_reset=bool(reset.any()),
        all_reset=bool(reset.all()),
        steps_counted=float(loss_mask.sum()),
        rows_counted=float(loss_mask.any(axis=1).sum()),
        max_target=int(targets.max(initial=0)) if integer else -1,
    )


def _check_inputs(model: Model, shape: tuple, what: str) -> None:
    if len(shape) != 3 or shape[2] != model.config.input_size:
        raise ShapeError(
            f"{what} have shape {shape}; the model expects (batch, time, "
            f"{model.config.input_size}). Check the task's input_size against the model's."
        )


def _check_batch(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Host arrays of a batch, checked against each other; masks as bool."""
    inputs = np.asarray(batch.inputs)
    if inputs.ndim != 3:
        raise ShapeError(
            f"batch inputs have shape {inputs.shape}; expected (batch, time, features). "
            "A univariate series needs a trailing feature axis of size 1."
        )
    batch_size, steps = inputs.shape[:2]
    mask, reset = np.asarray(batch.mask), np.asarray(batch.reset)
    targets = np.asarray(batch.targets)
    if mask.shape != (batch_size, steps):
        raise ShapeError(
            f"batch mask has shape {mask.shape}; expected (batch, time) = {(batch_size, steps)} "
            "to match the inputs."
        )
    if reset.shape != (batch_size,):
        raise ShapeError(
            f"batch reset has shape {reset.shape}; expected (batch,) = ({batch_size},)."
        )
    if targets.ndim == 0 or targets.shape[0] != batch_size:
        raise ShapeError(
            f"batch targets have shape {targets.shape}; their first axis must be the batch "
            f"({batch_size} rows, like the inputs)."
        )
    return inputs, targets, mask.astype(bool), reset.astype(bool)


def _check_window(model: Model, params: dict, window: Window) -> None:
    model.check_params(params)
    cfg = model.config
    shape = tuple(window.inputs.shape)
    _check_inputs(model, shape, "window inputs")
    batch, steps = shape[:2]
    every = cfg.readout == "every_step"
    classes = cfg.loss == "cross_entropy"
    expected = ((batch, steps) if every else (batch,)) + (() if classes else (cfg.output_size,))
    got = tuple(window.targets.shape)
    if got != expected:
        kind = "class ids" if classes else f"{cfg.output_size} target value(s)"
        raise ShapeError(
            f"targets have shape {got}; readout {cfg.readout!r} with loss {cfg.loss!r} expects "
            f"{expected} ({kind} per {'step' if every else 'sequence'}). Check the task's "
            "readout, loss and output_size."
        )
    integer = "int" in str(window.targets.dtype)
    if classes != integer:
        raise ShapeError(
            f"loss {cfg.loss!r} needs {'integer class ids' if classes else 'float values'} as "
            f"targets; got dtype {window.targets.dtype}."
        )
    if classes and window.max_target >= model.output_size:
        raise ShapeError(
            f"a target class id is {window.max_target} but the model has {model.output_size} "
            f"classes (ids 0..{model.output_size - 1}). Set output_size to the number of classes."
        )
