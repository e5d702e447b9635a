"""The decoder: target embedding -> recurrent stack -> attention -> attentional vectors.

Two ways to run it, with the same maths and the same numbers:

* **parallel** (no input feeding, pure teacher forcing): the decoder's inputs do not depend on
  its outputs, so the stack runs over all T steps at once
  (:func:`seqframe.engine.stack.run_stack`, a backend's fused kernels included) and attention
  reads all T states in a few batched products.
* **stepped** (input feeding, scheduled sampling, and every decoding): step t's input needs step
  t-1's attentional vector or prediction, so the stack advances one step at a time
  (:func:`step_layers`), and the backward walks the steps in reverse by hand
  (:func:`stepped_backward`), stashing each step's gate gradients so every weight gradient is
  one product per window.

A decoder position's output ``o_t`` is its attentional vector ``h~_t`` (or, without attention,
its top state ``s_t``), dropped out in training; the output layer reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...cells.base import own_params
from ...ops import Array, Ops
from ..recurrence import WEIGHT_NAMES, Recurrence
from ..stack import StackRun, backprop_stack, run_stack
from ..window import Window, host_window
from . import attention
from .encoder import choose, lookup, start_states, table_grad
from .layout import DECODER, Seq2SeqLayout


@dataclass
class Drops:
    """One training window's dropout masks on the backend, time-major, already scaled by
    1/(1-p); empty when the model has no dropout."""

    source_embed: Array | None = None  # (S, B, E)
    encoder: list = field(default_factory=list)  # per layer (S, B, F)
    target_embed: Array | None = None  # (T, B, E)
    decoder: list = field(default_factory=list)  # per layer (T, B, H)
    output: Array | None = None  # (T, B, H)


@dataclass
class Decoded:
    """A decoder forward over T positions.

    Attributes:
        outputs: (T, B, H) what the output layer reads, dropped out in training.
        weights: (B, T, S) attention weights, or None without attention.
        ids: (B, T) host, the ids the decoder read (teacher forcing, or its own predictions).
        cache: what the backward needs (None without ``keep``).
    """

    outputs: Array
    weights: Array | None
    ids: np.ndarray
    cache: Any = None


# ---- parallel: the whole target at once -------------------------------------------------------


@dataclass
class ParallelCache:
    """What the parallel decoder's backward needs."""

    window: Window
    recurrence: Recurrence
    run: StackRun
    attend: Any
    embedded: Array


def decode_parallel(layout: Seq2SeqLayout, ops: Ops, params: dict, ids: np.ndarray,
                    starts: list[Array], memory: attention.Memory | None, *, keep: bool,
                    drops: Drops, fused: Recurrence | None) -> Decoded:
    """Teacher-forced decoder over host ``ids`` (B, T), from the bridge's ``starts``.

    No position's input depends on an output, so nothing is masked in the recurrence: padding
    positions after a sentence's end cannot reach its real positions, and carry no loss.
    """
    batch, steps = ids.shape
    every = np.ones((batch, steps), bool)
    window = host_window(ops, ops.asarray(ids), None, every, every, np.zeros(batch, bool))
    embedded = lookup(ops, params["decoder.embedding.weight"], ids)  # (T, B, E)
    if drops.target_embed is not None:
        embedded = embedded * drops.target_embed
    recurrence = choose(ops, layout, window, fused)
    run = run_stack(layout.decoder, recurrence, layout.stack_view(params, DECODER), embedded,
                    window, start_states(layout, ops, starts), keep=keep, drop=drops.decoder,
                    input_grad=keep, start_grad=keep)
    weights, cache_att = None, None
    outputs = run.top  # (T, B, H)
    if layout.config.attention != "none":
        q = ops.permute_dims(run.top, (1, 0, 2))  # (B, T, H)
        h_tilde, weights, cache_att = attention.attend(layout.config.attention, ops, params,
                                                       memory, q, keep)
        outputs = ops.permute_dims(h_tilde, (1, 0, 2))  # (T, B, H)
    if drops.output is not None:
        outputs = outputs * drops.output
    cache = ParallelCache(window, recurrence, run, cache_att, embedded) if keep else None
    return Decoded(outputs, weights, ids, cache)


