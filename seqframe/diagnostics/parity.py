"""Backend parity: the same short training on two backends, compared step by step.

``seqframe check --backend torch --cell lstm --parity numpy`` calls :func:`parity_check`. Both
backends start from the same host-drawn weights, see the same batches and draw the same dropout
masks, and each optimizer step is taken exactly as the trainer takes it: truncated-BPTT windows
with a look-back (``k2 > k1``), the state carried across windows and batches, rows that reset,
variable-length rows (prefix masks), the gradient divided by the target count, global-norm
clipping (set low enough that it engages) and Adam. The per-step training losses of the two runs
must then agree within a tolerance that depends on the dtype and on whether the backend under test
ran a fused kernel (different summation order, so not bit-identical) or core's generic BPTT.

Nothing here knows a backend: any two registered Ops classes can be compared.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..cells.base import Cell
from ..config import RunConfig
from ..engine.model import Model, ModelConfig
from ..engine.recurrence import Recurrence
from ..errors import ConfigError
from ..ops import Ops
from ..plugins import get_registry
from ..task import Batch
from ..training import windows as win
from ..training.clipping import Clipper
from ..training.optim import build_optimizer, build_schedule
from ..training.step import TrainStep

# max relative per-step loss difference allowed, by (dtype, path of the backend under test)
TOLERANCES = {
    ("float64", "generic"): 1e-9,
    ("float64", "fused"): 1e-7,
    ("float32", "generic"): 1e-5,
    ("float32", "fused"): 1e-5,
}


@dataclass(frozen=True)
class ParityWorkload:
    """The small synthetic training run both backends repeat (a shifted-argmax copy task)."""

    batch: int = 6
    length: int = 24  # steps per batch
    features: int = 5
    hidden: int = 12
    classes: int = 4
    bptt: int = 8  # k1
    bptt_back: int = 12  # k2 > k1: every window re-runs 4 look-back steps without loss
    dropout: float = 0.0
    clip_norm: float = 0.5  # low on purpose: clipping must engage to be compared
    lr: float = 1e-2
    seed: int = 0


def synthetic_batches(work: ParityWorkload, count: int = 6) -> list[Batch]:
    """Host batches: the target at step t is the argmax of the first C inputs at step t-1.

    Odd batches shorten half of their rows (padding at the end), and rows reset at random, so
    masks and resets are part of what is compared.
    """
    rng = np.random.default_rng(work.seed)
    out = []
    for i in range(count):
        x = rng.normal(size=(work.batch, work.length, work.features))  # (B, T, D)
        shifted = np.concatenate([x[:, :1, : work.classes], x[:, :-1, : work.classes]], axis=1)
        targets = np.argmax(shifted, axis=2).astype(np.int64)  # (B, T)
        mask = np.ones((work.batch, work.length), dtype=bool)
        if i % 2 == 1:
            lengths = rng.integers(1, work.length, size=work.batch)
            short = np.arange(work.batch) % 2 == 1
            mask[short] = np.arange(work.length)[None, :] < lengths[short, None]
        reset = np.ones(work.batch, bool) if i == 0 else rng.random(work.batch) < 0.25
        out.append(Batch(x, targets, mask, reset))
    return out


@dataclass
class TrainTrace:
    """What one backend's run produced."""

    backend: str
    path: str  # "fused ..." or "generic BPTT"
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    clipped: int = 0  # steps whose gradient norm was clipped
    params: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ParityReport:
    """The comparison of two backends' training runs.

    Attributes:
        max_rel_diff: largest relative difference of the per-step losses; ``worst_step`` (1-based)
            where it happened; ``param_rel_diff``: of the final parameters.
        tolerance: what ``max_rel_diff`` must not exceed; ``passed`` says whether it did not.
    """

    cell: str
    dtype: str
    steps: int
    tested: TrainTrace
    reference: TrainTrace
    max_rel_diff: float
    worst_step: int
    param_rel_diff: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return math.isfinite(self.max_rel_diff) and self.max_rel_diff <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("tested", "reference"):
            data[key].pop("params")
        data["passed"] = self.passed
        return data

    def format(self, rows: int = 3) -> str:
        """A short human-readable report (first and last ``rows`` steps)."""
        a, b = self.tested, self.reference
        lines = [
            f"parity {self.cell} ({self.dtype}, {self.steps} optimizer steps): "
            f"{a.backend} [{a.path}] vs {b.backend} [{b.path}]",
            f"  per-step loss: max relative difference {self.max_rel_diff:.2e} at step "
            f"{self.worst_step} (tolerance {self.tolerance:.0e}): "
            f"{'PASS' if self.passed else 'FAIL'}",
            f"  final parameters: max relative difference {self.param_rel_diff:.2e}; "
            f"gradients clipped in {a.clipped}/{self.steps} steps",
            f"  {'step':>4}  {a.backend + ' loss':>20}  {b.backend + ' loss':>20}",
        ]
        shown = sorted(set(range(min(rows, self.steps))) |
                       set(range(max(0, self.steps - rows), self.steps)))
        for i in shown:
            lines.append(f"  {i + 1:>4}  {a.losses[i]:>20.15f}  {b.losses[i]:>20.15f}")
        return "\n".join(lines)


