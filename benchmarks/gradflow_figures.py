"""The gradient-flow figures of docs/concepts/vanishing-gradients.md.

1. Fresh weights: mean ||dE_T/dh_{T-k}|| against the lag k for rnn, lstm and gru at T = 100
   (the same numbers as ``seqframe check --backend numpy --cell rnn,lstm,gru --grad-flow
   --layers 1``).
2. Trained weights: the same curve for each T = 100 run that ``benchmarks/adding_lengths.py``
   trained (run it first), on one plot.

    OMP_NUM_THREADS=1 python benchmarks/gradflow_figures.py --images docs/images

Both are computed in float64 on the numpy backend: the Elman network's longest lags have norms
far below what float32 can hold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seqframe.diagnostics.gradflow import GradFlow, gradient_flow
from seqframe.plugins import get_registry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/adding-lengths", help="adding_lengths.py --out")
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--images", default="runs/gradflow", help="where the PNGs go")
    args = parser.parse_args(argv)
    images = Path(args.images)
    images.mkdir(parents=True, exist_ok=True)
    ops = get_registry().load("backend", "numpy")(dtype="float64")

    fresh = gradient_flow(ops, ["rnn", "lstm", "gru"], length=args.length)
    print(fresh.format_table())
    print(f"wrote {fresh.plot(images / 'gradflow-fresh.png')}\n")

    trained = {}
    for cell in ("rnn", "lstm", "gru"):
        run_dir = Path(args.runs) / f"{cell}-T{args.length}-seed0"
        if (run_dir / "summary.json").exists():
            trained.update(gradient_flow(ops, run_dir=run_dir).norms)
        else:
            print(f"(no finished run {run_dir}; run benchmarks/adding_lengths.py first)")
    if trained:
        # Relative to lag 0: a solved run has a tiny error, so its absolute gradients are small.
        flow = GradFlow(trained, f"trained on adding T={args.length}, numpy float64", 32).relative()
        print(flow.format_table())
        print(f"wrote {flow.plot(images / 'gradflow-trained.png')}")


if __name__ == "__main__":
    main()
