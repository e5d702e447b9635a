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

import contextlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import RunConfig, toml_text
from ..engine.predictor import ModelPredictor, task_metrics
from ..training.checkpoint import load_checkpoint, read_params
from ..training.distributed import World, check_resume, check_run, session
from ..training.safefiles import atomic_write_text, refuse_links
from ..training.seeding import seed_streams
from ..training.settings import validate
from ..training.trainer import Trainer
from .build import CONFIG_FILE, build, read_run_config
from .curves import plot_curves
from .fingerprint import check_unchanged, fingerprint, resolve_data
from .rundir import claim_new, require_checkpoint

Log = Callable[[str], None]
DIVERGED_FACTOR = 100.0  # a final metric this many times the best trivial baseline: diverged


def train(config: RunConfig, world: World, log: Log, task_state: dict | None = None, *,
          overwrite: bool = False) -> dict:
    """Train a new run described by a resolved ``config``; return its summary.

    Everything that can be checked without training is checked before the run directory is
    created or touched (settings, optimizer, data); the directory is then locked for the run's
    life (:mod:`.rundir`). ``task_state`` (a ``Task.state_dict()``) makes the task reuse that
    fitted state (vocabulary, scalers) instead of fitting its own: ensemble members share member
    0's this way. ``overwrite`` replaces a run already in ``config.out``.
    """
    check_run(config, world)
    validate(config)
    config = resolve_data(config)  # absolute: the run resumes from any working directory
    built = build(config, task_state, log)
    data = fingerprint(config) if world.rank == 0 else None
    ops, model = built.ops, built.model
    with session(ops, world) as dp, contextlib.ExitStack() as held:
        def claim() -> str:
            path, lock = claim_new(config, overwrite, log)
            held.callback(lock.release)
            return str(path)

        run_dir = Path(dp.on_main(claim))
        dp.run_dir = run_dir
        config = config.replace(out=str(run_dir), nproc=world.size)
        if dp.is_main:
            atomic_write_text(run_dir / CONFIG_FILE, toml_text(config))
        host = model.init_params(seed_streams(config.seed)["init"])  # float64, same everywhere
        params = {name: ops.asarray(value) for name, value in host.items()}
        log(f"run {run_dir}: task {built.task.name}, {config.cell} x{config.layers} "
            f"(H={config.hidden}), {sum(v.size for v in host.values())} parameters"
            + (f", {world.size} data-parallel processes" if world.size > 1 else ""))
        trainer = Trainer(config, built.task, built.spec, model, ops, params, run_dir, log=log,
                          dp=dp)
        trainer.data = data
        trainer.fit()
        return finish(trainer)


def resume(run_dir: Path, config: RunConfig, world: World, log: Log, *,
           allow_data_change: bool = False) -> dict:
    """Continue the run in ``run_dir`` exactly where its latest checkpoint left it.

    A run that had already finished is not trained further; its summary is written again. The
    caller holds the run directory's lock (:func:`seqframe.runs.rundir.open_existing`).

    Raises:
        UsageError: no checkpoint to resume (the run is restartable instead).
        DataError: the data changed since the run started (unless ``allow_data_change``), or
            the checkpoint is damaged.
    """
    check_resume(config.nproc, world, run_dir)
    require_checkpoint(run_dir)
    validate(config)
    _, meta = load_checkpoint(run_dir / "checkpoints" / "latest")
    data, changed = None, False
    if world.rank == 0:
        data, changed = check_unchanged(meta.get("data"), config, allow_data_change, log)
    built = build(config, meta.get("task_state"), log)
    ops = built.ops
    with session(ops, world) as dp:
        dp.run_dir = run_dir
        params = {k: ops.asarray(v) for k, v in built.model.init_params(
            seed_streams(config.seed)["init"]).items()}  # shapes; the checkpoint's values follow
        trainer = Trainer(config, built.task, built.spec, built.model, ops, params, run_dir,
                          log=log, dp=dp)
        trainer.restore("latest")
        trainer.data = data
        if dp.agree(changed)[0]:  # --allow-data-change: the checkpoint records the new data
            trainer.snapshot()
        log(f"resuming {run_dir} at step {trainer.state.step} "
            f"(epoch {trainer.state.cursor.epoch})")
        if not trainer.state.finished:
            trainer.fit()
        return finish(trainer)


def finish(trainer: Trainer) -> dict[str, Any]:
    """Test from the best checkpoint, baselines, artefacts, curves; write ``summary.json``.

    A final metric that is not finite or is :data:`DIVERGED_FACTOR` times worse than the task's
    best trivial baseline marks the summary ``diverged`` (the files are written all the same;
    the CLI exits with code 1). Data parallel: rank 0 alone does this (no other rank waits for
    it); the others return the few fields they know.
    """
    task, st, run_dir, ops = trainer.task, trainer.state, Path(trainer.run_dir), trainer.ops
    if not trainer.dp.is_main:
        return {"task": task.name, "steps": st.step, "stop_reason": st.stop_reason,
                "rank": trainer.dp.rank, "run_dir": str(run_dir)}
    params = trainer.params
    if (run_dir / "checkpoints" / "best").exists():
        params = {k: ops.asarray(v) for k, v in read_params(run_dir, "best")[0].items()}
    predictor = ModelPredictor(trainer.model, ops, params)
    metrics = {"val": st.best_val or task_metrics(task, predictor, "val")}
    test, baselines, baseline_split, artefacts = final_report(task, predictor, run_dir)
    metrics.update(test)
    plot_curves(trainer.metrics.read(), run_dir / "curves.png", task.metric)
    summary = {
        "task": task.name, "backend": ops.name, "cell": trainer.config.cell,
        "steps": st.step, "wall_seconds": round(trainer.elapsed(), 3),
        "metrics": metrics, "baselines": baselines, "baseline_split": baseline_split,
        "metric": task.metric, "best_step": st.best_step, "stop_reason": st.stop_reason,
        "epochs": st.cursor.epoch, "loss": trainer.model.loss.name, "path": trainer.path,
        "paths": trainer.path_counts,
        "device": ops.describe(), "clipping": trainer.clipper.stats.summary(),
        "nonfinite": {"skipped": st.skipped, "rollbacks": st.rollbacks},
        "artefacts": artefacts, "run_dir": str(run_dir), "nproc": trainer.dp.size,
    }
    summary.update(judge(task, metrics, baselines, baseline_split))
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if summary["diverged"]:
        trainer.log(f"warning: {summary['flagged']}")
    return summary


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
    refuse_links(run_dir)  # the task's own artefact writers would follow a link
    artefacts = [str(p) for p in task.write_artefacts(predictor, run_dir)]
    return test, baselines, baseline_split, artefacts


def open_single(run_dir: Path, config: RunConfig, backend: str | None = None):
    """A run's best checkpoint (else its latest) on ``backend`` (default: the run's own).

    Returns:
        ``(task, predictor, config)``: the prepared task with its training-time fitted state, a
        :class:`seqframe.engine.predictor.ModelPredictor`, and the run's config.
    """
    if backend is not None and backend != config.backend:
        config = config.replace(backend=backend, device="auto", amp="off")
    host, meta = read_params(run_dir, "best")
    built = build(config, meta["task_state"])
    params = {k: built.ops.asarray(v) for k, v in host.items()}
    return built.task, ModelPredictor(built.model, built.ops, params), config


__all__ = ["finish", "final_report", "open_single", "read_run_config", "resume", "train"]
