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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import RunConfig, to_dict, toml_text
from ..engine.predictor import task_metrics
from ..engine.topology import as_topology
from ..errors import ConfigError, DataError
from ..training.checkpoint import load_checkpoint, read_params
from ..training.distributed import World, check_resume, check_run, session
from ..training.progress import describe_stop
from ..training.safefiles import atomic_write_text
from ..training.seeding import seed_streams
from ..training.settings import validate
from ..training.trainer import Trainer
from ..training.windows import total_steps
from .build import CONFIG_FILE, build, read_run_config
from .curves import plot_curves
from .fingerprint import check_unchanged, fingerprint, resolve_data
from .report import final_report, judge
from .rundir import claim_new, require_checkpoint

Log = Callable[[str], None]
Limit = dict[str, int]  # {"steps": N} or {"epochs": N}: a new limit to train a run on to


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
        # Every task option is recorded, defaults included, so a later version that changes a
        # default does not change what a resumed run reads.
        config = config.replace(out=str(run_dir), nproc=world.size,
                                options=recorded_options(built.task))
        if dp.is_main:
            atomic_write_text(run_dir / CONFIG_FILE, toml_text(config))
        host = model.init_params(seed_streams(config.seed)["init"])  # float64, same everywhere
        params = {name: ops.asarray(value) for name, value in host.items()}
        cell = config.cell + (" (layer-normalised)" if config.layer_norm else "")
        log(f"run {run_dir}: task {built.task.name}, {cell} x{config.layers} "
            f"(H={config.hidden}), {sum(v.size for v in host.values())} parameters"
            + (f", {world.size} data-parallel processes" if world.size > 1 else ""))
        trainer = Trainer(config, built.task, built.spec, model, ops, params, run_dir, log=log,
                          dp=dp)
        trainer.data = data
        trainer.fit()
        return finish(trainer)


def resume(run_dir: Path, config: RunConfig, world: World, log: Log,
           limit: Limit | None = None, *, allow_data_change: bool = False) -> dict:
    """Continue the run in ``run_dir`` where its latest checkpoint left it.

    Without ``limit`` the run continues exactly (bit for bit) as if it had never stopped; a run
    that had already finished is not trained further, and its summary is written again.

    With ``limit`` (``steps=N`` or ``epochs=N``: ``--resume DIR --steps N``) the run trains on
    to that new limit, finished or not: its ``config.toml`` is rewritten with the new limit, and
    because the learning-rate schedule and the default evaluation cadence are computed from the
    run's planned length, both change from the checkpoint on (logged); the patience count
    restarts. The caller holds the run directory's lock
    (:func:`seqframe.runs.rundir.open_existing`).

    Raises:
        UsageError: no checkpoint to resume (the run is restartable instead).
        ConfigError: a limit the run has already reached, or one a run stopped by its time
            budget could not train to.
        DataError: the data changed since the run started (unless ``allow_data_change``), or
            the checkpoint is damaged.
    """
    check_resume(config.nproc, world, run_dir)
    require_checkpoint(run_dir)
    validate(config)
    _, meta = load_checkpoint(run_dir / "checkpoints" / "latest")
    check_config_unchanged(config, meta.get("config"), run_dir)
    previous = config
    if limit is not None:
        config = extended_config(config, limit, meta["loop"], run_dir)
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
        state = trainer.state
        if limit is not None:
            if dp.is_main:
                atomic_write_text(run_dir / CONFIG_FILE, toml_text(config))
            log(extension_note(previous, config, trainer, state.finished))
            state.reopen()
        elif state.finished:
            log(f"{run_dir} had already finished ({describe_stop(state, config)}); nothing "
                f"more to train. Its best checkpoint is evaluated again and summary.json "
                f"rewritten. To train it further: seqframe run --resume {run_dir} --steps N "
                f"(or --epochs N).")
        else:
            log(f"resuming {run_dir} at step {state.step} (epoch {state.cursor.epoch})")
        if not state.finished:
            trainer.fit()
        return finish(trainer)


def recorded_options(task) -> dict[str, Any]:
    """The task's options as it parsed them, defaults included (TOML has no null: unset ones
    stay out)."""
    return {k: v for k, v in task.opts.items() if v is not None}


# Settings a resume may legitimately see differ from what the checkpoint recorded: where the run
# lives and how it is shown, the data's path (its content is fingerprinted instead), the process
# count and device, and the limits `--resume --steps/--epochs` rewrites before the next checkpoint.
MAY_DIFFER_ON_RESUME = frozenset({"out", "quiet", "data", "nproc", "device", "steps", "epochs"})


def check_config_unchanged(config: RunConfig, recorded: dict | None, run_dir: Path) -> None:
    """Refuse to resume when ``config.toml`` disagrees with the config the checkpoint recorded.

    A ``config.toml`` that was edited, or cut short where it still parses (a lost ``[options]``
    table falls back to the defaults), would otherwise train on with other settings than the
    checkpoint's. Keys a version of seqframe did not record are not compared (old runs).

    Raises:
        DataError: naming the first setting that differs, both values, and the way out.
    """
    if not recorded:
        return
    current = json.loads(json.dumps(to_dict(config), default=str))
    recorded = json.loads(json.dumps(recorded, default=str))
    for key in sorted(set(recorded) - MAY_DIFFER_ON_RESUME):
        now, then = current.get(key), recorded[key]  # absent now: the default (None)
        if isinstance(now, dict) and isinstance(then, dict):
            diff = sorted(k for k in set(now) & set(then) if now[k] != then[k])
            if diff:
                key, now, then = f"{key}.{diff[0]}", now[diff[0]], then[diff[0]]
            else:
                continue
        elif now == then:
            continue
        said = f"says {key} = {now!r}" if now is not None else f"does not set {key} (default)"
        raise DataError(
            f"{run_dir / CONFIG_FILE} {said}, but the checkpoint was trained with "
            f"{key} = {then!r}: the file was edited or damaged since. Put the value back (the "
            f"checkpoint's settings are under \"config\" in checkpoints/latest/meta.json) to "
            f"resume, or start a new run with --config to train with the new settings.")


