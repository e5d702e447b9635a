"""Encoder-decoder throughput: seqframe's training step against a hand-written torch loop, and
decoding speed (``seqframe bench --seq2seq``).

The workload is Multi30k-sized translation: batches of B = 128 sentence pairs of 9 to 16 tokens
a side (``<eos>`` included), vocabularies of 8,000 source and 6,000 target ids, embeddings of
E = 256, a bidirectional GRU encoder and a GRU decoder of H = 256, general attention, no
dropout, cross-entropy over the real target tokens, clipping at 1 and Adam. The seqframe row is
the trainer's own :class:`~seqframe.training.step.TrainStep` on the torch backend (fused kernels
for both stacks, the attention and the output layer by hand through Ops); the reference row is
the same model written with ``torch.nn`` and autograd (the torch plugin's
``seq2seq_reference.py``), started from the same weights, in the same process at the same
thread count. Rounds are interleaved and each row reports the median (see
:mod:`seqframe.diagnostics.bench`).

Decoding rows time :class:`~seqframe.engine.seq2seq.EncoderDecoderPredictor.translate` over 256
sources with a budget of 1.5 x the source length + 10: greedy (width 1) and beam search (width 5).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells import GRUCell
from ..config import RunConfig
from ..engine.seq2seq import Seq2SeqConfig, Seq2SeqModel
from ..plugins import get_registry
from ..task import Seq2SeqBatch
from ..training.clipping import Clipper
from ..training.optim import build_optimizer
from ..training.step import TrainStep
from .bench import REFERENCE, REFERENCE_BACKEND, _backend_class, _set_threads, time_interleaved


@dataclass(frozen=True)
class Seq2SeqBenchWorkload:
    """Sizes of the encoder-decoder benchmark (defaults: Multi30k-like, see the module)."""

    source_vocab: int = 8000
    target_vocab: int = 6000
    hidden: int = 256
    embed: int = 256
    layers: int = 1
    batch: int = 128
    shortest: int = 9
    longest: int = 16
    lr: float = 1e-3
    clip_norm: float = 1.0
    seed: int = 0


def make_pairs(work: Seq2SeqBenchWorkload, count: int = 4) -> list[Seq2SeqBatch]:
    """``count`` batches of random sentence pairs (throughput does not depend on the words)."""
    rng = np.random.default_rng(work.seed)
    out = []
    for _ in range(count):
        B, L = work.batch, work.longest
        ls = rng.integers(work.shortest, L + 1, size=B)  # source lengths, <eos> included
        lt = rng.integers(work.shortest, L + 1, size=B)
        source_mask = np.arange(L)[None, :] < ls[:, None]  # (B, S)
        target_mask = np.arange(L)[None, :] < lt[:, None]  # (B, T)
        source = np.where(source_mask, rng.integers(4, work.source_vocab, size=(B, L)), 0)
        words = rng.integers(4, work.target_vocab, size=(B, L + 1))
        words[:, 0] = 2  # <bos>
        out.append(Seq2SeqBatch(source, source_mask, np.where(target_mask, words[:, :-1], 0),
                                np.where(target_mask, words[:, 1:], 0), target_mask))
    return out


def bench_model(work: Seq2SeqBenchWorkload) -> Seq2SeqModel:
    return Seq2SeqModel(Seq2SeqConfig("gru", work.source_vocab, work.target_vocab, work.hidden,
                                      work.embed, layers=work.layers, bidirectional=True,
                                      attention="general"), GRUCell())


def seqframe_stepper(work: Seq2SeqBenchWorkload, backend: str = "torch",
                     dtype: str = "float32") -> Callable[[Seq2SeqBatch], float]:
    """One optimizer step of the trainer's TrainStep on ``backend`` (fused when it can)."""
    ops = get_registry().load("backend", backend)(dtype=dtype, device="cpu")
    model = bench_model(work)
    params = {k: ops.asarray(v) for k, v in model.init_params(work.seed).items()}
    config = RunConfig(lr=work.lr, clip_norm=work.clip_norm)
    step = TrainStep(model, ops, build_optimizer(config, ops),
                     Clipper(ops, config.clip_norm, config.clip_value),
                     fused=model.fused_recurrence(ops))
    return lambda batch: step(params, batch, None, config.lr).loss


def reference_stepper(work: Seq2SeqBenchWorkload, dtype: str = "float32"):
    """The hand-written loop, from the same initial weights, or None without the backend."""
    backend = _backend_class(REFERENCE_BACKEND)
    if backend is None:
        return None
    return backend.seq2seq_reference_stepper(work, dtype,
                                             bench_model(work).init_params(work.seed))


