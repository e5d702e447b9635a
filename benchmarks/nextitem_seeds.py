"""Run a next-item benchmark config over seeds and losses; print mean +- std against the baselines.

    flock /work/wt/quality.lock env OMP_NUM_THREADS=2 python benchmarks/nextitem_seeds.py \\
        --config docs/benchmarks/nextitem-ml100k.toml --data ../shared/data/ml-100k \\
        --seeds 0 1 2 --loss cross_entropy bpr_max --json nextitem-seeds.json

Each (loss, seed) is one ordinary ``seqframe run`` of the config with ``seed``, ``loss`` and that
loss's settings from ``LOSS_SETTINGS`` below changed (``--set KEY=VALUE`` and ``--loss-option
KEY=VALUE`` override any run-config key or loss option, for tuning on validation). The std is the
sample standard deviation (ddof=1) over seeds. Baselines do not depend on the seed; they are
printed once, scored on the same test questions and sampled negatives as the model. Tune on the
``val`` figures (printed too); report ``test``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seeds import mean_std, record, write_json

import seqframe

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

METRICS = ("hr@10", "ndcg@10", "full_hr@10", "full_ndcg@10")
# What each loss changes in the config (tuned on validation, docs/tasks/nextitem.md).
LOSS_SETTINGS: dict[str, dict] = {
    "cross_entropy": {},
    "sampled_softmax": {"loss_options": {"sampler": "popularity", "samples": 256}},
    "bpr_max": {"loss_options": {"samples": 1024, "alpha": 0.0, "reg": 0.1}},
    "top1_max": {"loss_options": {"samples": 1024, "alpha": 0.0}},
}


def parse_pairs(pairs: list[str]) -> dict:
    """``KEY=VALUE`` strings, each value read as TOML (numbers, booleans) or else a string."""
    out = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw.strip()
    return out


def run_settings(args: argparse.Namespace, loss: str, seed: int) -> dict:
    settings = {key: (dict(value) if isinstance(value, dict) else value)
                for key, value in LOSS_SETTINGS[loss].items()}
    settings.update(seed=seed, quiet=True, loss="" if loss == "cross_entropy" else loss,
                    out=str(Path(args.out) / f"{loss}-seed{seed}"))
    if args.data:
        settings["data"] = args.data
    settings.update(parse_pairs(args.set))
    if args.options:
        settings["options"] = {k: str(v) for k, v in parse_pairs(args.options).items()}
    if args.loss_option:
        settings["loss_options"] = {**settings.get("loss_options", {}),
                                    **parse_pairs(args.loss_option)}
    return settings


def show(loss: str, results: list[dict], split: str) -> str:
    cells = "  ".join(f"{m} {mean_std([r[split][m] for r in results])}" for m in METRICS)
    return f"{loss:<16} {split:<4} {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="docs/benchmarks/nextitem-*.toml")
    parser.add_argument("--data", help="override the config's data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--loss", nargs="+", default=["cross_entropy"], choices=LOSS_SETTINGS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a run-config key (lr=1e-3, epochs=10); repeatable")
    parser.add_argument("-o", dest="options", action="append", default=[], metavar="KEY=VALUE",
                        help="override a task option; repeatable")
    parser.add_argument("--loss-option", action="append", default=[], metavar="KEY=VALUE",
                        help="override an option of the loss; repeatable")
    parser.add_argument("--out", default="runs/nextitem-seeds", help="parent of the run dirs")
    parser.add_argument("--json", help="also write the per-run results to this file")
    args = parser.parse_args()
    table, dump, baselines = [], [], None
    for loss in args.loss:
        results = []
        for seed in args.seeds:
            settings = run_settings(args, loss, seed)
            summary = seqframe.train(args.config, log=lambda _line: None, **settings).summary
            results.append({"loss": loss, **record({"seed": seed, **summary})})
            baselines = summary.get("baselines") or baselines
            test = summary["metrics"]["test"]
            print(f"{loss} seed {seed}: " + "  ".join(f"{m} {test[m]:.4f}" for m in METRICS)
                  + f"  (val full_ndcg@10 {summary['metrics']['val']['full_ndcg@10']:.4f}; "
                  f"best step {summary['best_step']} of {summary['steps']}, "
                  f"{summary['wall_seconds']:.0f} s)", flush=True)
        dump += results
        table += [show(loss, results, "val"), show(loss, results, "test")]
    print("\nmean +- std over seeds " + ", ".join(map(str, args.seeds)))
    print("\n".join(table))
    for name, figures in (baselines or {}).items():
        print(f"{name:<16} test " + "  ".join(f"{m} {figures[m]:.4f}" for m in METRICS))
    write_json(args.json, dump)


if __name__ == "__main__":
    main()
