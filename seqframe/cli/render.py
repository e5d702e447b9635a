"""Plain-text rendering of what commands return: tables and the final run summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def format_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table, widths fitted to the content."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(summary: dict[str, Any]) -> str:
    """The short final table: every metric on val and test, and each baseline beside them.

    Empty for the summary of a data-parallel rank other than 0 (rank 0 shows the run's).
    """
    if summary.get("rank", 0):
        return ""
    metrics = summary["metrics"]
    names = list(dict.fromkeys(k for split in metrics.values() for k in split))
    baselines = summary.get("baselines", {})
    header = ["metric", *metrics, *(f"{b} ({summary.get('baseline_split', 'test')})"
                                    for b in baselines)]
    rows = [[name, *(_fmt(metrics[s].get(name)) for s in metrics),
             *(_fmt(baselines[b].get(name)) for b in baselines)] for name in names]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    members = f" (ensemble of {summary['ensemble']})" if summary.get("ensemble", 1) > 1 else ""
    lines = [f"{summary['task']} / {summary['cell']} on {summary['backend']}{members}: "
             f"{summary['steps']} steps in {summary['wall_seconds']:.1f} s, "
             f"run {summary.get('run_dir', '')}"]
    for row in [header, *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    settings = summary.get("evaluation") or {}
    if settings:
        lines.append("scored on " + "; ".join(
            f"{split}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in values.items())
            for split, values in settings.items()))
    clip = summary.get("clipping", {})
    if clip:
        lines.append(f"gradient norm mean {clip['grad_norm_mean']:.3g}, max "
                     f"{clip['grad_norm_max']:.3g}; clipped {100 * clip['clipped_fraction']:.0f}% "
                     f"of steps")
    verdict = baseline_verdict(summary)
    if verdict:
        lines.append(verdict)
    return "\n".join(lines)


def baseline_verdict(summary: dict[str, Any]) -> str:
    """Whether the model beats its best baseline on validation, with the two numbers; ``""``
    when the run has nothing to compare."""
    comparison = summary.get("baseline_comparison")
    if not comparison:
        return ""
    split, metric = comparison["split"], comparison["metric"]
    numbers = (f"{split} {metric} {_fmt(comparison['model'])} against "
               f"{comparison['best_baseline']}'s {_fmt(comparison['baseline'])}")
    if comparison["beats"]:
        return f"beats the best baseline on {split}: {numbers}"
    return (f"warning: the model does not beat the best baseline on {split}: {numbers} "
            f"({'lower' if comparison['mode'] == 'min' else 'higher'} is better)")


def format_result_line(summary: dict[str, Any]) -> str:
    """One line for ``--quiet``: the run directory, the task's metric on val (and test), how
    long it trained, and whether it beats its best baseline on validation."""
    if summary.get("rank", 0):
        return ""
    metric, metrics = summary["metric"], summary["metrics"]
    scores = ", ".join(f"{split} {metric} {_fmt(values.get(metric))}"
                       for split, values in metrics.items())
    best = f", best at step {summary['best_step']}" if summary.get("best_step") is not None \
        else ""
    line = f"{summary.get('run_dir', '')}: {scores} ({summary['steps']} steps{best})"
    verdict = baseline_verdict(summary)
    return f"{line}; {verdict.removeprefix('warning: ')}" if verdict else line


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}"
