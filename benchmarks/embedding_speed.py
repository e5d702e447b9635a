"""Token inputs: an embedding table against one-hot inputs, ms/step and the memory of a step.

Two workloads, one LSTM layer, float32, Adam, clip 5, the trainer's own step:

* ``charlm``: the char-LM of ``seqframe bench`` (V = 66 characters, H = 256, B = 32 streams x
  T = 100), the embedding E = 64 wide;
* ``tokens20k``: a word-level shape (V = 20,000 ids, H = 256, B = 32 x T = 35, E = 256), log-
  uniform (Zipfian) ids, full softmax over V at the readout (the same in every mode).

Three ways in, per backend: ``one-hot rows`` (the task writes (B, T, V) float32 one-hot rows:
charlm's ``-o inputs=onehot``, the format before token inputs), ``ids, one-hot`` (the task
writes ids, the engine makes them one-hot: ``--embed 0``) and ``ids, embedded`` (``--embed E``).
Timing: interleaved rounds in one process, median per step, wall and process CPU time (the
steadier figure on a shared machine); ratios are one-hot rows over each mode. Memory: see
``_tokenbench.memory_report`` (a fresh process per configuration).

    OMP_NUM_THREADS=1 python benchmarks/embedding_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import _threads


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="steps per timed round")
    parser.add_argument("--workloads", nargs="+", default=["charlm", "tokens20k"])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--memory-of", nargs=3, metavar=("WORKLOAD", "BACKEND", "MODE"),
                        help=argparse.SUPPRESS)  # the child process of a memory measurement
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    _threads.pin(ARGS.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _tokenbench as tb  # noqa: E402

WORKLOADS = {  # vocab, hidden, batch, length, embed, Zipfian ids
    "charlm": (66, 256, 32, 100, 64, False),
    "tokens20k": (20000, 256, 32, 35, 256, True),
}
MODES = ("one-hot rows", "ids, one-hot", "ids, embedded")


def make_stepper(workload: str, backend: str, mode: str, cell: str, ops):
    vocab, hidden, _, _, embed, _ = WORKLOADS[workload]
    if mode == "one-hot rows":
        model, convert = tb.model_for(cell, vocab, hidden, tokens=False), tb.one_hot_rows(vocab)
    else:
        model = tb.model_for(cell, vocab, hidden, tokens=True,
                             embed=embed if mode == "ids, embedded" else 0)
        convert = tb.as_ids
    return tb.stepper(f"{backend} {mode}", backend, ops, model, convert)


def batches(workload: str) -> list:
    vocab, _, batch, length, _, zipf = WORKLOADS[workload]
    return tb.random_ids(vocab, batch, length, 4, zipf=zipf)


def memory_child(args) -> None:
    workload, backend, mode = args.memory_of
    ops = tb.make_ops(backend, args.threads)  # the backend's imports before the baseline
    report = tb.memory_report(lambda: make_stepper(workload, backend, mode, args.cell, ops),
                              batches(workload))
    print(json.dumps(report))


def main() -> None:
    args = ARGS
    if args.memory_of:
        memory_child(args)
        return
    print("| workload | backend | input | ms/step (wall) | ms/step (CPU) | one-hot rows / this "
          "(CPU) | peak RSS of training, MiB | one step's peak NumPy allocations, MiB |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for workload in args.workloads:
        vocab = WORKLOADS[workload][0]
        ops = {b: tb.make_ops(b, args.threads) for b in args.backends}
        steps = [make_stepper(workload, b, m, args.cell, ops[b])
                 for b in args.backends for m in MODES]
        times = tb.time_rounds(steps, batches(workload), args.rounds, args.steps)
        del steps  # the memory of each configuration is measured alone, in a fresh process
        for backend in args.backends:
            base = times[f"{backend} one-hot rows"]["cpu"]
            for mode in MODES:
                t = times[f"{backend} {mode}"]
                mem = tb.child_memory([__file__, "--threads", str(args.threads), "--cell",
                                       args.cell, "--memory-of", workload, backend, mode])
                traced = f"{mem['traced']:.1f}" if "traced" in mem else "-"
                print(f"| {workload} (V={vocab}) | {backend} | {mode} | {t['wall']:.1f} | "
                      f"{t['cpu']:.1f} | {base / t['cpu']:.2f}x | {mem['peak_rss']:.1f} | "
                      f"{traced} |", flush=True)


if __name__ == "__main__":
    main()
