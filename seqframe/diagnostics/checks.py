"""``seqframe check``: gradient check, backend parity, or gradient flow, behind one call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..plugins import get_registry


@dataclass
class CheckOutcome:
    """What ``seqframe check`` prints, whether it passed, and the files it wrote."""

    text: str
    passed: bool
    files: tuple[Path, ...] = ()


def run_check(backend: str, cell: str, *, layers: int | None = None, dtype: str = "float64",
              parity: str | None = None, grad_flow: bool = False, run_dir: str | None = None,
              length: int = 100, out: str | None = None, device: str = "cpu",
              fused: bool | None = None, steps: int = 50) -> CheckOutcome:
    """Run the check the flags ask for.

    * default: analytic gradients against central finite differences for every parameter,
      with masks, resets, truncation and ``layers`` layers
      (:func:`seqframe.diagnostics.gradcheck.check_gradients`);
    * ``parity``: ``steps`` training steps on ``backend`` and on ``parity``, per-step losses
      compared (:func:`seqframe.diagnostics.parity.parity_check`);
    * ``grad_flow``: the norm of dE_T/dh_t against the lag T-t, table and plot
      (:func:`seqframe.diagnostics.gradflow.gradient_flow`), for fresh weights or the run in
      ``run_dir``.
    """
    if parity and grad_flow:
        raise ConfigError("choose one of --parity and --grad-flow, not both.")
    # two layers exercise the gradient between layers; one curve per cell reads best in a plot
    layers = layers if layers is not None else (2 if not (parity or grad_flow) else 1)
    if layers < 1:
        raise ConfigError(f"--layers must be >= 1, got {layers}.")
    registry = get_registry()
    if parity:
        from .parity import parity_check

        report = parity_check(cell, other_backend=parity, backend=backend, steps=steps,
                              dtype=dtype, fused=fused, layers=layers, device=device)
        return CheckOutcome(report.format(), report.passed)
    ops = registry.load("backend", backend)(dtype=dtype, device=device)
    if grad_flow:
        from .gradflow import gradient_flow

        cells = cell.split(",") if run_dir is None else None
        flow = gradient_flow(ops, cells, length=length, layers=layers, run_dir=run_dir)
        plot = Path(out or "gradient-flow.png")
        flow.plot(plot)
        return CheckOutcome(flow.format_table(), True, (plot,))
    from .gradcheck import check_gradients

    report = check_gradients(ops, registry.load("cell", cell), layers=layers)
    return CheckOutcome(report.format(), report.passed)
