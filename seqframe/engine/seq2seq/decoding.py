"""Decoding: greedy and batched beam search over an encoder-decoder, on any backend.

Both encode the batch once, start the decoder from the bridge and advance it one position at a
time (:func:`seqframe.engine.seq2seq.decoder.step_layers`), feeding each row its last choice. The
model's arithmetic stays on the backend; the choices are made on the host from the scores (a
small (N, V) copy per step), with deterministic tie-breaking (the lowest id, then the earliest
hypothesis), so two backends that compute the same scores choose the same words.

* **greedy**: the likeliest next id, until ``<eos>`` or the row's budget ``max_len``.
* **beam search**: K hypotheses per sentence in one batch of B*K rows. Each step scores every
  extension of every live hypothesis, ``score + log p(y | ...)``, and takes the best 2K per
  sentence in order: an extension by ``<eos>`` among the first K finishes a hypothesis, ranked by
  ``score / length ** length_penalty`` (length counting the ``<eos>``); the best K others stay
  live. A sentence is done when K hypotheses have finished, or at its budget, where its live
  ones finish as they are. The best finished hypothesis wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ...ops import Array, Ops
from ..recurrence import Recurrence
from . import attention, decoder, encoder
from .layout import Seq2SeqLayout


@dataclass
class _Decoder:
    """Everything one decoding step reads: weights, memory, the rows' states and fed vectors."""

    layout: Seq2SeqLayout
    ops: Ops
    params: dict
    weights: list
    memory: attention.Memory | None
    states: list  # per layer, the cell state tuple of every row
    feed: Array | None  # (N, H), input feeding

    def step(self, ids: np.ndarray) -> Array:
        """Advance every row by reading host ``ids`` (N,); the scores (N, V) of the next id."""
        layout, ops, cfg = self.layout, self.ops, self.layout.config
        x = ops.take(self.params["decoder.embedding.weight"], ops.asarray(ids), axis=0)  # (N, E)
        if self.feed is not None:
            x = ops.concat([x, self.feed], axis=1)
        top, self.states, _ = decoder.step_layers(layout, ops, self.weights, x, self.states,
                                                  None, keep=False)
        out = top
        if cfg.attention != "none":
            h3, _, _ = attention.attend(cfg.attention, ops, self.params, self.memory,
                                        ops.reshape(top, (top.shape[0], 1, -1)), keep=False)
            out = ops.reshape(h3, (top.shape[0], -1))  # (N, H)
        if self.feed is not None:
            self.feed = out
        weight = self.layout.output_weight(self.params)
        return ops.matmul(out, ops.permute_dims(weight, (1, 0))) + self.params["output.bias"]

    def reorder(self, rows: np.ndarray) -> None:
        """Keep rows ``rows`` (N,) of every state (beam search's surviving hypotheses)."""
        index = self.ops.asarray(rows)
        self.states = [tuple(self.ops.take(s, index, axis=0) for s in state)
                       for state in self.states]
        if self.feed is not None:
            self.feed = self.ops.take(self.feed, index, axis=0)


def start(layout: Seq2SeqLayout, ops: Ops, params: dict, source: np.ndarray,
          source_mask: np.ndarray, copies: int = 1,
          fused: Recurrence | None = None) -> _Decoder:
    """Encode ``source`` (B, S) and set up a decoder of B * ``copies`` rows (row ``b*K + k``
    is copy k of sentence b)."""
    enc = encoder.encode(layout, ops, params, source, source_mask, keep=False, fused=fused)
    starts = encoder.bridge(layout, ops, params, enc.finals)
    memory_values, mask = enc.memory, enc.mask
    if copies > 1:
        index = ops.asarray(np.repeat(np.arange(source.shape[0]), copies))
        starts = [ops.take(s, index, axis=0) for s in starts]
        memory_values = ops.take(memory_values, index, axis=0)
        mask = ops.take(mask, index, axis=0)
    kind = layout.config.attention
    memory = attention.prepare(kind, ops, params, memory_values, mask) if kind != "none" \
        else None
    rows = starts[0].shape[0]
    feed = ops.zeros((rows, layout.config.hidden_size)) if layout.config.input_feed else None
    states = [s[0] for s in encoder.start_states(layout, ops, starts)]
    return _Decoder(layout, ops, params, decoder.layer_weights(layout, ops, params), memory,
                    states, feed)


def budgets(max_len, rows: int) -> np.ndarray:
    """(B,) int64 per-row budgets from one number or an array."""
    out = np.broadcast_to(np.asarray(max_len, dtype=np.int64), (rows,)).copy()
    if (out < 1).any():
        raise ConfigError(f"a translation needs a budget of at least 1 token; got max_len "
                          f"{int(out.min())}.")
    return out


