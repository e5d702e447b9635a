"""Baseline recommenders, fitted on the training sequences only and scored like the model.

Each has ``scores(histories) -> (C, V)``: a score for every item (column 0 is padding) after each
history, ranked by the same code as the model's outputs.

* ``popularity``: how often each item occurs in the training sequences; the same for everyone.
* ``item_knn``: item-to-item cosine similarity of co-occurrence in training sequences (a user's
  training items, or a training session): ``cos(i, j) = n_ij / sqrt(n_i n_j)`` with ``n_ij`` the
  number of training sequences holding both. A history is scored as the **sum** of its distinct
  items' similarities to the candidate, ``score(i) = sum_{j in history, j != i} cos(i, j)``
  (Sarwar et al. 2001; the item's own similarity of 1 is left out).
* ``markov``: first-order transitions counted in the training sequences; ``score(i | last item
  j) = count(j -> i) + pop(i) / (max pop + 1)``. The popularity term is below 1, so it only
  orders items with equal transition counts: when ``j`` has no observed successor (or for every
  item ``j`` never led to) this **backs off to popularity**.
"""

from __future__ import annotations

import numpy as np

NAMES = ("popularity", "item_knn", "markov")


def _counts(train: list[np.ndarray], width: int) -> np.ndarray:
    flat = np.concatenate(train) if train else np.zeros(0, dtype=np.int64)
    return np.bincount(flat, minlength=width).astype(np.float64)  # (V,)


def history_matrix(histories: list[np.ndarray], width: int) -> np.ndarray:
    """(C, V) float64, 1 where an item occurs in the history (each item once)."""
    out = np.zeros((len(histories), width))  # (C, V)
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    out[np.repeat(np.arange(len(histories)), lengths), np.concatenate(histories)] = 1.0
    return out


class Popularity:
    name = "popularity"

    def __init__(self, train: list[np.ndarray], n_items: int):
        self.counts = _counts(train, n_items + 1)  # (V,)

    def scores(self, histories: list[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(histories), len(self.counts))).copy()


class ItemKNN:
    """Cosine item-kNN.

    With ``X`` the binary ``(R, V)`` training matrix and ``D`` the diagonal of ``1 / sqrt(n_i)``,
    the similarities are ``S = D X^T X D`` and a history ``H`` (binary, ``(C, V)``) scores
    ``H S`` less its items' similarity to themselves. Up to ``DENSE_ITEMS`` items ``S`` is kept
    (diagonal zeroed); beyond, it is never formed and ``H`` is scored as ``((H D) X^T) X D``, two
    thin products through the R training sequences.
    """

    name = "item_knn"
    DENSE_ITEMS = 4096  # S of 4097^2 float64 is 134 MB

    def __init__(self, train: list[np.ndarray], n_items: int):
        rows = [s for s in train if len(s)]
        self.X = history_matrix(rows, n_items + 1)  # (R, V) binary
        n = self.X.sum(axis=0)  # (V,) sequences holding each item
        self.seen = n > 0
        self.inv = np.divide(1.0, np.sqrt(n), out=np.zeros_like(n), where=self.seen)
        self.S = None
        if n_items <= self.DENSE_ITEMS:
            self.S = (self.X.T @ self.X) * self.inv[:, None] * self.inv[None, :]  # (V, V)
            np.fill_diagonal(self.S, 0.0)
            self.X = None

    def _score(self, H: np.ndarray) -> np.ndarray:
        if self.S is not None:
            return H @ self.S
        through = (H * self.inv) @ self.X.T  # (C, R)
        return (through @ self.X) * self.inv - H * self.seen  # without cos(i, i) = 1

    def scores(self, histories: list[np.ndarray]) -> np.ndarray:
        return self._score(history_matrix(histories, len(self.inv)))

    def scores_along(self, seq: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """Scores after each prefix ``seq[:p]``, p in ``cuts``: ``(len(cuts), V)``.

        The sum over a growing history grows by one row of ``S`` per new item, so all prefixes
        of a session cost one cumulative sum instead of one product each.
        """
        items = seq[: int(cuts.max())]
        _, first = np.unique(items, return_index=True)
        new = np.zeros((len(items), len(self.inv)))  # (L, V): each item at its first position
        new[first, items[first]] = 1.0
        if self.S is None:
            return self._score(np.cumsum(new, axis=0)[cuts - 1])
        gains = self.S[items] * new.sum(axis=1, keepdims=True)  # repeats add nothing
        return np.cumsum(gains, axis=0)[cuts - 1]


class Markov:
    """First-order transition counts with a popularity back-off, stored sparsely by source."""

    name = "markov"

    def __init__(self, train: list[np.ndarray], n_items: int):
        width = n_items + 1
        pop = _counts(train, width)
        self.base = pop / (pop.max(initial=0.0) + 1.0)  # (V,), each < 1
        pairs = [s for s in train if len(s) >= 2]
        src = np.concatenate([s[:-1] for s in pairs]) if pairs else np.zeros(0, np.int64)
        dst = np.concatenate([s[1:] for s in pairs]) if pairs else np.zeros(0, np.int64)
        codes, self.count = np.unique(src * width + dst, return_counts=True)
        self.dst = codes % width
        self.start = np.searchsorted(codes // width, np.arange(width + 1))  # (V + 1,) CSR rows

    def scores(self, histories: list[np.ndarray]) -> np.ndarray:
        last = np.array([h[-1] for h in histories], dtype=np.int64)  # (C,)
        out = np.broadcast_to(self.base, (len(last), len(self.base))).copy()  # (C, V)
        first, lengths = self.start[last], self.start[last + 1] - self.start[last]
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        entry = np.repeat(first, lengths) + offsets  # every stored successor of each last item
        out[np.repeat(np.arange(len(last)), lengths), self.dst[entry]] += self.count[entry]
        return out


def fit_all(train: list[np.ndarray], n_items: int) -> dict[str, object]:
    """The three baselines, by name."""
    return {cls.name: cls(train, n_items) for cls in (Popularity, ItemKNN, Markov)}
