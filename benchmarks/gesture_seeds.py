"""Run a gesture benchmark config over several seeds; print per-seed and mean +- std test scores.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/gesture_seeds.py \
        --config docs/benchmarks/gesture-pickup.toml --seeds 0 1 2 3 4

Any other UCR/UEA pair: add ``--data path/to/X_TRAIN.ts``. Only ``--seed`` changes between runs
(model initialisation, batch order, dropout); the validation split is fixed by the config's
``split_seed``. The std is the sample standard deviation (ddof=1) over seeds. The test split is
read once per run, by the run's final report, from the checkpoint chosen on validation loss.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from seqframe.runs import resolve_config, run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="benchmark TOML (docs/benchmarks/...)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", help="override the config's data set")
    parser.add_argument("--backend", help="override the config's backend")
    parser.add_argument("--out", help="parent folder of the run directories (default: temp)")
    parser.add_argument("--json", help="also write the per-seed results to this file")
    return parser.parse_args()


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} +- {std:.4f}"


def main() -> None:
    args = parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="gesture-seeds-"))
    results = []
    for seed in args.seeds:
        flags = {"seed": seed, "out": str(out / f"seed{seed}"), "quiet": True}
        flags.update({k: v for k, v in (("data", args.data), ("backend", args.backend)) if v})
        summary = run(resolve_config(flags, args.config), log=lambda _line: None)
        test, val = summary["metrics"]["test"], summary["metrics"]["val"]
        results.append({"seed": seed, "test": test, "val": val, "steps": summary["steps"],
                        "best_step": summary["best_step"], "wall_seconds": summary["wall_seconds"],
                        "baselines": summary["baselines"], "run_dir": summary["run_dir"]})
        print(f"seed {seed}: test accuracy {test['accuracy']:.4f}  macro_f1 "
              f"{test['macro_f1']:.4f}  (val accuracy {val['accuracy']:.4f}, best step "
              f"{summary['best_step']} of {summary['steps']}, {summary['wall_seconds']:.0f} s)",
              flush=True)
    for name in ("accuracy", "macro_f1"):
        print(f"test {name}: {mean_std([r['test'][name] for r in results])} "
              f"over {len(results)} seeds")
    for name, scores in results[0]["baselines"].items():
        print(f"baseline {name}: test accuracy {scores['accuracy']:.4f}, "
              f"macro_f1 {scores['macro_f1']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
