"""A synthetic language with a Zipfian vocabulary and structure a recurrent model can learn.

``V`` token ids belong to ``K`` classes ("parts of speech"): token ``v`` has class ``v % K`` and
rank ``v // K`` within it. Text is a Markov chain over classes -- each class is followed by one
of ``successors`` classes (chosen at random once, with probabilities 0.6, 0.3, 0.1) -- and each
position's token is its class's word of rank ``r``, drawn with ``p(r) ~ (r + 1) ** -exponent``.
So the vocabulary is Zipfian and roughly sorted by decreasing frequency (a log-uniform proposal
fits it), and the next token depends on the current one only through its class: a model has to
learn which class each of the V ids belongs to.

Exact figures (nats per token), from the chain's stationary distribution ``pi``:

* ``entropy_rate``: the best any model can do, ``sum_k pi_k H(next class | k) + H(rank)``;
* ``unigram``: the cross-entropy of the unigram distribution, ``H(pi) + H(rank)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUCCESSOR_PROBS = (0.6, 0.3, 0.1)


@dataclass
class ZipfLanguage:
    """The language (see the module docstring); ``sample`` writes text in it."""

    vocab: int = 20000
    classes: int = 20
    exponent: float = 1.1
    seed: int = 0

    def __post_init__(self):
        if self.vocab % self.classes:
            raise ValueError(f"vocab {self.vocab} must be a multiple of classes {self.classes}")
        rng = np.random.default_rng(self.seed)
        k = self.classes
        self.transition = np.zeros((k, k))  # (K, K) p(next class | class)
        for c in range(k):
            nxt = rng.choice(k, size=len(SUCCESSOR_PROBS), replace=False)
            self.transition[c, nxt] = SUCCESSOR_PROBS
        ranks = self.vocab // k
        weights = (np.arange(ranks) + 1.0) ** -self.exponent
        self.rank_probs = weights / weights.sum()  # (V / K,)
        self.stationary = _stationary(self.transition)

    def sample(self, length: int, rng: np.random.Generator) -> np.ndarray:
        """(length,) int64 token ids, the chain started from its stationary distribution."""
        k = self.classes
        cdf = np.cumsum(self.transition, axis=1)
        cls = np.empty(length, np.int64)
        cls[0] = rng.choice(k, p=self.stationary)
        u = rng.random(length)
        for t in range(1, length):
            cls[t] = min(int(np.searchsorted(cdf[cls[t - 1]], u[t], side="right")), k - 1)
        rank = np.minimum(np.searchsorted(np.cumsum(self.rank_probs), rng.random(length),
                                          side="right"), len(self.rank_probs) - 1)
        return rank * k + cls

    @property
    def entropy_rate(self) -> float:
        return float(self.stationary @ _entropy_rows(self.transition)) + _entropy(self.rank_probs)

    @property
    def unigram(self) -> float:
        return _entropy(self.stationary) + _entropy(self.rank_probs)

    def frequencies(self) -> np.ndarray:
        """(V,) each token's probability: ``pi[v % K] * p(rank v // K)``."""
        v = np.arange(self.vocab)
        return self.stationary[v % self.classes] * self.rank_probs[v // self.classes]


def _stationary(transition: np.ndarray) -> np.ndarray:
    p = np.full(len(transition), 1.0 / len(transition))
    for _ in range(10000):
        nxt = p @ transition
        if np.abs(nxt - p).max() < 1e-15:
            break
        p = nxt
    return p / p.sum()


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _entropy_rows(m: np.ndarray) -> np.ndarray:
    return np.array([_entropy(row) for row in m])
