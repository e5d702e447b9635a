"""Training throughput of seqframe's torch backend against a hand-written PyTorch loop.

Workload: the char-LM (one-hot V=65, one layer H=256, B=32, T=100, cross-entropy every step,
global-norm clip 5, Adam), float32 on the CPU. Rows: seqframe's torch backend through the fused
kernels (and optionally ``torch:generic``, core's hand-written BPTT on tensors), the numpy
backend, and ``torch-nn`` -- ``nn.LSTM`` + ``nn.Linear`` + ``cross_entropy`` +
``clip_grad_norm_`` + ``torch.optim.Adam`` -- timed in interleaved rounds in the same process at
the same thread count (median round reported). See :mod:`seqframe.diagnostics.bench`.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_torch.py --threads 1 --cells lstm gru rnn \\
        --backends torch numpy --steps 5 --rounds 5 [--json out.json]

Set ``OMP_NUM_THREADS`` to the same count as ``--threads``: NumPy's BLAS reads it at start-up.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cells", nargs="+", default=["lstm"])
    parser.add_argument("--backends", nargs="+", default=["torch", "numpy"],
                        help="NAME or NAME:generic / NAME:fused")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()

    from seqframe.diagnostics.bench import format_rows, run_bench

    rows = run_bench(backends=tuple(args.backends), cells=tuple(args.cells), steps=args.steps,
                     threads=args.threads, rounds=args.rounds, warmup=args.warmup, log=print)
    print(format_rows(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
