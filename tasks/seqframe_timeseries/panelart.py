"""Files a many-series run leaves behind.

In the run directory, for the test split (val when there is none):

* ``horizon_errors_<split>.csv``: RMSE, MAE and MAPE at every step ahead (1..H), for the model
  and each baseline, pooled over all series; ``horizon_errors_<split>.txt``: the same as a table.
* ``forecast_<split>.csv``: every scored window of the plotted series (``-o plot_series``,
  default the first three): series, origin, time, step, actual, forecast and the baselines.
* ``forecast_<split>_<id>.png``: per plotted series, the actual values over the split and the
  model's forecasts made the first and the last reported steps ahead, at their target times.

``seqframe forecast`` writes ``forecast.csv`` (series, step, time, forecast; one row per series
and step) and ``forecast_<id>.png`` for the chosen series (or the plotted ones).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seqframe.errors import ConfigError

from . import panelscore as sc
from .plot import plot_forecast, plot_lines, write_rows
from .timeaxis import Frequency, format_times

if TYPE_CHECKING:
    from .manyseries import ManySeries
    from .panel import Panel

PLOTTED = 3  # series plotted when -o plot_series is not given


def plot_ids(many: ManySeries, ids: list[str]) -> list[str]:
    """``-o plot_series`` checked against ``ids``; default the first three."""
    wanted = [n.strip() for n in many.opts["plot_series"].split(",") if n.strip()]
    if not wanted:
        return ids[:PLOTTED]
    unknown = [n for n in wanted if n not in ids]
    if unknown:
        shown = ", ".join(ids[:12]) + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
        raise ConfigError(f"-o plot_series: no series {unknown[0]!r} in this run; its series "
                          f"are {shown}.")
    return wanted


def ahead(freq: Frequency | None, steps: int) -> str:
    """How far ``steps`` steps reach, in words ("15 min", "2 h", "3 months"), if known."""
    if freq is None:
        return ""
    amount = freq.step * steps
    if freq.unit == "months":
        return f"{amount} month" + ("s" if amount != 1 else "")
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if amount % size == 0:
            return f"{amount // size} {unit}"
    return f"{amount} s"


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name)[:80]


def write_split_artefacts(many: ManySeries, predictor, split: str, run_dir: Path) -> list[Path]:
    series, origins = many.eval_pairs(split)
    forecast = many.model_forecast(predictor, series, origins)  # (W, H)
    actual = many.actual(series, origins)
    base = many.baseline_forecasts(series, origins)
    paths = error_tables(many, split, actual, {"model": forecast, **base}, series, run_dir)
    ids = many.panel.ids
    chosen = [ids.index(n) for n in plot_ids(many, ids)]
    paths.append(_window_csv(many, split, run_dir, chosen, series, origins, actual,
                             {"forecast": forecast, **base}))
    for s in chosen:
        paths.append(_rolling_png(many, split, run_dir, s, series, origins, actual, forecast,
                                  base["historical_average"]))
    return paths


def error_tables(many: ManySeries, split: str, actual: np.ndarray, forecasts: dict,
                 series: np.ndarray, run_dir: Path) -> list[Path]:
    """``horizon_errors_<split>.csv`` and ``.txt``: every step, the model and the baselines."""
    H, freq = actual.shape[1], many.frequency
    table = {name: sc.per_step(actual, fc) for name, fc in forecasts.items()}
    rows = [[name, h + 1, ahead(freq, h + 1), t["rmse"][h], t["mae"][h], t["mape"][h]]
            for name, t in table.items() for h in range(H)]
    csv_path = write_rows(run_dir / f"horizon_errors_{split}.csv",
                          ["forecaster", "step", "ahead", "rmse", "mae", "mape"], rows)
    header = ["step", "ahead"] + [f"{name} {m}" for name in table for m in ("rmse", "mae",
                                                                             "mape")]
    lines = [[str(h + 1), ahead(freq, h + 1)] + [f"{t[m][h]:.4g}" for t in table.values()
                                                  for m in ("rmse", "mae", "mape")]
             for h in range(H)]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    text = [f"{split} errors by steps ahead, pooled over {len(np.unique(series))} series and "
            f"{len(series)} windows (MAPE in percent, zero actual values skipped)"]
    text += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))
             for r in [header, *lines]]
    txt_path = run_dir / f"horizon_errors_{split}.txt"
    txt_path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return [csv_path, txt_path]


def _labels(many: ManySeries, index: np.ndarray) -> list:
    times = many.panel.times
    return format_times(times[index], many.frequency) if times is not None else list(index)


def _window_csv(many, split, run_dir, chosen, series, origins, actual, forecasts) -> Path:
    H = actual.shape[1]
    pick = np.flatnonzero(np.isin(series, chosen))
    index = origins[pick][:, None] + np.arange(H)[None, :]  # (w, H)
    when, starts = _labels(many, index.ravel()), _labels(many, origins[pick])
    header = ["series", "origin", "time", "step", "actual", *forecasts]
    rows = [[many.panel.ids[series[w]], starts[i], when[i * H + h], h + 1, actual[w, h],
             *(fc[w, h] for fc in forecasts.values())]
            for i, w in enumerate(pick.tolist()) for h in range(H)]
    return write_rows(run_dir / f"forecast_{split}.csv", header, rows)


def _rolling_png(many, split, run_dir, s, series, origins, actual, forecast, average) -> Path:
    """Series ``s``: actual over the split, and the forecasts made k steps ahead."""
    rows = np.flatnonzero(series == s)
    first, last = many.steps[0], many.steps[-1]
    target = origins[rows] + last - 1  # (w,) times the step-`last` forecasts are for
    lines = {}
    for k in dict.fromkeys((first, last)):
        label = f"model, {k} steps ahead ({ahead(many.frequency, k)})".replace(" ()", "")
        lines[label] = _at_targets(rows, origins, forecast, k, target)
    lines["historical average"] = average[rows, last - 1]
    times = many.panel.times
    x = times[target] if times is not None else target
    name = many.panel.ids[s]
    return plot_lines(run_dir / f"forecast_{split}_{safe_name(name)}.png", x=x,
                      actual=actual[rows, last - 1], lines=lines, ylabel=many.panel.value_name,
                      title=f"series {name}: {split} part, rolling forecasts")


def _at_targets(rows, origins, forecast, k, target) -> np.ndarray:
    """The step-k forecasts aimed at the times ``target``: each comes from origin
    ``t - k + 1`` (NaN where that origin is not scored)."""
    by_origin = {int(o): i for i, o in zip(rows.tolist(), origins[rows].tolist(), strict=True)}
    out = np.full(len(target), np.nan)
    for j, t in enumerate(target.tolist()):
        i = by_origin.get(t - k + 1)
        if i is not None:
            out[j] = forecast[i, k - 1]
    return out


def write_future(many: ManySeries, panel: Panel, result: dict, out_dir: Path) -> list[Path]:
    """``forecast.csv`` (long) and a PNG per plotted series from :func:`forecast_panel`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    freq = panel.frequency
    rows = []
    for name, (when, values) in result.items():
        labels = format_times(when, freq) if when.dtype.kind == "M" else list(when)
        rows += [[name, h + 1, labels[h], values[h]] for h in range(len(values))]
    paths = [write_rows(out_dir / "forecast.csv", ["series", "step", "time", "forecast"], rows)]
    names = list(result) if len(result) == 1 else plot_ids(many, list(result))
    L, season = many.opts["lookback"], many.season
    for name in names:
        s = panel.ids.index(name)
        when, values = result[name]
        end = int(panel.ends[s]) if many.layout == "global" else panel.steps
        start = max(int(panel.starts[s]), end - max(4 * len(values), L, 2 * season))
        history = panel.times[start:end] if panel.times is not None else np.arange(start, end)
        paths.append(plot_forecast(
            out_dir / f"forecast_{safe_name(name)}.png", history_x=history,
            history_y=panel.values[s, start:end], future_x=when, forecast=values,
            title=f"series {name}: forecast of {len(values)} steps",
            ylabel=panel.value_name))
    return paths
