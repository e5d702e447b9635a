"""Exploding gradients made visible: the same Elman run without and with gradient clipping.

Trains ``docs/benchmarks/exploding.toml`` twice -- ``clip_norm = 0`` and ``--clip-norm 1`` --
reads every step's pre-clip gradient norm from each run's ``metrics.jsonl`` (the run file
validates after every step), and plots both on a log scale. The unclipped run is expected to
stop with a non-finite loss; that is the point, not a failure of the script.

    OMP_NUM_THREADS=1 python benchmarks/exploding.py --plot docs/images/exploding-grad-norms.png

Finished runs under ``--out`` are reused.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import seqframe
from seqframe.errors import NonFiniteError

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE.parent / "docs" / "benchmarks" / "exploding.toml"


def train(config_file: str, clip_norm: float, out: Path) -> str:
    """Run once (unless ``out`` already holds a finished or diverged run); say how it ended."""
    marker = out / "outcome.txt"
    if marker.exists():
        return marker.read_text().strip()
    overrides = {"clip_norm": clip_norm, "out": str(out), "quiet": True}
    try:
        summary = seqframe.train(config_file, log=lambda _line: None, **overrides).summary
        outcome = (
            f"finished {summary['steps']} steps, test mse {summary['metrics']['test']['mse']:.4f}"
        )
    except NonFiniteError as exc:
        outcome = f"diverged: {str(exc).split(' (')[0]}"
    marker.write_text(outcome + "\n")
    return outcome


def grad_norms(run_dir: Path) -> tuple[list[int], list[float]]:
    """(step, pre-clip gradient norm) of every logged step with a finite norm."""
    steps, norms = [], []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        norm = record.get("grad_norm")
        if norm is not None and math.isfinite(norm):
            steps.append(record["step"])
            norms.append(norm)
    return steps, norms


def plot(curves: dict[str, tuple[list[int], list[float]]], path: Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for label, (steps, norms) in curves.items():
        ax.plot(steps, norms, label=label, linewidth=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("global gradient norm before clipping")
    ax.set_title("Elman RNN, adding T=50, SGD lr 0.1 momentum 0.9", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--clip-norm", type=float, default=1.0, help="the clipped run's bound")
    parser.add_argument("--out", default="runs/exploding")
    parser.add_argument("--plot", default="runs/exploding/grad-norms.png")
    args = parser.parse_args(argv)
    curves = {}
    for clip in (0.0, args.clip_norm):
        run_dir = Path(args.out) / f"clip-{clip:g}"
        outcome = train(args.config, clip, run_dir)
        steps, norms = grad_norms(run_dir)
        label = "no clipping" if clip == 0 else f"--clip-norm {clip:g}"
        curves[label] = (steps, norms)
        print(
            f"{label:>16}: {outcome}; {len(norms)} steps logged, largest pre-clip norm "
            f"{max(norms):.3g}, median {sorted(norms)[len(norms) // 2]:.3g}"
        )
    print(f"plot: {plot(curves, Path(args.plot))}")


if __name__ == "__main__":
    main()
