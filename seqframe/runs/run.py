"""Runs: build everything a config names, train, resume, and reopen a finished run.

This is the library behind ``seqframe run``, ``run --resume``, ``eval``, ``sample``,
``forecast`` and ``predict``; the CLI parses, calls one of these, and renders what comes back.

A run directory holds ``config.toml`` (resolved), ``metrics.jsonl``, ``summary.json``,
``checkpoints/{latest,best}/``, ``curves.png`` and the task's artefacts. ``run`` raises
:class:`seqframe.training.trainer.Interrupted` (exit code 130) after writing a checkpoint on Ctrl-C and
:class:`seqframe.errors.NonFiniteError` (exit code 1) when the loss diverges.

Under torchrun with several processes (``seqframe run --nproc N`` starts it) ``run`` and
``resume`` train data-parallel (see :mod:`seqframe.training.distributed`): every rank builds the same
model from the same seed and trains on its shard of each batch; rank 0 alone creates the run
directory, logs, and writes checkpoints, metrics, the test report and ``summary.json``.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ensemble
from ..training.checkpoint import atomic_write_text, load_checkpoint, load_params
from ..config import RunConfig, load_toml, merge, read_resolved, write_toml
from .curves import plot_curves
from ..training.distributed import check_resume, check_run, env_world, session
from ..errors import ConfigError, UsageError
from ..engine.predictor import ModelPredictor, task_metrics
from ..training.seeding import seed_streams
from ..training.trainer import Interrupted, Trainer

__all__ = ["run", "resume", "evaluate", "open_run", "resolve_config", "format_summary",
           "Interrupted"]

CONFIG_FILE = "config.toml"


def load_plugin(kind: str, name: str) -> Any:
    """The class registered as ``name`` of ``kind`` (backend, cell, task)."""
    from ..plugins import get_registry

    return get_registry().load(kind, name)


# ---- configuration ---------------------------------------------------------------------------


def resolve_config(overrides: dict[str, Any], config_file: str | None = None) -> RunConfig:
    """Defaults < the task's ``run_defaults`` < ``--config FILE.toml`` < flags.

    ``--epochs`` and ``--steps`` are one choice: a layer that sets one of them clears the other
    from the layers below it (a task preferring ``epochs = 10`` does not cap ``--steps 500``).

    Args:
        overrides: only the values the user gave explicitly (flags), by config key.
        config_file: the ``--config`` path, if any.

    Raises:
        ConfigError: unknown keys, wrong types, or ``epochs`` and ``steps`` in one layer.
        UnknownNameError: the task is not registered.
    """
    from_file = load_toml(config_file) if config_file else {}
    task_name = overrides.get("task") or from_file.get("task") or RunConfig().task
    task_cls = load_plugin("task", task_name)
    config = RunConfig()
    layers = [(dict(task_cls.run_defaults), f"task {task_name!r} run defaults"),
              (from_file, str(config_file)), (overrides, "the command line")]
    for values, source in layers:
        keys = {key.replace("-", "_") for key in values}
        if {"epochs", "steps"} <= keys and None not in (values.get("epochs"), values.get("steps")):
            raise ConfigError(f"{source} sets both epochs and steps; give one of them.")
        config = merge(config, values, source)
        if "steps" in keys and "epochs" not in keys:
            config = config.replace(epochs=None)
        elif "epochs" in keys and "steps" not in keys:
            config = config.replace(steps=None)
    return config


# ---- building --------------------------------------------------------------------------------


def build(config: RunConfig, task_state: dict | None = None):
    """Backend, task (prepared), spec and model for ``config``.

    Returns:
        ``(ops, task, spec, model)``.
    """
    from ..engine.model import Model, ModelConfig

    ops = make_ops(config)
    cell_cls = load_plugin("cell", config.cell)
    task_cls = load_plugin("task", config.task)
    task = task_cls(config.options, config.data)
    spec = task.prepare(task_state)
    if config.bidirectional and config.bptt:
        raise ConfigError("a bidirectional model reads each sequence whole; use --bptt 0 with "
                          "--bidirectional (or drop --bidirectional for truncated BPTT).")
    model = Model(ModelConfig(
        cell=config.cell, input_size=spec.input_size, hidden_size=config.hidden,
        output_size=spec.output_size, layers=config.layers, readout=spec.readout, loss=spec.loss,
        dropout=config.dropout, bidirectional=config.bidirectional), cell_cls())
    return ops, task, spec, model


def make_ops(config: RunConfig):
    """The backend's Ops for ``config``: ``Cls(dtype=..., device=...)``, plus ``amp`` when set.

    Raises:
        ConfigError: ``--amp`` on a backend whose Ops takes no ``amp`` argument.
    """
    ops_cls = load_plugin("backend", config.backend)
    if config.amp == "off":
        return ops_cls(dtype=config.dtype, device=config.device)
    if "amp" not in inspect.signature(ops_cls).parameters:
        raise ConfigError(f"backend {config.backend!r} has no mixed precision (--amp "
                          f"{config.amp}); use --amp off, or --backend torch on a GPU.")
    return ops_cls(dtype=config.dtype, device=config.device, amp=config.amp)


def _new_run_dir(config: RunConfig) -> Path:
    if config.out:
        path = Path(config.out)
        if (path / CONFIG_FILE).exists() or (path / "checkpoints").exists():
            raise ConfigError(f"--out {str(path)!r} already holds a run; continue it with "
                              f"`seqframe run --resume {path}` or choose another --out.")
        path.mkdir(parents=True, exist_ok=True)
        return path
    stem = Path("runs") / f"{config.task}-{config.cell}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = stem, 1
    while path.exists():
        n += 1
        path = stem.with_name(f"{stem.name}-{n}")
    path.mkdir(parents=True)
    return path


# ---- training --------------------------------------------------------------------------------


def run(config: RunConfig, log: Callable[[str], None] = print,
        task_state: dict | None = None) -> dict[str, Any]:
    """Train a new run described by a resolved ``config``; return its summary.

    ``task_state`` (a ``Task.state_dict()``) makes the task reuse that fitted state (vocabulary,
    scalers) instead of fitting its own: ensemble members share member 0's this way.

    Raises:
        Interrupted: Ctrl-C; a checkpoint was written (CLI exit code 130).
        NonFiniteError: the loss or gradients became NaN/Inf (exit code 1).
        SeqframeError: anything wrong with the configuration, data or plugins.
    """
    world = env_world()
    ensemble.check(config, world.size)
    check_run(config, world)
    log = _quiet_aware(config, log, world.rank)
    if config.ensemble > 1:
        run_dir = _new_run_dir(config)
        write_toml(config.replace(out=str(run_dir)), run_dir / CONFIG_FILE)
        return ensemble.train(config, run_dir, log)
    ops, task, spec, model = build(config, task_state)
    with session(ops, world) as dp:
        run_dir = Path(dp.on_main(lambda: str(_new_run_dir(config))))
        dp.run_dir = run_dir
        config = config.replace(out=str(run_dir), nproc=world.size)
        if dp.is_main:
            write_toml(config, run_dir / CONFIG_FILE)
        host = model.init_params(seed_streams(config.seed)["init"])  # float64, same everywhere
        params = {name: ops.asarray(value) for name, value in host.items()}
        log(f"run {run_dir}: task {task.name}, {config.cell} x{config.layers} "
            f"(H={config.hidden}), {sum(v.size for v in host.values())} parameters"
            + (f", {world.size} data-parallel processes" if world.size > 1 else ""))
        trainer = Trainer(config, task, spec, model, ops, params, run_dir, log=log, dp=dp)
        trainer.fit()
        return finish(trainer)


def resume(run_dir: str | Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Continue the run in ``run_dir`` exactly where its latest checkpoint left it.

    A run that had already finished is not trained further; its summary is written again.
    """
    run_dir = Path(run_dir)
    config = _read_config(run_dir)
    world = env_world()
    check_resume(config.nproc, world, run_dir)
    log = _quiet_aware(config, log, world.rank)
    if config.ensemble > 1:
        return ensemble.train(config, run_dir, log)
    _, meta = load_checkpoint(run_dir / "checkpoints" / "latest")
    ops, task, spec, model = build(config, meta["task_state"])
    with session(ops, world) as dp:
        dp.run_dir = run_dir
        params = load_params(run_dir, ops, "latest")[0]
        trainer = Trainer(config, task, spec, model, ops, params, run_dir, log=log, dp=dp)
        trainer.restore("latest")
        log(f"resuming {run_dir} at step {trainer.state.step} "
            f"(epoch {trainer.state.cursor.epoch})")
        if not trainer.state.finished:
            trainer.fit()
        return finish(trainer)


