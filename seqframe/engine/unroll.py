"""The engine under :mod:`seqframe.engine.bptt`: unrolling layers and directions, and the readout.

Arrays here are time-major, (T, B, ...), so every step's slice is one contiguous block.
Each (layer, direction) is unrolled by :func:`run_direction` and differentiated by
:func:`backprop_direction` right beneath it; :func:`run_stack` and :func:`backprop_stack` chain
them; :func:`readout_loss` applies the linear readout and the loss and starts the backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cells.base import Cell
from ..ops import Array, Ops
from .losses import LOSS_FUNCTIONS
from .model import Model


@dataclass
class LayerParams:
    """One direction of one layer, with the transposed weights the GEMMs want, made once."""

    w_ih: Array  # (G*H, D_in)
    w_hh: Array  # (G*H, H)
    w_ih_t: Array  # (D_in, G*H), contiguous
    w_hh_t: Array  # (H, G*H), contiguous
    b_ih: Array  # (G*H,)
    b_hh: Array  # (G*H,)

    @classmethod
    def take(cls, ops: Ops, params: dict, suffix: str) -> LayerParams:
        w_ih, w_hh = params[f"weight_ih{suffix}"], params[f"weight_hh{suffix}"]
        # A contiguous copy of W^T makes the per-step GEMM h @ W^T noticeably faster than
        # handing BLAS the transposed view (measured with OpenBLAS, B=32, H=256).
        return cls(w_ih, w_hh, ops.copy(ops.permute_dims(w_ih, (1, 0))),
                   ops.copy(ops.permute_dims(w_hh, (1, 0))), params[f"bias_ih{suffix}"],
                   params[f"bias_hh{suffix}"])


@dataclass
class DirectionRecord:
    """What the backward of one (layer, direction) needs from its forward."""

    layer: int
    direction: int
    params: LayerParams
    inputs: Array  # (T, B, D_in), the layer's input
    hidden: Array  # (T + 1, B, H): h_{-1}, h_0, ... (reversed order for the reverse direction)
    caches: list  # per step, what cell.step returned
    step_masks: dict  # t -> (B, 1) mask, only for steps where some row is masked

    @property
    def reverse(self) -> bool:
        return self.direction == 1

    def outputs(self) -> Array:
        """(T, B, H): h_t for every step t (the state after the step)."""
        return self.hidden[:-1] if self.reverse else self.hidden[1:]

    def previous(self) -> Array:
        """(T, B, H): the hidden state each step started from."""
        return self.hidden[1:] if self.reverse else self.hidden[:-1]


def step_masks(ops: Ops, mask: Array, masked_steps: tuple) -> dict:
    """(B, 1) mask columns of the steps where some row is masked; other steps need no blend."""
    batch = mask.shape[0]
    return {t: ops.reshape(mask[:, t], (batch, 1)) for t in masked_steps}


def run_direction(ops: Ops, cell: Cell, p: LayerParams, x: Array, start: tuple, masks: dict, *,
                  reverse: bool, keep: bool, carry_at: int | None = None):
    """Unroll one direction of one layer over the window.

    Returns:
        ``(final_state, carried_state, record)``; ``carried_state`` is the state after
        ``carry_at`` steps (forward direction only, else None); ``record.caches`` is empty
        unless ``keep``.
    """
    steps, batch, d_in = x.shape
    hidden = p.w_hh.shape[1]
    xp_flat = ops.matmul(ops.reshape(x, (steps * batch, d_in)), p.w_ih_t)  # (T*B, G*H), one GEMM
    xp_flat += p.b_ih
    xp = ops.reshape(xp_flat, (steps, batch, -1))  # (T, B, G*H)
    hbuf = ops.zeros((steps + 1, batch, hidden))  # (T+1, B, H) hidden states, see DirectionRecord
    offset = 0 if reverse else 1
    hbuf[steps if reverse else 0] = start[0]
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    caches: list[Any] = [None] * steps if keep else []
    matmul, step, w_hh_t, b_hh = ops.matmul, cell.step, p.w_hh_t, p.b_hh
    state, carried = start, None
    for n, t in enumerate(order, 1):
        hp = matmul(state[0], w_hh_t)  # (B, G*H)
        hp += b_hh
        new, cache = step(ops, xp[t], hp, state)
        m = masks.get(t)
        if m is not None:  # masked rows keep their state: new = old + m * (new - old)
            new = tuple(old + m * (cand - old) for cand, old in zip(new, state, strict=True))
        state = new
        hbuf[t + offset] = state[0]
        if keep:
            caches[t] = cache
        if n == carry_at and not reverse:
            carried = state
    record = DirectionRecord(0, 1 if reverse else 0, p, x, hbuf, caches, masks)
    return state, carried, record


def backprop_direction(ops: Ops, cell: Cell, r: DirectionRecord, d_y: Array | None,
                       seed: tuple | None, need_dx: bool, recorded: dict | None = None):
    """Backward of :func:`run_direction`.

    Args:
        r: the forward's record.
        d_y: (T, B, H) dLoss/d(outputs) from above (readout or next layer), or None.
        seed: dLoss/d(final state) (a ``last`` readout), or None.
        need_dx: also return dLoss/d(inputs) (not needed for the first layer).
        recorded: when given, ``recorded[(layer, direction)]`` gets dLoss/dh_t, (T, B, H).

    Returns:
        ``(d_inputs or None, grads)`` with grads keyed ``weight_ih`` ... without layer suffix.
    """
    steps, batch, d_in = r.inputs.shape
    p, hidden = r.params, r.params.w_hh.shape[1]
    d_state = seed if seed is not None else cell.zero_state(ops, batch, hidden)
    order = range(steps) if r.reverse else range(steps - 1, -1, -1)
    d_xps: list[Any] = [None] * steps
    d_hps: list[Any] = [None] * steps
    d_hs: list[Any] = [None] * steps
    shared = True  # the cell returned one array for d_xp and d_hp at every step
    matmul, step_backward, w_hh, caches = ops.matmul, cell.step_backward, p.w_hh, r.caches
    for t in order:
        d_h = d_state[0] if d_y is None else d_state[0] + d_y[t]  # (B, H) total dLoss/dh_t
        d_s = (d_h,) + tuple(d_state[1:])
        if recorded is not None:
            d_hs[t] = d_h
        m = r.step_masks.get(t)
        if m is not None:  # a masked row passed its state through untouched
            d_cell = tuple(d * m for d in d_s)
            d_pass = tuple(d - dc for d, dc in zip(d_s, d_cell, strict=True))
        else:
            d_cell = d_s
        d_xp, d_hp, d_prev = step_backward(ops, d_cell, caches[t])
        d_xps[t], d_hps[t] = d_xp, d_hp
        shared = shared and d_hp is d_xp
        d_h_prev = matmul(d_hp, w_hh)  # (B, H): h_{t-1} -> hp path
        d_h_prev += d_prev[0]
        d_state = (d_h_prev,) + tuple(d_prev[1:])
        if m is not None:
            d_state = tuple(a + b for a, b in zip(d_state, d_pass, strict=True))
    # Weight gradients: one GEMM per window over all stashed steps, not one per step.
    d_xp_all = ops.reshape(ops.stack(d_xps), (steps * batch, -1))  # (T*B, G*H)
    d_hp_all = d_xp_all if shared else ops.reshape(ops.stack(d_hps), (steps * batch, -1))
    x_flat = ops.reshape(r.inputs, (steps * batch, d_in))
    h_prev_flat = ops.reshape(r.previous(), (steps * batch, hidden))
    grads = {
        "weight_ih": ops.matmul(ops.permute_dims(d_xp_all, (1, 0)), x_flat),
        "weight_hh": ops.matmul(ops.permute_dims(d_hp_all, (1, 0)), h_prev_flat),
        "bias_ih": ops.sum(d_xp_all, axis=0),
    }
    # A copy, not the same array: a caller that scales gradients in place must not scale twice.
    grads["bias_hh"] = ops.copy(grads["bias_ih"]) if shared else ops.sum(d_hp_all, axis=0)
    if recorded is not None:
        recorded[(r.layer, r.direction)] = ops.stack(d_hs)
    d_x = ops.reshape(ops.matmul(d_xp_all, p.w_ih), (steps, batch, d_in)) if need_dx else None
    return d_x, grads


def run_stack(model: Model, ops: Ops, params: dict, inputs: Array, masks: dict, start: tuple, *,
              keep: bool, drop: list, carry_at: int | None = None):
    """Unroll every layer and direction.

    Returns:
        ``(top, records, finals, carried)``: the top layer's (dropped-out) outputs (T, B, F),
        the records, and the final / carried states nested layer -> direction -> cell state.
    """
    cfg, x = model.config, inputs
    records, finals, carried = [], [], []
    for layer in range(cfg.layers):
        outs, layer_final, layer_carried = [], [], []
        for direction in range(model.directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            p = LayerParams.take(ops, params, suffix)
            final, carry, r = run_direction(ops, model.cell, p, x, start[layer][direction], masks,
                                            reverse=direction == 1, keep=keep, carry_at=carry_at)
            r.layer = layer
            records.append(r)
            outs.append(r.outputs())
            layer_final.append(final)
            layer_carried.append(carry if carry is not None else final)
        x = outs[0] if len(outs) == 1 else ops.concat(outs, axis=2)  # (T, B, F)
        if drop and drop[layer].ndim == 3:
            x = x * drop[layer]
        finals.append(tuple(layer_final))
        carried.append(tuple(layer_carried))
    return x, records, tuple(finals), tuple(carried)


def backprop_stack(model: Model, ops: Ops, records: list, d_top: Array | None, seeds: list | None,
                   drop: list, recorded: dict | None = None) -> dict:
    """Backward through every layer, top down; returns the recurrent weights' gradients."""
    cfg, hidden, grads = model.config, model.config.hidden_size, {}
    d_seq = d_top
    for layer in range(cfg.layers - 1, -1, -1):
        if d_seq is not None and drop and drop[layer].ndim == 3:
            d_seq = d_seq * drop[layer]
        d_x = None
        for direction in range(model.directions):
            r = records[layer * model.directions + direction]
            d_y = d_seq
            if d_seq is not None and model.directions > 1:  # this direction's H columns
                d_y = d_seq[:, :, direction * hidden : (direction + 1) * hidden]
            seed = seeds[direction] if (seeds is not None and layer == cfg.layers - 1) else None
            dx, g = backprop_direction(ops, model.cell, r, d_y, seed, layer > 0, recorded)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            grads.update({f"{name}{suffix}": value for name, value in g.items()})
            d_x = dx if d_x is None else d_x + dx
        d_seq = d_x
    return grads


