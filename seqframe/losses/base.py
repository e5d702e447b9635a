"""The Loss contract: a loss and its hand-written gradient, written once against Ops.

A loss is registered like a cell (hook ``seqframe_register_losses``) and named by a task's
``ModelSpec.loss`` (or a run's ``loss`` key, where the task allows it). It says what it needs
from the model's readout:

* ``needs = "logits"`` (most losses): the readout computes the raw scores ``outputs`` (N, O') =
  features @ W.T + b, and the loss returns d loss_sum / d outputs.
* ``needs = "features"`` (losses that avoid computing every score, e.g. sampled softmax over a
  large vocabulary): the loss gets the readout's input ``features`` (N, F) and its ``weight``
  (O', F) and ``bias`` (O',), computes only the scores it needs, and returns the gradients of all
  three.

and how its targets look (``targets``): ``"classes"`` (int64 ids, one per row), ``"values"`` (float
(N, O)) or ``"sequences"`` (int64 label sequences (B, L), padded with a value the loss documents,
for losses that align a whole sequence, like CTC: those set ``per_sequence = True`` and get the
readout time-major, (T, B, O'), with the step mask (T, B) as ``weights``).

Rows: for the ``every_step`` readout N is T*B (time-major: row ``t*B + b``), for the other readouts
N is B. ``weights`` (N,) are 0/1: which rows count (masked steps and the look-back of truncated
BPTT do not). Every loss returns the SUM over counted rows of its per-row loss and the COUNT it
sums over; the trainer divides the gradients of a whole optimizer step by the step's total count,
so accumulation and data parallelism equal one larger batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..ops import Array, Ops
from ..task import TaskOption

TARGET_KINDS = ("classes", "values", "sequences")


@dataclass
class LossResult:
    """What a loss returns.

    Attributes:
        loss_sum: 0-d array, the sum over counted rows (or sequences) of the per-row loss.
        count: 0-d array or float, the number of rows (or sequences) counted.
        d_outputs: d loss_sum / d outputs, shaped like the outputs (``needs = "logits"``); or
            d loss_sum / d features (``needs = "features"``). None when no gradient was asked.
        d_weight, d_bias: d loss_sum / d readout weight and bias (``needs = "features"`` only);
            dense, or :class:`~seqframe.rowsparse.RowSparse` when the loss touched only some
            classes' rows (the model densifies them unless it trains with ``--sparse-grads``).
    """

    loss_sum: Array
    count: Any
    d_outputs: Array | None = None
    d_weight: Array | None = None
    d_bias: Array | None = None


class Loss:
    """Base class of every loss (see the module docstring).

    Class attributes:
        name: the registered name (``cross_entropy``, ``mse``, ...).
        description: one line for ``seqframe plugins``.
        targets: ``"classes"``, ``"values"`` or ``"sequences"``.
        needs: ``"logits"`` or ``"features"``.
        per_sequence: gets whole sequences (time-major outputs and the step mask) instead of rows.
        metric: the name of the training metric it reports (``loss``: nats per target).
        mode: ``"min"`` (lower is better) or ``"max"``.
        options: the loss's own settings (a run's ``loss_options`` table), with defaults.

    Args:
        **options: values for ``options``, checked by name and type.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    targets: ClassVar[str] = "classes"
    needs: ClassVar[str] = "logits"
    per_sequence: ClassVar[bool] = False
    metric: ClassVar[str] = "loss"
    mode: ClassVar[str] = "min"
    options: ClassVar[tuple[TaskOption, ...]] = ()

    def __init__(self, **options: Any):
        known = {opt.name: opt for opt in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            valid = ", ".join(sorted(known)) or "(this loss has no options)"
            raise ConfigError(f"unknown option {unknown[0]!r} for loss {self.name!r}. Valid "
                              f"options: {valid}.")
        self.opts = {name: self._parse(opt, options[name]) if name in options else opt.default
                     for name, opt in known.items()}

    def _parse(self, opt: TaskOption, raw: Any) -> Any:
        """``opt.parse``, its error worded for a loss (TaskOption words it for a task)."""
        try:
            return opt.parse(self.name, raw)
        except ConfigError as exc:
            text = str(exc).replace(f"task {self.name!r} option", f"loss {self.name!r} option", 1)
            raise ConfigError(f"{text} Set it in the run's [loss_options] table.") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.opts.items())})"

    # ---- shapes ------------------------------------------------------------------------------
    def output_size(self, size: int) -> int:
        """O', the readout's width for a task's ``output_size`` O (default: O itself)."""
        return size

    def prepare(self, spec: Any) -> None:
        """Read what the loss needs from the task's ``ModelSpec`` (e.g. class frequencies)."""

    # ---- the maths ---------------------------------------------------------------------------
    def loss_and_grad(self, ops: Ops, outputs: Array, targets: Array, weights: Array, *,
                      grad: bool = True, rng: np.random.Generator | None = None) -> LossResult:
        """``needs = "logits"``: the loss of ``outputs`` (N, O') and its gradient.

        Args:
            outputs: (N, O') raw scores (or, ``per_sequence``, (T, B, O')).
            targets: (N,) class ids, or (N, O) values (``per_sequence``: (B, L) sequences).
            weights: (N,) float 0/1 (``per_sequence``: the (T, B) step mask).
            grad: also return d loss_sum / d outputs.
            rng: a host generator, for losses that draw (seeded by the trainer; None in eval).
        """
        raise NotImplementedError(f"loss {self.name!r} needs {self.needs}, not logits")

    def loss_and_grad_features(self, ops: Ops, features: Array, weight: Array, bias: Array,
                               targets: Array, weights: Array, *, grad: bool = True,
                               rng: np.random.Generator | None = None) -> LossResult:
        """``needs = "features"``: the loss from the readout's input ``features`` (N, F),
        ``weight`` (O', F) and ``bias`` (O',); gradients of all three when ``grad``."""
        raise NotImplementedError(f"loss {self.name!r} needs {self.needs}, not features")

    # ---- ensembles ---------------------------------------------------------------------------
    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """Several models' outputs (host arrays, same shape) merged into one of the same
        meaning, for ``--ensemble`` (default: their mean)."""
        return np.mean(np.stack([np.asarray(o, dtype=np.float64) for o in outputs]), axis=0)


def check_loss_class(cls: type) -> None:
    """Raise ConfigError unless ``cls`` is a usable Loss subclass (registry validation)."""
    if not (isinstance(cls, type) and issubclass(cls, Loss)):
        raise ConfigError(f"{cls!r} is not a subclass of seqframe.losses.Loss.")
    if cls.targets not in TARGET_KINDS:
        raise ConfigError(f"loss {cls.name!r} declares targets {cls.targets!r}; expected one of "
                          f"{', '.join(TARGET_KINDS)}.")
    if cls.needs not in ("logits", "features"):
        raise ConfigError(f"loss {cls.name!r} declares needs {cls.needs!r}; expected 'logits' or "
                          f"'features'.")