def finish(trainer: Trainer) -> dict[str, Any]:
    """Test from the best checkpoint, baselines, artefacts, curves; write ``summary.json``.

    Data parallel: rank 0 alone does this (no other rank waits for it); the others return the
    few fields they know.
    """
    task, st, run_dir = trainer.task, trainer.state, Path(trainer.run_dir)
    if not trainer.dp.is_main:
        return {"task": task.name, "steps": st.step, "stop_reason": st.stop_reason,
                "rank": trainer.dp.rank, "run_dir": str(run_dir)}
    params = trainer.params
    if (run_dir / "checkpoints" / "best").exists():
        params = load_params(run_dir, trainer.ops, "best")[0]
    predictor = ModelPredictor(trainer.model, trainer.ops, params)
    metrics = {"val": st.best_val or task_metrics(task, predictor, "val")}
    test, baselines, baseline_split, artefacts = final_report(task, predictor, run_dir)
    metrics.update(test)
    plot_curves(trainer.metrics.read(), run_dir / "curves.png", task.metric)
    summary = {
        "task": task.name, "backend": trainer.ops.name, "cell": trainer.config.cell,
        "steps": st.step, "wall_seconds": round(trainer.elapsed(), 3),
        "metrics": metrics, "baselines": baselines, "baseline_split": baseline_split,
        "metric": task.metric, "best_step": st.best_step, "stop_reason": st.stop_reason,
        "epochs": st.cursor.epoch, "path": trainer.path, "device": trainer.ops.describe(),
        "clipping": trainer.clipper.stats.summary(),
        "nonfinite": {"skipped": st.skipped, "rollbacks": st.rollbacks},
        "artefacts": artefacts, "run_dir": str(run_dir), "nproc": trainer.dp.size,
    }
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def final_report(task, predictor, run_dir: Path):
    """What a finished run reports besides validation, from its final ``predictor``.

    Returns:
        ``({"test": metrics} or {}, baselines, baseline_split, artefact paths)``: test metrics
        when the task holds a test split out, its baselines on test (else val), and the files
        its ``write_artefacts`` wrote.
    """
    splits = task.splits()
    test = {"test": task_metrics(task, predictor, "test")} if "test" in splits else {}
    baseline_split = "test" if "test" in splits else "val"
    baselines = {name: {k: float(v) for k, v in values.items()}
                 for name, values in task.baselines(baseline_split).items()}
    artefacts = [str(p) for p in task.write_artefacts(predictor, run_dir)]
    return test, baselines, baseline_split, artefacts


