"""``seqframe check``: gradient check, backend parity, or gradient flow, behind one call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, SeqframeError
from ..ops import Ops
from ..plugins import get_registry
from ..testing.cellcheck import (
    CheckResult,
    cell_checks,
    check_cell_contract,
    check_cell_registered,
    run_checks,
)


@dataclass
class CheckOutcome:
    """What ``seqframe check`` prints, whether it passed, and the files it wrote."""

    text: str
    passed: bool
    files: tuple[Path, ...] = ()


def run_check(backend: str, cell: str, *, layers: int | None = None, dtype: str = "float64",
              parity: str | None = None, grad_flow: bool = False, run_dir: str | None = None,
              length: int = 100, out: str | None = None, device: str = "cpu",
              fused: bool | None = None, steps: int = 50, seq2seq: bool = False) -> CheckOutcome:
    """Run the check the flags ask for.

    With ``seq2seq`` the encoder-decoder is checked instead of a single stack, in each of its
    variants (every attention kind, bidirectional encoder, input feeding, scheduled sampling,
    dropout; :mod:`seqframe.diagnostics.seq2seq_check`): the gradient table, or with ``parity``
    a short training against the other backend (8 steps unless ``steps`` is lower).

    * default: the cell conformance suite on ``backend`` (:func:`cell_conformance`: what
      :class:`seqframe.testing.CellConformance` runs in pytest, backend neutrality included),
      one line per check, then the table of analytic gradients against finite differences for
      every parameter, with masks, resets, truncation and ``layers`` layers
      (:func:`seqframe.diagnostics.gradcheck.check_gradients`);
    * ``parity``: ``steps`` training steps on ``backend`` and on ``parity``, per-step losses
      compared (:func:`seqframe.diagnostics.parity.parity_check`);
    * ``grad_flow``: the norm of dE_T/dh_t against the lag T-t, table and plot
      (:func:`seqframe.diagnostics.gradflow.gradient_flow`), for fresh weights or the run in
      ``run_dir``.
    """
    if parity and grad_flow:
        raise ConfigError("choose one of --parity and --grad-flow, not both.")
    if seq2seq:
        return _seq2seq(backend, cell, dtype=dtype, parity=parity, grad_flow=grad_flow,
                        layers=layers, device=device, fused=fused, steps=steps)
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
    return cell_conformance(ops, cell, layers=layers, device=device)


def cell_conformance(ops: Ops, cell: str, *, layers: int = 2,
                     device: str | None = None) -> CheckOutcome:
    """Every check the cell conformance suite runs, for one cell on ``ops``' backend.

    The contract, the registration, backend neutrality, step gradients, window gradients and
    window parity with the numpy float64 reference
    (:func:`seqframe.testing.cellcheck.cell_checks`), then the gradient table on ``ops`` with
    ``layers`` layers. With float64 and 2 layers that table is the suite's window gradient
    check, so it is not run twice.

    Returns:
        One ``PASS``/``FAIL``/``SKIP`` line per check, then the table; passed when none failed.
    """
    cell_cls = get_registry().load("cell", cell)
    # the table first, so that a flag it cannot run with stops us before the suite
    table_result, table = _gradient_table(ops, cell_cls, layers)
    table_is_suite_check = (ops.dtype, layers) == ("float64", 2)
    checks, skipped = cell_checks(cell_cls, ops.name, device=device,
                                  window_gradients=not table_is_suite_check)
    results = run_checks([("contract", lambda: check_cell_contract(cell_cls)),
                          ("registered", lambda: check_cell_registered(cell_cls)), *checks])
    results.append(table_result)
    failed = sum(r.status == "FAIL" for r in results)
    lines = [r.line() for r in [*results, *skipped]]
    lines.append(f"{len(results) - failed} passed, {failed} failed, {len(skipped)} skipped")
    return CheckOutcome("\n".join(lines) + table, failed == 0)


def _gradient_table(ops: Ops, cell_cls: type, layers: int) -> tuple[CheckResult, str]:
    """The window gradient check as a result line, and its table (empty if it raised)."""
    from .gradcheck import check_gradients

    what = f"{ops.name} window gradients ({layers} layer{'s' * (layers > 1)}, {ops.dtype})"
    try:
        report = check_gradients(ops, cell_cls, layers=layers)
    except SeqframeError:
        raise  # a usage error (e.g. --dtype float32 cannot reach the tolerance): exit 2
    except Exception as exc:  # a cell that breaks on this backend may raise anything
        return CheckResult(what, "FAIL", f"raised {type(exc).__name__}: {exc}"), ""
    verdict = report.format().splitlines()[-1]
    return (CheckResult(what, "PASS" if report.passed else "FAIL",
                        "" if report.passed else verdict), "\n\n" + report.format())


def _seq2seq(backend: str, cell: str, *, dtype: str, parity: str | None, grad_flow: bool,
             layers: int | None, device: str, fused: bool | None, steps: int) -> CheckOutcome:
    """``seqframe check --seq2seq``: see :func:`run_check`."""
    from .seq2seq_check import run_seq2seq_checks

    if grad_flow or layers is not None:
        raise ConfigError("--seq2seq checks its own set of encoder-decoder variants; drop "
                          "--grad-flow and --layers.")
    ops = None if parity else get_registry().load("backend", backend)(dtype=dtype,
                                                                      device=device)
    text, passed = run_seq2seq_checks(ops, cell, parity=parity, backend=backend, dtype=dtype,
                                      fused=fused, steps=min(steps, 8), device=device)
    return CheckOutcome(text, passed)
