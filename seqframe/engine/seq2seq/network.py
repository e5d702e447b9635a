"""One training window of an encoder-decoder: forward, loss, and the backward by hand.

A window is one :class:`~seqframe.task.Seq2SeqBatch`, read whole::

    source (B, S) --embed--> encoder stack --> memory (B, S, F), finals (B, F)
    finals --bridge--> decoder start states
    target_in (B, T) --embed--> decoder stack (+ attention over the memory) --> outputs (T, B, H)
    outputs --output layer--> scores (T*B, V) --loss (target_out, target_mask)--> loss_sum

and the backward runs the same way in reverse: the loss's gradient through the output layer, the
decoder and attention (the memory's gradient summed over decoder positions), the bridge, and the
encoder, into both embedding tables. Every piece is written against Ops, so the NumPy reference
and torch's generic path run this same code; a backend's fused kernels run the two stacks where
they can. ``seqframe check --seq2seq`` compares the gradients with finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ShapeError
from ...ops import Array, Ops
from ...rowsparse import dense
from ...task import Seq2SeqBatch
from ..recurrence import Recurrence
from . import attention, decoder, encoder
from .layout import Seq2SeqLayout


@dataclass
class Seq2SeqResult:
    """One window's loss sum, target count and gradients (``WindowResult``'s fields)."""

    loss_sum: Array
    count: float
    grads: dict[str, Array]
    path: str


def check_batch(layout: Seq2SeqLayout, batch: Seq2SeqBatch) -> None:
    """Raise ShapeError unless ``batch`` is a well-formed Seq2SeqBatch for this model."""
    if not isinstance(batch, Seq2SeqBatch):
        raise ShapeError(f"an encoder-decoder trains on Seq2SeqBatch pairs; got "
                         f"{type(batch).__name__}. Is the task's spec a Seq2SeqSpec?")
    cfg = layout.config
    source, target_in = np.asarray(batch.source), np.asarray(batch.target_in)
    shapes = {"source_mask": batch.source_mask.shape, "target_out": batch.target_out.shape,
              "target_mask": batch.target_mask.shape}
    expected = {"source_mask": source.shape, "target_out": target_in.shape,
                "target_mask": target_in.shape}
    if source.ndim != 2 or target_in.ndim != 2 or source.shape[0] != target_in.shape[0] \
            or shapes != expected:
        raise ShapeError(f"a Seq2SeqBatch needs source and source_mask (B, S) and target_in, "
                         f"target_out and target_mask (B, T); got source {source.shape}, "
                         f"target_in {target_in.shape} and {shapes}.")
    if not np.asarray(batch.source_mask, bool)[:, 0].all():
        raise ShapeError("a source row has no real position; every source needs at least one "
                         "token (its <eos>).")
    for name, ids, size in (("source", source, cfg.source_vocab),
                            ("target_in", target_in, cfg.target_vocab),
                            ("target_out", np.asarray(batch.target_out), cfg.target_vocab)):
        if ids.size and (ids.min() < 0 or ids.max() >= size):
            raise ShapeError(f"{name} holds id {int(ids.min() if ids.min() < 0 else ids.max())}"
                             f", outside the vocabulary [0, {size}).")


# ---- dropout and scheduled sampling -------------------------------------------------------------


def host_drops(layout: Seq2SeqLayout, rng, batch: int, source_len: int,
               target_len: int) -> list[np.ndarray]:
    """The window's dropout masks on the host, (B, L, W) each, drawn from ``rng`` as
    ``(rng.random((B, L, W)) >= p) / (1 - p)`` in this order: source embedding, each encoder
    layer, target embedding, each decoder layer, the outputs. Every backend draws exactly these
    (B first, so a data-parallel rank can take its rows); none when ``p`` is 0."""
    cfg = layout.config
    p = cfg.dropout
    if rng is None or p == 0.0:
        return []
    H, F, E, L = cfg.hidden_size, layout.feature_size, cfg.embed, cfg.layers
    shapes = [(source_len, E)] + [(source_len, F)] * L + [(target_len, E)] \
        + [(target_len, H)] * L + [(target_len, H)]
    return [(rng.random((batch, *shape)) >= p) / (1.0 - p) for shape in shapes]


def draw_drops(layout: Seq2SeqLayout, ops: Ops, rng: np.random.Generator | None, batch: int,
               source_len: int, target_len: int) -> decoder.Drops:
    """:func:`host_drops` on the backend, time-major (L, B, W)."""
    host = host_drops(layout, rng, batch, source_len, target_len)
    if not host:
        return decoder.Drops()
    masks = [ops.asarray(np.ascontiguousarray(np.swapaxes(m, 0, 1))) for m in host]
    L = layout.config.layers
    return decoder.Drops(masks[0], masks[1:1 + L], masks[1 + L], masks[2 + L:2 + 2 * L],
                         masks[-1])


def draw_coins(layout: Seq2SeqLayout, rng: np.random.Generator | None, batch: int,
               target_len: int) -> np.ndarray | None:
    """Scheduled sampling's choices (B, T): True where the model reads its own prediction."""
    if rng is None or layout.config.sampling == 0.0:
        return None
    return rng.random((batch, target_len)) < layout.config.sampling