def extended_config(config: RunConfig, limit: Limit, loop: dict, run_dir: Path) -> RunConfig:
    """``config`` with the new step or epoch ``limit`` (``{"steps": N}`` or ``{"epochs": N}``),
    after checking that the run in ``run_dir``, at ``loop`` (a checkpoint's loop state), can
    train towards it."""
    (key, value), = limit.items()
    step, epoch = loop["step"], loop["cursor"]["epoch"]
    done = step if key == "steps" else epoch
    if value is None or value <= done:
        raise ConfigError(
            f"--{key} {value} would not train {str(run_dir)!r} further: it is at step {step} "
            f"(epoch {epoch}). Give --{key} more than {done}.")
    if loop.get("stop_reason") == "time_budget":
        raise ConfigError(
            f"{str(run_dir)!r} stopped when its time budget ({config.time_budget:g} s) was spent, "
            f"so it would stop again at once. Start a new run from its settings instead: "
            f"seqframe run --config {run_dir / CONFIG_FILE} --time-budget SECONDS --out NEW.")
    other = "epochs" if key == "steps" else "steps"
    return config.replace(**{key: value, other: None})


def extension_note(before: RunConfig, after: RunConfig, trainer: Trainer, finished: bool) -> str:
    """The log line that says what extending the run changes."""
    state = trainer.state
    was = (f"{before.steps} steps" if before.steps is not None
           else f"{before.epochs or 1} epochs")
    now = f"{after.steps} steps" if after.steps is not None else f"{after.epochs} epochs"
    status = "finished" if finished else "stopped"
    planned = total_steps(before, trainer.task, trainer.data_seed, trainer.whole)
    return (f"extending {trainer.run_dir} ({status} at step {state.step}, epoch "
            f"{state.cursor.epoch}) from {was} to {now}: the learning-rate schedule's horizon "
            f"changes from {planned or '?'} to {trainer.total_steps or '?'} steps (and so does "
            f"the default validation cadence), so from here on the run differs from one "
            f"started with {now}; the patience count restarts")


def finish(trainer: Trainer) -> dict[str, Any]:
    """Test from the best checkpoint, baselines, artefacts, curves; write ``summary.json``.

    A final metric that is not finite or far worse than the task's best trivial baseline marks
    the summary ``diverged`` (:func:`seqframe.runs.report.judge`; the files are written all the
    same and the CLI exits with code 1). Data parallel: rank 0 alone does this (no other rank
    waits for it); the others return the few fields they know.
    """
    task, st, run_dir, ops = trainer.task, trainer.state, Path(trainer.run_dir), trainer.ops
    if not trainer.dp.is_main:
        return {"task": task.name, "steps": st.step, "stop_reason": st.stop_reason,
                "rank": trainer.dp.rank, "run_dir": str(run_dir)}
    params = trainer.params
    if (run_dir / "checkpoints" / "best").exists():
        params = {k: ops.asarray(v) for k, v in read_params(run_dir, "best")[0].items()}
    predictor = trainer.topology.predictor(ops, params)
    val = st.best_val or task_metrics(task, predictor, "val")
    report = final_report(task, predictor, run_dir, val)
    curves = plot_curves(trainer.metrics.read(), run_dir / "curves.png", task.metric,
                         best_step=st.best_step, extra=getattr(task, "baseline_metric", None))
    if curves is not None:
        report["artefacts"].append(str(curves))
    summary = {
        "task": task.name, "backend": ops.name, "cell": trainer.config.cell,
        "steps": st.step, "wall_seconds": round(trainer.elapsed(), 3),
        "metrics": report["metrics"], "evaluation": report["evaluation"],
        "baselines": report["baselines"], "baseline_split": report["baseline_split"],
        "beats_best_baseline": report["beats_best_baseline"],
        "baseline_comparison": report["baseline_comparison"],
        "metric": task.metric, "best_step": st.best_step, "stop_reason": st.stop_reason,
        "stop": describe_stop(st, trainer.config),
        "epochs": st.cursor.epoch, "loss": trainer.model.loss.name, "path": trainer.path,
        "paths": trainer.path_counts,
        "device": ops.describe(), "clipping": trainer.clipper.stats.summary(),
        "nonfinite": {"skipped": st.skipped, "rollbacks": st.rollbacks},
        "artefacts": report["artefacts"], "run_dir": str(run_dir), "nproc": trainer.dp.size,
    }
    summary.update(judge(task, report["metrics"], report["baselines"], report["baseline_split"]))
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if summary["diverged"]:
        trainer.log(f"warning: {summary['flagged']}")
    return summary


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


__all__ = ["extended_config", "finish", "open_single", "read_run_config", "resume", "train"]
