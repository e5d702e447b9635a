"""Run a forecasting benchmark config over several seeds; print per-seed and mean +- std scores.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/timeseries_seeds.py \
        --config docs/benchmarks/timeseries-airline.toml --seeds 0 1 2 3 4

Another series: add ``--data FILE.csv -o target=COLUMN``. Only ``--seed`` changes between runs
(model initialisation, window order, dropout); the splits are fixed by the config. The std is the
sample standard deviation (ddof=1) over seeds. Baselines do not depend on the seed; they are
printed once, scored on exactly the test windows the model is scored on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from seqframe.runs import resolve_config, run

METRICS = ("mape", "smape", "mase", "mae", "rmse")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="benchmark TOML (docs/benchmarks/...)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", help="override the config's data")
    parser.add_argument("--backend", help="override the config's backend")
    parser.add_argument("-o", dest="options", action="append", default=[], metavar="KEY=VALUE",
                        help="override a task option; repeatable")
    parser.add_argument("--out", help="parent folder of the run directories (default: temp)")
    parser.add_argument("--json", help="also write the per-seed results to this file")
    return parser.parse_args()


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} +- {std:.3f}"


def overrides(args: argparse.Namespace, seed: int, out: Path) -> dict:
    flags = {"seed": seed, "out": str(out / f"seed{seed}"), "quiet": True}
    flags.update({k: v for k, v in (("data", args.data), ("backend", args.backend)) if v})
    if args.options:
        flags["options"] = dict(item.split("=", 1) for item in args.options)
    return flags


def main() -> None:
    args = parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="timeseries-seeds-"))
    results = []
    for seed in args.seeds:
        summary = run(resolve_config(overrides(args, seed, out), args.config),
                      log=lambda _line: None)
        test = summary["metrics"]["test"]
        results.append({"seed": seed, "test": test, "val": summary["metrics"]["val"],
                        "steps": summary["steps"], "best_step": summary["best_step"],
                        "wall_seconds": summary["wall_seconds"], "backend": summary["backend"],
                        "baselines": summary["baselines"], "run_dir": summary["run_dir"]})
        scores = "  ".join(f"{m} {test[m]:.4f}" for m in METRICS if m in test)
        print(f"seed {seed}: test {scores}  (best step {summary['best_step']} of "
              f"{summary['steps']}, {summary['wall_seconds']:.0f} s, {summary['backend']})",
              flush=True)
    first = results[0]["test"]
    print(f"test windows {first['windows']:.0f} x horizon {first['horizon']:.0f}, "
          f"MASE season m = {first['mase_season']:.0f}")
    for name in METRICS:
        if name in first:
            print(f"test {name}: {mean_std([r['test'][name] for r in results])} "
                  f"over {len(results)} seeds")
    for name, scores in results[0]["baselines"].items():
        print(f"baseline {name}: " + "  ".join(f"{m} {scores[m]:.4f}" for m in METRICS
                                               if m in scores))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