def stepped(layout: Seq2SeqLayout, sampling: bool) -> bool:
    """Whether the decoder must run step by step (input feeding or scheduled sampling)."""
    return layout.config.input_feed or sampling


# ---- the output layer and the loss ------------------------------------------------------------


def output_scores(layout: Seq2SeqLayout, ops: Ops, params: dict, features: Array) -> Array:
    """(N, V) raw scores of features (N, H)."""
    weight = layout.output_weight(params)
    scores = ops.matmul(features, ops.permute_dims(weight, (1, 0)))  # (N, V)
    scores += params["output.bias"]  # in place: a second (N, V) array costs a pass of memory
    return scores


def output_loss(layout: Seq2SeqLayout, ops: Ops, params: dict, features: Array,
                targets: Array, weights: Array, rng,
                grad: bool = True) -> tuple[Array, dict[str, Array], Array | None]:
    """``(loss_sum, output-layer gradients, dLoss/d(features))`` through the run's loss
    (``({}, None)`` for the gradients without ``grad``)."""
    loss, weight, bias = layout.loss, layout.output_weight(params), params["output.bias"]
    if loss.needs == "features":  # it scores only the classes it needs (sampled softmax)
        res = loss.loss_and_grad_features(ops, features, weight, bias, targets, weights,
                                          grad=grad, rng=rng)
        if not grad:
            return res.loss_sum, {}, None
        # the encoder-decoder trains dense gradients: a row-sparse one is written out whole
        d_weight, d_bias, d_features = dense(ops, res.d_weight), dense(ops, res.d_bias), \
            res.d_outputs
    else:
        res = loss.loss_and_grad(ops, output_scores(layout, ops, params, features), targets,
                                 weights, grad=grad, rng=rng)
        if not grad:
            return res.loss_sum, {}, None
        d_weight = ops.matmul(ops.permute_dims(res.d_outputs, (1, 0)), features)  # (V, H)
        d_bias = ops.sum(res.d_outputs, axis=0)
        d_features = ops.matmul(res.d_outputs, weight)  # (N, H)
    name = "decoder.embedding.weight" if layout.config.tie_weights else "output.weight"
    return res.loss_sum, {name: d_weight, "output.bias": d_bias}, d_features


# ---- the window -------------------------------------------------------------------------------


@dataclass
class Forward:
    """An encoder-decoder's forward over one batch (what the backward walks back through)."""

    drops: decoder.Drops
    enc: encoder.Encoded
    starts: list  # the decoder layers' start h (B, H)
    memory: attention.Memory | None
    dec: decoder.Decoded


def forward(layout: Seq2SeqLayout, ops: Ops, params: dict, batch: Seq2SeqBatch, *, keep: bool,
            dropout_rng: np.random.Generator | None = None,
            fused: Recurrence | None = None) -> Forward:
    """Encoder, bridge and decoder over ``batch``; training draws (dropout, scheduled sampling)
    come from ``dropout_rng`` (None: eval mode, teacher forcing)."""
    layout.check_params(params)
    check_batch(layout, batch)
    kind = layout.config.attention
    source, target_in = np.asarray(batch.source), np.asarray(batch.target_in)
    rows, source_len = source.shape
    drops = draw_drops(layout, ops, dropout_rng, rows, source_len, target_in.shape[1])
    coins = draw_coins(layout, dropout_rng, rows, target_in.shape[1])
    enc = encoder.encode(layout, ops, params, source, np.asarray(batch.source_mask, bool),
                         keep=keep, embed_drop=drops.source_embed, drop=drops.encoder,
                         fused=fused)
    starts = encoder.bridge(layout, ops, params, enc.finals)
    memory = attention.prepare(kind, ops, params, enc.memory, enc.mask) if kind != "none" \
        else None
    if stepped(layout, coins is not None):
        def predict(out: Array) -> np.ndarray:  # scheduled sampling's choice of input
            return ops.to_numpy(ops.argmax(output_scores(layout, ops, params, out), axis=1))

        dec = decoder.decode_stepped(layout, ops, params, target_in, starts, memory, keep=keep,
                                     drops=drops, coins=coins, predict=predict)
    else:
        dec = decoder.decode_parallel(layout, ops, params, target_in, starts, memory, keep=keep,
                                      drops=drops, fused=fused)
    return Forward(drops, enc, starts, memory, dec)


