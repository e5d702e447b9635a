"""The model as a task sees it: NumPy in, NumPy out, eval mode.

A task never touches a backend array. :class:`ModelPredictor` implements the
:class:`seqframe.task.Predictor` protocol: it moves host inputs to the backend, runs
:func:`seqframe.engine.bptt.forward` (no dropout, no cache for backward), and hands back host
outputs and
an opaque state the task may pass in again to continue the same rows (sampling, forecasting).
Large inputs are run in row chunks so evaluating a whole split does not need a whole-split
activation buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PluginError, ShapeError
from ..ops import Array, Ops
from .bptt import forward
from .state import concat_states, state_batch_size, state_rows
from .window import check_ids


class ModelPredictor:
    """Eval-mode predictions of ``model`` with ``params`` on ``ops``.

    Args:
        model: a :class:`seqframe.engine.model.Model`.
        ops: the backend.
        params: parameter dict of backend arrays.
        max_rows: rows per forward call; larger inputs are split into chunks of this many rows.
    """

    def __init__(self, model: Any, ops: Ops, params: dict[str, Array], max_rows: int = 1024):
        self.model, self.ops, self.params, self.max_rows = model, ops, params, max_rows

    def predict(self, inputs: np.ndarray, mask: np.ndarray | None = None,
                state: Any = None) -> tuple[np.ndarray, Any]:
        """See :meth:`seqframe.task.Predictor.predict`."""
        inputs = np.asarray(inputs)
        cfg = self.model.config
        if cfg.tokens and (inputs.ndim != 2 or not np.issubdtype(inputs.dtype, np.integer)):
            raise ShapeError(f"predict expects token ids shaped (B, T) (vocabulary "
                             f"{cfg.input_size}); got {inputs.dtype} {inputs.shape}.")
        if cfg.tokens and inputs.size:
            check_ids(self.model, int(inputs.min()), int(inputs.max()))
        if not cfg.tokens and (inputs.ndim != 3 or inputs.shape[2] != cfg.input_size):
            raise ShapeError(
                f"predict expects inputs shaped (B, T, {cfg.input_size}); got {inputs.shape}."
            )
        rows, steps = inputs.shape[:2]
        mask = np.ones((rows, steps), dtype=bool) if mask is None else np.asarray(mask, bool)
        if mask.shape != (rows, steps):
            raise ShapeError(f"predict expects mask shaped {(rows, steps)}; got {mask.shape}.")
        if state is not None and state_batch_size(state) != rows:
            raise ShapeError(
                f"the state passed to predict has {state_batch_size(state)} rows but the inputs "
                f"have {rows}; pass the state returned for the same rows."
            )
        outputs, states = [], []
        for start in range(0, max(rows, 1), self.max_rows):
            stop = min(rows, start + self.max_rows)
            chunk_state = state_rows(state, start, stop) if state is not None else None
            out, final = self._forward(inputs[start:stop], mask[start:stop], chunk_state)
            outputs.append(out)
            states.append(final)
        final_state = states[0] if len(states) == 1 else concat_states(self.ops, states)
        return np.concatenate(outputs, axis=0), final_state

    def _forward(self, inputs: np.ndarray, mask: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        ops = self.ops
        if state is None:
            state = self.model.zero_state(ops, inputs.shape[0])
        x = ops.asarray(inputs)  # (B, T, D) features or (B, T) token ids
        m = ops.asarray(mask.astype(np.float64))  # (B, T) 0/1
        outputs, final = forward(self.model, ops, self.params, x, m, state)
        return ops.to_numpy(outputs), final


def task_metrics(task, predictor, split: str) -> dict[str, float]:
    """``task.evaluate`` as plain floats, checking it reports the metric the trainer watches."""
    metrics = {k: float(v) for k, v in task.evaluate(predictor, split).items()}
    if task.metric not in metrics:
        raise PluginError(
            f"task {task.name!r} reported {sorted(metrics)} on {split!r} but not its own "
            f"metric {task.metric!r}; its evaluate() must return it (a bug in the task plugin)."
        )
    return metrics
