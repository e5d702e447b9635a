"""Losses over real values: mean squared error and the Gaussian negative log-likelihood."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .base import Loss, LossResult

LOG_2PI = math.log(2.0 * math.pi)
LOGVAR_LIMIT = 20.0  # |log variance| is clamped here so exp(-logvar) stays finite in float32


class MSE(Loss):
    """Squared error averaged over each target's O values: ``mean_o (y_o - out_o)**2`` per row."""

    name = "mse"
    description = "mean squared error over O values"
    targets = "values"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        width = outputs.shape[1]
        diff = (outputs - targets) * ops.reshape(weights, (-1, 1))  # (N, O), 0 where not counted
        result = LossResult(ops.sum(diff * diff) / width, ops.sum(weights))
        if grad:
            result.d_outputs = diff * (2.0 / width)
        return result


class GaussianNLL(Loss):
    """Gaussian negative log-likelihood (nats) from a mean head and a log-variance head.

    The model outputs 2*O values per row: means ``mu``, then log-variances ``s``, clamped to
    [-20, 20] (zero gradient beyond the clamp, like a variance floor). Per value
    ``0.5 * (log(2 pi) + s + (y - mu)**2 * exp(-s))``, averaged over a target's O values.
    """

    name = "gaussian_nll"
    description = "Gaussian negative log-likelihood from a mean and a log-variance head"
    targets = "values"

    def output_size(self, size: int) -> int:
        return 2 * size

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        width = targets.shape[1]
        mu, raw_s = outputs[:, :width], outputs[:, width:]
        s = ops.clip(raw_s, -LOGVAR_LIMIT, LOGVAR_LIMIT)
        w = ops.reshape(weights, (-1, 1))
        err = targets - mu  # (N, O)
        inv_var = ops.exp(-s)
        scaled = err * err * inv_var  # (y - mu)^2 / var
        result = LossResult(ops.sum((s + scaled + LOG_2PI) * w) * (0.5 / width),
                            ops.sum(weights))
        if grad:
            d_mu = err * inv_var * w * (-1.0 / width)
            d_s = ops.where(ops.abs(raw_s) <= LOGVAR_LIMIT, (1.0 - scaled) * w * (0.5 / width),
                            0.0)
            result.d_outputs = ops.concat([d_mu, d_s], axis=1)
        return result

    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """The moment-matched mixture: mean ``mean(mu_k)``, variance ``mean(var_k + mu_k^2) -
        mean(mu_k)^2``."""
        stacked = np.stack([np.asarray(o, dtype=np.float64) for o in outputs])  # (K, ..., 2*O)
        width = stacked.shape[-1] // 2
        mu, var = stacked[..., :width], np.exp(stacked[..., width:])
        mean = mu.mean(axis=0)
        mixture_var = np.maximum((var + mu**2).mean(axis=0) - mean**2, np.finfo(float).tiny)
        return np.concatenate([mean, np.log(mixture_var)], axis=-1)
