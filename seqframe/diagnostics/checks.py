"""``seqframe check``: gradient check, backend parity, gradient flow, or a loss's gradient check,
behind one call."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cells import layer_norm_variant
from ..errors import ConfigError, SeqframeError
from ..losses.base import Loss
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
              fused: bool | None = None, steps: int = 50, embed: int | None = None,
              tie_weights: bool = False, loss: str | None = None, sparse_grads: bool = False,
              seq2seq: bool = False, layer_norm: bool = False) -> CheckOutcome:
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
      ``run_dir``; the plot goes to ``out``, or without it, with the numbers as JSON, into a
      new ``gradflow-CELLS-TIME`` folder of the current directory;
    * ``loss``: that registered loss's own gradient against finite differences on ``backend``
      (:func:`loss_gradcheck`, any loss: CTC, a ranking loss...), then, where the loss scores
      one class per step, the model around the cell trained with it (:func:`model_checks`);
    * ``embed``, ``tie_weights``, ``sparse_grads``: the model around the cell instead of the cell
      (:func:`model_checks`): token inputs embedded ``embed`` wide (0: fed one-hot), the readout
      tied to the table, the table's and a sampled readout's gradients row-sparse;
    * ``layer_norm``: the default check of the cell's layer-normalised variant (``lstm`` and
      ``gru``: ``--layer-norm``).
    """
    if parity and grad_flow:
        raise ConfigError("choose one of --parity and --grad-flow, not both.")
    if layer_norm and (seq2seq or embed is not None or tie_weights or loss):
        raise ConfigError("--layer-norm checks the layer-normalised cell alone; drop --seq2seq, "
                          "--embed, --tie-weights and --loss.")
    if sparse_grads and (seq2seq or not (embed or loss)):
        raise ConfigError("--sparse-grads checks row-sparse gradients of an embedding table or a "
                          "sampled readout: give --embed E or --loss sampled_softmax (and no "
                          "--seq2seq).")
    if seq2seq:
        return _seq2seq(backend, cell, dtype=dtype, parity=parity, grad_flow=grad_flow,
                        layers=layers, device=device, fused=fused, steps=steps)
    if layers is not None and layers < 1:
        raise ConfigError(f"--layers must be >= 1, got {layers}.")
    if embed is not None or tie_weights or loss:
        if parity or grad_flow:
            raise ConfigError("--embed, --tie-weights and --loss check one model's gradients "
                              "and its parity with numpy; they do not combine with --parity or "
                              "--grad-flow.")
        registry = get_registry()
        ops = registry.load("backend", backend)(dtype=dtype, device=device)
        outcomes = []
        if loss:
            loss_obj = registry.load("loss", loss)()
            outcomes.append(loss_gradcheck(ops, loss_obj))
            if not _scores_a_class_per_step(loss_obj) and (embed is not None or tie_weights):
                raise ConfigError(f"loss {loss!r} does not score one class per step, so no "
                                  f"model around a cell can be checked with it; drop --embed "
                                  f"and --tie-weights to check the loss alone.")
        if embed is not None or tie_weights or (loss and _scores_a_class_per_step(loss_obj)):
            outcomes.append(model_checks(ops, cell, layers=2 if layers is None else layers,
                                         embed=embed, tie_weights=tie_weights, loss=loss,
                                         sparse_grads=sparse_grads))
        return CheckOutcome("\n\n".join(o.text for o in outcomes),
                            all(o.passed for o in outcomes))
    # two layers exercise the gradient between layers; one curve per cell reads best in a plot
    layers = layers if layers is not None else (2 if not (parity or grad_flow) else 1)
    if layers < 1:
        raise ConfigError(f"--layers must be >= 1, got {layers}.")
    registry = get_registry()
    if layer_norm and (parity or grad_flow):
        raise ConfigError("--layer-norm checks the layer-normalised cell's conformance suite and "
                          "gradients; it does not combine with --parity or --grad-flow.")
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
        if out is not None:
            return CheckOutcome(flow.format_table(), True, (flow.plot(out),))
        folder = new_folder(f"gradflow-{'-'.join(cells) if cells else Path(run_dir).name}")
        table = folder / "gradient-flow.json"
        table.write_text(json.dumps(flow.as_dict(), indent=2) + "\n", encoding="utf-8")
        return CheckOutcome(flow.format_table(), True,
                            (flow.plot(folder / "gradient-flow.png"), table))
    return cell_conformance(ops, cell, layers=layers, device=device, layer_norm=layer_norm)


