"""Losses over classes: full softmax cross-entropy, and sampled softmax for large vocabularies."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from ..rowsparse import RowSparse
from ..task import TaskOption
from .base import Loss, LossResult


class CrossEntropy(Loss):
    """Softmax cross-entropy in nats from raw scores: ``-log softmax(outputs)[target]`` per row.

    The gradient is ``softmax(outputs) - one_hot(target)`` on counted rows, zero elsewhere.
    """

    name = "cross_entropy"
    description = "softmax cross-entropy over O classes (nats)"
    targets = "classes"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        # Subtracting the row maximum (log-sum-exp trick) keeps exp from overflowing; softmax and
        # log-softmax are unchanged by it.
        shifted = outputs - ops.max(outputs, axis=1, keepdims=True)  # (N, O)
        exp = ops.exp(shifted)
        total = ops.sum(exp, axis=1, keepdims=True)  # (N, 1)
        picked = ops.take_along_axis(shifted, ops.reshape(targets, (-1, 1)), axis=1)  # (N, 1)
        nll = ops.reshape(ops.log(total) - picked, (-1,))  # (N,) -log softmax[target]
        result = LossResult(ops.sum(nll * weights), ops.sum(weights))
        if grad:
            # softmax * w, then -w at each row's target: a scatter of N values rather than an
            # (N, O) one-hot, which at a large O costs as much as the softmax itself
            rows, classes = outputs.shape
            d_flat = ops.reshape(exp / total * ops.reshape(weights, (-1, 1)), (rows * classes,))
            at_target = ops.asarray(np.arange(rows) * classes, "int64") + \
                ops.asarray(targets, "int64")  # (N,) flat index of each row's target
            result.d_outputs = ops.reshape(ops.index_add(d_flat, at_target, -weights),
                                           (rows, classes))
        return result

    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """The log of the mean softmax probability: logits whose softmax is the average of the
        members' class probabilities."""
        stacked = np.stack([np.asarray(o, dtype=np.float64) for o in outputs])  # (K, ..., O)
        shifted = stacked - stacked.max(axis=-1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
        return np.log(np.maximum(probs.mean(axis=0), np.finfo(np.float64).tiny))


class SampledSoftmax(Loss):
    """Sampled softmax (Jean et al. 2015): the softmax over the true class and ``samples``
    sampled classes instead of all O, for training with large vocabularies.

    Each optimizer window draws ``samples`` classes with replacement from a proposal ``p``
    (shared by all rows). With ``Q(c) = samples * p(c)`` the expected number of times class ``c``
    is drawn, every score is corrected by ``-log Q(c)`` (the correction of TensorFlow's
    ``sampled_softmax_loss``), which makes the sampled softmax's gradient an estimate of the full
    one; a sampled class equal to a row's own target is removed from that row (an "accidental
    hit"). Per row::

        z_true = f . w_t + b_t - log Q(t)        z_j = f . w_(s_j) + b_(s_j) - log Q(s_j)
        loss   = -log( exp(z_true) / (exp(z_true) + sum_j exp(z_j)) )

    Proposals: ``log_uniform`` (Zipf: ``p(c) = log((c+2)/(c+1)) / log(O+1)``, for classes
    numbered by decreasing frequency, as a vocabulary sorted by count is) or ``popularity``
    (``p(c) ~ count(c)**alpha`` from the task's ``ModelSpec.class_frequencies``). Evaluation always
    scores the full softmax: the task's metrics see every class.
    """

    name = "sampled_softmax"
    description = "softmax over the target and sampled classes (training only; large O)"
    targets = "classes"
    needs = "features"
    options = (
        TaskOption("samples", int, 512, "classes drawn per window"),
        TaskOption("sampler", str, "log_uniform", "proposal distribution",
                   choices=("log_uniform", "popularity")),
        TaskOption("alpha", float, 0.75, "popularity sampler: p(c) ~ count(c)**alpha"),
    )

    def __init__(self, **options):
        super().__init__(**options)
        if self.opts["samples"] < 1:
            raise ConfigError(f"loss 'sampled_softmax' option 'samples' must be at least 1; got "
                              f"{self.opts['samples']}.")
        self._cumulative: np.ndarray | None = None  # the popularity proposal's CDF

    def prepare(self, spec) -> None:
        if self.opts["sampler"] != "popularity":
            return
        counts = getattr(spec, "class_frequencies", None)
        if counts is None:
            raise ConfigError("loss 'sampled_softmax' with sampler 'popularity' needs class "
                              "frequencies, which this task does not provide; use "
                              "-o sampler=log_uniform (loss_options) instead.")
        self.set_frequencies(np.asarray(counts, dtype=np.float64))

    def set_frequencies(self, counts: np.ndarray) -> None:
        """The popularity proposal ``p(c) ~ counts[c]**alpha`` (every class at least a little)."""
        weights = np.maximum(counts, 1e-12) ** self.opts["alpha"]
        self._cumulative = np.cumsum(weights / weights.sum())

    def proposal(self, classes: int) -> np.ndarray:
        """p(c) for every class c (host, float64)."""
        if self.opts["sampler"] == "popularity":
            if self._cumulative is None or len(self._cumulative) != classes:
                raise ConfigError(f"loss 'sampled_softmax': the popularity sampler was given "
                                  f"frequencies for "
                                  f"{0 if self._cumulative is None else len(self._cumulative)} "
                                  f"classes, but the model has {classes}.")
            return np.diff(self._cumulative, prepend=0.0)
        c = np.arange(classes, dtype=np.float64)
        return (np.log(c + 2.0) - np.log(c + 1.0)) / math.log(classes + 1.0)

    def draw(self, rng: np.random.Generator, classes: int) -> np.ndarray:
        """``samples`` class ids drawn with replacement from the proposal."""
        k = self.opts["samples"]
        if self.opts["sampler"] == "popularity":
            self.proposal(classes)  # checks the frequencies fit
            return np.minimum(np.searchsorted(self._cumulative, rng.random(k), side="right"),
                              classes - 1)
        # log-uniform by inversion: floor(exp(u log(O+1))) - 1 has exactly p(c) above
        drawn = np.floor(np.exp(rng.random(k) * math.log(classes + 1.0))).astype(np.int64) - 1
        return np.clip(drawn, 0, classes - 1)

    # Evaluation scores the full softmax, as for cross_entropy: ensembles average the members'
    # class probabilities the same way (not their scores, the base class's default).
    combine = CrossEntropy.combine

    def loss_and_grad_features(self, ops, features, weight, bias, targets, weights, *,
                               grad=True, rng=None):
        classes = weight.shape[0]
        if rng is None:
            rng = np.random.default_rng(0)  # outside training: a fixed draw, still an estimate
        sampled = self.draw(rng, classes)  # (S,)
        log_q = np.log(self.opts["samples"] * self.proposal(classes))  # (O,) host
        host_targets = ops.to_numpy(targets).astype(np.int64)  # (N,)
        hits = host_targets[:, None] == sampled[None, :]  # (N, S) accidental hits
        # scores: column 0 the true class, then the samples; -log Q corrects the sampling
        w_true, w_samp = ops.take(weight, targets, axis=0), ops.take(weight, sampled, axis=0)
        z_true = ops.sum(features * w_true, axis=1, keepdims=True)  # (N, 1)
        z_true = z_true + ops.reshape(ops.take(bias, targets, axis=0), (-1, 1)) \
            - ops.asarray(log_q[host_targets][:, None])
        z_samp = ops.matmul(features, ops.permute_dims(w_samp, (1, 0)))  # (N, S)
        z_samp = z_samp + ops.reshape(ops.take(bias, sampled, axis=0), (1, -1)) \
            - ops.asarray(log_q[sampled][None, :])
        z_samp = ops.where(ops.asarray(hits), -1.0e30, z_samp)  # a hit is not a negative
        z = ops.concat([z_true, z_samp], axis=1)  # (N, 1 + S)
        shifted = z - ops.max(z, axis=1, keepdims=True)
        exp = ops.exp(shifted)
        total = ops.sum(exp, axis=1, keepdims=True)
        nll = ops.reshape(ops.log(total) - shifted[:, :1], (-1,))  # (N,)
        result = LossResult(ops.sum(nll * weights), ops.sum(weights))
        if not grad:
            return result
        d_z = exp / total * ops.reshape(weights, (-1, 1))  # softmax, counted rows only
        d_true = d_z[:, :1] - ops.reshape(weights, (-1, 1))  # minus the one-hot of column 0
        d_samp = d_z[:, 1:]  # (N, S)
        result.d_outputs = d_true * w_true + ops.matmul(d_samp, w_samp)  # (N, F)
        # Only the targets' and the samples' rows of the weight and bias have a gradient: kept
        # row-sparse, the model densifies them unless it trains with --sparse-grads.
        rows = np.concatenate([host_targets, sampled])
        result.d_weight = RowSparse.scatter(ops, tuple(weight.shape), rows, ops.concat(
            [d_true * features, ops.matmul(ops.permute_dims(d_samp, (1, 0)), features)], axis=0))
        result.d_bias = RowSparse.scatter(ops, tuple(bias.shape), rows, ops.concat(
            [ops.reshape(d_true, (-1,)), ops.sum(d_samp, axis=0)], axis=0))
        return result

