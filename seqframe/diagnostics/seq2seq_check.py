"""Gradient check and backend parity of the encoder-decoder (``seqframe check --seq2seq``).

:func:`check_seq2seq_gradients` compares the hand-written backward of one training window
(:func:`seqframe.engine.seq2seq.network.window_loss_and_grad`) with fourth-order central
differences for EVERY parameter entry, on a batch that exercises what training relies on:
sentences of different lengths on both sides (source masks in attention and in a bidirectional
encoder, target masks in the loss), dropout and scheduled sampling with fixed draws (the ids
scheduled sampling picks are constants of the gradient, so the differences read the picked ids
as given). The tolerances and the difference formula are those of
:mod:`seqframe.diagnostics.gradcheck`.

:func:`seq2seq_parity` trains the same small encoder-decoder for a few optimizer steps on two
backends, exactly as the trainer does (:class:`~seqframe.training.step.TrainStep`), and compares
the per-step losses (:func:`seqframe.diagnostics.parity.compare`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..cells.base import Cell
from ..config import RunConfig
from ..engine.seq2seq import Seq2SeqConfig, Seq2SeqModel
from ..engine.seq2seq.network import forward, window_loss, window_loss_and_grad
from ..errors import ConfigError
from ..ops import Ops
from ..plugins import get_registry
from ..task import Seq2SeqBatch
from ..training.clipping import Clipper
from ..training.optim import build_optimizer, build_schedule
from ..training.step import TrainStep
from .gradcheck import (
    DEFAULT_EPS,
    FLOAT32_MIN_TOLERANCE,
    REL_FLOOR,
    GradCheckReport,
    GradCheckRow,
    numerical_gradient,
)
from .parity import TOLERANCES, ParityReport, TrainTrace, compare

# The variants `seqframe check --seq2seq` runs: every attention kind, with and without a
# bidirectional encoder, input feeding, scheduled sampling and dropout.
VARIANTS = (
    {"attention": "additive", "bidirectional": True},
    {"attention": "general", "bidirectional": True, "input_feed": True},
    {"attention": "dot", "layers": 2},
    {"attention": "general", "sampling": 0.5, "dropout": 0.3},
    {"attention": "additive", "input_feed": True, "layers": 2, "dropout": 0.2},
    {"attention": "none", "bidirectional": True},
)


@dataclass(frozen=True)
class Seq2SeqWorkload:
    """The small encoder-decoder and data of the checks (sentence pairs of random ids)."""

    batch: int = 3
    source_vocab: int = 7
    target_vocab: int = 6
    hidden: int = 3
    embed: int = 2
    source_len: int = 5  # the longest source; the others are shorter
    target_len: int = 4
    seed: int = 0


def synthetic_pairs(work: Seq2SeqWorkload, rng: np.random.Generator) -> Seq2SeqBatch:
    """A batch of random sentence pairs of different lengths (ids 4.. are words; 0 pads)."""
    B, S, T = work.batch, work.source_len, work.target_len
    source_lengths = np.maximum(S - np.arange(B) % S, 1)  # S, S-1, ...: one full row
    target_lengths = np.maximum(T - (np.arange(B) + 1) % T, 1)
    source = rng.integers(1, work.source_vocab, size=(B, S))
    target = rng.integers(1, work.target_vocab, size=(B, T + 1))
    source_mask = np.arange(S)[None, :] < source_lengths[:, None]  # (B, S)
    target_mask = np.arange(T)[None, :] < target_lengths[:, None]  # (B, T)
    target[:, 0] = 2  # <bos>
    return Seq2SeqBatch(np.where(source_mask, source, 0), source_mask,
                        np.where(target_mask, target[:, :-1], 0),
                        np.where(target_mask, target[:, 1:], 0), target_mask)


def make_model(cell: Cell | str, work: Seq2SeqWorkload, **choices) -> Seq2SeqModel:
    """The checks' model: ``choices`` are :class:`Seq2SeqConfig` fields (attention...)."""
    cell = get_registry().load("cell", cell)() if isinstance(cell, str) else cell
    config = Seq2SeqConfig(cell.name, work.source_vocab, work.target_vocab, work.hidden,
                           work.embed, **choices)
    return Seq2SeqModel(config, cell)