def new_folder(stem: str, parent: Path | None = None) -> Path:
    """A new folder ``STEM-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... if taken) in ``parent`` (the
    current directory by default), so repeated checks never overwrite each other's files."""
    base = (parent or Path.cwd()) / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def cell_conformance(ops: Ops, cell: str, *, layers: int = 2, device: str | None = None,
                     layer_norm: bool = False) -> CheckOutcome:
    """Every check the cell conformance suite runs, for one cell on ``ops``' backend.

    The contract, the registration, backend neutrality, step gradients, window gradients and
    window parity with the numpy float64 reference
    (:func:`seqframe.testing.cellcheck.cell_checks`), then the gradient table on ``ops`` with
    ``layers`` layers. With float64 and 2 layers that table is the suite's window gradient
    check, so it is not run twice.

    Returns:
        One ``PASS``/``FAIL``/``SKIP`` line per check, then the table; passed when none failed.
        With ``layer_norm``, all of it for the cell's layer-normalised variant
        (:data:`seqframe.cells.LAYER_NORM_VARIANTS`).
    """
    cell_cls = get_registry().load("cell", cell)
    if layer_norm:
        cell_cls = layer_norm_variant(cell_cls)
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
    from ..testing.numerics import window_gradient_report

    what = f"{ops.name} window gradients ({layers} layer{'s' * (layers > 1)}, {ops.dtype})"
    try:
        report = window_gradient_report(ops, cell_cls, layers=layers)
    except SeqframeError:
        raise  # a usage error (e.g. --dtype float32 cannot reach the tolerance): exit 2
    except Exception as exc:  # a cell that breaks on this backend may raise anything
        return CheckResult(what, "FAIL", f"raised {type(exc).__name__}: {exc}"), ""
    verdict = report.format().splitlines()[-1]
    return (CheckResult(what, "PASS" if report.passed else "FAIL",
                        "" if report.passed else verdict), "\n\n" + report.format())


def model_checks(ops: Ops, cell: str, *, layers: int = 2, embed: int | None = None,
                 tie_weights: bool = False, loss: str | None = None,
                 sparse_grads: bool = False) -> CheckOutcome:
    """The model's pieces around ``cell``: embedding, tied readout, loss, and with
    ``sparse_grads`` their gradients kept row-sparse (compared written out whole).

    1. Every parameter's gradient, the embedding table's included, against finite differences
       on ``ops`` (:func:`seqframe.diagnostics.gradcheck.check_gradients`): token ids over V = 9
       with the padding id 0 in masked steps and at one real step, each id read more than once;
       ``loss`` by its registered name (a ``sampled_softmax`` draws 6 classes, the same draw at
       every evaluation).
    2. On a backend other than numpy float64: one window against the numpy float64 reference,
       generic path and (when the backend has one for the cell) fused path
       (:func:`seqframe.testing.numerics.check_window_parity`).

    Returns:
        One ``PASS``/``FAIL`` line per check, then the gradient table; passed when none failed.
    """
    from ..testing.numerics import Scenario, check_window_parity
    from .gradcheck import CHECK_SAMPLES, TOKEN_VOCAB

    registry = get_registry()
    cell_cls = registry.load("cell", cell)
    loss_name = loss or "cross_entropy"
    loss_cls = registry.load("loss", loss_name)
    options = {"samples": CHECK_SAMPLES} if any(o.name == "samples" for o in loss_cls.options) \
        else {}
    tokens = embed is not None
    grad = _model_table(ops, cell_cls, layers, dict(
        tokens=tokens, embed=embed or 0, tie_weights=tie_weights, sparse_grads=sparse_grads,
        loss=loss_cls(**options), hidden=None))
    results, table = [grad[0]], grad[1]
    if (ops.name, ops.dtype) != ("numpy", "float64"):
        hidden = embed if tie_weights and embed else 4  # as the gradient check picks it
        scenario = Scenario(f"{ops.name} vs numpy", layers=layers, hidden=hidden,
                            loss=loss_name, vocab=TOKEN_VOCAB if tokens else 0,
                            embed=embed or 0, padding_id=0 if tokens else None,
                            tie_weights=tie_weights, sparse_grads=sparse_grads,
                            loss_options=tuple(options.items()))
        what = f"{ops.name} parity {ops.dtype} with numpy float64 (generic and fused paths)"
        results += run_checks([(what, lambda: check_window_parity(ops, cell_cls(), scenario))])
    failed = sum(r.status == "FAIL" for r in results)
    lines = [r.line() for r in results]
    lines.append(f"{len(results) - failed} passed, {failed} failed, 0 skipped")
    return CheckOutcome("\n".join(lines) + table, failed == 0)


