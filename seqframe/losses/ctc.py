"""Connectionist Temporal Classification (Graves et al. 2006): the ``ctc`` loss, by hand.

The forward-backward recursion in log space is written once against :class:`seqframe.ops.Ops`,
so it runs on every backend; :class:`CTC` is the registered loss around it. The derivation in
this notation is docs/concepts/ctc.md.

Notation. For row ``b`` of a batch: logits ``u[t, k]`` (T, V) over V classes, class ``blank``
(0 by default) the blank; ``y[t, k] = softmax_k u[t, k]``; the target ``l`` of L labels (no
blank); the extended target ``l'`` of ``S = 2L + 1`` symbols: a blank before, between and after
the labels (``l'_s`` is blank for even ``s``). A path that emits ``l'`` collapses (merge repeats,
drop blanks) to ``l``.

Forward variables ``alpha[t, s]``: the probability of the prefixes of the paths of length t+1 that
collapse to ``l'_1..s`` and end in symbol ``s`` at time ``t`` (0-based, in logs)::

    alpha[0, 0] = y[0, blank],  alpha[0, 1] = y[0, l_1],  alpha[0, s>1] = 0
    alpha[t, s] = y[t, l'_s] (alpha[t-1, s] + alpha[t-1, s-1] + skip(s) alpha[t-1, s-2])

with ``skip(s)`` true when ``l'_s`` is a label different from ``l'_{s-2}`` (a blank must separate
repeated labels). Backward variables ``beta[t, s]`` (also counting ``y[t, l'_s]``)::

    beta[T-1, S-1] = y[T-1, blank],  beta[T-1, S-2] = y[T-1, l_L],  beta[T-1, s<S-2] = 0
    beta[t, s] = y[t, l'_s] (beta[t+1, s] + beta[t+1, s+1] + skip(s+2) beta[t+1, s+2])

``p(l | x) = alpha[T-1, S-1] + alpha[T-1, S-2]``; for every ``t``,
``sum_s alpha[t, s] beta[t, s] / y[t, l'_s] = p(l | x)``. The loss is ``-ln p(l | x)`` and its
gradient with respect to the logits, with the softmax folded in (Graves' eq. 16), is::

    d loss / d u[t, k] = y[t, k] - (1 / p) sum_{s : l'_s = k} alpha[t, s] beta[t, s] / y[t, l'_s]

All of it runs in log space: products become sums and sums log-sum-exps. ``log 0`` is the finite
stand-in ``NEG`` (-1e30) rather than -inf, so no ``inf - inf`` ever makes a NaN and impossible
states simply stay near NEG.

Rows of a batch may differ in length: row ``b`` uses frames ``t < input_lengths[b]`` and the first
``target_lengths[b]`` labels of ``targets[b]`` (padding there is ignored).

**Infeasible pairs.** A path needs one frame per label plus one blank between each pair of equal
neighbours (:func:`min_frames`); with fewer frames ``p(l | x) = 0``. :func:`ctc_loss` gives such a
row loss ``+inf`` (or ``0`` with ``zero_infinity=True``, torch's option) and a zero gradient
either way, so one bad row never fills a batch's gradient with NaN; the :class:`CTC` loss stops
with a DataError naming the row unless its ``zero_infinity`` option is set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..ops import Array, Ops
from ..task import TaskOption
from .base import Loss, LossResult
from .classification import CrossEntropy

NEG = -1e30  # log(0) stand-in: finite, far below any real log-probability, safe in float32


def min_frames(target: np.ndarray | list[int]) -> int:
    """Fewest frames a CTC path for ``target`` needs: its length plus its repeated neighbours."""
    target = np.asarray(target)
    return int(len(target) + np.sum(target[1:] == target[:-1]))


def _host_ints(ops: Ops, x: Any) -> np.ndarray:
    if isinstance(x, (np.ndarray, list, tuple, int, np.integer)):
        return np.asarray(x, dtype=np.int64)
    return np.asarray(ops.to_numpy(x), dtype=np.int64)


def _check(shape: tuple, targets: np.ndarray, in_len: np.ndarray, tgt_len: np.ndarray,
           blank: int) -> None:
    B, T, V = shape
    if targets.ndim != 2 or len(targets) != B or in_len.shape != (B,) or tgt_len.shape != (B,):
        raise ShapeError(
            f"ctc_loss: logits {shape} (B, T, V) need targets (B, L), input_lengths (B,) and "
            f"target_lengths (B,); got {targets.shape}, {in_len.shape}, {tgt_len.shape}."
        )
    if in_len.min(initial=1) < 1 or in_len.max(initial=0) > T:
        raise ShapeError(f"ctc_loss: input_lengths must lie in [1, {T}]; got {in_len.tolist()}.")
    if tgt_len.min(initial=0) < 0 or tgt_len.max(initial=0) > targets.shape[1]:
        raise ShapeError(f"ctc_loss: target_lengths must lie in [0, {targets.shape[1]}]; got "
                         f"{tgt_len.tolist()}.")
    used = targets[np.arange(targets.shape[1])[None, :] < tgt_len[:, None]]
    if used.size and (used.min() < 0 or used.max() >= V or (used == blank).any()):
        raise ShapeError(f"ctc_loss: target labels must lie in [0, {V}) and never be the blank "
                         f"({blank}); got {sorted(set(used.tolist()))}.")


def extended_targets(targets: np.ndarray, target_lengths: np.ndarray, blank: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blank-interleaved targets ``l'`` and their masks, host arrays of shape (B, S).

    Returns:
        ``ext`` (B, S) int64 with ``S = 2 L_max + 1`` (rows padded with blanks); ``skip`` (B, S)
        bool, True where ``alpha`` may come from ``s - 2``; ``valid`` (B, S) bool,
        ``s < 2 L_b + 1``.
    """
    B, L = targets.shape
    S = 2 * L + 1
    ext = np.full((B, S), blank, dtype=np.int64)  # (B, S)
    ext[:, 1::2] = np.where(np.arange(L)[None, :] < target_lengths[:, None], targets, blank)
    skip = np.zeros((B, S), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    valid = np.arange(S)[None, :] < (2 * target_lengths + 1)[:, None]
    return ext, skip, valid


def _lse3(ops: Ops, a: Array, b: Array, c: Array) -> Array:
    """Elementwise ``log(e^a + e^b + e^c)``, shifted by the largest for stability."""
    m = ops.maximum(ops.maximum(a, b), c)
    return m + ops.log(ops.exp(a - m) + ops.exp(b - m) + ops.exp(c - m))


def _lse_rows(ops: Ops, x: Array) -> Array:
    """``log(sum_j e^x[:, j])`` of a (B, J) array -> (B,)."""
    m = ops.max(x, axis=1, keepdims=True)
    out = m + ops.log(ops.sum(ops.exp(x - m), axis=1, keepdims=True))  # (B, 1)
    return ops.reshape(out, (x.shape[0],))


def log_softmax(ops: Ops, logits: Array) -> Array:
    """``log y`` over the last axis."""
    z = logits - ops.max(logits, axis=-1, keepdims=True)
    return z - ops.log(ops.sum(ops.exp(z), axis=-1, keepdims=True))


def _right(ops: Ops, x: Array, k: int, fill: Array) -> Array:
    """``out[:, s] = x[:, s - k]``, ``fill`` (NEG) where ``s < k``."""
    return ops.concat([fill[:, :k], x[:, :-k]], axis=1)


def _left(ops: Ops, x: Array, k: int, fill: Array) -> Array:
    """``out[:, s] = x[:, s + k]``, ``fill`` (NEG) past the end."""
    return ops.concat([x[:, k:], fill[:, :k]], axis=1)


def _forward(ops: Ops, lpe: Array, skip: Array, start: Array, live: Array, fill: Array
             ) -> list[Array]:
    """``alpha`` (B, S) for every t; rows past their last frame keep their final value."""
    alpha = ops.where(start, lpe[:, 0], NEG)
    alphas = [alpha]
    for t in range(1, lpe.shape[1]):
        grown = lpe[:, t] + _lse3(ops, alpha, _right(ops, alpha, 1, fill),
                                  ops.where(skip, _right(ops, alpha, 2, fill), NEG))
        alpha = ops.where(live[:, t : t + 1], grown, alpha)
        alphas.append(alpha)
    return alphas


def _backward(ops: Ops, lpe: Array, skip_next: Array, end: Array, valid: Array, last: Array,
              before: Array, fill: Array) -> list[Array]:
    """``beta`` (B, S) for every t; NEG at and after a row's end and on padded symbols."""
    T = lpe.shape[1]
    beta = fill
    betas: list[Array] = [fill] * T
    for t in range(T - 1, -1, -1):
        grown = lpe[:, t] + _lse3(ops, beta, _left(ops, beta, 1, fill),
                                  ops.where(skip_next, _left(ops, beta, 2, fill), NEG))
        grown = ops.where(valid, grown, NEG)
        first = ops.where(end, lpe[:, t], NEG)  # the row's last frame starts the recursion
        beta = ops.where(last[:, t : t + 1], first, ops.where(before[:, t : t + 1], grown, NEG))
        betas[t] = beta
    return betas


def _masks(skip: np.ndarray, valid: np.ndarray, in_len: np.ndarray, tgt_len: np.ndarray,
           T: int) -> dict[str, np.ndarray]:
    """Host bool masks of the recursions: over symbols (B, S) and over frames (B, T)."""
    S = skip.shape[1]
    symbols, steps = np.arange(S)[None, :], np.arange(T)[None, :]
    return {
        "skip": skip,
        "skip_next": np.pad(skip[:, 2:], ((0, 0), (0, 2))),  # may s jump to s + 2
        "valid": valid,
        "start": valid & (symbols < 2),
        "end": valid & (symbols >= (2 * tgt_len - 1)[:, None]),  # the last two symbols
        "live": steps < in_len[:, None],
        "last": steps == (in_len - 1)[:, None],
        "before": steps < (in_len - 1)[:, None],
    }


def ctc_loss(ops: Ops, logits: Array, targets: Any, input_lengths: Any, target_lengths: Any,
             blank: int = 0, zero_infinity: bool = False, grad: bool = True
             ) -> tuple[Array, Array | None]:
    """Per-row CTC negative log-likelihood and its gradient with respect to the logits.

    Args:
        ops: the backend.
        logits: (B, T, V) unnormalised scores (the softmax is part of the loss).
        targets: (B, L) int label ids, row ``b`` valid in its first ``target_lengths[b]``.
        input_lengths: (B,) frames of each row, 1..T.
        target_lengths: (B,) labels of each row, 0..L.
        blank: the blank's class id.
        zero_infinity: an infeasible row's loss is 0 instead of +inf (its gradient is 0 anyway).
        grad: also run the backward recursion and return the gradient (else None).

    Returns:
        ``loss`` (B,) ``-ln p(l | x)`` in nats and ``grad`` (B, T, V) ``d loss_b / d logits[b]``
        (zero on frames past a row's length), both backend arrays.

    Raises:
        ShapeError: shapes, lengths or label ids that do not fit together.
    """
    B, T, V = (int(n) for n in logits.shape)
    targets = _host_ints(ops, targets)
    in_len, tgt_len = _host_ints(ops, input_lengths), _host_ints(ops, target_lengths)
    _check((B, T, V), targets, in_len, tgt_len, blank)
    ext, skip, valid = extended_targets(targets, tgt_len, blank)
    host = _masks(skip, valid, in_len, tgt_len, T)
    m = {name: ops.asarray(value, dtype="bool") for name, value in host.items()}
    fill = ops.zeros((B, ext.shape[1])) + NEG  # (B, S)

    log_y = log_softmax(ops, logits)  # (B, T, V)
    index = ops.asarray(np.broadcast_to(ext[:, None, :], (B, T, ext.shape[1])).copy(),
                        dtype="int64")
    lpe = ops.take_along_axis(log_y, index, axis=2)  # (B, T, S): log y[t, l'_s]

    alphas = _forward(ops, lpe, m["skip"], m["start"], m["live"], fill)
    ends = np.stack([2 * tgt_len, np.maximum(2 * tgt_len - 1, 0)], axis=1)  # (B, 2)
    finals = ops.take_along_axis(alphas[-1], ops.asarray(ends, dtype="int64"), axis=1)
    has_label = ops.asarray(np.stack([np.ones(B, bool), tgt_len > 0], axis=1), dtype="bool")
    log_p = _lse_rows(ops, ops.where(has_label, finals, NEG))  # (B,)
    feasible = ops.asarray(np.array([min_frames(targets[b, : tgt_len[b]]) <= in_len[b]
                                     for b in range(B)], dtype=bool), dtype="bool")  # (B,)
    loss = ops.where(feasible, -log_p, 0.0 if zero_infinity else float("inf"))
    if not grad:
        return loss, None
    betas = _backward(ops, lpe, m["skip_next"], m["end"], m["valid"], m["last"], m["before"],
                      fill)
    return loss, _gradient(ops, log_y, lpe, alphas, betas, ops.where(feasible, log_p, 0.0),
                           ext, host["live"], feasible)


def _gradient(ops: Ops, log_y: Array, lpe: Array, alphas: list, betas: list, log_p: Array,
              ext: np.ndarray, live: np.ndarray, feasible: Array) -> Array:
    """``y - occupancy`` (B, T, V) from the recursions; zero past a row's end and on
    infeasible rows (whose ``log_p`` the caller set to 0 so nothing divides by ``p = 0``)."""
    B, T, V = (int(n) for n in log_y.shape)
    # log of alpha beta / y per symbol, relative to p(l|x): the symbol posteriors (B, T, S)
    log_post = (ops.stack(alphas, axis=1) + ops.stack(betas, axis=1) - lpe
                - ops.reshape(log_p, (B, 1, 1)))
    occupancy = ops.matmul(ops.exp(log_post), ops.one_hot(ops.asarray(ext, dtype="int64"), V))
    grad = ops.exp(log_y) - occupancy  # (B, T, V)
    on_frames = ops.reshape(ops.asarray(live.astype(np.float64)), (B, T, 1))  # 1 on own frames
    return ops.where(ops.reshape(feasible, (B, 1, 1)), grad, 0.0) * on_frames


# ---- the registered loss -----------------------------------------------------------------------

def frame_lengths(mask: np.ndarray) -> np.ndarray:
    """(B,) valid steps per row of a (T, B) step mask whose valid steps are a prefix.

    Raises:
        ShapeError: a row with a masked step before a valid one (CTC aligns whole sequences).
    """
    lengths = mask.sum(axis=0).astype(np.int64)  # (B,)
    prefix = np.arange(mask.shape[0])[:, None] < lengths[None, :]  # (T, B)
    if not (mask == prefix).all():
        row = int(np.flatnonzero((mask != prefix).any(axis=0))[0])
        raise ShapeError(f"ctc: row {row} of the batch has a masked step before a valid one; "
                         "the loss aligns whole sequences, so each row's valid steps must come "
                         "first and padding last (and truncated BPTT cannot cut them: use "
                         "--bptt 0).")
    return lengths


def label_lengths(labels: np.ndarray, blank: int) -> np.ndarray:
    """(B,) labels per row of (B, L) label sequences padded at the end with ``blank``.

    Raises:
        DataError: a negative id, or a label after the padding began.
    """
    padding = labels == blank  # (B, L)
    lengths = np.where(padding.any(axis=1), padding.argmax(axis=1), labels.shape[1])
    after = np.arange(labels.shape[1])[None, :] >= lengths[:, None]
    if (after & ~padding).any() or (labels < 0).any():
        row = int(np.flatnonzero((after & ~padding).any(axis=1) | (labels < 0).any(axis=1))[0])
        raise DataError(f"ctc: label sequence {row} of the batch is {labels[row].tolist()}; "
                        f"expected label ids (never the blank {blank}) followed only by the "
                        f"blank as padding. The task's batches must pad label sequences at the "
                        "end with the blank.")
    return lengths.astype(np.int64)


class CTC(Loss):
    """Connectionist temporal classification over whole sequences (nats per sequence).

    The readout emits V classes per step, one of them the blank (option ``blank``, default 0).
    ``outputs`` are time-major logits (T, B, V), ``weights`` the (T, B) step mask: row ``b``'s
    frames are its valid steps, which must come first (``input_lengths`` = the mask's row sums).
    ``targets`` are (B, L) int64 label ids **padded at the end with the blank id**: a row's
    labels are its entries before its first blank (the blank never is a label), so the target
    lengths need no separate array. ``loss_sum`` sums ``-ln p(l | x)`` over rows with at least
    one valid step; ``count`` is their number, so the trainer reports nats per sequence.

    A row with fewer frames than its labels need (:func:`min_frames`) stops the run with a
    DataError naming it, unless ``zero_infinity`` is set: then it counts with loss 0 and no
    gradient (torch's ``zero_infinity``).

    The maths is :func:`ctc_loss`, unless the backend offers a native kernel
    (:meth:`seqframe.ops.Ops.fused_ctc`: torch's, with its fused paths on), which must give the
    same results.
    """

    name = "ctc"
    description = "connectionist temporal classification of label sequences (nats/sequence)"
    targets = "sequences"
    per_sequence = True
    options = (
        TaskOption("blank", int, 0, "class id of the CTC blank; label sequences are padded at "
                   "the end with it"),
        TaskOption("zero_infinity", bool, False, "a sequence too short for its labels counts "
                   "as loss 0 (no gradient) instead of stopping the run"),
    )

    def prepare(self, spec: Any) -> None:
        blank, size = self.opts["blank"], spec.output_size
        if not 0 <= blank < size or size < 2:
            raise ConfigError(f"loss ctc: blank={blank} must be a class id of the model's "
                              f"{size} outputs, and the model needs the blank and at least one "
                              "label (output_size >= 2).")

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        batch, blank = int(outputs.shape[1]), self.opts["blank"]
        frames = frame_lengths(ops.to_numpy(weights) > 0)  # (B,)
        labels = np.asarray(ops.to_numpy(targets), dtype=np.int64)  # (B, L)
        n_labels = label_lengths(labels, blank)
        rows = frames > 0  # rows without a valid step do not count
        if not self.opts["zero_infinity"]:
            _check_feasible(labels, n_labels, frames, rows)
        # an empty row runs as one frame of nothing, then its loss and gradient are zeroed
        args = (ops.permute_dims(outputs, (1, 0, 2)), labels, np.where(rows, frames, 1),
                np.where(rows, n_labels, 0))
        kernel = ops.fused_ctc()  # a backend's native kernel, when it has one
        if kernel is not None:
            loss, d_logits = kernel(*args, blank=blank, grad=grad)
        else:
            loss, d_logits = ctc_loss(ops, *args, blank=blank, zero_infinity=True, grad=grad)
        counted = ops.asarray(rows.astype(np.float64))  # (B,)
        result = LossResult(ops.sum(loss * counted), float(rows.sum()))
        if grad:
            d_logits = d_logits * ops.reshape(counted, (batch, 1, 1))
            result.d_outputs = ops.permute_dims(d_logits, (1, 0, 2))  # (T, B, V)
        return result

    def combine(self, outputs):
        """Per-frame logits of the members -> the log of their mean softmax (as cross-entropy)."""
        return CrossEntropy().combine(outputs)


def _check_feasible(labels: np.ndarray, n_labels: np.ndarray, frames: np.ndarray,
                    rows: np.ndarray) -> None:
    for b in np.flatnonzero(rows):
        need = min_frames(labels[b, : n_labels[b]])
        if need > frames[b]:
            raise DataError(
                f"ctc: sequence {b} of the batch has {frames[b]} frames but its {n_labels[b]} "
                f"labels {labels[b, : n_labels[b]].tolist()} need at least {need} (one per "
                "label and a blank between equal neighbours). Drop or lengthen such sequences "
                "in the task, or set the loss option zero_infinity=true to count them as 0.")