def check_seq2seq_gradients(ops: Ops, cell: Cell | str = "gru", *, tolerance: float = 1e-6,
                            eps: float | None = None, work: Seq2SeqWorkload = Seq2SeqWorkload(),
                            **choices) -> GradCheckReport:
    """Analytic against numerical gradients of one window's ``loss_sum``.

    Args:
        ops: the backend (float64 for the default tolerance).
        cell: a registered cell name or a Cell instance.
        choices: :class:`Seq2SeqConfig` fields: ``attention``, ``bidirectional``, ``layers``,
            ``input_feed``, ``sampling``, ``dropout``...

    Returns:
        A :class:`~seqframe.diagnostics.gradcheck.GradCheckReport`.
    """
    if ops.dtype == "float32" and tolerance < FLOAT32_MIN_TOLERANCE:
        raise ConfigError(f"a gradient check in float32 cannot reach a relative tolerance of "
                          f"{tolerance:g}; run it in float64 (--dtype float64).")
    model = make_model(cell, work, **choices)
    rng = np.random.default_rng(work.seed)
    batch = synthetic_pairs(work, rng)
    host = model.init_params(rng)
    params = {name: ops.asarray(value) for name, value in host.items()}
    # dropout masks and sampling choices: the same draws at every evaluation
    draws = work.seed + 1

    # Scheduled sampling picks inputs by argmax, a step function of the parameters: the
    # gradient treats the picked ids as constants, so the differences read them as given.
    fixed, held = model, batch
    if model.config.sampling > 0:
        read = forward(model, ops, params, batch, keep=False,
                       dropout_rng=np.random.default_rng(draws)).dec.ids
        fixed = make_model(model.cell, work, **{**choices, "sampling": 0.0})
        held = replace(batch, target_in=read)

    def loss_at(p) -> float:
        return ops.item(window_loss(fixed, ops, p, held,
                                    dropout_rng=np.random.default_rng(draws))[0])

    result = window_loss_and_grad(model, ops, params, batch,
                                  dropout_rng=np.random.default_rng(draws))
    analytic = {k: ops.to_numpy(g).astype(np.float64) for k, g in result.grads.items()}
    title = (f"gradient check: encoder-decoder ({model.cell.name}) on {ops.describe()}; "
             + ", ".join(f"{k} {v}" for k, v in choices.items()) + ", source and target masks")
    report = GradCheckReport(title, tolerance)
    floor, step = REL_FLOOR[ops.dtype], DEFAULT_EPS[ops.dtype] if eps is None else eps
    for name, value in host.items():
        numeric = numerical_gradient(ops, params, name, value, loss_at, step)
        report.rows.append(GradCheckRow.compare(name, analytic[name], numeric, floor))
    return report


# ---- parity --------------------------------------------------------------------------------


def seq2seq_parity(cell: str = "gru", other_backend: str = "numpy", steps: int = 8,
                   dtype: str = "float64", fused: bool | None = None, *,
                   backend: str = "torch", device: str = "cpu", tolerance: float | None = None,
                   work: Seq2SeqWorkload = Seq2SeqWorkload(batch=5, hidden=6, embed=4),
                   **choices) -> ParityReport:
    """``steps`` optimizer steps of the same encoder-decoder on ``backend`` and
    ``other_backend`` (generic BPTT), per-step losses compared.

    ``fused``: as in :func:`seqframe.diagnostics.parity.parity_check` (the fused kernels run
    the encoder, and the decoder when it runs all positions at once).
    """
    if steps < 1:
        raise ConfigError(f"parity needs at least 1 step; got {steps}.")
    registry = get_registry()
    model = make_model(cell, work, **choices)
    tested_ops = registry.load("backend", backend)(dtype=dtype, device=device)
    reference_ops = registry.load("backend", other_backend)(dtype=dtype, device="cpu")
    recurrence = None if fused is False else model.fused_recurrence(tested_ops)
    if fused is True and recurrence is None:
        raise ConfigError(f"backend {backend!r} has no fused path for cell {cell!r}.")
    rng = np.random.default_rng(work.seed)
    batches = [synthetic_pairs(replace(work, seed=work.seed + i), rng) for i in range(4)]
    tested = _trace(tested_ops, model, batches, work, steps, recurrence)
    reference = _trace(reference_ops, model, batches, work, steps, None)
    kind = "fused" if recurrence is not None else "generic"
    return compare(f"encoder-decoder {model.cell.name}", dtype, tested, reference,
                   tolerance if tolerance is not None else TOLERANCES[(dtype, kind)])


def _trace(ops: Ops, model: Seq2SeqModel, batches: list[Seq2SeqBatch], work: Seq2SeqWorkload,
           steps: int, fused) -> TrainTrace:
    config = RunConfig(lr=1e-2, clip_norm=0.5)
    step = TrainStep(model, ops, build_optimizer(config, ops),
                     Clipper(ops, config.clip_norm, config.clip_value), fused=fused)
    schedule = build_schedule(config, steps)
    params = {k: ops.asarray(v) for k, v in model.init_params(work.seed).items()}
    trace = TrainTrace(ops.name, "generic BPTT")
    dropout_rng = np.random.default_rng(work.seed + 1)
    for i in range(steps):
        result = step(params, batches[i % len(batches)], None, schedule(i),
                      dropout_rng=dropout_rng)
        trace.path = result.path
        trace.clipped += int(result.clipped)
        trace.losses.append(result.loss)
        trace.grad_norms.append(result.grad_norm)
    trace.params = {k: ops.to_numpy(v).astype(np.float64) for k, v in params.items()}
    return trace


# ---- `seqframe check --seq2seq` ------------------------------------------------------------


def run_seq2seq_checks(ops: Ops | None, cell: str, *, parity: str | None = None,
                       backend: str = "numpy", dtype: str = "float64", fused: bool | None = None,
                       steps: int = 8, device: str = "cpu") -> tuple[str, bool]:
    """Every variant of :data:`VARIANTS`: the gradient table on ``ops``, or (``parity``) a short
    training on ``backend`` against ``parity``. Returns the text and whether all passed."""
    blocks, passed = [], True
    for choices in VARIANTS:
        if parity:
            report = seq2seq_parity(cell, other_backend=parity, backend=backend, steps=steps,
                                    dtype=dtype, fused=fused, device=device, **choices)
            text = f"{_label(choices)}\n{report.format()}"
        else:
            report = check_seq2seq_gradients(ops, cell, **choices)
            text = report.format()
        blocks.append(text)
        passed = passed and report.passed
    verdict = f"{sum(1 for b in blocks if 'FAIL' not in b)} of {len(blocks)} variants passed"
    return "\n\n".join(blocks + [verdict]), passed


def _label(choices: dict) -> str:
    return "encoder-decoder: " + ", ".join(f"{k} {v}" for k, v in choices.items())
