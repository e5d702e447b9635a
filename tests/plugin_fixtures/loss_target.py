"""Lazily imported targets of ``losses.py``: losses written for the tests, and a task."""

import dataclasses

import numpy as np
from seqframe_adding.task import AddingTask

from seqframe.losses import Loss, LossResult
from seqframe.task import TaskOption


class AbsoluteError(Loss):
    """``scale * mean_o |out_o - y_o|`` per row; the gradient at 0 is taken as 0."""

    name = "abs-error"
    description = "mean absolute error over O values"
    targets = "values"
    options = (TaskOption("scale", float, 1.0, "multiplies the loss"),)

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        width = outputs.shape[1]
        diff = (outputs - targets) * ops.reshape(weights, (-1, 1))  # (N, O), 0 where not counted
        scale = self.opts["scale"] / width
        result = LossResult(ops.sum(ops.abs(diff)) * scale, ops.sum(weights))
        if grad:
            result.d_outputs = ops.sign(diff) * scale
        return result


class SequenceMSE(Loss):
    """A loss over whole sequences: per sequence, the mean over its valid steps of
    ``mean_o (out - y)**2``; each sequence with a valid step counts once."""

    name = "sequence-mse"
    targets = "values"
    per_sequence = True

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        width = outputs.shape[2]
        y = ops.permute_dims(targets, (1, 0, 2))  # (T, B, O) time-major, like the outputs
        valid = ops.sum(weights, axis=0)  # (B,) valid steps per sequence
        scale = weights / ops.reshape(ops.maximum(valid, 1.0), (1, -1))  # (T, B)
        diff = (outputs - y) * ops.reshape(weights, (*weights.shape, 1))  # 0 on padding
        scaled = diff * ops.reshape(scale, (*scale.shape, 1)) / width
        result = LossResult(ops.sum(diff * scaled), ops.sum(ops.minimum(valid, 1.0)))
        if grad:
            result.d_outputs = 2.0 * scaled
        return result


class LabelBag(Loss):
    """A loss over label sequences (padded with 0): per sequence, ``-sum_j log m[l_j]`` where
    ``m`` is the softmax of the outputs averaged over the sequence's valid steps (each label is
    somewhere in the sequence, in no particular order)."""

    name = "label-bag"
    targets = "sequences"
    per_sequence = True

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        steps, batch, width = outputs.shape
        shifted = outputs - ops.max(outputs, axis=2, keepdims=True)
        exp = ops.exp(shifted)
        p = exp / ops.sum(exp, axis=2, keepdims=True)  # (T, B, O) softmax per step
        valid = ops.sum(weights, axis=0)  # (B,)
        w = ops.reshape(weights / ops.reshape(ops.maximum(valid, 1.0), (1, -1)),
                        (steps, batch, 1))  # (T, B, 1) averaging weights
        m = ops.sum(p * w, axis=0)  # (B, O) mean softmax over valid steps
        labels = ops.to_numpy(targets)  # (B, L) host, 0 = padding
        counts = np.zeros((batch, width))
        rows, cols = np.nonzero(labels)
        np.add.at(counts, (rows, labels[rows, cols]), 1.0)
        counts = ops.asarray(counts) * ops.reshape(ops.minimum(valid, 1.0), (-1, 1))
        result = LossResult(-ops.sum(counts * ops.log(ops.maximum(m, 1e-300))),
                            ops.sum(ops.minimum(valid, 1.0)))
        if grad:
            d_p = w * ops.reshape(-counts / ops.maximum(m, 1e-300), (1, batch, width))
            result.d_outputs = p * (d_p - ops.sum(p * d_p, axis=2, keepdims=True))
        return result


class PickyAdding(AddingTask):
    """The adding task, listing the one other loss a run may choose."""

    name = "picky-adding"

    def prepare(self, state=None):
        return dataclasses.replace(super().prepare(state), losses=("abs-error",))
