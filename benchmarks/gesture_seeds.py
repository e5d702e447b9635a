"""Run a gesture benchmark config over several seeds; print per-seed and mean +- std test scores.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/gesture_seeds.py \
        --config docs/benchmarks/gesture-pickup.toml --seeds 0 1 2 3 4

Any other UCR/UEA pair: add ``--data path/to/X_TRAIN.ts``. Only ``--seed`` changes between runs
(model initialisation, batch order, dropout); the validation split is fixed by the config's
``split_seed``. The std is the sample standard deviation (ddof=1) over seeds. The test split is
read once per run, by the run's final report, from the checkpoint chosen on validation loss
(an ensemble's: its members' checkpoints, combined). ``--jobs 2`` trains two seeds at once.
"""

from __future__ import annotations

from seeds import mean_std, record, run_seeds, seed_parser, write_json


def main() -> None:
    args = seed_parser(__doc__.splitlines()[0]).parse_args()
    results = []
    for summary in run_seeds(args, "gesture-seeds-"):
        results.append(record(summary))
        test, val = summary["metrics"]["test"], summary["metrics"]["val"]
        print(f"seed {summary['seed']}: test accuracy {test['accuracy']:.4f}  macro_f1 "
              f"{test['macro_f1']:.4f}  (val accuracy {val['accuracy']:.4f}, "
              + _progress(summary) + f", {summary['wall_seconds']:.0f} s)", flush=True)
    for name in ("accuracy", "macro_f1"):
        print(f"test {name}: {mean_std([r['test'][name] for r in results])} "
              f"over {len(results)} seeds")
    for name, scores in results[0]["baselines"].items():
        print(f"baseline {name}: test accuracy {scores['accuracy']:.4f}, "
              f"macro_f1 {scores['macro_f1']:.4f}")
    write_json(args.json, results)


def _progress(summary: dict) -> str:
    """Where a run stopped; for an ensemble, each member's test accuracy and steps."""
    if "members" not in summary:
        return f"best step {summary['best_step']} of {summary['steps']}"
    members = " ".join(f"{m['metrics']['test']['accuracy']:.2f}" for m in summary["members"])
    return (f"{len(summary['members'])} members' own test accuracy {members}; "
            f"{summary['steps']} steps in all")


if __name__ == "__main__":
    main()
