"""Sampled softmax against the full softmax over large vocabularies: ms/step and its ratio.

A word-level language-model shape: token ids embedded E = 256 wide, one LSTM layer of H = 256,
B = 32 streams x T = 35 steps, the readout over V = 20,000 and 100,000 classes, float32, Adam,
clip 5; log-uniform (Zipfian) ids, as a vocabulary sorted by frequency gives. ``full``: the
softmax over all V classes (``cross_entropy``); ``sampled``: ``sampled_softmax`` with 512
classes drawn per window from the log-uniform proposal.

Two timings per configuration, rounds interleaved in one process, median, wall and process CPU
time (the steadier figure on a shared machine):

* ``step``: the trainer's whole optimizer step (:class:`seqframe.training.step.TrainStep`);
* ``loss+grad``: forward, loss and backward only (``window_loss_and_grad``): what the loss
  changes, without the clipping and the optimizer's update of the V x E tables.

``--sparse-grads`` trains both with row-sparse embedding (and, sampled, readout) gradients: only
the rows a step touched are clipped and updated (lazy Adam).

    OMP_NUM_THREADS=1 python benchmarks/sampled_softmax_speed.py --threads 1
    OMP_NUM_THREADS=1 python benchmarks/sampled_softmax_speed.py --threads 1 --sparse-grads
    OMP_NUM_THREADS=1 python benchmarks/sampled_softmax_speed.py --threads 1 --vocab 100000 \
        --optimizer sgd     # SGD with momentum 0.9: no fused kernel on torch
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import _threads


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vocab", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"])
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embed", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=35)
    parser.add_argument("--tie", action="store_true", help="tie the readout to the embedding")
    parser.add_argument("--optimizer", default="adam",
                        help="adam (dense moments over the V x E tables) or sgd")
    parser.add_argument("--sparse-grads", action="store_true",
                        help="row-sparse embedding and sampled-readout gradients, both losses: "
                             "only the rows a step touched are updated")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    _threads.pin(ARGS.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _tokenbench as tb  # noqa: E402
import numpy as np  # noqa: E402

from seqframe.engine.bptt import to_window, window_loss_and_grad  # noqa: E402
from seqframe.losses import CrossEntropy, SampledSoftmax  # noqa: E402
from seqframe.task import Batch  # noqa: E402


def configuration(ops, backend: str, vocab: int, loss, args):
    """(one optimizer step, one loss+grad) callables on (B, T + 1) ids."""
    model = tb.model_for("lstm", vocab, args.hidden, tokens=True, embed=args.embed, loss=loss,
                         tie=args.tie, sparse=args.sparse_grads)
    params, train = tb.train_step(ops, model, optimizer=args.optimizer)
    rng = np.random.default_rng(1)

    def batch(ids):
        return Batch(ids[:, :-1], np.ascontiguousarray(ids[:, 1:]),
                     np.ones((ids.shape[0], ids.shape[1] - 1), bool), np.zeros(ids.shape[0], bool))

    def step(ids):
        train(params, batch(ids), None, 1e-3, loss_rng=rng)

    def loss_grad(ids):
        window_loss_and_grad(model, ops, params, to_window(ops, batch(ids)), None, loss_rng=rng)

    return step, loss_grad


def timed(fn, ids) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(ids)
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def measure(backend: str, vocab: int, args) -> dict:
    ops = tb.make_ops(backend, args.threads)
    batches = tb.random_ids(vocab, args.batch, args.length, 3, zipf=True)
    losses = {"full": CrossEntropy(), "sampled": SampledSoftmax(samples=args.samples)}
    fns = {name: configuration(ops, backend, vocab, loss, args) for name, loss in losses.items()}
    for step, loss_grad in fns.values():  # warm-up: allocator, kernels, optimizer moments
        step(batches[0])
        loss_grad(batches[0])
    got: dict = {(n, what): [] for n in fns for what in ("step", "loss+grad")}
    for r in range(args.rounds):
        ids = batches[(r + 1) % len(batches)]
        for name, (step, loss_grad) in fns.items():
            got[(name, "step")].append(timed(step, ids))
            got[(name, "loss+grad")].append(timed(loss_grad, ids))
    return {key: (statistics.median(w for w, _ in vals), statistics.median(c for _, c in vals))
            for key, vals in got.items()}


def main() -> None:
    args = ARGS
    print(f"B={args.batch} T={args.length} H={args.hidden} E={args.embed} tied={args.tie} "
          f"samples={args.samples} rounds={args.rounds} threads={args.threads} "
          f"optimizer={args.optimizer} sparse_grads={args.sparse_grads}")
    print("| V | backend | timed | full ms (wall / CPU) | sampled ms (wall / CPU) | "
          "full / sampled (wall) | full / sampled (CPU) |")
    print("|---:|---|---|---:|---:|---:|---:|")
    for vocab in args.vocab:
        for backend in args.backends:
            t = measure(backend, vocab, args)
            for what in ("step", "loss+grad"):
                (fw, fc), (sw, sc) = t[("full", what)], t[("sampled", what)]
                print(f"| {vocab:,} | {backend} | {what} | {fw:.0f} / {fc:.0f} | "
                      f"{sw:.0f} / {sc:.0f} | {fw / sw:.1f}x | {fc / sc:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
