"""The readout: a linear layer over the top of the stack, the loss, and the start of the backward.

``every_step`` reads every step's top output; ``last`` the final state of each direction (a
masked step keeps the state, so this is the output at each row's last valid step); ``mean``
averages the top outputs over valid steps, ``max`` takes each feature's largest value over them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import Array, Ops
from .losses import LOSS_FUNCTIONS
from .model import Model


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
