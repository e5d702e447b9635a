"""Compare finished translate runs: test scores greedy and with beam 5, and BLEU against time.

    OMP_NUM_THREADS=2 python benchmarks/translate_runs.py RUN_DIR [RUN_DIR ...] \
        [--beams 1,5] [--plot docs/images/translate-bleu-vs-time.png] [--backend torch]

For every run: its best checkpoint's test ``bleu`` (lowercased), ``bleu_cased``, ``chrf`` and
decoding time at each beam width (the run's own options otherwise, e.g. its length penalty), its
training time, and the validation BLEU of each epoch against the wall-clock seconds of training
(``metrics.jsonl``). ``--plot`` draws those curves, one per run, labelled by the run directory's
name. Prints a table, then the JSON of everything.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import seqframe


def score(run_dir: Path, beams: list[int], backend: str | None) -> dict:
    """Test metrics of a run's best checkpoint at each beam width, with seconds to decode."""
    run = seqframe.load(run_dir, backend)
    task = run.task
    out = {}
    for beam in beams:
        task.opts["beam"] = beam
        start = time.perf_counter()
        metrics = task.evaluate(run.predictor, "test")
        out[f"beam {beam}"] = {**metrics, "seconds": round(time.perf_counter() - start, 1)}
    return out


def curve(run_dir: Path) -> list[tuple[float, float]]:
    """(training seconds, validation BLEU) of every evaluation in ``metrics.jsonl``."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["wall_seconds"], r["val"]["bleu"]) for r in records]


def plot(curves: dict[str, list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, points in curves.items():
        ax.plot([s / 60 for s, _ in points], [b for _, b in points], marker="o", ms=3,
                label=name)
    ax.set_xlabel("training wall time (minutes, 2-core CPU)")
    ax.set_ylabel("validation BLEU (greedy, lowercased)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    beams = [int(b) for b in args.beams.split(",")]
    report = {}
    for run_dir in args.runs:
        summary = json.loads((run_dir / "summary.json").read_text())
        report[run_dir.name] = {"wall_seconds": summary["wall_seconds"],
                                "steps": summary["steps"], "epochs": summary["epochs"],
                                "best_step": summary["best_step"],
                                "test": score(run_dir, beams, args.backend),
                                "curve": curve(run_dir)}
    print(f"{'run':24} {'beam':>4} {'bleu':>6} {'cased':>6} {'chrf':>6} {'decode s':>8} "
          f"{'train min':>9}")
    for name, r in report.items():
        for beam, m in r["test"].items():
            print(f"{name:24} {beam.split()[1]:>4} {m['bleu']:6.2f} {m['bleu_cased']:6.2f} "
                  f"{m['chrf']:6.2f} {m['seconds']:8.1f} {r['wall_seconds'] / 60:9.1f}")
    if args.plot is not None:
        plot({name: r["curve"] for name, r in report.items()}, args.plot)
        print(f"wrote {args.plot}")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
