"""The readout: a linear layer over the top of the stack, the loss, and the start of the backward.

``every_step`` reads every step's top output; ``last`` the final state of each direction (a
masked step keeps the state, so this is the output at each row's last valid step); ``mean``
averages the top outputs over valid steps, ``max`` takes each feature's largest value over them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import Array, Ops
from ..rowsparse import dense
from .model import Model


@dataclass
class ReadoutResult:
    """Loss and outputs of the readout, and where its gradient enters the recurrent stack."""

    loss_sum: Array
    outputs: Array | None  # (B, T, O') every-step readout, (B, O') otherwise; None when the loss
    #                        scored only some classes (sampled softmax)
    grads: dict | None = None  # readout.weight (or the tied embedding.weight), readout.bias
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


def readout_weight(model: Model, params: dict) -> Array:
    """(O', F): the readout's weight, or the embedding table when the two are tied."""
    return params["embedding.weight" if model.config.tie_weights else "readout.weight"]


def _logits(model: Model, ops: Ops, params: dict, feats: Array) -> Array:
    logits = ops.matmul(feats, ops.permute_dims(readout_weight(model, params), (1, 0)))  # (N, O')
    logits += params["readout.bias"]
    return logits


def _shape_outputs(model: Model, ops: Ops, logits: Array, top: Array) -> Array:
    if model.config.readout != "every_step":
        return logits
    steps, batch = top.shape[:2]
    return ops.permute_dims(ops.reshape(logits, (steps, batch, -1)), (1, 0, 2))  # (B, T, O')


def _flat_targets(model: Model, ops: Ops, window):
    """Targets and 0/1 weights as a row loss wants them: (N, ...) and (N,)."""
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
    """Eval-mode outputs only: every class's score, whatever the training loss."""
    feats, _ = _features(model, ops, window, top, finals, [])
    return _shape_outputs(model, ops, _logits(model, ops, params, feats), top)


def _loss(model: Model, ops: Ops, params: dict, window, feats: Array, top: Array, grad: bool,
          rng) -> tuple:
    """The loss on the readout: ``(LossResult, outputs or None, d_weight, d_bias, d_feats)``."""
    loss = model.loss
    weight, bias = readout_weight(model, params), params["readout.bias"]
    if loss.needs == "features":  # it scores what it needs itself (e.g. sampled classes)
        targets, weights = _flat_targets(model, ops, window)
        res = loss.loss_and_grad_features(ops, feats, weight, bias, targets, weights, grad=grad,
                                          rng=rng)
        if not grad:
            return res, None, None, None, None
        d_weight, d_bias = res.d_weight, res.d_bias
        if not model.config.sparse_grads:  # a loss that scored few classes may return them
            d_weight, d_bias = dense(ops, d_weight), dense(ops, d_bias)  # row-sparse
        return res, None, d_weight, d_bias, res.d_outputs
    logits = _logits(model, ops, params, feats)  # (N, O')
    if loss.per_sequence:  # the whole window, time-major, with the step mask
        steps, batch = top.shape[:2]
        mask = ops.permute_dims(window.loss_mask, (1, 0))  # (T, B)
        res = loss.loss_and_grad(ops, ops.reshape(logits, (steps, batch, -1)), window.targets,
                                 mask, grad=grad, rng=rng)
        d_logits = None if res.d_outputs is None else ops.reshape(res.d_outputs,
                                                                  (steps * batch, -1))
    else:
        targets, weights = _flat_targets(model, ops, window)
        res = loss.loss_and_grad(ops, logits, targets, weights, grad=grad, rng=rng)
        d_logits = res.d_outputs
    outputs = _shape_outputs(model, ops, logits, top)
    if not grad:
        return res, outputs, None, None, None
    d_weight = ops.matmul(ops.permute_dims(d_logits, (1, 0)), feats)  # (O', F)
    return res, outputs, d_weight, ops.sum(d_logits, axis=0), ops.matmul(d_logits, weight)


def readout_loss(model: Model, ops: Ops, params: dict, window, top: Array, finals: tuple,
                 drop: list, grad: bool = True, rng=None) -> ReadoutResult:
    """Readout, loss, and (when ``grad``) the readout's backward.

    ``rng``: the host generator of a loss that draws (sampled softmax); None outside training.
    """
    feats, w = _features(model, ops, window, top, finals, drop)
    res, outputs, d_weight, d_bias, d_feats = _loss(model, ops, params, window, feats, top, grad,
                                                    rng)
    result = ReadoutResult(res.loss_sum, outputs)
    if not grad:
        return result
    tied = model.config.tie_weights
    result.grads = {"embedding.weight" if tied else "readout.weight": d_weight,
                    "readout.bias": d_bias}
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
