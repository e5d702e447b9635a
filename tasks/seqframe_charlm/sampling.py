"""Generating text one character at a time, feeding the model's state forward.

The prime is run through the model in one call; then each new character is chosen from the
last output and fed back in, with the state carried, so generation costs one step per character.
Choosing happens on the host: greedy (argmax), or softmax of ``logits / temperature`` restricted
to the ``top_k`` most likely characters, drawn with a seeded ``np.random.Generator`` so the same
seed gives the same text on every backend that gives the same logits.
"""

from __future__ import annotations

import numpy as np

from seqframe.errors import UsageError
from seqframe.task import Predictor

from .corpus import Vocabulary
from .streams import model_inputs


def check_sampling(length: int, temperature: float, top_k: int | None) -> None:
    """Raise a :class:`UsageError` for settings that cannot be sampled with."""
    if length < 0:
        raise UsageError(f"--length must be >= 0 characters, got {length}.")
    if not temperature > 0:  # also refuses NaN
        raise UsageError(
            f"--temperature must be > 0, got {temperature}. Lower values (e.g. 0.5) give "
            "safer, more repetitive text; use --greedy for always-the-most-likely decoding."
        )
    if top_k is not None and top_k < 1:
        raise UsageError(
            f"--top-k must be >= 1, got {top_k}. Leave it out to sample from every character; "
            "--top-k 1 is greedy decoding."
        )


def choose(logits: np.ndarray, rng: np.random.Generator, temperature: float,
           top_k: int | None, greedy: bool, banned: int | None = None) -> int:
    """The next character id from one step's (V,) logits.

    Args:
        banned: an id never chosen (``<unk>``: it stands for no particular character).
    """
    z = logits.astype(np.float64) / temperature  # (V,)
    if banned is not None:
        z[banned] = -np.inf
    if greedy:
        return int(np.argmax(z))
    if top_k is not None and top_k < len(z):
        cutoff = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= cutoff, z, -np.inf)
    p = np.exp(z - z.max())  # shift by the max so exp cannot overflow
    p /= p.sum()
    # Inverse-CDF draw from one uniform: simple, and the same on every NumPy version.
    idx = int(np.searchsorted(np.cumsum(p), rng.random(), side="right"))
    return min(idx, int(np.flatnonzero(p > 0)[-1]))


def generate(predictor: Predictor, vocab: Vocabulary, *, prime: str, length: int,
             temperature: float, top_k: int | None, seed: int, greedy: bool,
             inputs: str = "tokens") -> str:
    """``prime`` followed by ``length`` generated characters; ``inputs`` is how the model reads
    characters (see :func:`.streams.model_inputs`).

    An empty prime starts from a newline (or, if the training text had none, its first
    vocabulary character); that start character is not part of the returned text.

    Raises:
        UsageError: bad settings, or a prime with characters outside the vocabulary.
    """
    check_sampling(length, temperature, top_k)
    start = prime or ("\n" if "\n" in vocab.index else vocab.chars[0])
    ids = vocab.encode_strict(start, what="prime")  # (P,)
    rng = np.random.default_rng(seed)
    logits, state = predictor.predict(model_inputs(ids[None, :], vocab.size, inputs), None, None)
    out: list[int] = []
    for i in range(length):
        nxt = choose(np.asarray(logits)[0, -1], rng, temperature, top_k, greedy, vocab.unk_id)
        out.append(nxt)
        if i + 1 < length:
            step = model_inputs(np.array([[nxt]], dtype=np.int64), vocab.size, inputs)  # (1, 1)
            logits, state = predictor.predict(step, None, state)
    return prime + vocab.decode(out)
