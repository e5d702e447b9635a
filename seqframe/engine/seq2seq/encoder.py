"""The encoder (embedding -> recurrent stack over the source) and the bridge to the decoder.

The stack is the single-stack engine's (:func:`seqframe.engine.stack.run_stack`): the source
mask is a prefix mask, so a backend's fused kernels run it (packed sequences), and the reverse
direction of a bidirectional encoder reads each sentence from its own last word. The bridge
starts decoder layer k from the encoder's final states::

    s0_k = tanh(W_k [h_fwd; h_bwd] + b_k)        (B, H), W_k (H, F)

(``h_fwd`` is the forward direction's state after the last real word, ``h_bwd`` the reverse
direction's after the first; the top encoder layer's). A cell with more state than ``h`` (the
LSTM's ``c``) starts the rest of its state at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ops import Array, Ops
from ..recurrence import Recurrence
from ..recurrence import choose as choose_recurrence
from ..stack import StackRun, backprop_stack, run_stack
from ..window import Window, host_window
from .layout import ENCODER, Seq2SeqLayout


@dataclass
class Encoded:
    """An encoder forward.

    Attributes:
        memory: (B, S, F) the top layer's outputs, batch-major (what attention reads).
        finals: (B, F) the top layer's final ``h`` of each direction, side by side.
        mask: (B, S) the source mask, 0/1 on the backend.
        window, recurrence, run, embedded: what the backward needs.
    """

    memory: Array
    finals: Array
    mask: Array
    window: Window
    recurrence: Recurrence
    run: StackRun
    embedded: Array


def lookup(ops: Ops, table: Array, ids: np.ndarray) -> Array:
    """(L, B, E), time-major: rows of ``table`` for host ids (B, L)."""
    return ops.take(table, ops.asarray(np.ascontiguousarray(ids.T)), axis=0)


def table_grad(ops: Ops, table: Array, ids: np.ndarray, d_rows: Array, pad: int) -> Array:
    """d loss / d table (V, E) from dLoss/d(looked-up rows) (L, B, E); the padding row stays 0."""
    steps, batch, width = d_rows.shape
    flat_ids = ops.asarray(np.ascontiguousarray(ids.T).reshape(-1))  # (L*B,), time-major
    grad = ops.index_add(ops.zeros_like(table), flat_ids, ops.reshape(d_rows, (-1, width)))
    grad[pad] = 0.0  # nn.Embedding(padding_idx=...): the padding row never learns
    return grad


def choose(ops: Ops, layout: Seq2SeqLayout, window: Window,
           fused: Recurrence | None) -> Recurrence:
    """The recurrence for an encoder-decoder window (:func:`..recurrence.choose`).

    Unlike a single stack it does not ask ``runs_ragged``: sentences are short, and for them
    torch's packed kernels cost little (measured on the CPU, one thread, GRU B=128 H=256: packed
    1.3x unpacked at T=16, 1.5x at T=30, against 4.5-27x for the T=124-496 windows of speech),
    so the fused encoder stays the faster choice (docs/benchmarks.md: the encoder-decoder step
    at parity with torch.nn).
    """
    return choose_recurrence(ops, layout.cell, window, fused, ragged=True)


def encode(layout: Seq2SeqLayout, ops: Ops, params: dict, source: np.ndarray,
           source_mask: np.ndarray, *, keep: bool, embed_drop: Array | None = None,
           drop: list | None = None, fused: Recurrence | None = None) -> Encoded:
    """Run the encoder over host ``source`` ids (B, S) with their bool mask (B, S).

    ``embed_drop`` (S, B, E) and ``drop`` (one (S, B, F) mask per layer) are training dropout.
    """
    batch = source.shape[0]
    window = host_window(ops, ops.asarray(source), None, source_mask, source_mask,
                         np.zeros(batch, bool))
    embedded = lookup(ops, params["encoder.embedding.weight"], source)  # (S, B, E)
    if embed_drop is not None:
        embedded = embedded * embed_drop
    recurrence = choose(ops, layout, window, fused)
    stack = layout.encoder
    run = run_stack(stack, recurrence, layout.stack_view(params, ENCODER), embedded, window,
                    stack.zero_state(ops, batch), keep=keep, drop=drop or [], input_grad=keep)
    tops = [final[0] for final in run.finals[-1]]  # (B, H) per direction
    finals = tops[0] if len(tops) == 1 else ops.concat(tops, axis=1)  # (B, F)
    memory = ops.permute_dims(run.top, (1, 0, 2))  # (B, S, F)
    return Encoded(memory, finals, window.mask, window, recurrence, run, embedded)


def encode_backward(layout: Seq2SeqLayout, ops: Ops, params: dict, enc: Encoded,
                    source: np.ndarray, d_memory: Array, d_finals: Array,
                    embed_drop: Array | None, drop: list | None) -> dict[str, Array]:
    """The encoder's gradients from dLoss/d(memory) (B, S, F) and dLoss/d(finals) (B, F)."""
    hidden = layout.config.hidden_size
    zeros = layout.cell.zero_state(ops, d_finals.shape[0], hidden)[1:]
    seeds = [(d_finals[:, d * hidden:(d + 1) * hidden],) + tuple(zeros)
             for d in range(layout.directions)]
    d_top = ops.permute_dims(d_memory, (1, 0, 2))  # (S, B, F)
    grads, d_embedded = backprop_stack(layout.encoder, enc.recurrence, enc.run, d_top, seeds,
                                       drop or [])
    out = {f"{ENCODER}{name}": value for name, value in grads.items()}
    if embed_drop is not None:
        d_embedded = d_embedded * embed_drop
    out["encoder.embedding.weight"] = table_grad(ops, params["encoder.embedding.weight"], source,
                                                 d_embedded, layout.config.padding_id)
    return out


# ---- the bridge --------------------------------------------------------------------------------


def bridge(layout: Seq2SeqLayout, ops: Ops, params: dict, finals: Array) -> list[Array]:
    """Each decoder layer's start ``h`` (B, H) from the encoder's finals (B, F)."""
    return [ops.tanh(ops.matmul(finals, ops.permute_dims(params[f"bridge.{k}.weight"], (1, 0)))
                     + params[f"bridge.{k}.bias"]) for k in range(layout.config.layers)]


def bridge_backward(layout: Seq2SeqLayout, ops: Ops, params: dict, finals: Array,
                    starts: list[Array], d_starts: list[Array]) -> tuple[Array, dict[str, Array]]:
    """dLoss/d(finals) (B, F) and the bridge's gradients from dLoss/d(start h) per layer."""
    grads: dict[str, Array] = {}
    d_finals = None
    for k, (s0, d_s0) in enumerate(zip(starts, d_starts, strict=True)):
        d_pre = d_s0 * (1.0 - s0 * s0)  # (B, H)
        grads[f"bridge.{k}.weight"] = ops.matmul(ops.permute_dims(d_pre, (1, 0)), finals)
        grads[f"bridge.{k}.bias"] = ops.sum(d_pre, axis=0)
        part = ops.matmul(d_pre, params[f"bridge.{k}.weight"])  # (B, F)
        d_finals = part if d_finals is None else d_finals + part
    return d_finals, grads


def start_states(layout: Seq2SeqLayout, ops: Ops, starts: list[Array]) -> tuple:
    """The decoder's start state, nested as the stack wants it: layer -> (one direction) ->
    cell state ``(s0_k, zeros...)``."""
    batch, hidden = starts[0].shape
    rest = layout.cell.zero_state(ops, batch, hidden)[1:]
    return tuple(((s0,) + tuple(rest),) for s0 in starts)
