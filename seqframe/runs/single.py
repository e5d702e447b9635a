"""One model's run: train it, resume it, finish it, and reopen it to predict.

A run directory holds ``config.toml`` (resolved), ``metrics.jsonl``, ``summary.json``,
``checkpoints/{latest,best}/``, ``curves.png`` and the task's artefacts. :func:`train` raises
:class:`seqframe.training.trainer.Interrupted` (exit code 130) after writing a checkpoint on
Ctrl-C and :class:`seqframe.errors.NonFiniteError` (exit code 1) when the loss diverges.

Under torchrun with several processes (``seqframe run --nproc N`` starts it) :func:`train` and
:func:`resume` train data-parallel (see :mod:`seqframe.training.distributed`): every rank builds
the same model from the same seed and trains on its shard of each batch; rank 0 alone creates
the run directory, logs, and writes checkpoints, metrics, the test report and ``summary.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import RunConfig, write_toml
from ..engine.predictor import task_metrics
from ..engine.topology import as_topology
from ..training.checkpoint import atomic_write_text, load_checkpoint, read_params
from ..training.distributed import World, check_resume, check_run, session
from ..training.seeding import seed_streams
from ..training.trainer import Trainer
from .build import CONFIG_FILE, build, new_run_dir, read_run_config
from .curves import plot_curves

Log = Callable[[str], None]


def train(config: RunConfig, world: World, log: Log, task_state: dict | None = None) -> dict:
    """Train a new run described by a resolved ``config``; return its summary.

    ``task_state`` (a ``Task.state_dict()``) makes the task reuse that fitted state (vocabulary,
    scalers) instead of fitting its own: ensemble members share member 0's this way.
    """
    check_run(config, world)
    built = build(config, task_state, log)
    ops, model = built.ops, built.model
    with session(ops, world) as dp:
        run_dir = Path(dp.on_main(lambda: str(new_run_dir(config))))
        dp.run_dir = run_dir
        config = config.replace(out=str(run_dir), nproc=world.size)
        if dp.is_main:
            write_toml(config, run_dir / CONFIG_FILE)
        host = model.init_params(seed_streams(config.seed)["init"])  # float64, same everywhere
        params = {name: ops.asarray(value) for name, value in host.items()}
        log(f"run {run_dir}: task {built.task.name}, {config.cell} x{config.layers} "
            f"(H={config.hidden}), {sum(v.size for v in host.values())} parameters"
            + (f", {world.size} data-parallel processes" if world.size > 1 else ""))
        trainer = Trainer(config, built.task, built.spec, model, ops, params, run_dir, log=log,
                          dp=dp)
        trainer.fit()
        return finish(trainer)


def resume(run_dir: Path, config: RunConfig, world: World, log: Log) -> dict:
    """Continue the run in ``run_dir`` exactly where its latest checkpoint left it.

    A run that had already finished is not trained further; its summary is written again.
    """
    check_resume(config.nproc, world, run_dir)
    _, meta = load_checkpoint(run_dir / "checkpoints" / "latest")
    built = build(config, meta["task_state"], log)
    ops = built.ops
    with session(ops, world) as dp:
        dp.run_dir = run_dir
        params = {k: ops.asarray(v) for k, v in read_params(run_dir, "latest")[0].items()}
        trainer = Trainer(config, built.task, built.spec, built.model, ops, params, run_dir,
                          log=log, dp=dp)
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
    task, st, run_dir, ops = trainer.task, trainer.state, Path(trainer.run_dir), trainer.ops
    if not trainer.dp.is_main:
        return {"task": task.name, "steps": st.step, "stop_reason": st.stop_reason,
                "rank": trainer.dp.rank, "run_dir": str(run_dir)}
    params = trainer.params
    if (run_dir / "checkpoints" / "best").exists():
        params = {k: ops.asarray(v) for k, v in read_params(run_dir, "best")[0].items()}
    predictor = trainer.topology.predictor(ops, params)
    metrics = {"val": st.best_val or task_metrics(task, predictor, "val")}
    test, baselines, baseline_split, artefacts = final_report(task, predictor, run_dir)
    metrics.update(test)
    plot_curves(trainer.metrics.read(), run_dir / "curves.png", task.metric)
    summary = {
        "task": task.name, "backend": ops.name, "cell": trainer.config.cell,
        "steps": st.step, "wall_seconds": round(trainer.elapsed(), 3),
        "metrics": metrics, "baselines": baselines, "baseline_split": baseline_split,
        "metric": task.metric, "best_step": st.best_step, "stop_reason": st.stop_reason,
        "epochs": st.cursor.epoch, "path": trainer.path, "paths": trainer.path_counts,
        "device": ops.describe(), "clipping": trainer.clipper.stats.summary(),
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


def open_single(run_dir: Path, config: RunConfig, backend: str | None = None):
    """A run's best checkpoint (else its latest) on ``backend`` (default: the run's own).

    Returns:
        ``(task, predictor, config)``: the prepared task with its training-time fitted state, the
        model in eval mode (a :class:`seqframe.engine.predictor.ModelPredictor`, or an
        encoder-decoder's predictor), and the run's config.
    """
    if backend is not None and backend != config.backend:
        config = config.replace(backend=backend, device="auto", amp="off")
    host, meta = read_params(run_dir, "best")
    built = build(config, meta["task_state"])
    params = {k: built.ops.asarray(v) for k, v in host.items()}
    return built.task, as_topology(built.model).predictor(built.ops, params), config


__all__ = ["finish", "final_report", "open_single", "read_run_config", "resume", "train"]