def parallel_backward(layout: Seq2SeqLayout, ops: Ops, params: dict, dec: Decoded,
                      memory: attention.Memory | None, d_outputs: Array, drops: Drops,
                      grad: attention.MemoryGrad) -> tuple[dict[str, Array], list[Array]]:
    """The decoder's gradients and dLoss/d(start h) per layer from dLoss/d(outputs) (T, B, H);
    what reaches the memory is added to ``grad``."""
    c: ParallelCache = dec.cache
    if drops.output is not None:
        d_outputs = d_outputs * drops.output
    grads: dict[str, Array] = {}
    d_top = d_outputs
    if layout.config.attention != "none":
        d_q, grads = attention.attend_backward(layout.config.attention, ops, params, memory,
                                               c.attend, ops.permute_dims(d_outputs, (1, 0, 2)),
                                               grad)
        d_top = ops.permute_dims(d_q, (1, 0, 2))  # (T, B, H)
    stack_grads, d_embedded = backprop_stack(layout.decoder, c.recurrence, c.run, d_top, None,
                                             drops.decoder)
    grads.update({f"{DECODER}{name}": value for name, value in stack_grads.items()})
    if drops.target_embed is not None:
        d_embedded = d_embedded * drops.target_embed
    grads["decoder.embedding.weight"] = table_grad(ops, params["decoder.embedding.weight"],
                                                   dec.ids, d_embedded, layout.config.padding_id)
    d_starts = [c.run.runs[k].d_start[0] for k in range(layout.config.layers)]
    return grads, d_starts


# ---- stepped: one position at a time ----------------------------------------------------------


@dataclass
class LayerWeights:
    """One decoder layer's weights, transposed once per window for the per-step products."""

    raw: dict  # name -> array, as the cell declares them
    w_ih_t: Array  # (D, G*H)
    w_hh_t: Array | None  # (H, G*H); None for a cell without a recurrent matrix
    own: dict  # the cell's own parameters


def layer_weights(layout: Seq2SeqLayout, ops: Ops, params: dict) -> list[LayerWeights]:
    view = layout.stack_view(params, DECODER)
    out = []
    for layer, _, suffix in layout.decoder.layer_suffixes():
        raw = {name: view[f"{name}{suffix}"] for name in layout.decoder.layer_params(layer)}
        w_hh = raw.get("weight_hh")
        out.append(LayerWeights(
            raw, ops.copy(ops.permute_dims(raw["weight_ih"], (1, 0))),
            None if w_hh is None else ops.copy(ops.permute_dims(w_hh, (1, 0))),
            {k: v for k, v in raw.items() if k not in WEIGHT_NAMES}))
    return out


def step_layers(layout: Seq2SeqLayout, ops: Ops, weights: list[LayerWeights], x: Array,
                states: list, drops_t: list | None, keep: bool) -> tuple[Array, list, list]:
    """One decoder step through every layer: ``(top output (B, H), new states, caches)``.

    ``x`` (B, D) is the first layer's input; ``drops_t`` the step's dropout mask per layer.
    """
    cell, has_own = layout.cell, own_params(layout.cell)
    new_states, caches = [], []
    for k, w in enumerate(weights):
        state = states[k]
        xp = ops.matmul(x, w.w_ih_t) + w.raw["bias_ih"]  # (B, G*H)
        hp = None
        if w.w_hh_t is not None:
            hp = ops.matmul(state[0], w.w_hh_t) + w.raw["bias_hh"]  # (B, G*H)
        new, cache = cell.step(ops, xp, hp, state, w.own) if has_own else \
            cell.step(ops, xp, hp, state)
        new_states.append(new)
        if keep:
            caches.append((x, state[0], cache))
        x = new[0] if not drops_t else new[0] * drops_t[k]
    return x, new_states, caches


@dataclass
class _Step:
    """What the backward needs from one stepped position."""

    caches: list  # per layer (input, h_prev, cell cache)
    attend: Any  # attention's cache, or None


