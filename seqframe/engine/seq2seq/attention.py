"""Attention over the encoder's outputs, and its backward beneath it, written once against Ops.

A decoder state ``q`` (H) reads the encoder outputs ``h_j`` (F each, j over the S source
positions) through scores ``e_j``, weights ``a = softmax(e)`` over the valid positions only (a
padded position gets weight 0), a context ``c = sum_j a_j h_j`` and the attentional vector
``h~ = tanh(W_c [c; q] + b_c)`` (Luong et al. 2015), which the output layer reads. The scores::

    additive (Bahdanau et al. 2015)   e_j = v . tanh(W_q q + W_k h_j + b_k)
    general  (Luong et al. 2015)      e_j = q . (W_a h_j)
    dot      (Luong et al. 2015)      e_j = q . h_j              (needs F = H)

The key side of a score (``W_k h_j + b_k``, ``W_a h_j``, ``h_j``) does not depend on the query,
so :func:`prepare` computes it once per sentence and every decoder step (or all of them at once,
under teacher forcing) reuses it; its gradient is summed over the steps and taken back through
the projection once, by :func:`prepare_backward`.

Shapes: queries (B, Tq, H) -- Tq = T under teacher forcing, 1 when stepping --, encoder outputs
(B, S, F), source mask (B, S). The derivation of the backward is in docs/concepts/attention.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...ops import Array, Ops

NEG = -1.0e30  # the score of a padded position: exp underflows to exactly 0


@dataclass
class Memory:
    """The encoder side of attention, computed once per batch of sentences.

    Attributes:
        values: (B, S, F) the encoder outputs the context averages.
        keys: (B, S, K) what a query is compared with: ``W_k h + b_k`` (additive, K = H),
            ``W_a h`` (general, K = H) or the values themselves (dot).
        valid: (B, 1, S) bool, the real source positions.
    """

    values: Array
    keys: Array
    valid: Array


@dataclass
class MemoryGrad:
    """Gradients reaching the memory from the decoder, summed over steps."""

    values: Array | None = None  # (B, S, F)
    keys: Array | None = None  # (B, S, K)

    def add(self, d_values: Array, d_keys: Array) -> None:
        self.values = d_values if self.values is None else self.values + d_values
        self.keys = d_keys if self.keys is None else self.keys + d_keys


def _flat(ops: Ops, x: Array) -> Array:
    """(..., N) -> (rows, N)."""
    return ops.reshape(x, (-1, x.shape[-1]))


def _t(ops: Ops, x: Array) -> Array:
    """Swap the last two axes of a 3-D array."""
    return ops.permute_dims(x, (0, 2, 1))


def prepare(kind: str, ops: Ops, params: dict, values: Array, mask: Array) -> Memory:
    """The keys of every source position and the mask, from ``values`` (B, S, F) and the 0/1
    source ``mask`` (B, S)."""
    batch, steps = mask.shape
    valid = ops.reshape(mask, (batch, 1, steps)) > 0
    if kind == "additive":
        keys = ops.matmul(values, ops.permute_dims(params["attention.key.weight"], (1, 0)))
        keys = keys + params["attention.key.bias"]  # (B, S, H)
    elif kind == "general":
        keys = ops.matmul(values, ops.permute_dims(params["attention.key.weight"], (1, 0)))
    else:
        keys = values
    return Memory(values, keys, valid)


def prepare_backward(kind: str, ops: Ops, params: dict, memory: Memory,
                     grad: MemoryGrad) -> tuple[Array, dict[str, Array]]:
    """dLoss/d(values) (B, S, F) and the key projection's gradients, from the summed ``grad``."""
    if kind == "dot":
        return grad.values + grad.keys, {}
    weight = params["attention.key.weight"]
    d_keys = grad.keys  # (B, S, K)
    grads = {"attention.key.weight": ops.matmul(ops.permute_dims(_flat(ops, d_keys), (1, 0)),
                                                _flat(ops, memory.values))}  # (K, F)
    if kind == "additive":
        grads["attention.key.bias"] = ops.sum(_flat(ops, d_keys), axis=0)
    return grad.values + ops.matmul(d_keys, weight), grads


# ---- one read of the memory -------------------------------------------------------------------


def attend(kind: str, ops: Ops, params: dict, memory: Memory, q: Array,
           keep: bool = True) -> tuple[Array, Array, Any]:
    """The attentional vectors of queries ``q`` (B, Tq, H).

    Returns:
        ``(h~ (B, Tq, H), weights (B, Tq, S), cache)``; the cache (None without ``keep``) is what
        :func:`attend_backward` needs.
    """
    scores, score_cache = _scores(kind, ops, params, memory, q)  # (B, Tq, S)
    masked = ops.where(memory.valid, scores, NEG)
    # shifted by the row maximum so exp cannot overflow; every row has a real position
    e = ops.exp(masked - ops.max(masked, axis=-1, keepdims=True))
    weights = e / ops.sum(e, axis=-1, keepdims=True)  # (B, Tq, S), 0 on padding
    context = ops.matmul(weights, memory.values)  # (B, Tq, F)
    joined = ops.concat([context, q], axis=-1)  # (B, Tq, F + H)
    pre = ops.matmul(joined, ops.permute_dims(params["attention.combine.weight"], (1, 0)))
    h_tilde = ops.tanh(pre + params["attention.combine.bias"])  # (B, Tq, H)
    cache = (q, weights, joined, h_tilde, score_cache) if keep else None
    return h_tilde, weights, cache


