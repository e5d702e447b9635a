"""Files a run leaves behind: the forecasts of a split, and forecasts past the end of the data.

``forecast_<split>.csv`` has one row per (window, step): origin and target time, step, actual,
forecast, the interval (gaussian likelihood) and the seasonal-naive forecast beside it.
``forecast_<split>.png`` plots the last scored window. ``seqframe forecast`` writes
``forecast.csv`` (step, time, forecast, method[, lower, upper]: method ``direct`` for the steps the
model emits at once, ``recursive`` past them) and ``forecast.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqframe.errors import ConfigError, DataError

from .forecasting import Inverse, predict_scaled
from .plot import plot_forecast, write_rows
from .timeaxis import calendar_features, format_times, future_times

if TYPE_CHECKING:
    from .series import Series
    from .task import TimeSeriesTask


def _axis(series: Series, index: np.ndarray) -> np.ndarray:
    """Plot x values: timestamps when the series has them, else step numbers."""
    return series.times[index] if series.times is not None else index


def _labels(task: TimeSeriesTask, times: np.ndarray | None, index: np.ndarray) -> list:
    return format_times(times, task.frequency) if times is not None else list(index)


def write_split_forecast(task: TimeSeriesTask, predictor, split: str,
                         run_dir: Path) -> list[Path]:
    """The CSV of every scored window of ``split`` and a plot of the last one."""
    series, H = task.series, task.opts["horizon"]
    origins = task.eval_origins(split)
    forecast, scaled, inverse = task.model_forecast(predictor, origins)
    actual = task.actual(origins)
    snaive = task.baseline_forecasts(origins)["seasonal_naive"]
    gaussian = scaled.std is not None
    lower, upper = inverse.interval(scaled, task.opts["interval"]) if gaussian else (None, None)
    index = origins[:, None] + np.arange(H)[None, :]  # (W, H) time index of each target
    times = series.times
    labels = _labels(task, times[index.ravel()] if times is not None else None, index.ravel())
    starts = _labels(task, times[origins] if times is not None else None, origins)
    header = ["origin", "time", "step", "actual", "forecast"]
    header += ["lower", "upper"] if gaussian else []
    header += ["seasonal_naive"]
    rows = []
    for w in range(len(origins)):
        for h in range(H):
            row = [starts[w], labels[w * H + h], h + 1, actual[w, h], forecast[w, h]]
            row += [lower[w, h], upper[w, h]] if gaussian else []
            rows.append(row + [snaive[w, h]])
    csv_path = write_rows(run_dir / f"forecast_{split}.csv", header, rows)
    o = origins[-1]
    start = max(0, o - max(4 * H, task.opts["lookback"], 2 * task.season))
    png = plot_forecast(
        run_dir / f"forecast_{split}.png", history_x=_axis(series, np.arange(start, o)),
        history_y=series.values[start:o], future_x=_axis(series, index[-1]),
        forecast=forecast[-1], actual=actual[-1],
        lower=None if lower is None else lower[-1], upper=None if upper is None else upper[-1],
        baseline=snaive[-1], baseline_name=f"seasonal naive (m={task.season})",
        title=f"{series.target}: {split} forecast from {starts[-1]} ({H} steps)",
        ylabel=series.target, interval_label=f"{task.opts['interval']:.0%} interval")
    return [csv_path, png]


def forecast_future(task: TimeSeriesTask, predictor, series: Series, horizon: int,
                    out_dir: Path) -> list[Path]:
    """Forecast ``horizon`` steps after the last row of ``series``; write CSV and PNG."""
    L, offset, n = task.opts["lookback"], task.transform.offset, len(series)
    if n < L + offset:
        raise DataError(f"{series.source} has {n} steps; a forecast needs the last "
                        f"{L + offset} (lookback {L}" + (f" + {offset} for differencing)" if
                                                          offset else ")") + ".")
    z, features = task.scaled_from(series)
    freq = series.frequency or task.frequency
    times = future_times(series.times[-1], freq, horizon) \
        if series.times is not None and freq is not None else None
    calendar = None
    if task.calendar and horizon > task.model_horizon:
        if times is None:
            raise ConfigError(f"the time step of {series.source} cannot be inferred, so the "
                              f"calendar inputs of a recursive forecast are unknown; use "
                              f"--horizon {task.model_horizon} or less.")
        calendar = calendar_features(times, task.calendar)[None]  # (1, S, 2K)
    scaled = predict_scaled(predictor, features[n - L:][None], steps=horizon,
                            model_horizon=task.model_horizon, normalize=task.opts["normalize"],
                            gaussian=scaled_gaussian(task), future_calendar=calendar)
    inverse = Inverse(task.transform, task.scaler, z[n - offset:][None])
    point = inverse.point(scaled.mean)[0]
    steps = np.arange(1, horizon + 1)
    labels = format_times(times, freq) if times is not None else list(n - 1 + steps)
    method = np.where(steps <= task.model_horizon, "direct", "recursive")
    header, columns = ["step", "time", "forecast", "method"], [steps, labels, point, method]
    lower = upper = None
    if scaled.std is not None:
        lower, upper = (a[0] for a in inverse.interval(scaled, task.opts["interval"]))
        header, columns = header + ["lower", "upper"], columns + [lower, upper]
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = write_rows(out_dir / "forecast.csv", header, zip(*columns, strict=True))
    start = max(0, n - max(4 * horizon, L, 2 * task.season))
    history_x = series.times[start:] if times is not None else np.arange(start, n)
    future_x = times if times is not None else n - 1 + steps
    png = plot_forecast(out_dir / "forecast.png", history_x=history_x,
                        history_y=series.values[start:], future_x=future_x, forecast=point,
                        lower=lower, upper=upper, title=f"{series.target}: forecast of "
                        f"{horizon} steps" + (f" (after step {task.model_horizon}: recursive)"
                                              if horizon > task.model_horizon else ""),
                        ylabel=series.target,
                        interval_label=f"{task.opts['interval']:.0%} interval")
    return [csv_path, png]


def scaled_gaussian(task: TimeSeriesTask) -> bool:
    return task.opts["likelihood"] == "gaussian"
