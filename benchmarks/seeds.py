"""What the per-task seed scripts share: the flags, the runs, the mean +- std, the JSON dump.

Used by ``gesture_seeds.py`` and ``timeseries_seeds.py`` (run them as scripts; this folder is then
on ``sys.path``). Each seed is one ordinary ``seqframe run`` of the config with ``--seed`` changed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import seqframe


def seed_parser(description: str, task_options: bool = False) -> argparse.ArgumentParser:
    """``--config --seeds --data --backend [-o KEY=VALUE] --out --json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="benchmark TOML (docs/benchmarks/...)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", help="override the config's data")
    parser.add_argument("--backend", help="override the config's backend")
    if task_options:
        parser.add_argument("-o", dest="options", action="append", default=[],
                            metavar="KEY=VALUE", help="override a task option; repeatable")
    parser.add_argument("--jobs", type=int, default=1,
                        help="seeds trained at once, each in its own process (default 1)")
    parser.add_argument("--out", help="parent folder of the run directories (default: temp)")
    parser.add_argument("--json", help="also write the per-seed results to this file")
    return parser


def mean_std(values: list[float], digits: int = 4) -> str:
    """Mean +- sample standard deviation (ddof=1) over seeds."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} +- {std:.{digits}f}"


def run_seeds(args: argparse.Namespace, prefix: str) -> Iterator[dict]:
    """Train the config once per seed; yield each run's summary, in seed order.

    With ``--jobs N`` up to N seeds train at once in separate processes (each run is
    single-threaded under ``OMP_NUM_THREADS=1``, so N should not exceed the cores).
    """
    out = Path(args.out or tempfile.mkdtemp(prefix=prefix))
    jobs = []
    for seed in args.seeds:
        flags = {"seed": seed, "out": str(out / f"seed{seed}"), "quiet": True}
        flags.update({k: v for k, v in (("data", args.data), ("backend", args.backend)) if v})
        if getattr(args, "options", None):
            flags["options"] = dict(item.split("=", 1) for item in args.options)
        jobs.append((seed, flags, args.config))
    if args.jobs <= 1:
        yield from map(_run_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        yield from pool.map(_run_one, jobs)


def _run_one(job: tuple[int, dict, str]) -> dict:
    seed, flags, config_file = job
    return {"seed": seed, **seqframe.train(config_file, log=_silent, **flags).summary}


def record(summary: dict) -> dict:
    """The per-seed entry of the JSON dump (an ensemble's adds its members' scores)."""
    keys = ("seed", "steps", "best_step", "wall_seconds", "backend", "baselines", "run_dir",
            "ensemble", "members", "evaluation", "beats_best_baseline")
    return {"test": summary["metrics"]["test"], "val": summary["metrics"]["val"],
            **{k: summary[k] for k in keys if k in summary}}


def write_json(path: str | None, results: list[dict]) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _silent(_line: str) -> None:
    pass