def attend_backward(kind: str, ops: Ops, params: dict, memory: Memory, cache: Any,
                    d_h_tilde: Array, grad: MemoryGrad) -> tuple[Array, dict[str, Array]]:
    """Backward of :func:`attend`: dLoss/dq (B, Tq, H) and the parameters' gradients; what
    reaches the memory is added to ``grad``.

    With ``u = [c; q]``, ``h~ = tanh(W_c u + b_c)`` and ``a = softmax(e)``::

        d_pre = d_h~ (1 - h~^2)        dW_c = d_pre^T u      d_u = d_pre W_c = [d_c; d_q]
        d_a   = d_c h^T                d_values += a^T d_c
        d_e   = a (d_a - sum_j a_j d_a_j)                    (0 on padding, where a = 0)

    and ``d_e`` goes back through the score (:func:`_scores_backward`).
    """
    q, weights, joined, h_tilde, score_cache = cache
    width = memory.values.shape[-1]
    d_pre = d_h_tilde * (1.0 - h_tilde * h_tilde)  # (B, Tq, H)
    combine = params["attention.combine.weight"]
    grads = {"attention.combine.weight": ops.matmul(ops.permute_dims(_flat(ops, d_pre), (1, 0)),
                                                    _flat(ops, joined)),  # (H, F + H)
             "attention.combine.bias": ops.sum(_flat(ops, d_pre), axis=0)}
    d_context, d_q = ops.split(ops.matmul(d_pre, combine), [width, q.shape[-1]], axis=-1)
    d_weights = ops.matmul(d_context, _t(ops, memory.values))  # (B, Tq, S)
    d_values = ops.matmul(_t(ops, weights), d_context)  # (B, S, F)
    d_scores = weights * (d_weights - ops.sum(weights * d_weights, axis=-1, keepdims=True))
    d_q_score, d_keys, score_grads = _scores_backward(kind, ops, params, memory, q, score_cache,
                                                      d_scores)
    grad.add(d_values, d_keys)
    grads.update(score_grads)
    return d_q + d_q_score, grads


# ---- the scores -------------------------------------------------------------------------------


def _scores(kind: str, ops: Ops, params: dict, memory: Memory, q: Array) -> tuple[Array, Any]:
    """Scores (B, Tq, S) of queries ``q`` (B, Tq, H) against the memory's keys."""
    if kind != "additive":  # general and dot: q . k_j
        return ops.matmul(q, _t(ops, memory.keys)), None
    batch, tq, _ = q.shape
    steps, width = memory.keys.shape[1], memory.keys.shape[2]
    q_proj = ops.matmul(q, ops.permute_dims(params["attention.query.weight"], (1, 0)))
    # (B, Tq, S, H): every query against every position
    z = ops.tanh(ops.reshape(q_proj, (batch, tq, 1, width))
                 + ops.reshape(memory.keys, (batch, 1, steps, width)))
    v = params["attention.v.weight"]  # (1, H)
    scores = ops.reshape(ops.matmul(z, ops.permute_dims(v, (1, 0))), (batch, tq, steps))
    return scores, z


def _scores_backward(kind: str, ops: Ops, params: dict, memory: Memory, q: Array, z: Any,
                     d_scores: Array) -> tuple[Array, Array, dict[str, Array]]:
    """``(dLoss/dq, dLoss/d(keys), parameter gradients)`` from dLoss/d(scores) (B, Tq, S).

    general/dot: ``d_q = d_e k``, ``d_k = d_e^T q``. additive, with ``z = tanh(W_q q + k_j)``::

        dv = sum d_e z      d_pre = d_e v (1 - z^2)     d_(W_q q) = sum_j d_pre
        d_k = sum over queries of d_pre                 dW_q = d_(W_q q)^T q
    """
    if kind != "additive":
        return ops.matmul(d_scores, memory.keys), ops.matmul(_t(ops, d_scores), q), {}
    batch, tq, steps = d_scores.shape
    v = params["attention.v.weight"]  # (1, H)
    d_e = ops.reshape(d_scores, (batch, tq, steps, 1))
    d_v = ops.matmul(ops.reshape(d_scores, (1, -1)), _flat(ops, z))  # (1, H)
    d_pre = d_e * v * (1.0 - z * z)  # (B, Tq, S, H)
    d_q_proj = ops.sum(d_pre, axis=2)  # (B, Tq, H)
    d_keys = ops.sum(d_pre, axis=1)  # (B, S, H)
    w_q = params["attention.query.weight"]
    grads = {"attention.v.weight": d_v,
             "attention.query.weight": ops.matmul(ops.permute_dims(_flat(ops, d_q_proj), (1, 0)),
                                                  _flat(ops, q))}
    return ops.matmul(d_q_proj, w_q), d_keys, grads
