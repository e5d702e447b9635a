"""Shared test material: random models and windows, run on a backend, compared as host arrays.

Imports only NumPy and seqframe, so importing it never needs torch.
"""

from __future__ import annotations

import numpy as np

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.engine import bptt
from seqframe.engine.model import Model, ModelConfig
from seqframe.task import Batch

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_case(cell: str, *, readout="every_step", loss="cross_entropy", layers=2,
              bidirectional=False, dropout=0.0, batch=5, steps=7, features=3, hidden=4,
              outputs=3, seed=0, masks="prefix"):
    """A model, its host parameters and a host batch with resets and (optionally) masks.

    ``masks``: ``"none"`` (all real), ``"prefix"`` (random lengths, one row empty) or ``"gap"``
    (a masked step in the middle of a row, which no packed kernel can express).
    """
    rng = np.random.default_rng(seed)
    config = ModelConfig(cell=cell, input_size=features, hidden_size=hidden, output_size=outputs,
                         layers=layers, readout=readout, loss=loss, dropout=dropout,
                         bidirectional=bidirectional)
    model = Model(config, CELLS[cell]())
    x = rng.normal(size=(batch, steps, features))
    mask = np.ones((batch, steps), dtype=bool)
    if masks in ("prefix", "gap"):
        lengths = rng.integers(1, steps + 1, size=batch)
        lengths[0], lengths[-1] = steps, 0  # one full row, one empty row
        mask = np.arange(steps)[None, :] < lengths[:, None]
    if masks == "gap":
        mask[0, steps // 2] = False
    per = (batch, steps) if readout == "every_step" else (batch,)
    if loss == "cross_entropy":
        y = rng.integers(0, outputs, size=per)
    else:
        y = rng.normal(size=per + (outputs,))
    reset = np.arange(batch) % 2 == 0
    return model, model.init_params(seed), Batch(x, y, mask, reset)


def random_state(ops, model: Model, batch: int, seed: int = 1):
    """A nonzero carried state (so resets and start states matter), on ``ops``."""
    rng = np.random.default_rng(seed)
    hidden = model.config.hidden_size
    return tuple(
        tuple(
            tuple(ops.asarray(rng.normal(size=(batch, hidden))) for _ in model.cell.state_names)
            for _ in range(model.directions)
        )
        for _ in range(model.config.layers)
    )


def run_window(ops, model, params, batch, *, fused: bool, loss_from=0, carry_at=None,
               dropout_seed=5):
    """One training window on ``ops``; the fused path when ``fused`` (and the backend has one)."""
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    window = bptt.to_window(ops, batch, loss_from)
    state = random_state(ops, model, batch.batch_size)
    rng = np.random.default_rng(dropout_seed)
    recurrence = ops.fused_recurrence(model.cell) if fused else None
    if fused:
        assert recurrence is not None, "expected a fused path"
    return bptt.window_loss_and_grad(model, ops, device_params, window, state,
                                     dropout_rng=rng, carry_at=carry_at, fused=recurrence)


def flat_state(ops, state) -> list[np.ndarray]:
    return [ops.to_numpy(s) for layer in state for cell in layer for s in cell]


def differences(ops_a, a, ops_b, b) -> dict[str, float]:
    """Largest relative differences of loss, gradients, outputs and carried state."""

    def rel(x, y):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        scale = max(np.max(np.abs(y), initial=0.0), 1e-30)
        return float(np.max(np.abs(x - y), initial=0.0) / scale)

    assert set(a.grads) == set(b.grads)
    assert float(a.count) == float(b.count)
    return {
        "loss": rel(ops_a.item(a.loss_sum), ops_b.item(b.loss_sum)),
        "grads": max(rel(ops_a.to_numpy(a.grads[k]), ops_b.to_numpy(b.grads[k])) for k in a.grads),
        "outputs": rel(ops_a.to_numpy(a.outputs), ops_b.to_numpy(b.outputs)),
        "state": max(rel(x, y) for x, y in zip(flat_state(ops_a, a.state),
                                                 flat_state(ops_b, b.state), strict=True)),
    }
