"""Model topologies: what the trainer, its TrainStep and a run need from a model of any shape.

seqframe has two shapes of model: one recurrent stack with a readout
(:class:`seqframe.engine.model.Model`, trained by :mod:`seqframe.engine.bptt`), and an
encoder-decoder (:class:`seqframe.engine.seq2seq.Seq2SeqModel`). The training loop, the optimizer
step, checkpoints and evaluation are the same for both; they reach a model only through the
:class:`Topology` protocol below. The encoder-decoder implements it itself; a single-stack
``Model`` is wrapped by :class:`StackTopology` (:func:`as_topology` picks), so code that builds a
``Model`` by hand -- parity checks, benchmarks, tests -- keeps passing it as before.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..ops import Array, Ops
from .bptt import WindowResult, dropout_masks, window_loss_and_grad
from .model import Model
from .predictor import ModelPredictor
from .recurrence import Recurrence
from .window import to_window


@runtime_checkable
class Topology(Protocol):
    """A model as the trainer sees it.

    Attributes:
        config: the model's shape, a dataclass (stored in checkpoints with ``asdict``).
        loss: the :class:`seqframe.losses.Loss` it trains with.
        reads_whole: a batch is one window (no truncated BPTT): bidirectional stacks, pooled
            readouts, encoder-decoders.
    """

    config: Any
    loss: Any
    reads_whole: bool

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape."""
        ...

    def init_params(self, seed_or_rng: int | np.random.Generator) -> dict[str, np.ndarray]:
        """Initial parameters on the host, float64, deterministic in the seed."""
        ...

    def zero_state(self, ops: Ops, batch_size: int) -> Any:
        """The state a batch starts from; None for a model that carries none between windows."""
        ...

    def fused_recurrence(self, ops: Ops) -> Recurrence | None:
        """The backend's fused recurrence for this model's cell, or None."""
        ...

    def window_loss_and_grad(self, ops: Ops, params: dict[str, Array], batch: Any, state: Any,
                             *, loss_from: int = 0, carry_at: int | None = None,
                             dropout_rng: np.random.Generator | None = None,
                             loss_rng: np.random.Generator | None = None,
                             fused: Recurrence | None = None) -> WindowResult:
        """Forward, loss and backward over one window of host ``batch`` (training mode)."""
        ...

    def timesteps(self, batch: Any, loss_from: int) -> float:
        """The positions a window of ``batch`` trains on (for throughput)."""
        ...

    def skip_draws(self, rng: Any, batch: Any) -> None:
        """Draw (and drop) the dropout of an empty share of ``batch``: a data-parallel rank
        with no rows keeps its stream in step with the others."""
        ...

    def predictor(self, ops: Ops, params: dict[str, Array]) -> Any:
        """The model in eval mode, as the task's evaluation and capabilities want it."""
        ...


class StackTopology:
    """The :class:`Topology` of a single-stack :class:`~seqframe.engine.model.Model`.

    Args:
        model: the model; training runs :func:`seqframe.engine.bptt.window_loss_and_grad`.
    """

    def __init__(self, model: Model):
        self.model = model
        self.config, self.loss = model.config, model.loss
        # last/mean/max readouts and a reverse direction need the whole sequence in one window
        self.reads_whole = model.config.readout != "every_step" or model.config.bidirectional

    def __repr__(self) -> str:
        return f"StackTopology({self.model!r})"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.model.param_shapes()

    def init_params(self, seed_or_rng: int | np.random.Generator) -> dict[str, np.ndarray]:
        return self.model.init_params(seed_or_rng)

    def zero_state(self, ops: Ops, batch_size: int) -> Any:
        return self.model.zero_state(ops, batch_size)

    def fused_recurrence(self, ops: Ops) -> Recurrence | None:
        return ops.fused_recurrence(self.model.cell)

    def window_loss_and_grad(self, ops: Ops, params: dict[str, Array], batch: Any, state: Any,
                             *, loss_from: int = 0, carry_at: int | None = None,
                             dropout_rng: np.random.Generator | None = None,
                             loss_rng: np.random.Generator | None = None,
                             fused: Recurrence | None = None) -> WindowResult:
        window = to_window(ops, batch, loss_from, sequences=self.model.loss.per_sequence)
        return window_loss_and_grad(self.model, ops, params, window, state,
                                    dropout_rng=dropout_rng, carry_at=carry_at, fused=fused,
                                    loss_rng=loss_rng)

    def timesteps(self, batch: Any, loss_from: int) -> float:
        return float(np.asarray(batch.mask, bool)[:, loss_from:].sum())

    def skip_draws(self, rng: Any, batch: Any) -> None:
        dropout_masks(self.model, rng, 0, batch.length)

    def predictor(self, ops: Ops, params: dict[str, Array]) -> ModelPredictor:
        return ModelPredictor(self.model, ops, params)


def as_topology(model: Any) -> Topology:
    """``model`` itself when it implements :class:`Topology`; a single-stack Model wrapped."""
    if isinstance(model, Topology):
        return model
    return StackTopology(model)
