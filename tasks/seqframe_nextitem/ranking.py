"""Ranking metrics for next-item questions, vectorised over all questions of a chunk at once.

A question has a true next item and scores ``(V,)`` over the catalogue (column 0, padding, is
never a candidate). Its **rank** is 0-based: the number of *other* candidates scoring **higher
than or equal to** the true item -- ties count against the model (the true item ranks after every
item with an equal score), so a model that scores everything alike ranks last, never first.
NaN scores count as -inf (a broken model ranks its target last).

* ``hr@K`` (= ``recall@K`` with one true item): rank < K;
* ``ndcg@K``: ``1 / log2(rank + 2)`` when rank < K, else 0 (the ideal DCG of one item is 1);
* ``mrr@K``: ``1 / (rank + 1)`` when rank < K, else 0.

Each is a mean over questions. Candidates are either the **full catalogue** (optionally without
the items of the question's history, see :func:`full_ranks`) or the true item plus **sampled
negatives** (:func:`sample_negatives`, :func:`sampled_ranks`).
"""

from __future__ import annotations

import numpy as np

CHUNK_FLOATS = 4_000_000  # ~32 MB of float64 scores per chunk of questions


def chunk_rows(width: int) -> int:
    """Questions per chunk so one chunk's ``(rows, width)`` scores stay near CHUNK_FLOATS."""
    return max(1, CHUNK_FLOATS // max(1, width))


def _clean(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return np.where(np.isnan(scores), -np.inf, scores)


def full_ranks(scores: np.ndarray, targets: np.ndarray,
               exclude: list[np.ndarray] | None = None) -> np.ndarray:
    """Ranks ``(C,)`` of the targets among all items ``1..N``.

    Args:
        scores: (C, V) scores, V = N + 1 (column 0 is padding).
        targets: (C,) true items in 1..N.
        exclude: per question, items that are not candidates (the history's items, already
            consumed); the true item itself is never excluded, even when it is a repeat.
    """
    s = _clean(scores)
    rows = np.arange(len(targets))
    t = s[rows, targets]  # (C,)
    candidate = np.ones(s.shape, dtype=bool)  # (C, V)
    candidate[:, 0] = False
    if exclude is not None:
        lengths = np.array([len(e) for e in exclude], dtype=np.int64)
        flat = np.concatenate([np.asarray(e, dtype=np.int64) for e in exclude]) if len(
            exclude) else np.zeros(0, dtype=np.int64)
        candidate[np.repeat(rows, lengths), flat] = False
    candidate[rows, targets] = False  # the target is not ahead of itself
    return ((s >= t[:, None]) & candidate).sum(axis=1)


def sampled_ranks(scores: np.ndarray, targets: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """Ranks ``(C,)`` of the targets among themselves and their negatives.

    Args:
        scores: (C, V) scores.
        targets: (C,) true items.
        negatives: (C, M) sampled items; 0 marks an empty slot (fewer than M were available).
    """
    s = _clean(scores)
    t = s[np.arange(len(targets)), targets]  # (C,)
    neg = np.take_along_axis(s, negatives, axis=1)  # (C, M)
    return ((neg >= t[:, None]) & (negatives > 0)).sum(axis=1)


def hit_rate(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ranks < k)) if len(ranks) else float("nan")


def ndcg(ranks: np.ndarray, k: int) -> float:
    gain = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gain.mean()) if len(ranks) else float("nan")


def mrr(ranks: np.ndarray, k: int) -> float:
    gain = np.where(ranks < k, 1.0 / (ranks + 1.0), 0.0)
    return float(gain.mean()) if len(ranks) else float("nan")


def curves(ranks: np.ndarray, max_k: int) -> tuple[np.ndarray, np.ndarray]:
    """HR@K and NDCG@K for K = 1..max_k, each ``(max_k,)``, from one pass over the ranks."""
    counts = np.bincount(np.minimum(ranks, max_k), minlength=max_k + 1)[:max_k]  # rank r < K
    gains = counts / np.log2(np.arange(max_k) + 2.0)
    n = max(len(ranks), 1)
    return np.cumsum(counts) / n, np.cumsum(gains) / n


def sample_negatives(interacted: list[np.ndarray], n_items: int, count: int,
                     seed: int) -> np.ndarray:
    """``count`` items per question drawn uniformly, without replacement, from ``1..n_items``
    minus the question's ``interacted`` items; ``(C, count)``, 0 where fewer were left.

    Vectorised: every candidate gets a uniform key, consumed items an infinite one, and the
    ``count`` smallest keys win. Deterministic in ``seed`` (chunks are drawn in order).
    """
    take = min(count, n_items)
    out = np.zeros((len(interacted), count), dtype=np.int64)  # (C, M)
    rng = np.random.default_rng(seed)
    step = chunk_rows(n_items + 1)
    for lo in range(0, len(interacted), step):
        part = interacted[lo: lo + step]
        keys = rng.random((len(part), n_items + 1))  # (c, V)
        keys[:, 0] = np.inf
        lengths = np.array([len(p) for p in part], dtype=np.int64)
        keys[np.repeat(np.arange(len(part)), lengths), np.concatenate(part)] = np.inf
        pick = np.argpartition(keys, take - 1, axis=1)[:, :take]  # the smallest keys
        pick = np.where(np.isinf(np.take_along_axis(keys, pick, axis=1)), 0, pick)
        out[lo: lo + len(part), :take] = np.sort(pick, axis=1)
    return out