def _model_table(ops: Ops, cell_cls: type, layers: int, model: dict) -> tuple[CheckResult, str]:
    """The gradient check of a model as a result line, and its table (empty if it raised)."""
    from .gradcheck import check_gradients

    what = f"{ops.name} model gradients ({layers} layer{'s' * (layers > 1)}, {ops.dtype})"
    try:
        report = check_gradients(ops, cell_cls, layers=layers, **model)
    except SeqframeError:
        raise  # a usage error (--tie-weights without --embed, float32...): exit 2
    except Exception as exc:  # a cell or loss that breaks on this backend may raise anything
        return CheckResult(what, "FAIL", f"raised {type(exc).__name__}: {exc}"), ""
    verdict = report.format().splitlines()[-1]
    return (CheckResult(what, "PASS" if report.passed else "FAIL",
                        "" if report.passed else verdict), "\n\n" + report.format())


def _scores_a_class_per_step(loss: Loss) -> bool:
    """Whether a model of the gradient check (one class target per step) can train with it."""
    return loss.targets == "classes" and not loss.per_sequence


# ---- a loss's gradient -------------------------------------------------------------------------

def loss_gradcheck(ops: Ops, loss: Loss, *, seed: int = 0) -> CheckOutcome:
    """A loss's hand-written gradient against finite differences of its ``loss_sum``.

    The case is the loss conformance suite's (:func:`seqframe.testing.losscases.make_case`, O = 5:
    logits, or features with the readout's weight and bias for ``needs = "features"``; rows, or
    for a ``per_sequence`` loss padded sequences, that do not count). Every entry is compared by
    fourth-order central differences (:func:`.gradcheck.numerical_gradient`) and the relative
    error of :mod:`.gradcheck` (tolerance 1e-6 in float64, 1e-2 in float32). A loss that draws
    (sampled softmax) gets the same draws at every evaluation.

    Returns:
        The table of :class:`~seqframe.diagnostics.gradcheck.GradCheckReport`; passed when every
        entry is within the tolerance.
    """
    from ..testing.losscases import call_loss, default_spec, make_case, named_gradients
    from .gradcheck import (
        DEFAULT_EPS,
        FLOAT32_MIN_TOLERANCE,
        REL_FLOOR,
        GradCheckReport,
        GradCheckRow,
        numerical_gradient,
    )

    classes = 5
    loss.prepare(default_spec(loss, classes, class_frequencies=np.arange(1.0, classes + 1)))
    case = make_case(loss, np.random.default_rng(seed), size=classes)
    inputs = case.inputs()
    analytic = named_gradients(loss, call_loss(loss, ops, case, seed=seed + 1))

    def loss_at(params: dict) -> float:
        moved = dataclasses.replace(case, **{k: ops.to_numpy(v) for k, v in params.items()})
        return float(call_loss(loss, ops, moved, grad=False, seed=seed + 1)["loss_sum"])

    shapes = ", ".join(f"{name} {value.shape}" for name, value in inputs.items())
    tolerance = 1e-6 if ops.dtype == "float64" else FLOAT32_MIN_TOLERANCE
    report = GradCheckReport(f"loss gradient check: {loss!r} on {ops.describe()}; {shapes}, "
                             f"some rows or steps not counted", tolerance)
    params = {name: ops.asarray(value) for name, value in inputs.items()}
    for name, value in inputs.items():
        numeric = numerical_gradient(ops, params, name, value, loss_at, DEFAULT_EPS[ops.dtype])
        report.rows.append(GradCheckRow.compare(name, analytic[name], numeric,
                                                REL_FLOOR[ops.dtype]))
    return CheckOutcome(report.format(), report.passed)


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