# ---- using a finished run --------------------------------------------------------------------


def open_run(run_dir: str | Path, backend: str | None = None):
    """Load a run's best checkpoint (else its latest) into ``backend`` (default: the run's own).

    Returns:
        ``(task, predictor, config)``: the prepared task with its training-time fitted state, a
        :class:`seqframe.engine.predictor.ModelPredictor`, and the run's resolved config.
    """
    run_dir = Path(run_dir)
    config = _read_config(run_dir)
    if config.ensemble > 1:
        return (*ensemble.open_members(run_dir, config, backend), config)
    if backend is not None and backend != config.backend:
        config = config.replace(backend=backend, device="auto", amp="off")
    ops = make_ops(config)
    params, meta = load_params(run_dir, ops, "best")
    _, task, _, model = build(config, meta["task_state"])
    return task, ModelPredictor(model, ops, params), config


def evaluate(run_dir: str | Path, split: str | None = None, backend: str | None = None) -> dict:
    """The task's metrics on ``split`` (default: test if the task holds one out, else val)."""
    task, predictor, config = open_run(run_dir, backend)
    split = split or ("test" if "test" in task.splits() else "val")
    if split not in task.splits():
        raise UsageError(f"task {task.name!r} has no {split!r} split; it has "
                         f"{', '.join(task.splits())}.")
    if config.ensemble > 1:
        ensemble.check_split(task, split, Path(run_dir))
    return task_metrics(task, predictor, split)


def _read_config(run_dir: Path) -> RunConfig:
    if not (run_dir / CONFIG_FILE).exists():
        raise UsageError(f"{str(run_dir)!r} is not a run directory (no {CONFIG_FILE}); give the "
                         f"directory a `seqframe run` wrote (its --out).")
    return read_resolved(run_dir / CONFIG_FILE)


def _quiet_aware(config: RunConfig, log: Callable[[str], None],
                 rank: int = 0) -> Callable[[str], None]:
    """``log``, or a no-op when quiet or on a data-parallel rank other than 0."""
    return (lambda _line: None) if config.quiet or rank != 0 else log


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
    clip = summary.get("clipping", {})
    if clip:
        lines.append(f"gradient norm mean {clip['grad_norm_mean']:.3g}, max "
                     f"{clip['grad_norm_max']:.3g}; clipped {100 * clip['clipped_fraction']:.0f}% "
                     f"of steps")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}"

