"""``seqframe check``: gradient check, backend parity, gradient flow, or a loss's gradient check,
behind one call."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, SeqframeError
from ..losses.base import Loss
from ..ops import Ops
from ..plugins import get_registry
from ..task import ModelSpec
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
              tie_weights: bool = False, loss: str | None = None,
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
    * ``embed``, ``tie_weights``: the model around the cell instead of the cell
      (:func:`model_checks`): token inputs embedded ``embed`` wide (0: fed one-hot), the readout
      tied to the table;
    * ``layer_norm``: the default check of the cell's layer-normalised variant (``lstm`` and
      ``gru``: ``--layer-norm``).
    """
    if parity and grad_flow:
        raise ConfigError("choose one of --parity and --grad-flow, not both.")
    if layer_norm and (seq2seq or embed is not None or tie_weights or loss):
        raise ConfigError("--layer-norm checks the layer-normalised cell alone; drop --seq2seq, "
                          "--embed, --tie-weights and --loss.")
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
                                         embed=embed, tie_weights=tie_weights, loss=loss))
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


def layer_norm_variant(cell_cls: type) -> type:
    """The layer-normalised variant of a built-in cell class.

    Raises:
        ConfigError: the cell has none (the message lists the cells that have one).
    """
    from ..cells import LAYER_NORM_VARIANTS

    variant = LAYER_NORM_VARIANTS.get(cell_cls)
    if variant is None:
        have = ", ".join(sorted(c.name for c in LAYER_NORM_VARIANTS))
        raise ConfigError(f"--layer-norm exists for {have}; cell {cell_cls.name!r} has no "
                          "layer-normalised variant.")
    return variant


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
                 tie_weights: bool = False, loss: str | None = None) -> CheckOutcome:
    """The model's pieces around ``cell``: embedding, tied readout, loss.

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
        tokens=tokens, embed=embed or 0, tie_weights=tie_weights,
        loss=loss_cls(**options), hidden=None))
    results, table = [grad[0]], grad[1]
    if (ops.name, ops.dtype) != ("numpy", "float64"):
        hidden = embed if tie_weights and embed else 4  # as the gradient check picks it
        scenario = Scenario(f"{ops.name} vs numpy", layers=layers, hidden=hidden,
                            loss=loss_name, vocab=TOKEN_VOCAB if tokens else 0,
                            embed=embed or 0, padding_id=0 if tokens else None,
                            tie_weights=tie_weights, loss_options=tuple(options.items()))
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

    One small random case for the loss's kind (:func:`_loss_case`): logits or, for
    ``needs = "features"``, features, readout weight and bias; targets and 0/1 weights with a
    row that does not count. Every entry is compared by the fourth-order central difference and
    the relative error of :mod:`seqframe.diagnostics.gradcheck` (tolerance 1e-6 in float64, 1e-2
    in float32). A loss that draws (sampled softmax) gets the same draws at every evaluation.

    Returns:
        The table of :class:`~seqframe.diagnostics.gradcheck.GradCheckReport`; passed when every
        entry is within the tolerance.
    """
    from .gradcheck import DEFAULT_EPS, FLOAT32_MIN_TOLERANCE, REL_FLOOR, GradCheckReport

    values, targets, weights, what = _loss_case(loss, np.random.default_rng(seed))

    def evaluate(arrays: dict, grad: bool) -> tuple[float, dict]:
        args = [ops.asarray(a) for a in arrays.values()]
        extra = dict(grad=grad, rng=np.random.default_rng(seed + 1))  # the same draws each time
        if loss.needs == "features":
            res = loss.loss_and_grad_features(ops, *args, ops.asarray(targets),
                                              ops.asarray(weights), **extra)
            grads = (res.d_outputs, res.d_weight, res.d_bias)
        else:
            res = loss.loss_and_grad(ops, *args, ops.asarray(targets), ops.asarray(weights),
                                     **extra)
            grads = (res.d_outputs,)
        return ops.item(res.loss_sum), dict(zip(arrays, grads, strict=True)) if grad else {}

    _, analytic = evaluate(values, True)
    tolerance = 1e-6 if ops.dtype == "float64" else FLOAT32_MIN_TOLERANCE
    report = GradCheckReport(f"loss gradient check: {loss!r} on {ops.describe()}; {what}",
                             tolerance)
    eps, floor = DEFAULT_EPS[ops.dtype], REL_FLOOR[ops.dtype]
    for name, value in values.items():
        numeric = np.zeros(value.size)
        for i in range(value.size):
            f = []
            for k in (-2, -1, 1, 2):
                moved = value.copy()
                moved.reshape(-1)[i] += k * eps
                f.append(evaluate({**values, name: moved}, False)[0])
            numeric[i] = (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * eps)
        exact = ops.to_numpy(analytic[name]).astype(np.float64).reshape(-1)
        diff = np.abs(exact - numeric)
        scale = np.maximum(np.maximum(np.abs(exact), np.abs(numeric)), floor)
        report.rows.append(_row(name, value.shape, exact, diff, scale))
    return CheckOutcome(report.format(), report.passed)


def _row(name: str, shape: tuple, exact: np.ndarray, diff: np.ndarray, scale: np.ndarray):
    from .gradcheck import GradCheckRow

    return GradCheckRow(name, shape, float(np.abs(exact).max()), float(diff.max()),
                        float((diff / scale).max()))


def _loss_case(loss: Loss, rng: np.random.Generator) -> tuple[dict, np.ndarray, np.ndarray, str]:
    """``(inputs by name, targets, weights, description)``: a small random case for ``loss``.

    * ``per_sequence`` (CTC-like): logits (T=7, B=3, O') time-major, the (T, B) step mask with a
      shorter row and an empty one, label sequences (B, L) of ids other than the loss's
      ``blank`` option (default 0), padded with it, one with a repeated label;
    * otherwise N=6 rows with the last one not counted: class ids in [0, O), or (N, O) values;
      ``needs = "features"``: features (N, F=4), weight (O', F) and bias (O',).
    """
    classes = 5
    width = loss.output_size(classes)
    loss.prepare(ModelSpec(input_size=1, output_size=classes, readout="every_step",
                           loss=loss.name, class_frequencies=np.arange(1.0, classes + 1)))
    if loss.per_sequence:
        blank = loss.opts.get("blank", 0)
        labels = [k for k in range(classes) if k != blank]
        targets = np.full((3, 3), blank, dtype=np.int64)  # (B, L)
        targets[0] = [labels[0], labels[0], labels[2]]
        targets[1, :2] = [labels[1], labels[3]]
        mask = np.arange(7)[:, None] < np.array([7, 5, 0])[None, :]  # (T, B)
        return ({"outputs": rng.normal(size=(7, 3, width))}, targets, mask.astype(np.float64),
                f"outputs (T=7, B=3, O'={width}), rows of 7, 5 and 0 steps, labels with a repeat")
    weights = np.array([1.0, 1, 1, 1, 1, 0])  # (N,)
    if loss.targets == "classes":
        targets: Any = rng.integers(0, classes, size=6)
    else:
        targets = rng.normal(size=(6, classes))
    if loss.needs == "features":
        inputs = {"features": rng.normal(size=(6, 4)), "weight": rng.normal(size=(width, 4)),
                  "bias": rng.normal(size=width)}
        return inputs, targets, weights, "features (N=6, F=4) and the readout, 5 rows counted"
    return ({"outputs": rng.normal(size=(6, width))}, targets, weights,
            f"outputs (N=6, O'={width}), 5 rows counted")


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