@dataclass
class SteppedCache:
    """What the stepped decoder's backward needs: the weights and every position's caches."""

    weights: list  # LayerWeights per layer
    steps: list = field(default_factory=list)  # _Step per position


def decode_stepped(layout: Seq2SeqLayout, ops: Ops, params: dict, ids: np.ndarray,
                   starts: list[Array], memory: attention.Memory | None, *, keep: bool,
                   drops: Drops, coins: np.ndarray | None = None,
                   predict: Callable[[Array], np.ndarray] | None = None) -> Decoded:
    """The decoder one position at a time over host ``ids`` (B, T).

    ``coins`` (B, T) bool, scheduled sampling: where True (never at t = 0) the input is the
    model's own previous prediction (``predict``: h~ (B, H) -> host ids (B,)) instead of
    ``ids[:, t]``; the ids actually read come back in ``Decoded.ids``.
    """
    cfg = layout.config
    batch, steps = ids.shape
    weights = layer_weights(layout, ops, params)
    table = params["decoder.embedding.weight"]
    states = [s[0] for s in start_states(layout, ops, starts)]
    feed = ops.zeros((batch, cfg.hidden_size)) if cfg.input_feed else None
    read = ids.copy()
    outputs, alphas, cache = [], [], SteppedCache(weights)
    previous = None  # the last step's predictions (scheduled sampling)
    for t in range(steps):
        if coins is not None and t > 0:
            read[:, t] = np.where(coins[:, t], previous, ids[:, t])
        e = ops.take(table, ops.asarray(read[:, t]), axis=0)  # (B, E)
        if drops.target_embed is not None:
            e = e * drops.target_embed[t]
        x = e if feed is None else ops.concat([e, feed], axis=1)  # (B, D)
        drops_t = [m[t] for m in drops.decoder] or None
        top, states, caches = step_layers(layout, ops, weights, x, states, drops_t, keep)
        h_tilde, att = top, None
        if cfg.attention != "none":
            h3, w3, att = attention.attend(cfg.attention, ops, params, memory,
                                           ops.reshape(top, (batch, 1, -1)), keep)
            h_tilde = ops.reshape(h3, (batch, -1))  # (B, H)
            alphas.append(w3)
        feed = h_tilde if feed is not None else None
        out = h_tilde if drops.output is None else h_tilde * drops.output[t]
        outputs.append(out)
        if coins is not None:  # the model's own choice, without the dropout noise
            previous = predict(h_tilde)
        if keep:
            cache.steps.append(_Step(caches, att))
    weights_all = ops.concat(alphas, axis=1) if alphas else None  # (B, T, S)
    return Decoded(ops.stack(outputs), weights_all, read, cache if keep else None)


