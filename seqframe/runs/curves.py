"""``curves.png``: the training loss and the validation metric against the optimizer step.

When the validation metric is the loss itself, the second panel shows the mean pre-clip gradient
norm between evaluations instead.

Drawn from the records of ``metrics.jsonl`` alone, so a resumed run draws the same picture as an
uninterrupted one. Uses matplotlib's object API with the Agg canvas: no GUI, no global pyplot
state, safe in worker threads and on headless machines.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..training.safefiles import atomic_write_bytes


def plot_curves(records: list[dict[str, Any]], path: str | Path, metric: str) -> Path | None:
    """Draw ``records`` (metrics.jsonl) to ``path``.

    Args:
        records: dicts with ``step``, ``train_loss`` and ``val`` (a dict of metrics).
        path: the PNG to write (atomically).
        metric: the validation metric to plot (the task's ``metric``).

    Returns:
        ``path``, or None when there is nothing to draw.
    """
    if not records:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = [r["step"] for r in records]
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    train = [r.get("train_loss") for r in records]
    left.plot(steps, [float("nan") if v is None else v for v in train], marker="o", label="train")
    val_loss = [r.get("val", {}).get("loss") for r in records]
    if any(v is not None for v in val_loss):
        left.plot(steps, [float("nan") if v is None else v for v in val_loss], marker="s",
                  label="val")
    left.set(xlabel="optimizer step", ylabel="loss", title="loss")
    left.legend()
    values, ylabel, title, color = second_panel(records, metric)
    right.plot(steps, values, marker="o", color=color)
    right.set(xlabel="optimizer step", ylabel=ylabel, title=title)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def second_panel(records: list[dict[str, Any]], metric: str) -> tuple[list[float], str, str, str]:
    """The right panel's series, y label, title and colour.

    The validation metric, unless it is the loss the left panel already shows; then the mean
    pre-clip gradient norm between evaluations, which tells whether clipping is doing the work.
    """
    def series(values):
        return [float("nan") if v is None else v for v in values]

    if metric == "loss":
        norms = series(r.get("grad_norm_mean") for r in records)
        return norms, "mean pre-clip norm", "gradient norm (before clipping)", "tab:green"
    values = series(r.get("val", {}).get(metric) for r in records)
    return values, metric, f"validation {metric}", "tab:orange"
