"""Ensembles: ``--ensemble K`` trains K members and predicts with their combined outputs.

A deep ensemble (Lakshminarayanan, Pritzel & Blundell, 2017) is K models of the same kind that
differ in their random initialisation, data order and dropout; combining their predictions
removes much of the seed-to-seed spread of a single model, which on small data sets can exceed
every difference between settings. Member ``m`` is an ordinary run with seed ``seed * K + m``,
so ensembles of K members with different seeds share no member (and with seed 0, member 0 is the
single run). A task with the :class:`~seqframe.task.EnsembleAware` capability may also vary its
data between members (``member_options``): the gesture task holds out a different validation
split for each, so every member early-stops on its own cases and together they learn from the
whole training file.

Members after the first reuse member 0's fitted task state (vocabulary, scalers, class order), so
the ensemble prepares each input once, with member 0's task, and hands it to all of them; a
member whose options change what its model reads (the gesture task draws each member its own
random kernels) gets it through the task's ``input_view``, built from the options recorded in
that member's ``config.toml``.

Outputs are combined as the loss reads them (:meth:`seqframe.losses.Loss.combine`): class
probabilities are averaged (``cross_entropy``), values are averaged (``mse``), and Gaussians are
merged into the mixture's mean and variance (``gaussian_nll``).

Layout of an ensemble run ``DIR``: ``config.toml`` (``ensemble = K``), ``member-0`` ...
``member-{K-1}`` (each a complete run directory), and ``summary.json`` with the ensemble's
metrics plus each member's. Members train one after another; ``--resume DIR`` skips finished
members, continues the interrupted one from its checkpoint, and starts the rest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig
from ..engine.predictor import ModelPredictor, task_metrics
from ..errors import ConfigError, UsageError
from ..losses import Loss
from ..task import EnsembleAware, InputView, MemberInputs, Translator
from ..training.checkpoint import load_checkpoint, read_params
from ..training.distributed import World
from ..training.safefiles import atomic_write_text
from ..training.trainer import Interrupted
from . import report, single
from .build import load_plugin, read_run_config

MEMBER_DIR = "member-{}"


class EnsemblePredictor:
    """A :class:`seqframe.task.Predictor` over members; its state is the tuple of theirs.

    ``views[m]`` (optional, ``None`` = as given) turns the inputs into member ``m``'s own.
    """

    def __init__(self, members: Sequence[Any], loss: Loss,
                 views: Sequence[InputView | None] | None = None):
        self.members, self.loss = list(members), loss
        self.views = list(views) if views is not None else [None] * len(self.members)

    def predict(self, inputs: np.ndarray, mask: np.ndarray | None = None,
                state: Any = None) -> tuple[np.ndarray, Any]:
        states = state if state is not None else (None,) * len(self.members)
        results = [m.predict(view(inputs, mask) if view else inputs, mask, s)
                   for m, view, s in zip(self.members, self.views, states, strict=True)]
        return self.loss.combine([out for out, _ in results]), tuple(s for _, s in results)


def member_seed(config: RunConfig, member: int) -> int:
    return config.seed * config.ensemble + member


def member_config(config: RunConfig, member: int, run_dir: Path) -> RunConfig:
    """Member ``member``'s own config: one model, seed ``seed * K + member``, its task options."""
    task = load_plugin("task", config.task)(config.options, config.data)
    options = {**config.options, **member_changes(task, member)}
    return config.replace(ensemble=1, seed=member_seed(config, member), options=options,
                          out=str(run_dir / MEMBER_DIR.format(member)))


NPROC_REFUSED = ("--ensemble trains its members one after another in one process; drop --nproc "
                 "(or train members as separate data-parallel runs).")


def check(config: RunConfig, world_size: int) -> None:
    if config.ensemble < 1:
        raise ConfigError(f"--ensemble must be at least 1; got {config.ensemble}.")
    if config.ensemble > 1 and (world_size > 1 or config.nproc > 1):
        raise ConfigError(NPROC_REFUSED)
    if config.ensemble > 1 and issubclass(load_plugin("task", config.task), Translator):
        raise ConfigError(f"--ensemble combines the outputs of single-stack models; task "
                          f"{config.task!r} decodes sequences with an encoder-decoder, whose "
                          "outputs cannot be combined yet. Train one model (--ensemble 1).")


def member_changes(task: Any, member: int) -> dict[str, Any]:
    """The task options member ``member`` changes ({} for a task that is not ensemble-aware)."""
    return task.member_options(member) if isinstance(task, EnsembleAware) else {}


def train(config: RunConfig, run_dir: Path, log: Callable[[str], None], *,
          allow_data_change: bool = False) -> dict[str, Any]:
    """Train (or finish) every member of the ensemble in ``run_dir``; return the summary.

    The caller holds ``run_dir``'s lock; ``allow_data_change`` is passed to member resumes.
    """
    summaries, task_state = [], None
    for member in range(config.ensemble):
        if member == 1:  # every later member reuses member 0's fitted task state
            meta = load_checkpoint(run_dir / MEMBER_DIR.format(0) / "checkpoints" / "latest")[1]
            task_state = meta["task_state"]
        log(f"ensemble member {member + 1} of {config.ensemble}: "
            f"{run_dir / MEMBER_DIR.format(member)}")
        try:
            summaries.append(_train_member(config, run_dir, member, task_state, log,
                                           allow_data_change))
        except Interrupted as stopped:  # the user resumes the ensemble, not the member
            raise Interrupted(str(run_dir), stopped.step, stopped.saved,
                              stopped.signum) from None
    return finish(config, run_dir, summaries)