# ---- the readout -------------------------------------------------------------------------------


@dataclass
class ReadoutResult:
    """Loss and outputs of the readout, and where its gradient enters the recurrent stack."""

    loss_sum: Array
    outputs: Array  # (B, T, O') every-step readout, (B, O') otherwise
    grads: dict | None = None  # readout.weight, readout.bias
    d_top: Array | None = None  # (T, B, F) dLoss/d(top outputs): every_step, mean, max
    seeds: list | None = None  # per direction dLoss/d(final state): last


def _features(model: Model, ops: Ops, window, top: Array, finals: tuple, drop: list):
    """The (N, F) rows the linear readout sees, and the pooling weights of ``mean`` (T, B, 1) or
    ``max`` (T, B, F)."""
    readout, (steps, batch) = model.config.readout, top.shape[:2]
    if readout == "every_step":
        return ops.reshape(top, (steps * batch, -1)), None
    if readout == "last":
        # Masked steps keep the state, so each direction's final state IS its output at the
        # row's last valid step (the first one, for the reverse direction).
        tops = [f[0] for f in finals[-1]]  # (B, H) per direction
        feats = ops.concat(tops, axis=1) if len(tops) > 1 else tops[0]
        return (feats * drop[-1] if drop else feats), None
    weights = ops.permute_dims(window.loss_mask, (1, 0))  # (T, B)
    if readout == "max":
        # Each feature's largest value over the valid steps, as a one-hot (T, B, F) weight on
        # its first arg-max: the same weighted sum as `mean`, so one backward serves both.
        valid = ops.reshape(weights, (steps, batch, 1)) > 0
        masked = ops.where(valid, top, -3.0e38)
        first = ops.argmax(ops.permute_dims(masked, (1, 2, 0)), axis=-1)  # (B, F)
        w = ops.permute_dims(ops.one_hot(first, steps), (2, 0, 1))
        return ops.sum(top * w, axis=0), w
    per_row = ops.maximum(ops.sum(weights, axis=0), 1.0)  # (B,) steps averaged, at least 1
    w = ops.reshape(weights / per_row, (steps, batch, 1))
    return ops.sum(top * w, axis=0), w


