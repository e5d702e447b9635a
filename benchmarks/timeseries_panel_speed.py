"""Training speed of the many-series timeseries task, global layout, as the series count grows.

    OMP_NUM_THREADS=1 python benchmarks/timeseries_panel_speed.py \\
        --series 16 160 1600 --backends numpy torch --rounds 3 [--series-id] [--json out.json]

Data: synthetic wide files shaped like Los-loop (2,016 five-minute steps, one column per
sensor: a daily cycle, a random walk and noise, each sensor with its own level and phase),
written to a temporary folder. Model: GRU, H=64, batch 256, lookback 12, horizon 12, calendar
hour inputs -- the settings of docs/benchmarks/timeseries-losloop.toml.

Each (backend, series count) is one ``seqframe.runs.run`` of ``--warmup + --intervals *
--every`` optimizer steps with a validation every ``--every`` steps; the validation part is cut
to one window per series (``val_size`` 13 steps, ``backtest`` 1), so it costs next to nothing.
``metrics.jsonl`` records the training wall time at each validation; the median time between
two of them (the first, which holds the warm-up, left out) is the cost of ``--every`` steps --
loading, the final evaluation and the artefacts are outside it. Reported: training windows per
second, and the epoch time that rate gives for the run's training windows (every (series,
origin) pair of the training part, linear in the series count by construction -- so the
per-window rate staying flat is what shows the epoch time grows linearly). ``--series-id`` adds
the one-hot series-id inputs, whose width grows with the series count. The machine is shared:
compare rows of one invocation only; ``--rounds R`` repeats the whole sweep R times,
interleaved, and reports each row's median over the rounds.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from seqframe.runs.api import train_config as run
from seqframe.runs.build import resolve_config

STEPS = 2016  # one week of 5-minute steps
BATCH = 256
OPTIONS = {"layout": "global", "start": "2012-03-01T00:00", "freq": "5min", "lookback": 12,
           "horizon": 12, "calendar": "hour", "test_size": 13, "val_size": 13, "backtest": 1,
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


def measure(data: Path, backend: str, every: int, intervals: int, warmup: int, out: Path,
            series_id: bool) -> dict:
    """One run; the median wall time of ``every`` training steps between validations."""
    config = resolve_config({
        "task": "timeseries", "backend": backend, "data": str(data), "cell": "gru",
        "hidden": 64, "batch_size": BATCH, "lr": 3e-3, "steps": warmup + intervals * every,
        "eval_every": every, "out": str(out), "quiet": True,
        "options": {**OPTIONS, "series_id": series_id}})
    if warmup % every:
        raise SystemExit("--warmup must be a multiple of --every")
    summary = run(config, log=lambda _: None)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    wall = [json.loads(line)["wall_seconds"] for line in lines]
    first = warmup // every  # the validation that ends the warm-up
    per_step = statistics.median(np.diff(wall[first - 1:]) if first else np.diff(wall)) / every
    rate = BATCH / per_step
    windows = _windows_cached(data, series_id)
    return {"backend": backend, "series": int(summary["evaluation"]["val"]["series"]),
            "series_id": series_id, "seconds_per_step": per_step, "windows_per_second": rate,
            "train_windows": windows, "epoch_seconds": windows / rate}


_WINDOWS: dict[tuple[str, bool], int] = {}


def _windows_cached(data: Path, series_id: bool) -> int:
    key = (str(data), series_id)
    if key not in _WINDOWS:
        _WINDOWS[key] = _train_windows(data, series_id)
    return _WINDOWS[key]


def _train_windows(data: Path, series_id: bool) -> int:
    from seqframe_timeseries.task import TimeSeriesTask

    task = TimeSeriesTask({**OPTIONS, "series_id": series_id}, str(data))
    task.log = lambda _: None
    task.prepare()
    return len(task.many.train_origins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, nargs="+", default=[16, 160, 1600])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"])
    parser.add_argument("--every", type=int, default=25, help="steps between validations")
    parser.add_argument("--intervals", type=int, default=4, help="timed intervals per run")
    parser.add_argument("--warmup", type=int, default=25, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved sweeps (median)")
    parser.add_argument("--series-id", action="store_true", help="one-hot series-id inputs")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    runs: dict[tuple[str, int], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="panel-speed-") as tmp:
        root = Path(tmp)
        files = {count: synthetic(root / f"wide{count}.csv", count) for count in args.series}
        for r in range(args.rounds):
            for count in args.series:
                for backend in args.backends:
                    row = measure(files[count], backend, args.every, args.intervals,
                                  args.warmup, root / f"r{r}-{count}-{backend}", args.series_id)
                    runs.setdefault((backend, count), []).append(row)
                    print(f"round {r}: " + _line(row), flush=True)
    rows = []
    print(f"median over {args.rounds} round(s):")
    for found in runs.values():
        per_step = statistics.median(row["seconds_per_step"] for row in found)
        rows.append({**found[0], "seconds_per_step": per_step,
                     "windows_per_second": BATCH / per_step,
                     "epoch_seconds": found[0]["train_windows"] * per_step / BATCH,
                     "rounds": [row["seconds_per_step"] for row in found]})
        print(_line(rows[-1]))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def _line(row: dict) -> str:
    return (f"{row['backend']:6s} {row['series']:5d} series: {row['windows_per_second']:8.0f} "
            f"windows/s, {1000 * row['seconds_per_step']:6.1f} ms/step (B={BATCH}), epoch of "
            f"{row['train_windows']} windows {row['epoch_seconds']:7.1f} s")


if __name__ == "__main__":
    main()
