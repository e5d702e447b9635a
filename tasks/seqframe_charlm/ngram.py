"""Count-based baselines: add-one unigram and interpolated modified Kneser-Ney n-gram.

The n-gram model is Chen & Goodman's interpolated modified Kneser-Ney ("An empirical study of
smoothing techniques for language modeling", 1998), written with NumPy arrays instead of dicts so
that fitting a 5-gram on a million characters takes about a second:

    p_k(w | h) = (max(c_k(hw) - D_k(c_k(hw)), 0) + gamma_k(h) * p_{k-1}(w | h')) / c_k(h.)
    gamma_k(h) = D_k1 N1(h.) + D_k2 N2(h.) + D_k3 N3+(h.)

where ``h'`` drops the oldest character of ``h``, ``c_n`` are raw counts at the highest order
and ``c_k`` (k < n) continuation counts (how many distinct characters precede the k-gram), and
``p_0`` is uniform over the vocabulary, so every character -- ``<unk>`` included -- keeps some
probability. A context never seen in training (``c_k(h.) = 0``) backs off: ``p_k = p_{k-1}``.
Discounts come from counts of counts:
``Y = n1 / (n1 + 2 n2)`` and ``D_c = c - (c + 1) Y n_{c+1} / n_c`` for c = 1, 2, 3+.

n-grams are identified by dense ranks built left to right: the rank of ``x_i..x_{i+k-1}`` is the
position of the pair (rank of ``x_i..x_{i+k-2}``, ``x_{i+k-1}``) among all such pairs in the
training text, which never overflows whatever the vocabulary size.
"""

from __future__ import annotations

import math

import numpy as np


