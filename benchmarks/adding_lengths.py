"""Success on the adding problem by sequence length for each cell: vanishing gradients as a table.

Trains one run per (cell, length, seed) from the run file ``docs/benchmarks/adding.toml`` (same
optimizer, steps and sizes for every cell), reads each run's test ``mse`` from its
``summary.json``, and prints a Markdown table. A run counts as a success when its test mse is at
most ``--threshold`` (0.01; predicting the mean scores ~0.167). Finished runs are reused, so an
interrupted table continues where it stopped.

    OMP_NUM_THREADS=1 python benchmarks/adding_lengths.py                      # the full table
    python benchmarks/adding_lengths.py --cells rnn lstm --lengths 10 50 --steps 1000

Results go to ``--out`` (default runs/adding-lengths): one run directory per cell, length and
seed, ``results.json`` and ``table.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import seqframe

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE.parent / "docs" / "benchmarks" / "adding.toml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[10, 20, 50, 100, 200])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="the run file")
    parser.add_argument("--backend", help="override the run file's backend")
    parser.add_argument("--steps", type=int, help="override the run file's steps")
    parser.add_argument("--threshold", type=float, default=0.01, help="success: test mse <= this")
    parser.add_argument("--out", default="runs/adding-lengths")
    return parser.parse_args(argv)


def one_run(args: argparse.Namespace, cell: str, length: int, seed: int) -> dict:
    """Train (or reuse) one run; return its row of the results."""
    run_dir = Path(args.out) / f"{cell}-T{length}-seed{seed}"
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
    else:
        overrides = {
            "cell": cell,
            "seed": seed,
            "options": {"length": length},
            "out": str(run_dir),
            "quiet": True,
        }
        if args.backend:
            overrides["backend"] = args.backend
        if args.steps:
            overrides["steps"] = args.steps
        tick = time.perf_counter()
        summary = seqframe.train(args.config, log=lambda _line: None, **overrides).summary
        print(
            f"{cell:>5} T={length:<4} seed {seed}: test mse "
            f"{summary['metrics']['test']['mse']:.4f} in {time.perf_counter() - tick:.0f} s",
            flush=True,
        )
    return {
        "cell": cell,
        "length": length,
        "seed": seed,
        "test_mse": summary["metrics"]["test"]["mse"],
        "predict_mean_mse": summary["baselines"]["predict_mean"]["mse"],
        "steps": summary["steps"],
        "wall_seconds": summary["wall_seconds"],
        "backend": summary["backend"],
        "run_dir": str(run_dir),
    }


def format_table(rows: list[dict], cells: list[str], lengths: list[int], threshold: float) -> str:
    """Markdown: one row per length, one column per cell, test mse with a success mark."""
    head = "| T | " + " | ".join(cells) + " | predict mean |"
    lines = [head, "|---:|" + "---:|" * (len(cells) + 1)]
    for length in lengths:
        cols = []
        for cell in cells:
            mses = [r["test_mse"] for r in rows if r["cell"] == cell and r["length"] == length]
            wins = sum(m <= threshold for m in mses)
            shown = " / ".join(f"{m:.4f}" for m in mses)
            mark = "solved" if wins == len(mses) else ("no" if wins == 0 else f"{wins}/{len(mses)}")
            cols.append(f"{shown} ({mark})" if mses else "-")
        base = [r["predict_mean_mse"] for r in rows if r["length"] == length]
        cols.append(f"{base[0]:.4f}" if base else "-")
        lines.append(f"| {length} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        one_run(args, cell, length, seed)
        for length in args.lengths
        for cell in args.cells
        for seed in args.seeds
    ]
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = format_table(rows, args.cells, args.lengths, args.threshold)
    (out / "table.md").write_text(table + "\n")
    print(
        f"\ntest mse on the adding problem (success: <= {args.threshold}); "
        f"run file {args.config}\n\n{table}"
    )


if __name__ == "__main__":
    main()
