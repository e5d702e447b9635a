"""Connectionist Temporal Classification (Graves et al. 2006): loss and gradient, by hand.

Written once against :class:`seqframe.ops.Ops`, so the same recursion runs on every backend.

Notation. For row ``b`` of a batch: ``x`` logits ``u[t, k]`` (T, V) over V classes, class
``blank`` (0) the blank; ``y[t, k] = softmax_k u[t, k]``; the target ``l`` of L labels (no blank);
the extended target ``l'`` of ``S = 2L + 1`` symbols: a blank before, between and after the
labels (``l'_s`` is blank for even ``s``). A path that emits ``l'`` collapses (merge repeats, drop
blanks) to ``l``.

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
``target_lengths[b]`` labels of ``targets[b]`` (padding there is ignored; pad with the blank).

**Infeasible pairs.** A path needs one frame per label plus one blank between each pair of equal
neighbours (:func:`min_frames`); with fewer frames ``p(l | x) = 0``. Such a row gets loss ``+inf``
(or ``0`` with ``zero_infinity=True``, torch's option) and a zero gradient either way, so one bad
row never fills a batch's gradient with NaN. The speech task never trains on one: it skips (and
counts) utterances too short for their transcript before any batch is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqframe.errors import ShapeError
from seqframe.ops import Array, Ops

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
             blank: int = 0, zero_infinity: bool = False) -> tuple[Array, Array]:
    """Per-row CTC negative log-likelihood and its gradient with respect to the logits.

    Args:
        ops: the backend.
        logits: (B, T, V) unnormalised scores (the softmax is part of the loss).
        targets: (B, L) int label ids, row ``b`` valid in its first ``target_lengths[b]``.
        input_lengths: (B,) frames of each row, 1..T.
        target_lengths: (B,) labels of each row, 0..L.
        blank: the blank's class id.
        zero_infinity: an infeasible row's loss is 0 instead of +inf (its gradient is 0 anyway).

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
    S = ext.shape[1]
    host = _masks(skip, valid, in_len, tgt_len, T)
    m = {name: ops.asarray(value, dtype="bool") for name, value in host.items()}
    fill = ops.zeros((B, S)) + NEG  # (B, S)

    log_y = log_softmax(ops, logits)  # (B, T, V)
    index = ops.asarray(np.broadcast_to(ext[:, None, :], (B, T, S)).copy(), dtype="int64")
    lpe = ops.take_along_axis(log_y, index, axis=2)  # (B, T, S): log y[t, l'_s]

    alphas = _forward(ops, lpe, m["skip"], m["start"], m["live"], fill)
    ends = np.stack([2 * tgt_len, np.maximum(2 * tgt_len - 1, 0)], axis=1)  # (B, 2)
    finals = ops.take_along_axis(alphas[-1], ops.asarray(ends, dtype="int64"), axis=1)
    has_label = ops.asarray(np.stack([np.ones(B, bool), tgt_len > 0], axis=1), dtype="bool")
    log_p = _lse_rows(ops, ops.where(has_label, finals, NEG))  # (B,)

    feasible = ops.asarray(np.array([min_frames(targets[b, : tgt_len[b]]) <= in_len[b]
                                     for b in range(B)]), dtype="bool")  # (B,)
    safe_log_p = ops.where(feasible, log_p, 0.0)
    betas = _backward(ops, lpe, m["skip_next"], m["end"], m["valid"], m["last"], m["before"],
                      fill)
    # log of alpha beta / y, per symbol, relative to p(l|x): the symbol posteriors (B, T, S)
    log_post = (ops.stack(alphas, axis=1) + ops.stack(betas, axis=1) - lpe
                - ops.reshape(safe_log_p, (B, 1, 1)))
    occupancy = ops.matmul(ops.exp(log_post), ops.one_hot(ops.asarray(ext, dtype="int64"), V))
    grad = ops.exp(log_y) - occupancy  # (B, T, V)
    live = ops.asarray(host["live"].astype(np.float64))  # (B, T): 1 on a row's own frames
    grad = ops.where(ops.reshape(feasible, (B, 1, 1)), grad, 0.0) * ops.reshape(live, (B, T, 1))
    loss = ops.where(feasible, -log_p, 0.0 if zero_infinity else float("inf"))
    return loss, grad

