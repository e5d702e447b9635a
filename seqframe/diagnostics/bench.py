"""Training throughput on the char-LM workload: seqframe's backends against a hand-written loop.

The workload is the classic character-level language model: one-hot inputs over V = 65 symbols,
one recurrent layer of H = 256, batches of B = 32 streams by T = 100 steps, the hidden state carried
from batch to batch, softmax cross-entropy at every step, global-norm clipping at 5 and Adam. Each
seqframe row runs one optimizer step exactly as the trainer does it (window -> fused or generic
BPTT -> divide by the count -> clip -> Adam, one ``item`` for the logged loss); the reference row
is the same model written by hand in PyTorch (``nn.LSTM`` + ``nn.Linear`` + ``cross_entropy`` +
``clip_grad_norm_`` + ``torch.optim.Adam``) in the same process at the same thread count.

The machine may be shared, so implementations are timed in interleaved rounds (A, B, A, B, ...)
and each row reports the median round; ``spread`` is the slowest over the fastest round. Rows
also give process CPU time per step, which a busy neighbour disturbs far less than the wall
clock (for 1-thread runs it is the figure to compare).

Threads: ``threads`` sets torch's intra-op thread count. NumPy's BLAS reads its thread count once
at start-up, so for numpy rows set ``OMP_NUM_THREADS`` (or ``OPENBLAS_NUM_THREADS``) before
launching; each row states the count it ran with.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RunConfig
from ..engine.model import Model, ModelConfig
from ..errors import ConfigError, PluginError, UsageError
from ..plugins import get_registry
from ..task import Batch
from ..training.clipping import Clipper
from ..training.optim import build_optimizer
from ..training.step import TrainStep

REFERENCE = "torch-nn"  # the row label of the hand-written loop
REFERENCE_BACKEND = "torch"  # the backend that supplies it


@dataclass(frozen=True)
class Workload:
    """Sizes of the benchmark (defaults: the char-LM of Karpathy's char-rnn, one layer)."""

    vocab: int = 65
    hidden: int = 256
    batch: int = 32
    length: int = 100
    layers: int = 1
    lr: float = 2e-3
    clip_norm: float = 5.0
    seed: int = 0

    @property
    def tokens_per_step(self) -> int:
        return self.batch * self.length


def make_batches(work: Workload, count: int = 4) -> list[Batch]:
    """``count`` host batches of random symbols (throughput does not depend on the text)."""
    rng = np.random.default_rng(work.seed)
    eye = np.eye(work.vocab, dtype=np.float32)
    out = []
    for _ in range(count):
        ids = rng.integers(0, work.vocab, size=(work.batch, work.length + 1))  # (B, T+1)
        out.append(Batch(
            inputs=eye[ids[:, :-1]],  # (B, T, V) one-hot
            targets=ids[:, 1:].astype(np.int64),  # (B, T) next symbol
            mask=np.ones((work.batch, work.length), dtype=bool),
            reset=np.zeros(work.batch, dtype=bool),
        ))
    return out


# ---- one implementation = a "step" callable --------------------------------------------------


def parse_backend(spec: str) -> tuple[str, bool | None]:
    """``"torch"`` -> ("torch", None: fused when available); ``"torch:generic"`` forces core's
    generic BPTT; ``"torch:fused"`` insists on the fused path."""
    name, _, path = spec.partition(":")
    if path not in ("", "generic", "fused"):
        raise ConfigError(
            f"bench backend {spec!r}: the part after ':' must be 'generic' or 'fused' "
            f"(e.g. torch:generic)."
        )
    return name, {"": None, "generic": False, "fused": True}[path]


def seqframe_stepper(spec: str, cell: str, work: Workload,
                     dtype: str = "float32") -> tuple[Callable[[Batch], float], str]:
    """One optimizer step of seqframe on backend ``spec`` -- the trainer's own
    :class:`~seqframe.training.step.TrainStep` -- and its label."""
    backend, fused = parse_backend(spec)
    registry = get_registry()
    ops = registry.load("backend", backend)(dtype=dtype, device="cpu")
    model = Model(
        ModelConfig(cell=cell, input_size=work.vocab, hidden_size=work.hidden,
                    output_size=work.vocab, layers=work.layers),
        registry.load("cell", cell)(),
    )
    params = {k: ops.asarray(v) for k, v in model.init_params(work.seed).items()}
    config = RunConfig(lr=work.lr, clip_norm=work.clip_norm)
    recurrence = ops.fused_recurrence(model.cell) if fused is not False else None
    if fused and recurrence is None:
        raise ConfigError(f"backend {backend!r} has no fused path for cell {cell!r}.")
    label = f"seqframe {backend} {'fused' if recurrence is not None else 'generic'}"
    train_step = TrainStep(model, ops, build_optimizer(config, ops),
                           Clipper(ops, config.clip_norm, config.clip_value), fused=recurrence)
    carried = [model.zero_state(ops, work.batch)]

    def step(batch: Batch) -> float:
        result = train_step(params, batch, carried[0], config.lr)
        carried[0] = result.state
        return result.loss

    return step, label


def reference_stepper(cell: str, work: Workload, dtype: str = "float32"):
    """The hand-written native loop the reference backend offers as the bar to reach, or None
    (:meth:`seqframe.ops.Ops.reference_stepper`; asking through the registry keeps core free of
    any backend's imports)."""
    backend = _backend_class(REFERENCE_BACKEND)
    return backend.reference_stepper(cell, work, dtype) if backend is not None else None


def _backend_class(name: str):
    try:
        return get_registry().load("backend", name)
    except (PluginError, UsageError):  # not installed or not registered: no reference row
        return None


# ---- timing ----------------------------------------------------------------------------------


def _time_round(step: Callable[[Batch], float], batches: list[Batch],
                steps: int) -> tuple[float, float]:
    """Wall and process-CPU seconds per step over ``steps`` steps.

    CPU time is the steadier figure on a shared machine: another process taking a core stretches
    the wall clock of a 1-thread run but not the CPU time it spends.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(batches[i % len(batches)])
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def time_interleaved(steppers: dict[str, Callable[[Batch], float]], batches: list[Batch],
                     steps: int, rounds: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) seconds per step of each implementation, one entry per round, interleaved."""
    for step in steppers.values():
        _time_round(step, batches, max(warmup, 1))
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            timings[name].append(_time_round(step, batches, steps))
    return timings


def _threads_of(backend: str) -> int:
    name = REFERENCE_BACKEND if backend == REFERENCE else backend
    cls = _backend_class(name)
    threads = cls.num_threads() if cls is not None else None
    if threads is not None:
        return threads
    raw = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return int(raw) if raw and raw.isdigit() else (os.cpu_count() or 1)


def run_bench(backends: tuple[str, ...] = ("torch", "numpy"), cells: tuple[str, ...] = ("lstm",),
              steps: int = 10, threads: int | None = None, rounds: int = 5, warmup: int = 2,
              work: Workload = Workload(), dtype: str = "float32", reference: bool = True,
              log: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """Measure training throughput; one row per (cell, implementation).

    Args:
        backends: seqframe backends to time, each ``NAME`` (fused path when the backend has
            one) or ``NAME:generic`` (core's hand-written BPTT) or ``NAME:fused``.
        cells: ``rnn``, ``lstm`` and/or ``gru``.
        steps: optimizer steps per timed round.
        threads: torch's intra-op threads (None keeps torch's default).
        rounds: interleaved rounds; rows report the median.
        warmup: untimed steps per implementation first (allocator, kernel selection).
        work: the sizes (default: the char-LM workload).
        dtype: ``float32`` (default) or ``float64``.
        reference: also time the hand-written torch.nn loop (when torch is installed).
        log: progress lines (None: silent).

    Returns:
        Rows with ``cell``, ``impl``, ``backend``, ``threads``, ``ms_per_step`` (median wall),
        ``tokens_per_s``, ``cpu_ms_per_step`` (median process CPU time), ``spread`` (slowest
        over fastest round) and ``vs_reference``/``vs_reference_cpu`` (the torch-nn row's time
        over this row's: above 1 is faster than the hand-written loop; None without it).
    """
    say = log or (lambda _msg: None)
    batches = make_batches(work)
    rows: list[dict[str, Any]] = []
    for cell in cells:
        steppers: dict[str, Callable] = {}
        owners: dict[str, str] = {}
        _set_threads(threads)
        for spec in backends:
            step, label = seqframe_stepper(spec, cell, work, dtype)
            steppers[label], owners[label] = step, parse_backend(spec)[0]
        step = reference_stepper(cell, work, dtype) if reference else None
        if step is not None:
            steppers[REFERENCE], owners[REFERENCE] = step, REFERENCE
        say(f"timing {cell}: {', '.join(steppers)} ({rounds} rounds x {steps} steps)")
        timings = time_interleaved(steppers, batches, steps, rounds, warmup)
        rows += _rows(cell, timings, owners, work, dtype, steps, rounds)
    return rows


def _rows(cell, timings, owners, work, dtype, steps, rounds) -> list[dict[str, Any]]:
    wall = {name: statistics.median(t[0] for t in ts) for name, ts in timings.items()}
    cpu = {name: statistics.median(t[1] for t in ts) for name, ts in timings.items()}
    ref, ref_cpu = wall.get(REFERENCE), cpu.get(REFERENCE)
    rows = []
    for name, med in wall.items():
        walls = [t[0] for t in timings[name]]
        rows.append({
            "cell": cell, "impl": name, "backend": owners[name], "dtype": dtype,
            "threads": _threads_of(owners[name]), "steps": steps, "rounds": rounds,
            "ms_per_step": 1000.0 * med, "tokens_per_s": work.tokens_per_step / med,
            "cpu_ms_per_step": 1000.0 * cpu[name], "spread": max(walls) / min(walls),
            "vs_reference": (ref / med) if ref else None,
            "vs_reference_cpu": (ref_cpu / cpu[name]) if ref_cpu and cpu[name] > 0 else None,
        })
    return rows


def _set_threads(threads: int | None) -> None:
    cls = _backend_class(REFERENCE_BACKEND)
    if threads is not None and cls is not None:
        cls.set_num_threads(int(threads))


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`run_bench`'s rows (ratios: reference time / this time)."""
    head = (f"{'cell':5} {'implementation':24} {'thr':>3} {'ms/step':>8} {'tokens/s':>9} "
            f"{'spread':>6} {'vs torch-nn':>11} {'cpu ms':>8} {'vs (cpu)':>8}")
    lines = [head]
    for r in rows:
        ratio = f"{r['vs_reference']:.3f}x" if r["vs_reference"] else "-"
        ratio_cpu = f"{r['vs_reference_cpu']:.3f}x" if r["vs_reference_cpu"] else "-"
        lines.append(f"{r['cell']:5} {r['impl']:24} {r['threads']:>3} {r['ms_per_step']:8.1f} "
                     f"{r['tokens_per_s']:9.0f} {r['spread']:6.2f} {ratio:>11} "
                     f"{r['cpu_ms_per_step']:8.1f} {ratio_cpu:>8}")
    return "\n".join(lines)
