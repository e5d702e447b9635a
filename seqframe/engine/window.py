"""One window of a batch on the backend, and the checks that a window fits a model.

A :class:`Window` is what BPTT runs over: the batch's arrays moved to the backend, plus the facts
about its masks that the host already knows (which steps are masked, each row's length, whether
the mask is a *prefix* mask), so that nothing downstream needs a device-to-host copy to decide how
to run it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..ops import Array, Ops
from ..task import Batch
from .model import Model


@dataclass
class Window:
    """One window of a batch, as backend arrays, plus host facts that avoid device syncs.

    Attributes:
        ops: the backend the arrays live on.
        inputs: (B, T, D) float, or (B, T) int64 token ids.
        targets: int64 class ids (B, T) or (B,), or float values (B, T, O) or (B, O); entries
            that carry no loss are zeroed. None for a forward-only window.
        mask: (B, T) float 0/1, 1 on real steps.
        loss_mask: (B, T) float 0/1, ``mask`` with the steps before ``loss_from`` cleared.
        reset: (B,) float 0/1.
        masked_steps: steps where at least one row is masked (the others skip the blending).
        lengths: (B,) host int64, each row's real steps, when the mask is a prefix mask (every
            row real up to its length, padding after) with some padding; None otherwise.
        prefix: the mask is a prefix mask (True when nothing is masked at all).
        any_reset, all_reset: whether some / every row starts from zeros.
        steps_counted: steps with a loss (the count of the every-step readout).
        rows_counted: rows with at least one loss step (the count of the other readouts).
        max_target: the largest class id, -1 for float targets.
        id_range: ``(smallest, largest)`` token id of integer inputs; None for features (or a
            window made from backend inputs, which :func:`to_window` never makes).
    """

    ops: Ops
    inputs: Array
    targets: Array | None
    mask: Array
    loss_mask: Array
    reset: Array
    masked_steps: tuple[int, ...] = ()
    lengths: np.ndarray | None = None
    prefix: bool = True
    any_reset: bool = False
    all_reset: bool = False
    steps_counted: float = 0.0
    rows_counted: float = 0.0
    max_target: int = -1
    id_range: tuple[int, int] | None = None

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def length(self) -> int:
        return self.inputs.shape[1]

    @cached_property
    def step_masks(self) -> dict[int, Array]:
        """(B, 1) mask columns of the steps where some row is masked (the generic recurrence
        blends only those)."""
        batch = self.batch_size
        return {t: self.ops.reshape(self.mask[:, t], (batch, 1)) for t in self.masked_steps}

    def count(self, readout: str, per_sequence: bool = False) -> float:
        """The targets a loss sum over this window counts: steps (every-step readout), or rows
        (the other readouts, and losses over whole sequences such as CTC)."""
        return self.steps_counted if readout == "every_step" and not per_sequence \
            else self.rows_counted


def host_window(ops: Ops, inputs: Array, targets: np.ndarray | None, mask: np.ndarray,
                loss_mask: np.ndarray, reset: np.ndarray) -> Window:
    """A Window from backend ``inputs``, host ``targets`` (or None) and host masks."""
    integer = targets is not None and np.issubdtype(targets.dtype, np.integer)
    lengths, prefix = _prefix_lengths(mask)
    return Window(
        ops=ops,
        inputs=inputs,
        targets=None if targets is None else ops.asarray(targets, "int64" if integer else None),
        mask=ops.asarray(mask, dtype=ops.dtype),
        loss_mask=ops.asarray(loss_mask, dtype=ops.dtype),
        reset=ops.asarray(reset, dtype=ops.dtype),
        masked_steps=tuple(int(t) for t in np.flatnonzero(~mask.all(axis=0))),
        lengths=lengths,
        prefix=prefix,
        any_reset=bool(reset.any()),
        all_reset=bool(reset.all()),
        steps_counted=float(loss_mask.sum()),
        rows_counted=float(loss_mask.any(axis=1).sum()),
        max_target=int(targets.max(initial=0)) if integer else -1,
    )


def _prefix_lengths(mask: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """``(lengths, prefix)``: per-row real steps when the mask is a padded prefix mask."""
    if mask.all():
        return None, True
    length = mask.sum(axis=1)  # (B,)
    prefix = bool((mask == (np.arange(mask.shape[1])[None, :] < length[:, None])).all())
    return (length.astype(np.int64) if prefix else None), prefix


def to_window(ops: Ops, batch: Batch, loss_from: int = 0, sequences: bool = False) -> Window:
    """Check a host batch and move it to the backend.

    Args:
        ops: the backend.
        batch: host arrays (see :class:`seqframe.task.Batch`).
        loss_from: steps before this one carry no loss (truncated BPTT with k2 > k1).
        sequences: the targets are label sequences (B, L) of a sequence loss (CTC), not one
            target per step or row; they are passed on as they are.

    Raises:
        ShapeError: arrays that do not fit together; ConfigError: ``loss_from`` out of range;
        DataError: a negative class id.
    """
    inputs, targets, mask, reset = check_batch(batch)
    steps = inputs.shape[1]
    if not 0 <= loss_from <= steps:
        raise ConfigError(
            f"loss_from={loss_from} is outside the window of {steps} steps; "
            f"expected 0 <= loss_from <= {steps} (it is k2 - k1 in truncated BPTT)."
        )
    loss_mask = mask.copy()
    loss_mask[:, :loss_from] = False
    ids = _id_range(inputs)
    if sequences:
        return replace(host_window(ops, ops.asarray(inputs), targets, mask, loss_mask, reset),
                       id_range=ids)
    # Entries that carry no loss may hold padding (-1, NaN); zero them so they cannot leak.
    integer = np.issubdtype(targets.dtype, np.integer)
    per_step = targets.ndim == 3 or (targets.ndim == 2 and integer)  # else one target per row
    if per_step and targets.shape[:2] != mask.shape:
        raise ShapeError(
            f"per-step targets have shape {targets.shape}; their first two axes must be "
            f"(batch, time) = {mask.shape}, like the inputs."
        )
    counted = loss_mask if per_step else loss_mask.any(axis=1)
    counted = counted.reshape(counted.shape + (1,) * (targets.ndim - counted.ndim))
    targets = np.where(counted, targets, 0)
    if integer and targets.min(initial=0) < 0:
        raise DataError(
            f"a class id is {int(targets.min())}; class ids must be 0 or more. Mask out padding "
            "steps instead of giving them a negative id."
        )
    return replace(host_window(ops, ops.asarray(inputs), targets, mask, loss_mask, reset),
                   id_range=ids)


def _id_range(inputs: np.ndarray) -> tuple[int, int] | None:
    """(smallest, largest) id of token inputs (B, T), None for float features."""
    if not np.issubdtype(inputs.dtype, np.integer) or inputs.size == 0:
        return None
    return int(inputs.min()), int(inputs.max())


# ---- checks ------------------------------------------------------------------------------------


def check_inputs(model: Model, shape: tuple, what: str) -> None:
    """Raise ShapeError unless ``shape`` is (batch, time, the model's input size), or (batch,
    time) of token ids for a model with token inputs."""
    if model.config.tokens:
        if len(shape) != 2:
            raise ShapeError(
                f"{what} have shape {shape}; the model reads token ids shaped (batch, time) "
                f"(vocabulary {model.config.input_size}). Give the ids, not one-hot rows.")
        return
    if len(shape) != 3 or shape[2] != model.config.input_size:
        raise ShapeError(
            f"{what} have shape {shape}; the model expects (batch, time, "
            f"{model.config.input_size}). Check the task's input_size against the model's."
        )


def check_ids(model: Model, low: int, high: int) -> None:
    """Raise DataError unless token ids ``low..high`` lie in the model's vocabulary [0, V)."""
    vocab = model.config.input_size
    if low < 0 or high >= vocab:
        bad = low if low < 0 else high
        raise DataError(
            f"a token id is {bad}, outside the input vocabulary [0, {vocab}) the task declared "
            f"(ModelSpec.input_size = {vocab}). Map unknown tokens to an id of their own and "
            "padding to the padding id, inside the vocabulary.")