def stepped_backward(layout: Seq2SeqLayout, ops: Ops, params: dict, dec: Decoded,
                     memory: attention.Memory | None, d_outputs: Array, drops: Drops,
                     grad: attention.MemoryGrad) -> tuple[dict[str, Array], list[Array]]:
    """Backward of :func:`decode_stepped` from dLoss/d(outputs) (T, B, H): the decoder's
    gradients and dLoss/d(start h) per layer; what reaches the memory is added to ``grad``.

    At step t, from the top: ``d h~_t`` (the loss's, plus the next step's input feeding) ->
    attention -> ``d s_t`` -> each layer's cell backward, adding the gradient carried from step
    t+1 to its state -> the first layer's input, split into the embedding's and the fed
    ``h~_{t-1}``'s parts.
    """
    cfg, cell = layout.config, layout.cell
    steps, batch, _ = d_outputs.shape
    weights = dec.cache.weights
    d_state = [cell.zero_state(ops, batch, cfg.hidden_size) for _ in weights]
    d_feed = None
    grads: dict[str, Array] = {}
    per_layer: list[dict[str, list]] = [{"d_xp": [], "d_hp": [], "x": [], "h": []}
                                        for _ in weights]
    d_own: list[dict[str, Array]] = [{} for _ in weights]
    d_embedded = []
    for t in range(steps - 1, -1, -1):
        step = dec.cache.steps[t]
        d_h_tilde = d_outputs[t] if drops.output is None else d_outputs[t] * drops.output[t]
        if d_feed is not None:
            d_h_tilde = d_h_tilde + d_feed
        d_x = d_h_tilde
        if cfg.attention != "none":
            d_q, g = attention.attend_backward(cfg.attention, ops, params, memory, step.attend,
                                               ops.reshape(d_h_tilde, (batch, 1, -1)), grad)
            _accumulate(grads, g)
            d_x = ops.reshape(d_q, (batch, -1))
        for k in range(len(weights) - 1, -1, -1):
            d_x, d_state[k] = _layer_backward(ops, cell, weights[k], step.caches[k], d_x,
                                              d_state[k], drops.decoder[k][t] if drops.decoder
                                              else None, per_layer[k], d_own[k])
        d_e = d_x
        if cfg.input_feed:
            d_e, d_feed = ops.split(d_x, [cfg.embed, cfg.hidden_size], axis=1)
        if drops.target_embed is not None:
            d_e = d_e * drops.target_embed[t]
        d_embedded.append(d_e)
    grads.update(_stack_weight_grads(layout, ops, weights, per_layer, d_own))
    d_embedded = ops.stack(d_embedded[::-1])  # (T, B, E)
    grads["decoder.embedding.weight"] = table_grad(ops, params["decoder.embedding.weight"],
                                                   dec.ids, d_embedded, cfg.padding_id)
    return grads, [d[0] for d in d_state]


def _layer_backward(ops: Ops, cell, w: LayerWeights, cache: tuple, d_out: Array, d_state: tuple,
                    drop: Array | None, stash: dict, d_own: dict) -> tuple[Array, tuple]:
    """One layer at one step: ``(dLoss/d(its input), dLoss/d(its previous state))``."""
    x, h_prev, cell_cache = cache
    if drop is not None:
        d_out = d_out * drop
    d_s = (d_state[0] + d_out,) + tuple(d_state[1:])
    d_xp, d_hp, d_prev, *rest = cell.step_backward(ops, d_s, cell_cache)
    for name, g in (rest[0] if rest else {}).items():
        d_own[name] = g if name not in d_own else d_own[name] + g
    stash["d_xp"].append(d_xp)
    stash["x"].append(x)
    d_h_prev = d_prev[0]
    if w.w_hh_t is not None:
        stash["d_hp"].append(d_hp)
        stash["h"].append(h_prev)
        d_h_prev = d_h_prev + ops.matmul(d_hp, w.raw["weight_hh"])
    return ops.matmul(d_xp, w.raw["weight_ih"]), (d_h_prev,) + tuple(d_prev[1:])


def _stack_weight_grads(layout: Seq2SeqLayout, ops: Ops, weights: list[LayerWeights],
                        per_layer: list[dict], d_own: list[dict]) -> dict[str, Array]:
    """Every layer's weight gradients, one product over all stashed steps each."""
    grads = {}
    for (_, _, suffix), w, stash, own in zip(layout.decoder.layer_suffixes(), weights,
                                                 per_layer, d_own, strict=True):
        d_xp = ops.concat(stash["d_xp"], axis=0)  # (T*B, G*H), steps in reverse order
        x = ops.concat(stash["x"], axis=0)  # (T*B, D), the same order
        named = {"weight_ih": ops.matmul(ops.permute_dims(d_xp, (1, 0)), x),
                 "bias_ih": ops.sum(d_xp, axis=0)}
        if w.w_hh_t is not None:
            d_hp = ops.concat(stash["d_hp"], axis=0)
            h = ops.concat(stash["h"], axis=0)
            named["weight_hh"] = ops.matmul(ops.permute_dims(d_hp, (1, 0)), h)
            named["bias_hh"] = ops.sum(d_hp, axis=0)
        for name, value in w.own.items():
            named[name] = own.get(name, ops.zeros_like(value))
        grads.update({f"{DECODER}{name}{suffix}": g for name, g in named.items()})
    return grads


def _accumulate(total: dict, part: dict) -> None:
    for name, value in part.items():
        total[name] = value if name not in total else total[name] + value