def _loss(layout: Seq2SeqLayout, ops: Ops, params: dict, batch: Seq2SeqBatch, fw: Forward,
          loss_rng, grad: bool):
    """The loss over the real target positions only, and dLoss/d(decoder outputs) (T, B, H).

    The output layer is the costliest product of a step (V-wide); padding positions carry no
    loss, so they are left out of it rather than scored and masked.
    """
    rows, steps = np.asarray(batch.target_in).shape
    flat = ops.reshape(fw.dec.outputs, (steps * rows, -1))  # (T*B, H), row t*B + b
    real = np.flatnonzero(np.asarray(batch.target_mask, bool).T.reshape(-1))  # (N,)
    index = ops.asarray(real)
    targets = np.asarray(batch.target_out).T.reshape(-1)[real]  # (N,)
    loss_sum, grads, d_features = output_loss(
        layout, ops, params, ops.take(flat, index, axis=0), ops.asarray(targets, "int64"),
        ops.asarray(np.ones(len(real))), loss_rng, grad)
    if not grad:
        return loss_sum, grads, None
    d_flat = ops.index_add(ops.zeros(tuple(flat.shape)), index, d_features)  # padding: 0
    return loss_sum, grads, ops.reshape(d_flat, (steps, rows, -1))


def window_loss(layout: Seq2SeqLayout, ops: Ops, params: dict, batch: Seq2SeqBatch, *,
                dropout_rng: np.random.Generator | None = None,
                loss_rng: np.random.Generator | None = None) -> tuple[Array, float]:
    """``(loss_sum, count)`` of one batch, forward only (the same draws as a training window
    with the same generators; for finite differences and evaluation)."""
    fw = forward(layout, ops, params, batch, keep=False, dropout_rng=dropout_rng)
    loss_sum, _, _ = _loss(layout, ops, params, batch, fw, loss_rng, grad=False)
    return loss_sum, float(np.asarray(batch.target_mask, bool).sum())


def window_loss_and_grad(layout: Seq2SeqLayout, ops: Ops, params: dict, batch: Seq2SeqBatch, *,
                         dropout_rng: np.random.Generator | None = None,
                         loss_rng: np.random.Generator | None = None,
                         fused: Recurrence | None = None) -> Seq2SeqResult:
    """Forward, loss and backward of one batch of sentence pairs (training mode).

    Args:
        dropout_rng: the host generator of dropout masks and scheduled sampling's choices; None
            disables both.
        loss_rng: the host generator of a loss that draws (sampled softmax).
        fused: the backend's fused recurrence for the cell, or None for core's generic BPTT.
    """
    fw = forward(layout, ops, params, batch, keep=True, dropout_rng=dropout_rng, fused=fused)
    loss_sum, grads, d_outputs = _loss(layout, ops, params, batch, fw, loss_rng, grad=True)
    memory_grad = attention.MemoryGrad()
    backward = decoder.parallel_backward if isinstance(fw.dec.cache, decoder.ParallelCache) \
        else decoder.stepped_backward
    dec_grads, d_starts = backward(layout, ops, params, fw.dec, fw.memory, d_outputs, fw.drops,
                                   memory_grad)
    _add(grads, dec_grads)
    kind, enc = layout.config.attention, fw.enc
    d_memory = ops.zeros_like(enc.memory)
    if fw.memory is not None:
        d_memory, att_grads = attention.prepare_backward(kind, ops, params, fw.memory,
                                                         memory_grad)
        _add(grads, att_grads)
    d_finals, bridge_grads = encoder.bridge_backward(layout, ops, params, enc.finals, fw.starts,
                                                     d_starts)
    _add(grads, bridge_grads)
    _add(grads, encoder.encode_backward(layout, ops, params, enc, np.asarray(batch.source),
                                        d_memory, d_finals, fw.drops.source_embed,
                                        fw.drops.encoder))
    count = float(np.asarray(batch.target_mask, bool).sum())
    return Seq2SeqResult(loss_sum, count, grads, path(layout, enc, fw.dec))


def path(layout: Seq2SeqLayout, enc: encoder.Encoded, dec: decoder.Decoded) -> str:
    """One line for the run log: what ran the encoder and the decoder."""
    how = dec.cache.recurrence.path if isinstance(dec.cache, decoder.ParallelCache) \
        else "stepped"
    return f"encoder {enc.recurrence.path}, decoder {how}, attention {layout.config.attention}"


def _add(total: dict, part: dict) -> None:
    for name, value in part.items():
        total[name] = value if name not in total else total[name] + value


# ---- evaluation -------------------------------------------------------------------------------


def teacher_forced(layout: Seq2SeqLayout, ops: Ops, params: dict, batch: Seq2SeqBatch,
                   fused: Recurrence | None = None) -> tuple[Array, Array | None]:
    """Eval-mode scores (B, T, V) under teacher forcing, and the attention weights (B, T, S)
    (None without attention)."""
    fw = forward(layout, ops, params, batch, keep=False, fused=fused)
    rows, steps = np.asarray(batch.target_in).shape
    scores = output_scores(layout, ops, params, ops.reshape(fw.dec.outputs, (steps * rows, -1)))
    return ops.permute_dims(ops.reshape(scores, (steps, rows, -1)), (1, 0, 2)), fw.dec.weights