def check_batch(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Host arrays of a batch, checked against each other; masks as bool."""
    inputs = np.asarray(batch.inputs)
    tokens = inputs.ndim == 2 and np.issubdtype(inputs.dtype, np.integer)
    if inputs.ndim != 3 and not tokens:
        raise ShapeError(
            f"batch inputs have shape {inputs.shape} ({inputs.dtype}); expected (batch, time, "
            "features) floats, or (batch, time) integer token ids. A univariate series needs a "
            "trailing feature axis of size 1."
        )
    batch_size, steps = inputs.shape[:2]
    mask, reset = np.asarray(batch.mask), np.asarray(batch.reset)
    targets = np.asarray(batch.targets)
    if mask.shape != (batch_size, steps):
        raise ShapeError(
            f"batch mask has shape {mask.shape}; expected (batch, time) = {(batch_size, steps)} "
            "to match the inputs."
        )
    if reset.shape != (batch_size,):
        raise ShapeError(
            f"batch reset has shape {reset.shape}; expected (batch,) = ({batch_size},)."
        )
    if targets.ndim == 0 or targets.shape[0] != batch_size:
        raise ShapeError(
            f"batch targets have shape {targets.shape}; their first axis must be the batch "
            f"({batch_size} rows, like the inputs)."
        )
    return inputs, targets, mask.astype(bool), reset.astype(bool)


def check_window(model: Model, params: dict, window: Window) -> None:
    """Raise ShapeError unless ``params`` and ``window`` fit ``model`` (targets included)."""
    model.check_params(params)
    shape = tuple(window.inputs.shape)
    check_inputs(model, shape, "window inputs")
    if model.config.tokens and window.id_range is not None:
        check_ids(model, *window.id_range)
    check_targets(model, window, shape[0], shape[1])


def check_targets(model: Model, window: Window, batch: int, steps: int) -> None:
    """Raise ShapeError unless the window's targets are what the model's loss takes."""
    cfg, loss = model.config, model.loss
    got = tuple(window.targets.shape)
    integer = "int" in str(window.targets.dtype)
    if loss.targets == "sequences":
        if cfg.readout != "every_step" or len(got) != 2 or got[0] != batch or not integer:
            raise ShapeError(
                f"loss {loss.name!r} takes label sequences (batch, length) of integer ids with "
                f"the every_step readout; got targets {got} ({window.targets.dtype}) and readout "
                f"{cfg.readout!r}.")
        if window.max_target >= model.output_size:
            raise ShapeError(f"a label is {window.max_target} but the model has "
                             f"{model.output_size} classes (ids 0..{model.output_size - 1}).")
        return
    every = cfg.readout == "every_step"
    classes = loss.targets == "classes"
    expected = ((batch, steps) if every else (batch,)) + (() if classes else (cfg.output_size,))
    if got != expected:
        kind = "class ids" if classes else f"{cfg.output_size} target value(s)"
        raise ShapeError(
            f"targets have shape {got}; readout {cfg.readout!r} with loss {cfg.loss!r} expects "
            f"{expected} ({kind} per {'step' if every else 'sequence'}). Check the task's "
            "readout, loss and output_size."
        )
    if classes != integer:
        raise ShapeError(
            f"loss {cfg.loss!r} needs {'integer class ids' if classes else 'float values'} as "
            f"targets; got dtype {window.targets.dtype}."
        )
    if classes and window.max_target >= model.output_size:
        raise ShapeError(
            f"a target class id is {window.max_target} but the model has {model.output_size} "
            f"classes (ids 0..{model.output_size - 1}). Set output_size to the number of classes."
        )
