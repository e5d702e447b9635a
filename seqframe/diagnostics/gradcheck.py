"""Check the hand-written BPTT against finite differences, entry by entry.

:func:`check_gradients` builds a small model (B=3 rows, T=5 steps, D=3 inputs, H=4 by default)
on any backend and cell, runs one window through :func:`seqframe.engine.bptt.window_loss_and_grad`,
and
compares the gradient of ``loss_sum`` w.r.t. EVERY parameter entry with a numerical derivative.
The window exercises what the trainer relies on: a variable-length row and a row with a gap
(masks), rows that restart while others carry a non-zero state (resets), and truncated BPTT
(no loss on the first steps, the state carried out after ``carry_at`` steps).

The numerical derivative is the fourth-order central difference
``(f(-2e) - 8 f(-e) + 8 f(e) - f(2e)) / 12e``. Its truncation error is O(e^4) and its rounding
error about ``machine_eps * |loss| / e``; with ``e = 1e-3`` in float64 both are near 1e-12, which
is what lets a relative tolerance of 1e-6 hold even for gradient entries of order 1e-5. (The
plain two-point difference with ``e = 1e-6`` has rounding errors near 1e-10 and fails that.)

The relative error of an entry is ``|analytic - numerical| / max(|analytic|, |numerical|, floor)``
with ``floor = 1e-5`` in float64 (1e-2 in float32): an entry smaller than that, which a finite
difference cannot resolve to six digits, must instead agree to ``tolerance * floor`` absolutely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cells.base import Cell
from ..engine.bptt import loss_only, to_window, window_loss_and_grad
from ..engine.model import Model, ModelConfig
from ..errors import ConfigError
from ..ops import Ops
from ..task import Batch

FLOAT32_MIN_TOLERANCE = 1e-2
# Entries smaller than this (in both gradients) are compared absolutely, against this scale.
REL_FLOOR = {"float64": 1e-5, "float32": 1e-2}
DEFAULT_EPS = {"float64": 1e-3, "float32": 3e-2}


@dataclass
class GradCheckRow:
    """One parameter: its largest gradient entry and its worst absolute and relative errors."""

    name: str
    shape: tuple
    max_grad: float
    max_abs_error: float
    max_rel_error: float


@dataclass
class GradCheckReport:
    """The outcome of :func:`check_gradients`.

    Attributes:
        title: what was checked (cell, backend, dtype, model and window features).
        rows: one :class:`GradCheckRow` per parameter.
        tolerance: the largest relative error that passes.
    """

    title: str
    tolerance: float
    rows: list[GradCheckRow] = field(default_factory=list)

    @property
    def max_rel_error(self) -> float:
        return max((row.max_rel_error for row in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and self.max_rel_error < self.tolerance

    ok = passed  # the name seqframe.testing uses

    def failing(self) -> list[str]:
        """Names of the parameters whose error reaches the tolerance."""
        return [row.name for row in self.rows if not row.max_rel_error < self.tolerance]

    def format(self) -> str:
        """A plain-text table, one line per parameter, and the verdict."""
        width = max([len(r.name) for r in self.rows] + [9])
        lines = [self.title, f"{'parameter':<{width}}  {'shape':<10}  {'max |grad|':>10}  "
                 f"{'max abs err':>11}  {'max rel err':>11}"]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}  {str(r.shape):<10}  {r.max_grad:>10.3e}  "
                         f"{r.max_abs_error:>11.3e}  {r.max_rel_error:>11.3e}")
        verdict = "passed" if self.passed else f"FAILED ({', '.join(self.failing())})"
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.3e}, "
                     f"tolerance {self.tolerance:.0e}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def check_gradients(
    ops: Ops,
    cell: Cell | type[Cell],
    *,
    layers: int = 2,
    hidden: int = 4,
    readout: str = "every_step",
    loss: str = "cross_entropy",
    bidirectional: bool = False,
    dropout: float = 0.0,
    seed: int = 0,
    with_masks: bool = True,
    with_resets: bool = True,
    truncation: bool = True,
    eps: float | None = None,
    tolerance: float = 1e-6,
) -> GradCheckReport:
    """Compare analytic and numerical gradients of one window's ``loss_sum``.

    Args:
        ops: the backend to check (float64 for the default tolerance).
        cell: a :class:`~seqframe.cells.Cell` instance or class.
        layers, hidden, readout, loss, bidirectional: the model checked.
        dropout: dropout probability; the same masks (one seeded generator per evaluation) are
            used for every loss evaluation, so they are a fixed part of the function.
        seed: seeds the parameters, data and masks.
        with_masks: give one row fewer real steps and another a masked gap.
        with_resets: carry a non-zero state in and restart one row from zeros.
        truncation: no loss on the first 2 steps and the state carried out after 3 of 5 steps,
            from a non-zero incoming state.
        eps: finite-difference step; None picks 1e-3 (float64) or 3e-2 (float32).
        tolerance: the largest relative error that passes.

    Returns:
        A :class:`GradCheckReport`; ``report.passed`` says whether it held.

    Raises:
        ConfigError: float32 asked with a tolerance it cannot reach, or a bad model setting.
    """
    if ops.dtype == "float32" and tolerance < FLOAT32_MIN_TOLERANCE:
        raise ConfigError(
            f"a gradient check in float32 cannot reach a relative tolerance of {tolerance:g}: "
            "float32 keeps about 7 significant digits and finite differences lose half of them. "
            f"Run it in float64 (--dtype float64), or relax the tolerance to "
            f"{FLOAT32_MIN_TOLERANCE:g} or more."
        )
    if isinstance(cell, type) and issubclass(cell, Cell):
        cell = cell()
    if not isinstance(cell, Cell):
        raise ConfigError(f"check_gradients needs a Cell instance or class; got {cell!r}.")
    eps = DEFAULT_EPS[ops.dtype] if eps is None else eps
    config = ModelConfig(cell.name, 3, hidden, 3, layers=layers, readout=readout, loss=loss,
                         dropout=dropout, bidirectional=bidirectional)
    model = Model(config, cell)
    rng = np.random.default_rng(seed)
    window, state, carry_at = _scenario(model, ops, rng, with_masks, with_resets, truncation)
    host = model.init_params(rng)
    params = {name: ops.asarray(value) for name, value in host.items()}

    def run(p):
        drop_rng = np.random.default_rng(seed + 1) if dropout > 0 else None
        return window_loss_and_grad(model, ops, p, window, state, drop_rng, carry_at)

    def loss_at(p) -> float:
        if dropout > 0:
            return ops.item(run(p).loss_sum)
        return ops.item(loss_only(model, ops, p, window, state)[0])

    analytic = {name: ops.to_numpy(g).astype(np.float64) for name, g in run(params).grads.items()}
    report = GradCheckReport(_title(model, ops, with_masks, with_resets, truncation), tolerance)
    floor = REL_FLOOR[ops.dtype]
    for name, value in host.items():
        numeric = numerical_gradient(ops, params, name, value, loss_at, eps)
        diff = np.abs(analytic[name] - numeric)
        scale = np.maximum(np.maximum(np.abs(analytic[name]), np.abs(numeric)), floor)
        report.rows.append(GradCheckRow(name, value.shape, float(np.abs(analytic[name]).max()),
                                        float(diff.max()), float((diff / scale).max())))
    return report


def numerical_gradient(ops: Ops, params: dict, name: str, value: np.ndarray, loss_at,
                       eps: float) -> np.ndarray:
    """Fourth-order central differences of ``loss_at(params)`` for every entry of
    ``params[name]`` (host ``value``); ``params[name]`` is put back afterwards."""
    work = value.copy()
    flat = work.reshape(-1)
    out = np.zeros(flat.size)
    for i in range(flat.size):
        base = flat[i]
        f = []
        for k in (-2, -1, 1, 2):
            flat[i] = base + k * eps
            params[name] = ops.asarray(work.copy())
            f.append(loss_at(params))
        flat[i] = base
        out[i] = (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * eps)
    params[name] = ops.asarray(value)
    return out.reshape(value.shape)


def _scenario(model: Model, ops: Ops, rng, with_masks: bool, with_resets: bool, truncation: bool):
    """The window, incoming state and carry_at of a check (B=3, T=5)."""
    batch, steps, cfg = 3, 5, model.config
    inputs = rng.normal(size=(batch, steps, cfg.input_size))
    mask = np.ones((batch, steps), bool)
    if with_masks:
        mask[1, 3:] = False  # a shorter row: padding at the end
        mask[2, 1] = False  # a gap in the middle of a row
    reset = np.zeros(batch, bool)
    if with_resets:
        reset[1] = True
    per_step = cfg.readout == "every_step"
    lead = (batch, steps) if per_step else (batch,)
    if cfg.loss == "cross_entropy":
        targets = rng.integers(0, cfg.output_size, size=lead)
    else:
        targets = rng.normal(size=lead + (cfg.output_size,))
    window = to_window(ops, Batch(inputs, targets, mask, reset), loss_from=2 if truncation else 0)
    state = None
    if with_resets or truncation:
        state = tuple(
            tuple(
                tuple(ops.asarray(0.5 * rng.normal(size=(batch, cfg.hidden_size)))
                      for _ in model.cell.state_names)
                for _ in range(model.directions)
            )
            for _ in range(cfg.layers)
        )
    return window, state, (3 if truncation else None)


def _title(model: Model, ops: Ops, masks: bool, resets: bool, truncation: bool) -> str:
    cfg = model.config
    features = [f"{cfg.layers} layer(s)", f"H={cfg.hidden_size}", f"readout {cfg.readout}",
                f"loss {cfg.loss}"]
    features += ["bidirectional"] * cfg.bidirectional
    features += [f"dropout {cfg.dropout:g}"] * (cfg.dropout > 0)
    features += ["masks"] * masks + ["resets"] * resets
    features += ["truncation (loss_from=2, carry_at=3)"] * truncation
    return f"gradient check: {model.cell.name} on {ops.describe()}; " + ", ".join(features)
