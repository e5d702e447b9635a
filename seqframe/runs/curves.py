"""``curves.png``: the training loss and the validation metric against the optimizer step.

The left panel shows the training loss (and the validation loss when the task reports one); the
right panel the task's validation metric. When that metric is the loss itself, the right panel
shows the task's other metric where it names one (``baseline_metric``: a classifier's accuracy),
else the mean pre-clip gradient norm between evaluations. A dashed line marks the best step (the
checkpoint ``eval`` and the final metrics use). How many points there are is the run's
validation cadence (about 20 by default, see
:func:`seqframe.training.windows.evaluation_interval`).

Drawn from the records of ``metrics.jsonl`` alone, so a resumed run draws the same picture as an
uninterrupted one. Uses matplotlib's object API with the Agg canvas: no GUI, no global pyplot
state, safe in worker threads and on headless machines.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..training.safefiles import atomic_write_bytes


def plot_curves(records: list[dict[str, Any]], path: str | Path, metric: str,
                best_step: int | None = None,
                extra: tuple[str, str] | None = None) -> Path | None:
    """Draw ``records`` (metrics.jsonl) to ``path``.

    Args:
        records: dicts with ``step``, ``train_loss`` and ``val`` (a dict of metrics).
        path: the PNG to write (atomically).
        metric: the validation metric to plot (the task's ``metric``).
        best_step: the step of the best validation value, marked on both panels.
        extra: the task's ``baseline_metric`` (name, mode), plotted when ``metric`` is the loss.

    Returns:
        ``path``, or None when there is nothing to draw.
    """
    if not records:
        return None
    fig = curves_figure(records, metric, best_step, extra)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def curves_figure(records: list[dict[str, Any]], metric: str, best_step: int | None = None,
                  extra: tuple[str, str] | None = None):
    """The matplotlib Figure :func:`plot_curves` saves (same arguments, ``records`` not empty)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = [r["step"] for r in records]
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.plot(steps, series(r.get("train_loss") for r in records), marker="o", label="train")
    val_loss = [r.get("val", {}).get("loss") for r in records]
    if any(v is not None for v in val_loss):
        left.plot(steps, series(val_loss), marker="s", label="val")
    left.set(xlabel="optimizer step", ylabel="loss", title="loss")
    values, ylabel, title, color = second_panel(records, metric, extra)
    right.plot(steps, values, marker="o", color=color, label=ylabel)
    right.set(xlabel="optimizer step", ylabel=ylabel, title=title)
    for ax in (left, right):
        if best_step is not None:
            ax.axvline(best_step, color="tab:red", linestyle="--", linewidth=1,
                       label=f"best (step {best_step})")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def series(values) -> list[float]:
    """Floats for plotting, NaN (a gap) where a value is missing."""
    return [float("nan") if v is None else v for v in values]


def second_panel(records: list[dict[str, Any]], metric: str,
                 extra: tuple[str, str] | None = None) -> tuple[list[float], str, str, str]:
    """The right panel's series, y label, title and colour.

    The validation metric, unless it is the loss the left panel already shows; then the task's
    ``extra`` metric (e.g. accuracy) when the records have it, else the mean pre-clip gradient
    norm between evaluations, which tells whether clipping is doing the work.
    """
    if metric == "loss" and extra is not None and any(
            extra[0] in r.get("val", {}) for r in records):
        metric = extra[0]
    if metric == "loss":
        norms = series(r.get("grad_norm_mean") for r in records)
        return norms, "mean pre-clip norm", "gradient norm (before clipping)", "tab:green"
    values = series(r.get("val", {}).get(metric) for r in records)
    return values, metric, f"validation {metric}", "tab:orange"
