"""Training speed of the many-series timeseries task, global layout, as the series count grows.

    OMP_NUM_THREADS=1 python benchmarks/timeseries_panel_speed.py \\
        --series 16 160 1600 --backends numpy torch [--series-id] [--json out.json]

Data: synthetic wide files shaped like Los-loop (2,016 five-minute steps, one column per
sensor: a daily cycle, a random walk and noise, each sensor with its own level and phase),
written to a temporary folder. Model: GRU, H=64, batch 256, lookback 12, horizon 12, calendar
hour inputs -- the settings of docs/benchmarks/timeseries-losloop.toml.

Each (backend, series count) is trained twice through ``seqframe.runs.run``, for ``--short``
and ``--long`` optimizer steps, with validation only at the end; the difference of the two wall
times is the cost of ``long - short`` steps alone (loading, the final evaluation and the
artefacts cancel out). Reported: training windows per second, and the epoch time that rate
gives for the run's training windows (every (series, origin) pair of the training part, which
is linear in the series count by construction -- so the per-window rate staying flat is what
shows the epoch time grows linearly). ``--series-id`` adds the one-hot series-id inputs, whose
width grows with the series count.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from seqframe.runs import resolve_config, run

STEPS = 2016  # one week of 5-minute steps
OPTIONS = {"layout": "global", "start": "2012-03-01T00:00", "freq": "5min", "lookback": 12,
           "horizon": 12, "calendar": "hour", "test_size": 0.2, "val_size": 0.1,
           "plot_series": "s0"}


def synthetic(path: Path, series: int, seed: int = 0) -> Path:
    """A wide CSV of ``series`` sensor-like columns, (STEPS, series)."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)[:, None]
    phase = rng.uniform(0, 2 * np.pi, series)[None, :]
    level = rng.uniform(40, 65, series)[None, :]
    walk = np.cumsum(rng.normal(0, 0.3, (STEPS, series)), axis=0)
    values = level + 8 * np.sin(2 * np.pi * t / 288 + phase) + walk + rng.normal(0, 1, walk.shape)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"s{i}" for i in range(series)])
        writer.writerows(np.round(values, 3).tolist())
    return path


def timed_run(data: Path, backend: str, steps: int, out: Path, series_id: bool) -> tuple[float,
                                                                                         dict]:
    config = resolve_config({
        "task": "timeseries", "backend": backend, "data": str(data), "cell": "gru",
        "hidden": 64, "batch_size": 256, "lr": 3e-3, "steps": steps, "eval_every": 10 ** 9,
        "out": str(out), "quiet": True, "options": {**OPTIONS, "series_id": series_id}})
    start = time.perf_counter()
    summary = run(config, log=lambda _: None)
    return time.perf_counter() - start, summary


def measure(data: Path, backend: str, short: int, long: int, root: Path,
            series_id: bool) -> dict:
    t_short, _ = timed_run(data, backend, short, root / f"{backend}-short", series_id)
    t_long, summary = timed_run(data, backend, long, root / f"{backend}-long", series_id)
    per_step = (t_long - t_short) / (long - short)
    from seqframe_timeseries.task import TimeSeriesTask

    task = TimeSeriesTask({**OPTIONS, "series_id": series_id}, str(data))
    task.log = lambda _: None
    task.prepare()
    windows = len(task.many.train_origins)
    rate = 256 / per_step
    return {"backend": backend, "series": len(task.many.panel.ids), "series_id": series_id,
            "seconds_per_step": per_step, "windows_per_second": rate,
            "train_windows": windows, "epoch_seconds": windows / rate,
            "run_seconds_short": t_short, "run_seconds_long": t_long}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, nargs="+", default=[16, 160, 1600])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"])
    parser.add_argument("--short", type=int, default=20, help="steps of the shorter run")
    parser.add_argument("--long", type=int, default=120, help="steps of the longer run")
    parser.add_argument("--series-id", action="store_true", help="one-hot series-id inputs")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="panel-speed-") as tmp:
        root = Path(tmp)
        for count in args.series:
            data = synthetic(root / f"wide{count}.csv", count)
            for backend in args.backends:
                row = measure(data, backend, args.short, args.long, root / f"r{count}",
                              args.series_id)
                rows.append(row)
                print(f"{backend:6s} {row['series']:5d} series: "
                      f"{row['windows_per_second']:8.0f} windows/s, "
                      f"{1000 * row['seconds_per_step']:6.1f} ms/step (B=256), epoch of "
                      f"{row['train_windows']} windows {row['epoch_seconds']:7.1f} s",
                      flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