def run_seq2seq_bench(steps: int = 5, rounds: int = 5, warmup: int = 2,
                      threads: int | None = None,
                      work: Seq2SeqBenchWorkload = Seq2SeqBenchWorkload(),
                      dtype: str = "float32", decode_sentences: int = 256,
                      log: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """Training rows (seqframe torch, torch-nn) and decoding rows (width 1 and 5).

    Returns:
        Rows with ``impl``, ``threads``, ``ms_per_step``, ``tokens_per_s`` (target tokens),
        ``cpu_ms_per_step``, ``spread`` and ``vs_reference`` (reference time over this row's),
        then rows with ``impl`` ``beam K``, ``sentences_per_s`` and ``ms_per_sentence``.
    """
    say = log or (lambda _msg: None)
    _set_threads(threads)
    batches = make_pairs(work)
    steppers = {"seqframe torch": seqframe_stepper(work, dtype=dtype)}
    reference = reference_stepper(work, dtype)
    if reference is not None:
        steppers[REFERENCE] = reference
    say(f"timing the encoder-decoder step: {', '.join(steppers)} ({rounds} rounds x {steps} "
        "steps)")
    timings = time_interleaved(steppers, batches, steps, rounds, warmup)
    tokens = statistics.mean(float(b.target_mask.sum()) for b in batches)
    rows = _training_rows(timings, tokens, steps, rounds)
    say(f"timing decoding of {decode_sentences} sentences at widths 1 and 5")
    rows += decoding_rows(work, decode_sentences, dtype, rounds=max(1, rounds // 2))
    return rows


def _training_rows(timings, tokens, steps, rounds) -> list[dict[str, Any]]:
    wall = {k: statistics.median(t[0] for t in v) for k, v in timings.items()}
    cpu = {k: statistics.median(t[1] for t in v) for k, v in timings.items()}
    threads = _threads()
    rows = []
    for name, med in wall.items():
        walls = [t[0] for t in timings[name]]
        ref, ref_cpu = wall.get(REFERENCE), cpu.get(REFERENCE)
        rows.append({"impl": name, "threads": threads, "steps": steps, "rounds": rounds,
                     "ms_per_step": 1000 * med, "tokens_per_s": tokens / med,
                     "cpu_ms_per_step": 1000 * cpu[name], "spread": max(walls) / min(walls),
                     "vs_reference": ref / med if ref else None,
                     "vs_reference_cpu": ref_cpu / cpu[name] if ref_cpu else None})
    return rows


def decoding_rows(work: Seq2SeqBenchWorkload, sentences: int, dtype: str,
                  rounds: int = 2) -> list[dict[str, Any]]:
    """Sentences per second of greedy and width-5 beam search (median of ``rounds``)."""
    ops = get_registry().load("backend", REFERENCE_BACKEND)(dtype=dtype, device="cpu")
    model = bench_model(work)
    predictor = model.predictor(ops, {k: ops.asarray(v)
                                      for k, v in model.init_params(work.seed).items()})
    pairs = make_pairs(Seq2SeqBenchWorkload(**{**work.__dict__, "batch": sentences}), 1)[0]
    budget = (1.5 * (pairs.source_mask.sum(axis=1) - 1)).astype(np.int64) + 10
    rows = []
    for beam in (1, 5):
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            predictor.translate(pairs.source, pairs.source_mask, beam=beam, max_len=budget)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        rows.append({"impl": f"beam {beam}", "threads": _threads(),
                     "sentences_per_s": sentences / seconds,
                     "ms_per_sentence": 1000 * seconds / sentences})
    return rows


def _threads() -> int:
    cls = _backend_class(REFERENCE_BACKEND)
    return (cls.num_threads() if cls is not None else None) or 1


def format_seq2seq_rows(rows: list[dict[str, Any]]) -> str:
    """Two plain-text tables: training steps, then decoding."""
    train = [r for r in rows if "ms_per_step" in r]
    decode = [r for r in rows if "sentences_per_s" in r]
    lines = [f"{'implementation':16} {'thr':>3} {'ms/step':>8} {'tgt tok/s':>9} {'spread':>6} "
             f"{'vs torch-nn':>11} {'cpu ms':>8} {'vs (cpu)':>8}"]
    for r in train:
        ratio = f"{r['vs_reference']:.3f}x" if r["vs_reference"] else "-"
        ratio_cpu = f"{r['vs_reference_cpu']:.3f}x" if r["vs_reference_cpu"] else "-"
        lines.append(f"{r['impl']:16} {r['threads']:>3} {r['ms_per_step']:8.1f} "
                     f"{r['tokens_per_s']:9.0f} {r['spread']:6.2f} {ratio:>11} "
                     f"{r['cpu_ms_per_step']:8.1f} {ratio_cpu:>8}")
    lines += ["", f"{'decoding':16} {'thr':>3} {'sentences/s':>11} {'ms/sentence':>11}"]
    for r in decode:
        lines.append(f"{r['impl']:16} {r['threads']:>3} {r['sentences_per_s']:11.1f} "
                     f"{r['ms_per_sentence']:11.2f}")
    return "\n".join(lines)
