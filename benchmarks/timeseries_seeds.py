"""Run a forecasting benchmark config over several seeds; print per-seed and mean +- std scores.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/timeseries_seeds.py \
        --config docs/benchmarks/timeseries-airline.toml --seeds 0 1 2 3 4

Another series: add ``--data FILE.csv -o target=COLUMN``. Only ``--seed`` changes between runs
(model initialisation, window order, dropout); the splits are fixed by the config. The std is the
sample standard deviation (ddof=1) over seeds. Baselines do not depend on the seed; they are
printed once, scored on exactly the test windows the model is scored on.
"""

from __future__ import annotations

from seeds import mean_std, record, run_seeds, seed_parser, write_json

METRICS = ("mape", "smape", "mase", "mae", "rmse")


def main() -> None:
    args = seed_parser(__doc__.splitlines()[0], task_options=True).parse_args()
    results = []
    for summary in run_seeds(args, "timeseries-seeds-"):
        results.append(record(summary))
        test = summary["metrics"]["test"]
        scores = "  ".join(f"{m} {test[m]:.4f}" for m in METRICS if m in test)
        print(f"seed {summary['seed']}: test {scores}  (best step {summary['best_step']} of "
              f"{summary['steps']}, {summary['wall_seconds']:.0f} s, {summary['backend']})",
              flush=True)
    scored = results[0]["evaluation"]["test"]  # how test was scored (summary.json)
    print(f"test windows {scored['windows']:.0f} x horizon {scored['horizon']:.0f}, "
          f"MASE season m = {scored['mase_season']:.0f}")
    first = results[0]["test"]
    for name in METRICS:
        if name in first:
            print(f"test {name}: {mean_std([r['test'][name] for r in results], digits=3)} "
                  f"over {len(results)} seeds")
    for name, scores in results[0]["baselines"].items():
        print(f"baseline {name}: " + "  ".join(f"{m} {scores[m]:.4f}" for m in METRICS
                                               if m in scores))
    write_json(args.json, results)


if __name__ == "__main__":
    main()
