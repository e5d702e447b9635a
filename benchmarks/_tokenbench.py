"""Shared by the token-input benchmarks: one training step as the trainer takes it, interleaved
timing rounds, and the memory a step needs at its peak.

A step is :class:`seqframe.training.step.TrainStep` (window -> fused or generic BPTT -> divide
by the count -> clip at norm 5 -> Adam), the same one ``seqframe run`` takes, preceded by
building the host batch from the character or token ids the way a task does (ids as they are, or
one-hot rows), so the one-hot rows' cost is counted where a task pays it.

Memory is measured in a fresh process per configuration (:func:`memory_report`), because a
process's allocator keeps what it freed: the peak resident set size of training (both backends)
and, for numpy, the peak of one step's own allocations by ``tracemalloc``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqframe.config import RunConfig
from seqframe.engine.model import Model, ModelConfig
from seqframe.plugins import get_registry
from seqframe.task import Batch
from seqframe.training.clipping import Clipper
from seqframe.training.optim import build_optimizer
from seqframe.training.step import TrainStep

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Stepper:
    """One configuration to time: ``step(ids)`` takes one optimizer step on (B, T + 1) ids."""

    label: str
    step: Callable[[np.ndarray], float]
    backend: str


def make_ops(backend: str, threads: int):
    """A float32 CPU backend; ``threads`` sets torch's intra-op threads (numpy's BLAS reads
    ``OMP_NUM_THREADS`` at start-up: set it before launching)."""
    cls = get_registry().load("backend", backend)
    if threads:
        cls.set_num_threads(threads)
    return cls(dtype="float32", device="cpu")


def train_step(ops, model: Model, seed: int = 0, lr: float = 1e-3, optimizer: str = "adam"):
    """``(params, TrainStep)`` for ``model`` on ``ops``: Adam (or ``optimizer``), clip 5, fused
    path if any."""
    params = {k: ops.asarray(v) for k, v in model.init_params(seed).items()}
    config = RunConfig(lr=lr, optimizer=optimizer)
    step = TrainStep(model, ops, build_optimizer(config, ops), Clipper(ops, 5.0, 0.0),
                     fused=ops.fused_recurrence(model.cell))
    return params, step


def stepper(label: str, backend: str, ops, model: Model, inputs: Callable[[np.ndarray], np.ndarray],
            lr: float = 1e-3, loss_seed: int = 1) -> Stepper:
    """A :class:`Stepper`: host inputs from the ids (``inputs``), then one TrainStep, the state
    carried from step to step as the char-LM streams carry it."""
    params, train = train_step(ops, model, lr=lr)
    carried = [None]
    loss_rng = np.random.default_rng(loss_seed)

    def step(ids: np.ndarray) -> float:
        batch = Batch(inputs(ids[:, :-1]), np.ascontiguousarray(ids[:, 1:]),
                      np.ones((ids.shape[0], ids.shape[1] - 1), bool),
                      np.zeros(ids.shape[0], bool))
        result = train(params, batch, carried[0], lr, loss_rng=loss_rng)
        carried[0] = result.state
        return result.loss

    return Stepper(label, step, backend)


def model_for(cell: str, vocab: int, hidden: int, *, tokens: bool, embed: int = 0,
              loss=None, tie: bool = False, sparse: bool = False) -> Model:
    cfg = ModelConfig(cell, vocab, hidden, vocab, tokens=tokens, embed=embed, tie_weights=tie,
                      loss=loss.name if loss is not None else "cross_entropy",
                      sparse_grads=sparse)
    return Model(cfg, get_registry().load("cell", cell)(), loss)


def one_hot_rows(vocab: int) -> Callable[[np.ndarray], np.ndarray]:
    """ids (B, T) -> (B, T, V) float32 one-hot rows, as charlm's ``-o inputs=onehot`` builds."""
    def convert(ids: np.ndarray) -> np.ndarray:
        out = np.zeros(ids.shape + (vocab,), dtype=np.float32)
        np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
        return out
    return convert


def as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64)


def time_rounds(steppers: list[Stepper], batches: list[np.ndarray], rounds: int, steps: int,
                warmup: int = 1) -> dict[str, dict[str, float]]:
    """Median wall and process-CPU milliseconds per step of each stepper, rounds interleaved
    (A, B, C, A, B, C, ...) so that all see the same machine load."""
    for s in steppers:
        for i in range(warmup):
            s.step(batches[i % len(batches)])
    wall: dict[str, list[float]] = {s.label: [] for s in steppers}
    cpu: dict[str, list[float]] = {s.label: [] for s in steppers}
    k = 0
    for _ in range(rounds):
        for s in steppers:
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(steps):
                s.step(batches[k % len(batches)])
                k += 1
            wall[s.label].append(1000 * (time.perf_counter() - w0) / steps)
            cpu[s.label].append(1000 * (time.process_time() - c0) / steps)
    return {label: {"wall": statistics.median(wall[label]), "cpu": statistics.median(cpu[label]),
                    "spread": max(wall[label]) / min(wall[label])} for label in wall}


def rss_mib() -> float:
    """This process's resident set size now, MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


class PeakRSS:
    """The largest RSS seen while the ``with`` block runs, MiB, sampled every 0.5 ms by a thread
    (``ru_maxrss`` would also count the import of torch, whose peak can exceed training's)."""

    def __enter__(self) -> PeakRSS:
        self.peak, self._done = rss_mib(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.0005)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


def memory_report(make: Callable[[], Stepper], batches: list[np.ndarray],
                  steps: int = 3) -> dict[str, float]:
    """Run in a fresh process: build the stepper, take ``steps`` steps; returns MiB.

    ``peak_rss``: the process's largest RSS above what it held after its imports, before the
    model existed (parameters, optimizer moments, batches and every transient array included);
    ``traced`` (numpy): NumPy's allocations at their peak during one more step, above those
    held before it (``tracemalloc``; torch's CPU allocator does not report to it).
    """
    base = rss_mib()
    with PeakRSS() as watch:
        s = make()
        for i in range(steps):
            s.step(batches[i % len(batches)])
    out = {"peak_rss": watch.peak - base}
    if s.backend == "numpy":
        tracemalloc.start()
        start, _ = tracemalloc.get_traced_memory()
        s.step(batches[0])
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["traced"] = (top - start) / 2**20
    return out


def child_memory(argv: list[str]) -> dict[str, float]:
    """:func:`memory_report` of a fresh ``python ARGV`` process (it prints one JSON line)."""
    env = dict(os.environ)
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def random_ids(vocab: int, batch: int, length: int, count: int, seed: int = 0,
               zipf: bool = False) -> list[np.ndarray]:
    """``count`` arrays (B, T + 1) of ids: uniform, or log-uniform (a Zipfian vocabulary sorted
    by frequency, as words are)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        if zipf:
            u = rng.random((batch, length + 1))
            ids = np.floor(np.exp(u * np.log(vocab + 1.0))).astype(np.int64) - 1
            out.append(np.clip(ids, 0, vocab - 1))
        else:
            out.append(rng.integers(0, vocab, size=(batch, length + 1)))
    return out