def greedy(layout: Seq2SeqLayout, ops: Ops, params: dict, source: np.ndarray,
           source_mask: np.ndarray, max_len, fused: Recurrence | None = None) -> list[list[int]]:
    """The likeliest id at every step, per row until ``<eos>`` or its budget."""
    cfg = layout.config
    rows = source.shape[0]
    limit = budgets(max_len, rows)
    dec = start(layout, ops, params, source, source_mask, fused=fused)
    ids = np.full(rows, cfg.bos_id, dtype=np.int64)
    out: list[list[int]] = [[] for _ in range(rows)]
    done = np.zeros(rows, bool)
    for t in range(int(limit.max())):
        ids = ops.to_numpy(ops.argmax(dec.step(ids), axis=1)).astype(np.int64)  # (B,)
        for b in np.flatnonzero(~done):
            out[b].append(int(ids[b]))
        done |= (ids == cfg.eos_id) | (t + 1 >= limit)
        if done.all():
            break
    return out


def log_softmax(ops: Ops, scores: Array) -> np.ndarray:
    """log softmax of (N, V) scores, computed on the backend; the host copy."""
    shifted = scores - ops.max(scores, axis=1, keepdims=True)  # exp cannot overflow
    return ops.to_numpy(shifted - ops.log(ops.sum(ops.exp(shifted), axis=1, keepdims=True)))


def beam_search(layout: Seq2SeqLayout, ops: Ops, params: dict, source: np.ndarray,
                source_mask: np.ndarray, beam: int, max_len, length_penalty: float = 1.0,
                fused: Recurrence | None = None) -> list[list[int]]:
    """The best of K hypotheses per row (see the module docstring)."""
    if beam < 1:
        raise ConfigError(f"the beam width must be at least 1; got {beam}.")
    cfg = layout.config
    rows, K = source.shape[0], beam
    limit = budgets(max_len, rows)
    dec = start(layout, ops, params, source, source_mask, copies=K, fused=fused)
    scores = np.full((rows, K), -np.inf)
    scores[:, 0] = 0.0  # one live hypothesis per sentence at first
    history = np.zeros((rows, K, 0), dtype=np.int64)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(rows)]
    done = np.zeros(rows, bool)
    ids = np.full(rows * K, cfg.bos_id, dtype=np.int64)
    for t in range(int(limit.max())):
        logp = log_softmax(ops, dec.step(ids))  # (B*K, V), the backend's float dtype
        vocab = logp.shape[1]
        total = (scores.astype(logp.dtype)[:, :, None] + logp.reshape(rows, K, vocab)).reshape(
            rows, K * vocab)  # (B, K*V): every extension of every live hypothesis
        keep_k, keep_v, new_scores = _select(total, K, vocab, cfg.eos_id, t, history, finished,
                                             done, length_penalty)
        history = np.concatenate([history[np.arange(rows)[:, None], keep_k],
                                  keep_v[:, :, None]], axis=2)
        scores = new_scores
        for b in np.flatnonzero(~done & (t + 1 >= limit)):  # out of budget: live ones finish
            finished[b] += [(scores[b, k] / (t + 1) ** length_penalty, history[b, k].tolist())
                            for k in range(K) if np.isfinite(scores[b, k])]
            done[b] = True
        if done.all():
            break
        dec.reorder((np.arange(rows)[:, None] * K + keep_k).reshape(-1))
        ids = keep_v.reshape(-1)
    return [max(f, key=lambda item: item[0])[1] if f else [] for f in finished]


def _select(total: np.ndarray, K: int, vocab: int, eos: int, t: int, history: np.ndarray,
            finished: list, done: np.ndarray, length_penalty: float):
    """One beam step on the host: finish ``<eos>`` extensions ranked in the first K, keep the
    best K others live. Returns ``(source hypothesis (B, K), new id (B, K), scores (B, K))``."""
    rows = total.shape[0]
    keep_k = np.zeros((rows, K), dtype=np.int64)
    keep_v = np.full((rows, K), eos, dtype=np.int64)
    new_scores = np.full((rows, K), -np.inf)
    # the best 2K by score; ties go to the lowest flat index (earliest hypothesis, lowest id)
    width = min(2 * K, total.shape[1])
    part = np.argpartition(total, total.shape[1] - width, axis=1)[:, total.shape[1] - width:]
    for b in np.flatnonzero(~done):
        cand = part[b][np.lexsort((part[b], -total[b, part[b]]))]
        live = 0
        for rank, j in enumerate(cand):
            score = total[b, j]
            if not np.isfinite(score) or live == K:
                break
            k, v = divmod(int(j), vocab)
            if v == eos:
                if rank < K:
                    finished[b].append((score / (t + 1) ** length_penalty,
                                        history[b, k].tolist() + [eos]))
                continue
            keep_k[b, live], keep_v[b, live], new_scores[b, live] = k, v, score
            live += 1
        done[b] = len(finished[b]) >= K or live == 0
    return keep_k, keep_v, new_scores