def parity_check(cell: str | Cell = "lstm", other_backend: str = "numpy", steps: int = 50,
                 dtype: str = "float64", fused: bool | None = None, *, backend: str = "torch",
                 layers: int = 1, device: str = "cpu", tolerance: float | None = None,
                 work: ParityWorkload = ParityWorkload()) -> ParityReport:
    """Train ``steps`` optimizer steps on ``backend`` and on ``other_backend``; compare losses.

    Args:
        cell: a registered cell name, or a :class:`~seqframe.cells.Cell` instance.
        other_backend: the reference backend; it always runs core's generic BPTT.
        steps: optimizer steps to compare.
        dtype: ``float64`` (tight tolerances) or ``float32``.
        fused: the backend under test uses its fused path when it has one (None), must use it
            (True; a ConfigError if it has none for this cell) or runs the generic path (False).
        backend: the backend under test.
        layers: recurrent layers (dropout between them when ``work.dropout`` > 0).
        device: for the backend under test; the reference runs on its default device.
        tolerance: overrides :data:`TOLERANCES`.

    Returns:
        A :class:`ParityReport`; ``report.passed`` is the verdict.

    Raises:
        UnknownNameError, MissingDependencyError: a backend or cell that cannot be loaded.
        ConfigError: ``steps`` < 1, or ``fused=True`` for a backend/cell without a fused path.
    """
    if steps < 1:
        raise ConfigError(f"parity needs at least 1 step; got {steps}.")
    registry = get_registry()
    cell_obj = registry.load("cell", cell)() if isinstance(cell, str) else cell
    model = Model(ModelConfig(cell=cell_obj.name, input_size=work.features,
                              hidden_size=work.hidden, output_size=work.classes, layers=layers,
                              dropout=work.dropout), cell_obj)
    tested_ops = registry.load("backend", backend)(dtype=dtype, device=device)
    reference_ops = registry.load("backend", other_backend)(dtype=dtype, device="cpu")
    recurrence = None if fused is False else tested_ops.fused_recurrence(model.cell)
    if fused is True and recurrence is None:
        raise ConfigError(
            f"backend {backend!r} has no fused path for cell {cell_obj.name!r} "
            f"(or it is switched off); run the check without --fused to test its generic path."
        )
    batches = synthetic_batches(work)
    tested = train_trace(tested_ops, model, batches, work, steps, recurrence)
    reference = train_trace(reference_ops, model, batches, work, steps, None)
    return compare(cell_obj.name, dtype, tested, reference, tolerance)


def compare(cell: str, dtype: str, tested: TrainTrace, reference: TrainTrace,
            tolerance: float | None = None) -> ParityReport:
    """Per-step relative loss differences and final-parameter differences of two traces."""
    a, b = np.asarray(tested.losses), np.asarray(reference.losses)
    rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    rel = np.where(np.isnan(rel), np.inf, rel)
    worst = int(np.argmax(rel))
    param_rel = max(
        float(np.max(np.abs(tested.params[k] - v)) / max(float(np.max(np.abs(v))), 1e-300))
        for k, v in reference.params.items()
    )
    kind = "fused" if tested.path.startswith("fused") else "generic"
    tol = tolerance if tolerance is not None else TOLERANCES[(dtype, kind)]
    return ParityReport(cell, dtype, len(a), tested, reference, float(rel[worst]), worst + 1,
                        param_rel, tol)


def train_trace(ops: Ops, model: Model, batches: list[Batch], work: ParityWorkload, steps: int,
                fused: Recurrence | None = None) -> TrainTrace:
    """``steps`` optimizer steps exactly as the trainer takes them (:class:`TrainStep`); the
    losses it logged. Windows of padding only are skipped, as the trainer skips them."""
    config = RunConfig(lr=work.lr, clip_norm=work.clip_norm, bptt=work.bptt,
                       bptt_back=work.bptt_back)
    optimizer, schedule = build_optimizer(config, ops), build_schedule(config, steps)
    clipper = Clipper(ops, config.clip_norm, config.clip_value)
    step = TrainStep(model, ops, optimizer, clipper, fused=fused)
    params = {k: ops.asarray(v) for k, v in model.init_params(work.seed).items()}
    trace = TrainTrace(ops.name, fused.path if fused is not None else "generic BPTT")
    dropout_rng = np.random.default_rng(work.seed + 1)
    carried = model.zero_state(ops, work.batch)
    spans = win.plan_windows(work.length, work.bptt, work.bptt_back)
    for i in range(steps * len(spans)):  # more windows than needed: all-padding ones are skipped
        batch, span = batches[(i // len(spans)) % len(batches)], spans[i % len(spans)]
        result = step(params, win.time_slice(batch, span, False), carried,
                      schedule(len(trace.losses)), loss_from=span.loss_from,
                      carry_at=span.carry_at, dropout_rng=dropout_rng)
        if result.count > 0:
            trace.clipped += int(result.clipped)
            trace.losses.append(result.loss)
            trace.grad_norms.append(result.grad_norm)
        carried = result.state
        if len(trace.losses) == steps:
            break
    trace.params = {k: ops.to_numpy(v).astype(np.float64) for k, v in params.items()}
    return trace
