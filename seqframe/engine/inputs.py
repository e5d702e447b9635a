"""What the first layer reads: dense features as given, or token ids embedded or one-hot.

A task declares token inputs in its ``ModelSpec`` (``tokens=True``): batches then carry integer
ids (B, T) in ``[0, V)``. With ``--embed E`` the model looks each id up in its table
``embedding.weight`` (V, E) -- ``torch.nn.functional.embedding``'s semantics -- and learns the
table from dLoss/d(inputs) by a scatter-add (:meth:`seqframe.ops.Ops.index_add`): every step that
read row ``v`` adds its gradient to row ``v``. The padding id's row never learns. With ``--embed 0``
the ids are fed one-hot (V wide), exactly what a task writing one-hot floats would feed.
"""

from __future__ import annotations

import numpy as np

from ..ops import Array, Ops
from ..rowsparse import RowSparse
from .model import Model
from .window import Window


def first_layer_inputs(model: Model, ops: Ops, params: dict, window: Window) -> Array:
    """(T, B, D_0), time-major: the window's features, or its ids embedded or one-hot."""
    if not model.config.tokens:
        return ops.copy(ops.permute_dims(window.inputs, (1, 0, 2)))  # (T, B, D), one copy
    ids = ops.permute_dims(window.inputs, (1, 0))  # (T, B) int64
    if model.embedded:
        return ops.take(params["embedding.weight"], ids, axis=0)  # (T, B, E)
    return ops.one_hot(ids, model.config.input_size)  # (T, B, V)


def embedding_grad(model: Model, ops: Ops, params: dict, window: Window,
                   d_inputs: Array) -> Array | RowSparse:
    """d loss_sum / d embedding.weight (V, E) from dLoss/d(first-layer inputs) (T, B, E): the
    rows the window read, the padding row left out; row-sparse with ``sparse_grads``."""
    table = params["embedding.weight"]
    steps, batch, width = d_inputs.shape
    ids = ops.to_numpy(window.inputs).T.reshape(-1).astype(np.int64)  # (T*B,) time-major
    flat = ops.reshape(d_inputs, (steps * batch, width))
    pad = model.config.padding_id
    if pad is not None and np.any(ids == pad):  # nn.Embedding(padding_idx=...): never learns
        kept = np.flatnonzero(ids != pad)
        ids, flat = ids[kept], ops.take(flat, ops.asarray(kept, "int64"), axis=0)
    grad = RowSparse.scatter(ops, tuple(table.shape), ids, flat)
    return grad if model.config.sparse_grads else grad.dense(ops)
