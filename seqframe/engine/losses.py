"""Losses with their gradients, written against Ops, each summed over the targets a mask counts.

Every loss takes flat arrays: ``outputs`` (N, O'), ``targets`` (N,) class ids or (N, O) values,
and ``weights`` (N,) float 0/1 saying which of the N targets count (N is B*T for the every-step
readout, B for the last/mean readouts). Each returns ``(loss_sum, count, d_outputs)``:

* ``loss_sum``: 0-d array, the SUM over counted targets of the per-target loss;
* ``count``: 0-d array, the number of counted targets (the mean loss is ``loss_sum / count``);
* ``d_outputs``: (N, O'), d loss_sum / d outputs, zero on rows that do not count.

The per-target loss is a mean over a target's O values for ``mse`` and ``gaussian_nll`` (so a
target is a step, or a sequence, whatever its width) and the usual negative log-likelihood of
the right class for ``cross_entropy``.
"""

from __future__ import annotations

import math

from ..ops import Array, Ops

LOG_2PI = math.log(2.0 * math.pi)
LOGVAR_LIMIT = 20.0  # |log variance| is clamped here so exp(-logvar) stays finite in float32


def cross_entropy(ops: Ops, outputs: Array, targets: Array, weights: Array):
    """Softmax cross-entropy, in nats, from raw scores.

    Args:
        outputs: (N, O) logits.
        targets: (N,) int64 class ids in [0, O); rows whose weight is 0 may hold any valid id.
        weights: (N,) float 0/1.

    Returns:
        ``(loss_sum, count, d_outputs)`` as described in the module docstring.
    """
    # Subtracting the row maximum (log-sum-exp trick) keeps exp from overflowing; softmax and
    # log-softmax are unchanged by it.
    shifted = outputs - ops.max(outputs, axis=1, keepdims=True)  # (N, O)
    exp = ops.exp(shifted)
    total = ops.sum(exp, axis=1, keepdims=True)  # (N, 1)
    picked = ops.take_along_axis(shifted, ops.reshape(targets, (-1, 1)), axis=1)  # (N, 1)
    nll = ops.reshape(ops.log(total) - picked, (-1,))  # (N,) -log softmax[target]
    loss_sum = ops.sum(nll * weights)
    d_outputs = (exp / total - ops.one_hot(targets, outputs.shape[1])) * ops.reshape(
        weights, (-1, 1)
    )
    return loss_sum, ops.sum(weights), d_outputs


def mse(ops: Ops, outputs: Array, targets: Array, weights: Array):
    """Squared error averaged over each target's O values.

    Args:
        outputs: (N, O) predictions.
        targets: (N, O) values.
        weights: (N,) float 0/1.
    """
    width = outputs.shape[1]
    diff = (outputs - targets) * ops.reshape(weights, (-1, 1))  # (N, O), zero where not counted
    loss_sum = ops.sum(diff * diff) / width
    return loss_sum, ops.sum(weights), diff * (2.0 / width)


def gaussian_nll(ops: Ops, outputs: Array, targets: Array, weights: Array):
    """Gaussian negative log-likelihood (nats) from a mean head and a log-variance head.

    Per value ``0.5 * (log(2 pi) + s + (y - mu)**2 * exp(-s))``, averaged over the O values of a
    target, where ``mu = outputs[:, :O]`` and ``s = outputs[:, O:]`` is the log-variance,
    clamped to [-20, 20] (its gradient is zero beyond the clamp, like a variance floor).

    Args:
        outputs: (N, 2*O): means, then log-variances.
        targets: (N, O) values.
        weights: (N,) float 0/1.
    """
    width = targets.shape[1]
    mu, raw_s = outputs[:, :width], outputs[:, width:]
    s = ops.clip(raw_s, -LOGVAR_LIMIT, LOGVAR_LIMIT)
    w = ops.reshape(weights, (-1, 1))
    err = targets - mu  # (N, O)
    inv_var = ops.exp(-s)
    scaled = err * err * inv_var  # (y - mu)^2 / var
    loss_sum = ops.sum((s + scaled + LOG_2PI) * w) * (0.5 / width)
    d_mu = err * inv_var * w * (-1.0 / width)
    d_s = ops.where(ops.abs(raw_s) <= LOGVAR_LIMIT, (1.0 - scaled) * w * (0.5 / width), 0.0)
    return loss_sum, ops.sum(weights), ops.concat([d_mu, d_s], axis=1)


LOSS_FUNCTIONS = {"cross_entropy": cross_entropy, "mse": mse, "gaussian_nll": gaussian_nll}