def _logits(ops: Ops, params: dict, feats: Array) -> Array:
    logits = ops.matmul(feats, ops.permute_dims(params["readout.weight"], (1, 0)))  # (N, O')
    logits += params["readout.bias"]
    return logits


def _shape_outputs(model: Model, ops: Ops, logits: Array, top: Array) -> Array:
    if model.config.readout != "every_step":
        return logits
    steps, batch = top.shape[:2]
    return ops.permute_dims(ops.reshape(logits, (steps, batch, -1)), (1, 0, 2))  # (B, T, O')


def _flat_targets(model: Model, ops: Ops, window):
    """Targets and 0/1 weights as the loss functions want them: (N, ...) and (N,)."""
    if model.config.readout != "every_step":
        return window.targets, ops.minimum(ops.sum(window.loss_mask, axis=1), 1.0)
    targets = window.targets
    batch, steps = targets.shape[0], targets.shape[1]
    if len(targets.shape) == 2:
        targets = ops.reshape(ops.permute_dims(targets, (1, 0)), (steps * batch,))
    else:
        targets = ops.reshape(ops.permute_dims(targets, (1, 0, 2)), (steps * batch, -1))
    weights = ops.reshape(ops.permute_dims(window.loss_mask, (1, 0)), (steps * batch,))
    return targets, weights