def _train_member(config: RunConfig, run_dir: Path, member: int, task_state: dict | None,
                  log: Callable[[str], None], allow_data_change: bool = False) -> dict[str, Any]:
    """A finished member's summary; an interrupted one resumed; a new one trained.

    A finished member whose ``summary.json`` is damaged is finished again from its checkpoint
    (which writes the summary anew).
    """
    member_dir = run_dir / MEMBER_DIR.format(member)
    summary = _member_summary(member_dir, log)
    if summary is not None:
        return summary
    if (member_dir / "checkpoints" / "latest").exists():
        return single.resume(member_dir, read_run_config(member_dir), World(), log,
                             allow_data_change=allow_data_change)
    if member_dir.exists():  # stopped before its first checkpoint: nothing to keep
        shutil.rmtree(member_dir)
    return single.train(member_config(config, member, run_dir), World(), log, task_state)


SUMMARY_KEYS = ("run_dir", "steps", "best_step", "metrics", "backend", "wall_seconds")


def _member_summary(member_dir: Path, log: Callable[[str], None]) -> dict[str, Any] | None:
    """A finished member's ``summary.json``; None when it has none or it is damaged."""
    path = member_dir / "summary.json"
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and all(key in summary for key in SUMMARY_KEYS) and \
            isinstance(summary["metrics"], dict) and isinstance(summary["metrics"].get("val"),
                                                                dict):
        return summary
    log(f"warning: {path} is damaged; finishing the member again from its checkpoint")
    path.unlink()
    return None


def open_members(run_dir: Path, config: RunConfig, backend: str | None):
    """``(task, predictor)``: member 0's prepared task and an :class:`EnsemblePredictor`.

    Only member 0 is opened in full: the others share its task state and model shape, so each
    needs just its own weights and, where its options change its inputs, a view of member 0's
    (preparing the task again per member would repeat its data work).
    """
    first_dir = run_dir / MEMBER_DIR.format(0)
    task, first, _ = single.open_single(first_dir, read_run_config(first_dir), backend)
    members, views = [first], [None]
    for m in range(1, config.ensemble):
        member_dir = run_dir / MEMBER_DIR.format(m)
        params = {k: first.ops.asarray(v) for k, v in read_params(member_dir, "best")[0].items()}
        members.append(ModelPredictor(first.model, first.ops, params))
        options = read_run_config(member_dir).options
        views.append(task.input_view(options) if isinstance(task, MemberInputs) else None)
    return task, EnsemblePredictor(members, first.model.loss, views)


def has_checkpoints(run_dir: Path) -> bool:
    """Whether any member of the ensemble in ``run_dir`` has written a checkpoint."""
    return any(run_dir.glob(f"{MEMBER_DIR.format('*')}/checkpoints/*/meta.json"))


def members_differ(task: Any) -> bool:
    """Whether the task gives members other data than member 0 (e.g. their own val split)."""
    return bool(member_changes(task, 1))


def check_split(task: Any, split: str, run_dir: Path) -> None:
    """Refuse ``val`` when members held out different validation cases (it would be unfair)."""
    if split == "val" and members_differ(task):
        raise UsageError(
            f"the members of ensemble {str(run_dir)!r} each held out their own validation "
            f"split, so no validation split is unseen by all of them; evaluate a member "
            f"({str(run_dir / MEMBER_DIR.format(0))!r}) or the test split."
        )


def finish(config: RunConfig, run_dir: Path, members: list[dict]) -> dict[str, Any]:
    """Score the combined model on test, write artefacts and ``summary.json``."""
    task, predictor = open_members(run_dir, config, backend=None)
    val_baselines = None
    if members_differ(task):  # each member held out its own cases: only their mean is fair
        val = {k: float(np.mean([m["metrics"]["val"][k] for m in members]))
               for k in members[0]["metrics"]["val"]}
        val_baselines = report.mean_baselines(members)  # each on its member's own cases
    else:
        val = task_metrics(task, predictor, "val")
    final = report.final_report(task, predictor, run_dir, val, val_baselines)
    summary = {
        "task": task.name, "backend": members[0]["backend"], "cell": config.cell,
        "ensemble": config.ensemble, "steps": sum(m["steps"] for m in members),
        "wall_seconds": round(sum(m["wall_seconds"] for m in members), 3),
        "metrics": final["metrics"], "evaluation": final["evaluation"],
        "baselines": final["baselines"], "baseline_split": final["baseline_split"],
        "beats_best_baseline": final["beats_best_baseline"],
        "baseline_comparison": final["baseline_comparison"],
        "metric": task.metric, "stop_reason": "members trained",
        "members": [{"run_dir": m["run_dir"], "seed": member_seed(config, i), "steps": m["steps"],
                     "best_step": m["best_step"], "metrics": m["metrics"]}
                    for i, m in enumerate(members)],
        "artefacts": final["artefacts"], "run_dir": str(run_dir),
    }
    summary.update(report.judge(task, final["metrics"], final["baselines"],
                                final["baseline_split"]))
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
