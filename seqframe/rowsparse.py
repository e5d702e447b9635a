"""Row-sparse gradients: a gradient that is zero outside a few rows of a large table.

An embedding table (V, E) read by the B*T ids of a window, or a readout (V, F) that sampled
softmax scores only on the targets and a few hundred sampled classes, gets a gradient on a few
hundred of its V rows. Kept dense, every step would write, clip and update all V rows: at
V = 100,000 that dense work costs more than the sampled loss itself. With ``--sparse-grads``
(``RunConfig.sparse_grads``) these gradients stay :class:`RowSparse` from the backward to the
optimizer, which then updates only the rows a step touched (:mod:`seqframe.training.optim`).

A RowSparse is always coalesced -- its ``rows`` unique and increasing -- so the sum of squares
of its values is the dense gradient's, and the optimizer writes each row once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .ops import Array, Ops


@dataclass(frozen=True)
class RowSparse:
    """The gradient of a (V, ...) parameter that is zero outside ``rows``.

    Attributes:
        rows: (k,) int64 host array, unique and increasing: the rows that have a gradient.
        values: (k, ...) backend array: those rows of the gradient.
        shape: the whole parameter's shape (V, ...).
    """

    rows: np.ndarray
    values: Array
    shape: tuple[int, ...]

    @classmethod
    def scatter(cls, ops: Ops, shape: tuple[int, ...], indices: Any, values: Array) -> RowSparse:
        """``values[i]`` added into row ``indices[i]`` (repeated indices add up): what
        ``ops.index_add(zeros(shape), indices, values)`` holds, kept to the rows it touches.

        ``indices``: (n,) integer host array; ``values``: (n, ...) backend array.
        """
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        rows, where = np.unique(flat, return_inverse=True)
        summed = ops.index_add(ops.zeros((len(rows),) + tuple(shape[1:])),
                               ops.asarray(where.reshape(-1), "int64"), values)
        return cls(rows, summed, tuple(shape))

    def __mul__(self, scale: Any) -> RowSparse:
        return RowSparse(self.rows, self.values * scale, self.shape)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Any) -> RowSparse:
        return RowSparse(self.rows, self.values / divisor, self.shape)

    def dense(self, ops: Ops) -> Array:
        """The whole (V, ...) gradient, zeros outside ``rows``."""
        # rows are distinct, so writing them into fresh zeros is the sum: one (V, ...) array,
        # where an out-of-place index_add would make two
        return ops.put_rows(ops.zeros(self.shape), ops.asarray(self.rows, "int64"), self.values)


def add(ops: Ops, a: Array | RowSparse, b: Array | RowSparse) -> Array | RowSparse:
    """``a + b`` for gradients dense or row-sparse: row-sparse only when both are."""
    if isinstance(a, RowSparse) and isinstance(b, RowSparse):
        return RowSparse.scatter(ops, a.shape, np.concatenate([a.rows, b.rows]),
                                 ops.concat([a.values, b.values], axis=0))
    if isinstance(a, RowSparse):
        a, b = b, a
    if isinstance(b, RowSparse):
        return ops.index_add(a, ops.asarray(b.rows, "int64"), b.values)
    return a + b


def dense(ops: Ops, grad: Array | RowSparse) -> Array:
    """The gradient as a dense array (a dense one as it is)."""
    return grad.dense(ops) if isinstance(grad, RowSparse) else grad


def stored(grad: Array | RowSparse) -> Array:
    """The entries a gradient stores: a dense array, or a row-sparse one's values. Their sum of
    squares and their largest magnitude are the whole gradient's (the rest are zeros)."""
    return grad.values if isinstance(grad, RowSparse) else grad