def unigram_nll(train_ids: np.ndarray, ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """NLL of ``ids[1:]`` under add-one smoothed character frequencies of ``train_ids``."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64)  # (V,)
    log_p = np.log(counts + 1.0) - math.log(len(train_ids) + vocab_size)
    return -log_p[ids[1:]]


class _Order:
    """The tables of one order k: k-gram keys and counts, and per-context sums."""

    def __init__(self, keys: np.ndarray, counts: np.ndarray, n_contexts: int, vocab_size: int):
        self.keys = keys  # (U,) sorted pair keys: context rank * V + last character
        self.counts = counts.astype(np.float64)  # (U,) raw or continuation counts
        self.discount = _discounts(counts)  # (4,) D for counts 0, 1, 2, 3+
        ctx = keys // vocab_size  # (U,) the (k-1)-gram rank of each k-gram
        capped = np.minimum(counts, 3)
        self.total = np.bincount(ctx, weights=self.counts, minlength=n_contexts)  # c(h.)
        self.gamma = np.bincount(ctx, weights=self.discount[capped], minlength=n_contexts)


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney discounts (D_0 = 0, D_1, D_2, D_3+), each clipped to [0, c]."""
    n = np.bincount(counts, minlength=5)[1:5].astype(np.float64)  # n1..n4: counts of counts
    if n[0] == 0 or n[1] == 0:  # tiny corpora: no estimate possible, use the classic 0.5
        return np.array([0.0, 0.5, 0.5, 0.5])
    y = n[0] / (n[0] + 2 * n[1])
    d = [0.0]
    for c in (1, 2, 3):
        raw = c - (c + 1) * y * n[c] / n[c - 1] if n[c - 1] > 0 else y
        d.append(min(max(raw, 0.0), float(c)))
    return np.array(d)


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]``, -1 where ``index`` is past the end (k-grams longer than the text)."""
    inside = index < len(values)
    if inside.all():
        return values[index]
    return np.where(inside, values[np.where(inside, index, 0)] if len(values) else -1, -1)


class KneserNeyLM:
    """Interpolated modified Kneser-Ney character n-gram model.

    Args:
        train_ids: (N,) int64 training text.
        vocab_size: V; ids must lie in ``[0, V)``.
        order: n, the longest n-gram (context of n - 1 characters).
    """

    def __init__(self, train_ids: np.ndarray, vocab_size: int, order: int = 5):
        self.vocab_size, self.order = vocab_size, order
        ids = np.asarray(train_ids, dtype=np.int64)
        n_chars = len(ids)
        ranks = [np.zeros(n_chars + 1, dtype=np.int64)]  # order 0: the empty gram, rank 0
        self.keys: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        first_pos: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        for k in range(1, order + 1):
            m = n_chars - k + 1  # k-grams start at positions 0..N-k
            pair = ranks[k - 1][: max(m, 0)] * vocab_size + ids[k - 1 : k - 1 + max(m, 0)]
            keys, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
            self.keys.append(keys)
            first_pos.append(first)
            ranks.append(inverse.reshape(-1))
        self.tables: list[_Order | None] = [None]
        for k in range(1, order + 1):
            if k == order:
                counts = np.bincount(ranks[k], minlength=len(self.keys[k]))
            else:  # continuation counts: distinct left neighbours of each k-gram
                suffix = ranks[k][first_pos[k + 1] + 1]  # k-gram after the first char
                counts = np.bincount(suffix, minlength=len(self.keys[k]))
            self.tables.append(_Order(self.keys[k], counts, len(self.keys[k - 1]), vocab_size))

    def _ranks(self, ids: np.ndarray) -> list[np.ndarray]:
        """Ranks of the k-grams of ``ids`` starting at each position, -1 where unseen."""
        ranks = [np.zeros(len(ids), dtype=np.int64)]
        for k in range(1, self.order + 1):
            keys = self.keys[k]
            m = len(ids) - k + 1
            prev = ranks[k - 1][: max(m, 0)]
            pair = prev * self.vocab_size + ids[k - 1 : k - 1 + max(m, 0)]
            if len(keys) == 0:  # a training text shorter than k
                ranks.append(np.full(len(pair), -1, dtype=np.int64))
                continue
            pos = np.minimum(np.searchsorted(keys, pair), len(keys) - 1)
            hit = (prev >= 0) & (keys[pos] == pair)
            ranks.append(np.where(hit, pos, -1))
        return ranks

    def nll(self, ids: np.ndarray) -> np.ndarray:
        """Per-character NLL (nats) of ``ids[1:]``, each predicted from up to n - 1 characters
        before it within ``ids``.

        Returns:
            (len(ids) - 1,) float64.
        """
        ids = np.asarray(ids, dtype=np.int64)
        ranks = self._ranks(ids)
        t = np.arange(1, len(ids))  # (M,) target positions
        p = np.full(len(t), 1.0 / self.vocab_size)  # p_0: uniform
        for k in range(1, self.order + 1):
            table = self.tables[k]
            start = t - k + 1  # where the k-gram ending at the target starts
            ok = start >= 0  # False while fewer than k - 1 characters precede the target
            s = np.where(ok, start, 0)
            ctx = np.where(ok, _take(ranks[k - 1], s), -1)  # (M,) context rank, -1 if unseen
            gram = np.where(ok, _take(ranks[k], s), -1)  # (M,) k-gram rank, -1 if unseen
            ctx_ok = ok & (ctx >= 0)
            total = np.where(ctx_ok, table.total[np.where(ctx_ok, ctx, 0)], 0.0)
            ctx_ok &= total > 0
            count = np.where(gram >= 0, table.counts[np.maximum(gram, 0)], 0.0)
            kept = np.maximum(count - table.discount[np.minimum(count, 3).astype(np.int64)], 0.0)
            gamma = table.gamma[np.where(ctx_ok, ctx, 0)]
            p = np.where(ctx_ok, (kept + gamma * p) / np.where(ctx_ok, total, 1.0), p)
        return -np.log(p)

    def next_probs(self, context: np.ndarray) -> np.ndarray:
        """(V,) the distribution of the character after ``context`` (slow; for tests)."""
        context = np.asarray(context, dtype=np.int64)
        out = np.empty(self.vocab_size)
        for w in range(self.vocab_size):
            out[w] = math.exp(-self.nll(np.append(context, w))[-1])
        return out
