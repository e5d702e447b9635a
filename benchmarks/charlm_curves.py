"""Validation loss against training wall time on tiny-shakespeare, for every cell and backend.

Each (backend, cell) pair trains the same char-LM (1 layer, H=256, B=32, T=100, Adam 2e-3) for
the same time budget, through the ordinary `seqframe run` path, and the table reads each run's
``metrics.jsonl`` (val loss and the training wall time at each evaluation).

    OMP_NUM_THREADS=1 python benchmarks/charlm_curves.py --budget 240 --parallel 2

``--parallel 2`` runs two trainings at a time, one thread each (on a 2-core machine, one core
each); the wall-time column is each run's own training time. Plugin cells run the same way once
installed (``--cells indrnn mingru`` with docs/plugins/examples/*-cell installed), and
``--layer-norm`` trains the layer-normalised variants of ``lstm`` and ``gru``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def train(backend: str, cell: str, budget: float, out: Path, hidden: int,
          layer_norm: bool = False) -> Path:
    run_dir = out / f"{backend}-{cell}{'-ln' if layer_norm else ''}"
    cmd = [sys.executable, "-m", "seqframe", "run", "--task", "charlm", "--backend", backend,
           "--cell", cell, "--hidden", str(hidden), "--batch-size", "32", "--bptt", "100",
           "--lr", "2e-3", "--steps", "100000", "--time-budget", str(budget),
           "--eval-every", "100", "--seed", "0", "--out", str(run_dir), "--quiet"]
    cmd += ["--layer-norm"] * layer_norm
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    subprocess.run(cmd, check=True, env=env)
    return run_dir


def curve(run_dir: Path) -> list[tuple[float, int, float]]:
    """(training seconds, step, val loss) at every evaluation."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["wall_seconds"], r["step"], r["val"]["loss"]) for r in records]


def table(curves: dict[str, list[tuple[float, int, float]]], marks: list[float]) -> str:
    """Best val loss reached by each time mark, one row per run."""
    head = "| run | steps | " + " | ".join(f"<= {m:.0f} s" for m in marks) + " | best |"
    lines = [head, "|" + "---|" * (len(marks) + 3)]
    for name, points in curves.items():
        cells = []
        for mark in marks:
            seen = [loss for t, _, loss in points if t <= mark]
            cells.append(f"{min(seen):.3f}" if seen else "-")
        best = min(loss for _, _, loss in points)
        lines.append(f"| {name} | {points[-1][1]} | " + " | ".join(cells) + f" | {best:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="training seconds per run")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--backends", nargs="+", default=["torch", "numpy"])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--layer-norm", action="store_true",
                        help="the layer-normalised lstm/gru (seqframe run --layer-norm)")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/charlm-curves"))
    args = parser.parse_args()
    pairs = [(b, c) for b in args.backends for c in args.cells]
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        dirs = list(pool.map(lambda p: train(*p, args.budget, args.out, args.hidden,
                                             args.layer_norm), pairs))
    suffix = " (layer norm)" if args.layer_norm else ""
    curves = {f"{b} {c}{suffix}": curve(d) for (b, c), d in zip(pairs, dirs, strict=True)}
    marks = [args.budget * f for f in (0.25, 0.5, 0.75, 1.0)]
    print(table(curves, marks))


if __name__ == "__main__":
    main()
