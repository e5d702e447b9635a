"""What a finished run reports beside its metrics: baselines, and whether the model beats them.

Every task scores simple reference models (its ``baselines``) with its own metrics. A model that
does not beat the best of them on validation has not learned anything worth its cost, and the
final table and ``summary.json`` say so (``beats_best_baseline``). The comparison is made on
validation, the split the run was tuned and early-stopped on, so reading it never spends the test
set; it uses the task's validation metric, or its ``baseline_metric`` when the baselines do not
report that one (1-NN classifiers have an accuracy but no loss).

Keys a task lists in ``setting_keys`` (how a split was scored: window counts, the horizon) are
kept apart from the metrics, in ``summary.json``'s ``evaluation``.
"""

from __future__ import annotations

import math
from typing import Any

from ..engine.predictor import task_metrics
from ..training.safefiles import refuse_links

DIVERGED_FACTOR = 100.0  # a final metric this many times the best trivial baseline: diverged

Metrics = dict[str, float]


def split_settings(task: Any, values: Metrics) -> tuple[Metrics, Metrics]:
    """``(metrics, settings)``: ``values`` without and with only the task's ``setting_keys``."""
    keys = set(getattr(task, "setting_keys", ()))
    return ({k: v for k, v in values.items() if k not in keys},
            {k: v for k, v in values.items() if k in keys})


def split_metrics(task: Any, predictor: Any, split: str) -> tuple[Metrics, Metrics]:
    """The task's metrics on ``split``, and apart from them the settings it reported."""
    return split_settings(task, task_metrics(task, predictor, split))


def scored_baselines(task: Any, split: str) -> dict[str, Metrics]:
    """The task's baselines on ``split`` as plain floats, without setting keys."""
    return {name: split_settings(task, {k: float(v) for k, v in values.items()})[0]
            for name, values in task.baselines(split).items()}


def comparison_metric(task: Any, baselines: dict[str, Metrics]) -> tuple[str, str] | None:
    """``(metric, mode)`` the model is compared with ``baselines`` on, or None if they report
    neither the task's ``metric`` nor its ``baseline_metric``."""
    reported = {key for values in baselines.values() for key in values}
    if task.metric in reported:
        return task.metric, task.metric_mode
    fallback = getattr(task, "baseline_metric", None)
    if fallback is not None and fallback[0] in reported:
        return fallback[0], fallback[1]
    return None


def compare(task: Any, model: Metrics, baselines: dict[str, Metrics],
            split: str = "val") -> dict[str, Any] | None:
    """Whether the model's ``split`` metrics beat every baseline's.

    Returns:
        ``{"split", "metric", "mode", "model", "best_baseline", "baseline", "beats",
        "baselines"}`` -- ``beats`` is True only when the model is strictly better than the best
        baseline (a tie does not beat it) -- or None when there is nothing to compare: no
        baselines, none reporting a comparable metric, or a model value that is missing or not
        finite.
    """
    choice = comparison_metric(task, baselines)
    if choice is None:
        return None
    metric, mode = choice
    value = model.get(metric)
    scores = {name: values[metric] for name, values in baselines.items()
              if values.get(metric) is not None and math.isfinite(values[metric])}
    if value is None or not math.isfinite(value) or not scores:
        return None
    best = (min if mode == "min" else max)(scores, key=scores.get)
    beats = value < scores[best] if mode == "min" else value > scores[best]
    return {"split": split, "metric": metric, "mode": mode, "model": value,
            "best_baseline": best, "baseline": scores[best], "beats": bool(beats),
            "baselines": scores}


def mean_baselines(members: list[dict[str, Any]]) -> dict[str, Metrics] | None:
    """Ensemble members' validation baselines (each on its own split), averaged per baseline;
    None when a member has no comparison."""
    comparisons = [m.get("baseline_comparison") for m in members]
    if not comparisons or any(c is None for c in comparisons):
        return None
    metric = comparisons[0]["metric"]
    names = set.intersection(*(set(c["baselines"]) for c in comparisons))
    return {name: {metric: sum(c["baselines"][name] for c in comparisons) / len(comparisons)}
            for name in sorted(names)}


def final_report(task: Any, predictor: Any, run_dir: Any, val: Metrics,
                 val_baselines: dict[str, Metrics] | None = None) -> dict[str, Any]:
    """The ``summary.json`` fields a finished run adds to its validation metrics ``val``.

    Args:
        task: the prepared task; ``predictor`` the final model (its best checkpoint).
        run_dir: where the task writes its artefacts.
        val: validation metrics and settings (as :meth:`Task.evaluate` returned them).
        val_baselines: the baselines to compare on validation (default: the task's on val);
            an ensemble whose members held out different cases passes their average.

    Returns:
        ``metrics`` (val, and test when the task holds one out), ``evaluation`` (the settings
        per split), ``baselines`` on ``baseline_split`` (test, else val),
        ``baseline_comparison`` and ``beats_best_baseline`` (on val; None when nothing is
        comparable), and ``artefacts`` (the files the task wrote).
    """
    metrics, settings = {}, {}
    metrics["val"], settings["val"] = split_settings(task, val)
    if "test" in task.splits():
        metrics["test"], settings["test"] = split_metrics(task, predictor, "test")
    baseline_split = "test" if "test" in task.splits() else "val"
    baselines = scored_baselines(task, baseline_split)
    if val_baselines is None:
        val_baselines = baselines if baseline_split == "val" else scored_baselines(task, "val")
    comparison = compare(task, metrics["val"], val_baselines)
    refuse_links(run_dir)  # the task's own artefact writers would follow a link
    artefacts = [str(p) for p in task.write_artefacts(predictor, run_dir)]
    return {
        "metrics": metrics, "evaluation": {k: v for k, v in settings.items() if v},
        "baselines": baselines, "baseline_split": baseline_split,
        "baseline_comparison": comparison,
        "beats_best_baseline": None if comparison is None else comparison["beats"],
        "artefacts": artefacts,
    }


def judge(task, metrics: dict, baselines: dict, split: str) -> dict[str, Any]:
    """``{"diverged": bool, "flagged": why or None}`` for a run's final metrics.

    Diverged: the task's metric on ``split`` is not finite, or (for a metric to minimise) more
    than :data:`DIVERGED_FACTOR` -- two orders of magnitude -- above the best trivial baseline,
    which predicts without learning anything (a model that trained at all beats it or comes
    close; one that ends 100 times worse has blown up).
    """
    value = metrics.get(split, {}).get(task.metric)
    if value is None:
        return {"diverged": False, "flagged": None}
    if not math.isfinite(value):
        return {"diverged": True, "flagged": f"the run diverged: its final {split} "
                f"{task.metric} is {value}. {_advice()}"}
    known = [(v[task.metric], name) for name, v in baselines.items()
             if isinstance(v.get(task.metric), float) and math.isfinite(v[task.metric])]
    if task.metric_mode != "min" or not known:
        return {"diverged": False, "flagged": None}
    best, name = min(known)
    if best > 0 and value > DIVERGED_FACTOR * best:
        return {"diverged": True, "flagged": (
            f"the run diverged: its final {split} {task.metric} {value:.4g} is "
            f"{value / best:.3g} times the trivial baseline {name!r} ({best:.4g}). {_advice()}")}
    return {"diverged": False, "flagged": None}


def _advice() -> str:
    return "Try a lower --lr and --clip-norm 1.0 (and --nonfinite rollback)."