def readout_outputs(model: Model, ops: Ops, params: dict, window, top: Array, finals: tuple):
    """Eval-mode outputs only."""
    feats, _ = _features(model, ops, window, top, finals, [])
    return _shape_outputs(model, ops, _logits(ops, params, feats), top)


def readout_loss(model: Model, ops: Ops, params: dict, window, top: Array, finals: tuple,
                 drop: list, grad: bool = True) -> ReadoutResult:
    """Readout, loss, and (when ``grad``) the readout's backward."""
    feats, w = _features(model, ops, window, top, finals, drop)
    logits = _logits(ops, params, feats)
    targets, weights = _flat_targets(model, ops, window)
    loss_sum, _, d_logits = LOSS_FUNCTIONS[model.config.loss](ops, logits, targets, weights)
    result = ReadoutResult(loss_sum, _shape_outputs(model, ops, logits, top))
    if not grad:
        return result
    result.grads = {
        "readout.weight": ops.matmul(ops.permute_dims(d_logits, (1, 0)), feats),
        "readout.bias": ops.sum(d_logits, axis=0),
    }
    d_feats = ops.matmul(d_logits, params["readout.weight"])  # (N, F)
    readout, hidden = model.config.readout, model.config.hidden_size
    if readout == "every_step":
        result.d_top = ops.reshape(d_feats, tuple(top.shape))
    elif readout in ("mean", "max"):
        result.d_top = w * ops.reshape(d_feats, (1,) + tuple(d_feats.shape))
    else:
        d_feats = d_feats * drop[-1] if drop else d_feats
        batch = d_feats.shape[0]
        zeros = model.cell.zero_state(ops, batch, hidden)[1:]
        result.seeds = [
            (d_feats[:, d * hidden : (d + 1) * hidden],) + tuple(zeros)
            for d in range(model.directions)
        ]
    return result
