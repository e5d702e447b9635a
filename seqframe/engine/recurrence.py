"""The recurrence of one layer and direction over a window: the one piece a backend may accelerate.

Core runs a model's stack layer by layer (:mod:`seqframe.engine.stack`: directions side by side,
dropout between layers) and hands each (layer, direction) to a *recurrence*, which unrolls the cell
over the window's ``T`` steps and later backpropagates through them. :class:`GenericRecurrence`
below is core's hand-written BPTT and runs any cell on any backend. A backend with native
recurrent kernels (cuDNN, oneDNN) may offer a faster one for the cells it has kernels for, through
:meth:`seqframe.ops.Ops.fused_recurrence`; everything around it -- resets and the start state,
dropout masks, the readout, the loss and its gradient -- stays in core, so it cannot drift.

The contract of a recurrence, for inputs ``x`` (T, B, D) and a start state (a tuple of (B, H)
arrays in the cell's ``state_names`` order):

* **masks**: a step where a row is masked leaves that row's state unchanged, and the row's output
  there is the state it kept. Core asks a fused recurrence only for windows whose mask is a
  *prefix* mask (``window.prefix``: each row real for its first ``window.lengths[b]`` steps,
  padding after; or no padding at all); any other window runs the generic recurrence.
* **reverse**: read each row's real steps back to front (a bidirectional model's second
  direction); padding steps then output the start state.
* **carry_at**: also return the state after that many steps (forward direction only): truncated
  BPTT with k2 > k1 carries it to the next window.
* **keep**: keep what :meth:`Recurrence.backward` needs; without it nothing is kept (evaluation).
  **need_dx**: the backward must also return dLoss/dx (every layer but the first).
  **need_dstart**: the backward must also put dLoss/d(start state) in ``run.d_start`` (a
  decoder's start state is computed from the encoder, so its gradient goes on).
* **backward**: given dLoss/d(outputs) (T, B, H) and/or dLoss/d(final state), return the
  gradients of the weights and, when the forward was asked, dLoss/dx (T, B, D). Unless
  ``need_dstart`` was asked, no gradient flows into the start state: truncated BPTT carries the
  state across windows as a value.

Weights are passed without their layer suffix, as the cell declares them
(:meth:`seqframe.cells.Cell.param_shapes`): ``weight_ih`` (G*H, D), ``bias_ih`` (G*H,), and for a
``recurrent`` cell ``weight_hh`` (G*H, H), ``bias_hh`` (G*H,) -- PyTorch's layout -- plus any
parameters of the cell's own. A cell with ``bias = False`` has neither bias. The derivation of
the generic backward is in docs/concepts/bptt.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..cells.base import Cell, State, own_params
from ..ops import Array, Ops
from .window import Window

WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # a built-in cell's layer


@dataclass
class DirectionRun:
    """What one (layer, direction) forward produced.

    Attributes:
        outputs: (T, B, H), the hidden state after every step (the kept state at padding).
        final: the state after the window (for a reverse direction: after its step 0).
        carried: the state after ``carry_at`` steps (forward direction only), else ``final``.
        saved: what the recurrence's backward needs (its own business); None without ``keep``.
        d_start: dLoss/d(start state), set by the backward of a forward run with
            ``need_dstart``; None otherwise.
    """

    outputs: Array
    final: State
    carried: State
    saved: Any = None
    d_start: State | None = None


class Recurrence(Protocol):
    """One layer and direction of a recurrent stack over a window (see the module docstring).

    Attributes:
        path: one line for the run log, e.g. ``"generic BPTT"`` or ``"fused lstm kernels
            (oneDNN)"``.
        runs_ragged: whether this recurrence should be given windows whose rows differ in
            length (a prefix mask with padding). A fused recurrence that is slow on them says
            False, and core runs those windows on its generic BPTT instead (the numbers are the
            same either way); optional, read with ``getattr(..., True)``.
    """

    path: str
    runs_ragged: bool

    def forward(self, weights: dict[str, Array], x: Array, start: State, window: Window, *,
                reverse: bool, carry_at: int | None, keep: bool, need_dx: bool = False,
                need_dstart: bool = False) -> DirectionRun:
        """Unroll the cell over ``x`` (T, B, D) from ``start``."""
        ...

    def backward(self, run: DirectionRun, d_outputs: Array | None,
                 d_final: State | None) -> tuple[Array | None, dict[str, Array]]:
        """``(dLoss/dx or None, {weight name: gradient})`` of a kept forward."""
        ...


@dataclass
class _Saved:
    """What the generic backward needs from its forward."""

    weights: dict[str, Array]
    own: dict[str, Array]  # the cell's own parameters (empty for most cells)
    inputs: Array  # (T, B, D)
    hidden: Array  # (T + 1, B, H): h_{-1}, h_0, ... (reversed order for the reverse direction)
    caches: list  # per step, what cell.step returned
    step_masks: dict  # t -> (B, 1) mask, only for steps where some row is masked
    reverse: bool
    need_dx: bool
    need_dstart: bool = False
    recorded: list = field(default_factory=list)  # dLoss/dh_t per step, when asked for

    def previous(self) -> Array:
        """(T, B, H): the hidden state each step started from."""
        return self.hidden[1:] if self.reverse else self.hidden[:-1]


class GenericRecurrence:
    """Core's hand-written BPTT for any cell, written once against Ops.

    Forward computes all ``T`` input projections with ONE GEMM, then steps through time with one
    GEMM per step for the hidden projection, keeping only the cell caches and the hidden states.
    Backward walks the steps in reverse, stashing ``d_xp`` and ``d_hp`` for every step, and forms
    each weight gradient with one GEMM per window (``dW_ih = d_xp^T X``, ``dW_hh = d_hp^T
    H_prev``).

    Args:
        ops: the backend.
        cell: the cell every step runs.
        record: keep dLoss/dh_t of every step in the backward (for gradient-flow diagnostics;
            read with :meth:`recorded`).
    """

    path = "generic BPTT"
    runs_ragged = True

    def __init__(self, ops: Ops, cell: Cell, record: bool = False):
        self.ops, self.cell, self.record = ops, cell, record
        self.has_own = own_params(cell)

    def forward(self, weights: dict[str, Array], x: Array, start: State, window: Window, *,
                reverse: bool, carry_at: int | None = None, keep: bool = True,
                need_dx: bool = False, need_dstart: bool = False) -> DirectionRun:
        ops, cell = self.ops, self.cell
        steps, batch, d_in = x.shape
        hidden = start[0].shape[1]
        # Contiguous copies of W^T make the GEMMs noticeably faster than handing BLAS the
        # transposed views (measured with OpenBLAS, B=32, H=256).
        w_ih_t = ops.copy(ops.permute_dims(weights["weight_ih"], (1, 0)))  # (D, G*H)
        xp_flat = ops.matmul(ops.reshape(x, (steps * batch, d_in)), w_ih_t)  # (T*B, G*H)
        if cell.bias:
            xp_flat += weights["bias_ih"]
        xp = ops.reshape(xp_flat, (steps, batch, -1))  # (T, B, G*H)
        w_hh_t = b_hh = None
        if cell.recurrent:
            w_hh_t = ops.copy(ops.permute_dims(weights["weight_hh"], (1, 0)))  # (H, G*H)
            b_hh = weights["bias_hh"] if cell.bias else None
        own = {k: v for k, v in weights.items() if k not in WEIGHT_NAMES}
        hbuf = ops.zeros((steps + 1, batch, hidden))  # (T+1, B, H), see _Saved.hidden
        offset = 0 if reverse else 1
        hbuf[steps if reverse else 0] = start[0]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        caches: list[Any] = [None] * steps if keep else []
        masks = window.step_masks
        matmul, step = ops.matmul, cell.step
        state, carried = start, None
        for n, t in enumerate(order, 1):
            hp = None
            if w_hh_t is not None:
                hp = matmul(state[0], w_hh_t)  # (B, G*H)
                if b_hh is not None:
                    hp += b_hh
            new, cache = step(ops, xp[t], hp, state, own) if self.has_own else \
                step(ops, xp[t], hp, state)
            m = masks.get(t)
            if m is not None:  # masked rows keep their state: new = old + m * (new - old)
                new = tuple(old + m * (cand - old) for cand, old in zip(new, state, strict=True))
            state = new
            hbuf[t + offset] = state[0]
            if keep:
                caches[t] = cache
            if n == carry_at and not reverse:
                carried = state
        outputs = hbuf[:-1] if reverse else hbuf[1:]  # (T, B, H)
        saved = _Saved(weights, own, x, hbuf, caches, masks, reverse, need_dx,
                       need_dstart) if keep else None
        return DirectionRun(outputs, state, carried if carried is not None else state, saved)

    def backward(self, run: DirectionRun, d_outputs: Array | None,
                 d_final: State | None) -> tuple[Array | None, dict[str, Array]]:
        ops, cell, r = self.ops, self.cell, run.saved
        steps, batch, d_in = r.inputs.shape
        hidden = r.hidden.shape[2]
        w_hh = r.weights.get("weight_hh")
        d_state = d_final if d_final is not None else cell.zero_state(ops, batch, hidden)
        order = range(steps) if r.reverse else range(steps - 1, -1, -1)
        d_xps: list[Any] = [None] * steps
        d_hps: list[Any] = [None] * steps
        d_hs: list[Any] = [None] * steps
        d_own: dict[str, Any] = {}
        shared = True  # the cell returned one array for d_xp and d_hp at every step
        matmul, step_backward, caches = ops.matmul, cell.step_backward, r.caches
        for t in order:
            # (B, H) total dLoss/dh_t: from later steps, and from above at step t
            d_h = d_state[0] if d_outputs is None else d_state[0] + d_outputs[t]
            d_s = (d_h,) + tuple(d_state[1:])
            d_hs[t] = d_h
            m = r.step_masks.get(t)
            if m is not None:  # a masked row passed its state through untouched
                d_cell = tuple(d * m for d in d_s)
                d_pass = tuple(d - dc for d, dc in zip(d_s, d_cell, strict=True))
            else:
                d_cell = d_s
            d_xp, d_hp, d_prev, *rest = step_backward(ops, d_cell, caches[t])
            for name, g in (rest[0] if rest else {}).items():  # the cell's own parameters
                d_own[name] = g if name not in d_own else d_own[name] + g
            d_xps[t], d_hps[t] = d_xp, d_hp
            shared = shared and d_hp is d_xp
            if w_hh is not None:
                d_h_prev = matmul(d_hp, w_hh)  # (B, H): h_{t-1} -> hp path
                d_h_prev += d_prev[0]
            else:
                d_h_prev = d_prev[0]
            d_state = (d_h_prev,) + tuple(d_prev[1:])
            if m is not None:
                d_state = tuple(a + b for a, b in zip(d_state, d_pass, strict=True))
        # Weight gradients: one GEMM per window over all stashed steps, not one per step.
        d_xp_all = ops.reshape(ops.stack(d_xps), (steps * batch, -1))  # (T*B, G*H)
        x_flat = ops.reshape(r.inputs, (steps * batch, d_in))
        grads = {"weight_ih": ops.matmul(ops.permute_dims(d_xp_all, (1, 0)), x_flat)}
        if cell.bias:
            grads["bias_ih"] = ops.sum(d_xp_all, axis=0)
        if w_hh is not None:
            d_hp_all = d_xp_all if shared else ops.reshape(ops.stack(d_hps), (steps * batch, -1))
            h_prev_flat = ops.reshape(r.previous(), (steps * batch, hidden))
            grads["weight_hh"] = ops.matmul(ops.permute_dims(d_hp_all, (1, 0)), h_prev_flat)
        if w_hh is not None and cell.bias:
            # A copy, not the same array: a caller scaling gradients in place must not scale twice.
            grads["bias_hh"] = ops.copy(grads["bias_ih"]) if shared else ops.sum(d_hp_all, axis=0)
        for name, value in r.own.items():  # an own parameter no step touched has zero gradient
            grads[name] = d_own.get(name, ops.zeros_like(value))
        if self.record:
            r.recorded = d_hs
        if r.need_dstart:  # what reached the state before the first step
            run.d_start = d_state
        d_x = None
        if r.need_dx:
            d_x = ops.reshape(ops.matmul(d_xp_all, r.weights["weight_ih"]), (steps, batch, d_in))
        return d_x, grads

    @staticmethod
    def recorded(run: DirectionRun) -> list:
        """dLoss/dh_t (B, H) of every step t, after a backward with ``record=True``."""
        return run.saved.recorded


def choose(ops: Ops, cell: Cell, window: Window, fused: Recurrence | None, *,
           ragged: bool | None = None) -> Recurrence:
    """``fused`` when given and it can run ``window`` -- a prefix mask, with padding only if
    ``ragged`` allows it (None: ask the recurrence's ``runs_ragged``) -- else core's generic
    BPTT for ``cell``."""
    if ragged is None:
        ragged = getattr(fused, "runs_ragged", True)
    if fused is not None and window.prefix and (window.lengths is None or ragged):
        return fused
    return GenericRecurrence(ops, cell)

