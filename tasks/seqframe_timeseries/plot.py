"""Forecast plots (PNG) and forecast tables (CSV).

Plots use matplotlib's object API with the Agg canvas directly, so no pyplot state or GUI
backend is touched (safe on headless machines and inside other programs).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def plot_forecast(path: Path, *, history_x, history_y, future_x, forecast, actual=None,
                  lower=None, upper=None, baseline=None, baseline_name: str = "",
                  title: str = "", ylabel: str = "", interval_label: str = "") -> Path:
    """History, the actual future (if known), the forecast and its interval band.

    Args:
        history_x, history_y: (n,) times (``datetime64`` or step numbers) and values before the
            origin.
        future_x: (S,) times of the forecast steps.
        forecast: (S,) forecast values; ``actual``, ``lower``, ``upper``, ``baseline``: (S,) or
            None.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(history_x, history_y, color="0.25", lw=1.2, label="history")
    if actual is not None:
        ax.plot(future_x, actual, color="tab:green", lw=1.4, label="actual")
    if lower is not None and upper is not None and np.any(np.isfinite(lower)):
        ax.fill_between(future_x, lower, upper, color="tab:blue", alpha=0.2, lw=0,
                        label=interval_label or "prediction interval")
    if baseline is not None:
        ax.plot(future_x, baseline, color="tab:orange", lw=1.0, ls="--", label=baseline_name)
    ax.plot(future_x, forecast, color="tab:blue", lw=1.6, label="forecast")
    ax.axvline(future_x[0], color="0.6", lw=0.8, ls=":")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_rows(path: Path, header: list[str], rows) -> Path:
    """A CSV file; floats written with 6 significant digits, NaN as an empty cell."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.6g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


def plot_lines(path: Path, *, x, actual, lines: dict, title: str = "",
               ylabel: str = "") -> Path:
    """The actual values and several forecasts of them over one stretch of time.

    Args:
        x: (n,) times (``datetime64``) or step numbers.
        actual: (n,) observed values.
        lines: ``{label: (n,) values}``, drawn in order (the first one solid, the rest dashed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(x, actual, color="0.2", lw=1.3, label="actual")
    colours = ("tab:blue", "tab:red", "tab:orange", "tab:purple")
    for i, (label, values) in enumerate(lines.items()):
        ax.plot(x, values, color=colours[i % len(colours)], lw=1.1 if i else 1.4,
                ls="-" if i < 2 else "--", label=label)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    return path
