"""Scoring text: negative log-likelihood per character, from a model or from plain probabilities.

``loss`` is the mean negative log-likelihood in nats per character (the training loss's unit),
``bits_per_char`` the same in bits, ``perplexity`` its exponential.
"""

from __future__ import annotations

import math

import numpy as np

from seqframe.task import Predictor

from .streams import eval_layout, model_inputs

EVAL_CHUNK = 256  # characters per predictor call; results do not depend on it (state carried)


def metrics_from_nll(nll_sum: float, count: int) -> dict[str, float]:
    """``loss`` (nats/char), ``bits_per_char`` and ``perplexity`` from a summed NLL."""
    loss = nll_sum / count
    return {"loss": loss, "bits_per_char": loss / math.log(2), "perplexity": math.exp(loss)}


def nll_of_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-position NLL of ``targets`` under softmax(``logits``), computed in float64.

    Args:
        logits: (..., V) raw scores.
        targets: (...) int class ids.

    Returns:
        (...) float64 ``logsumexp(logits) - logits[target]``, stable for large logits.
    """
    z = logits.astype(np.float64)
    top = z.max(axis=-1, keepdims=True)  # shift so exp cannot overflow
    lse = np.log(np.exp(z - top).sum(axis=-1)) + top[..., 0]
    picked = np.take_along_axis(z, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    return lse - picked


def score_stream(predictor: Predictor, ids: np.ndarray, vocab_size: int,
                 n_streams: int, inputs: str = "tokens") -> dict[str, float]:
    """Metrics of predicting ``ids[1:]`` from the characters before them, statefully.

    The text is cut into ``n_streams`` contiguous streams scored side by side; each starts from
    the zero state and carries its state from chunk to chunk, so every character but the first
    of each stream is predicted with all earlier characters of its stream as context. Streams
    of unequal length are padded and the padding masked, so every target counts exactly once.
    """
    n_targets = len(ids) - 1
    starts, lengths = eval_layout(n_targets, n_streams)
    width = int(lengths.max())
    steps = np.arange(width)[None, :]  # (1, W)
    valid = steps < lengths[:, None]  # (S, W)
    pos = np.where(valid, starts[:, None] + steps, 0)  # (S, W) input positions, pad -> 0
    inputs_ids, target_ids = ids[pos], ids[pos + 1]  # (S, W) each
    nll_sum, state = 0.0, None
    for lo in range(0, width, EVAL_CHUNK):
        hi = min(lo + EVAL_CHUNK, width)
        mask = valid[:, lo:hi]  # (S, t)
        chunk = model_inputs(inputs_ids[:, lo:hi], vocab_size, inputs)  # (S, t) ids or (S, t, V)
        logits, state = predictor.predict(chunk, mask, state)
        nll = nll_of_logits(np.asarray(logits), target_ids[:, lo:hi])  # (S, t)
        nll_sum += float(nll[mask].sum())
    return metrics_from_nll(nll_sum, n_targets)
