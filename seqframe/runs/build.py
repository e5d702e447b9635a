"""Building what a run config names: its plugins, backend, task, model and run directory.

Used by every way of starting or reopening a run (:mod:`.single`, :mod:`.ensemble`,
:mod:`.api`); it holds no state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cells import Cell, layer_norm_variant
from ..config import RunConfig, load_toml, merge, read_resolved
from ..engine.model import Model, ModelConfig
from ..engine.seq2seq import Seq2SeqConfig, Seq2SeqModel
from ..errors import ConfigError, UsageError
from ..losses import Loss
from ..losses.base import check_loss_class
from ..ops import Ops
from ..plugins import get_registry
from ..task import ModelSpec, Seq2SeqSpec, Task

CONFIG_FILE = "config.toml"


def load_plugin(kind: str, name: str) -> Any:
    """The class registered as ``name`` of ``kind`` (backend, cell, task)."""
    return get_registry().load(kind, name)


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


@dataclass
class Built:
    """Everything a config names, ready to train or predict: ``ops``, the prepared ``task`` and
    its ``spec``, and the ``model`` (a single stack, or an encoder-decoder for a
    :class:`~seqframe.task.Seq2SeqSpec`)."""

    ops: Ops
    task: Task
    spec: ModelSpec | Seq2SeqSpec
    model: Model | Seq2SeqModel


def build(config: RunConfig, task_state: dict | None = None,
          log: Callable[[str], None] | None = None) -> Built:
    """Backend, task (prepared, with ``task_state`` when given: the fitted vocabulary, scalers...
    of a checkpoint), spec and model for ``config``; ``log`` becomes the task's log."""
    ops = make_ops(config)
    task_cls = load_plugin("task", config.task)
    task = task_cls(config.options, config.data)
    if log is not None:
        task.log = log
    spec = task.prepare(task_state)
    if isinstance(spec, Seq2SeqSpec):
        return Built(ops, task, spec, make_seq2seq(config, spec))
    if config.bidirectional and config.bptt:
        raise ConfigError("a bidirectional model reads each sequence whole; use --bptt 0 with "
                          "--bidirectional (or drop --bidirectional for truncated BPTT).")
    loss = make_loss(config, spec)
    model = Model(ModelConfig(
        cell=config.cell, input_size=spec.input_size, hidden_size=config.hidden,
        output_size=spec.output_size, layers=config.layers, readout=spec.readout,
        loss=loss.name, dropout=config.dropout, bidirectional=config.bidirectional,
        tokens=spec.tokens, embed=config.embed, padding_id=spec.padding_id,
        tie_weights=config.tie_weights, sparse_grads=config.sparse_grads), make_cell(config),
        loss)
    return Built(ops, task, spec, model)


def make_seq2seq(config: RunConfig, spec: Seq2SeqSpec) -> Seq2SeqModel:
    """The encoder-decoder a config builds for an encoder-decoder task.

    Raises:
        ConfigError: settings that do not apply to one (truncated BPTT) or bad sizes and
            choices.
    """
    if config.bptt or config.bptt_back:
        raise ConfigError("an encoder-decoder reads each sentence pair whole; drop --bptt and "
                          "--bptt-back (truncated BPTT does not apply to it).")
    if config.sparse_grads:
        raise ConfigError("--sparse-grads applies to single-stack models (language models, "
                          "next-item); an encoder-decoder trains dense gradients: drop it.")
    loss = make_loss(config, spec)
    return Seq2SeqModel(Seq2SeqConfig(
        cell=config.cell, source_vocab=spec.source_vocab, target_vocab=spec.target_vocab,
        hidden_size=config.hidden, embed=config.embed, layers=config.layers,
        bidirectional=config.bidirectional, attention=config.attention,
        input_feed=config.input_feed, sampling=config.sampling, dropout=config.dropout,
        loss=loss.name, padding_id=spec.pad_id, bos_id=spec.bos_id, eos_id=spec.eos_id,
        tie_weights=config.tie_weights), make_cell(config), loss)


def make_cell(config: RunConfig) -> Cell:
    """The cell ``config`` names; with ``layer_norm``, its layer-normalised variant."""
    cell_cls = load_plugin("cell", config.cell)
    return layer_norm_variant(cell_cls)() if config.layer_norm else cell_cls()


def make_loss(config: RunConfig, spec: ModelSpec | Seq2SeqSpec) -> Loss:
    """The loss the task names, or the one the run asks for (``loss``) where it fits the task.

    A run may name any registered loss that the task can read the outputs of: one whose
    ``targets`` kind and ``per_sequence`` are those of the task's own loss (``spec.loss``) and
    whose readout width for the task's O is the same (the task's metrics, predictions and
    ensembles read the model's outputs as its own loss shapes them). A task that lists
    ``spec.losses`` restricts the choice to its own loss and those, and vouches for them.
    ``loss_options`` go to the loss the run trains with.

    Raises:
        ConfigError: a loss that does not fit the task, or bad ``loss_options``.
        UnknownNameError: no plugin registers the loss (exit 2).
    """
    name = config.loss or spec.loss
    if name != spec.loss and spec.losses and name not in spec.losses:
        raise ConfigError(f"task {config.task!r} trains with loss "
                          f"{' or '.join(repr(n) for n in (spec.loss, *spec.losses))}; {name!r} is "
                          f"not one of them. Set `loss` to one of those, or leave it out.")
    loss = _loss_instance(name, config.loss_options)
    if name != spec.loss and not spec.losses:
        _check_fits(config.task, spec, loss)
    loss.prepare(spec)
    return loss


def _loss_instance(name: str, options: dict[str, Any]) -> Loss:
    loss_cls = load_plugin("loss", name)
    check_loss_class(loss_cls)
    return loss_cls(**options)


def _check_fits(task: str, spec: ModelSpec, loss: Loss) -> None:
    """Raise ConfigError unless ``loss`` reads and shapes outputs as the task's own loss does."""
    own = _loss_instance(spec.loss, {})
    hint = (f" (`seqframe losses` lists each loss's targets and outputs), or leave `loss` out "
            f"to train with {spec.loss!r}.")
    if loss.targets != own.targets:
        raise ConfigError(f"loss {loss.name!r} takes {loss.targets!r} as targets, but task "
                          f"{task!r} gives {own.targets!r} (its own loss is {spec.loss!r}). "
                          f"Choose a loss whose targets are {own.targets!r}" + hint)
    if loss.per_sequence != own.per_sequence:
        kinds = ("whole sequences", "one target per row")
        what, other = kinds if loss.per_sequence else kinds[::-1]
        raise ConfigError(f"loss {loss.name!r} scores {what}, but task {task!r} trains with "
                          f"{spec.loss!r}, which scores {other}. Choose a loss that scores "
                          f"{other}" + hint)
    width, own_width = loss.output_size(spec.output_size), own.output_size(spec.output_size)
    if width != own_width:
        raise ConfigError(f"loss {loss.name!r} makes the model give {width} outputs for the "
                          f"{spec.output_size} target value(s) of task {task!r}, which reads "
                          f"{own_width}, as its own loss {spec.loss!r} shapes them. Choose a loss "
                          f"with as many outputs as {spec.loss!r}" + hint)


def make_ops(config: RunConfig) -> Ops:
    """The backend's Ops for ``config``: ``Cls(dtype=..., device=...)``, plus ``amp`` when set.

    Raises:
        ConfigError: an ``--amp`` mode the backend does not list in its ``amp_modes``.
    """
    ops_cls = load_plugin("backend", config.backend)
    if config.amp == "off":
        return ops_cls(dtype=config.dtype, device=config.device)
    if config.amp not in ops_cls.amp_modes:
        raise ConfigError(f"backend {config.backend!r} has no mixed precision --amp "
                          f"{config.amp} (it offers: {', '.join(ops_cls.amp_modes)}); use --amp "
                          f"off, or --backend torch on a GPU.")
    return ops_cls(dtype=config.dtype, device=config.device, amp=config.amp)


def read_run_config(run_dir: Path) -> RunConfig:
    """The resolved config a run directory holds."""
    if not (run_dir / CONFIG_FILE).exists():
        raise UsageError(f"{str(run_dir)!r} is not a run directory (no {CONFIG_FILE}); give the "
                         f"directory a `seqframe run` wrote (its --out).")
    return read_resolved(run_dir / CONFIG_FILE)
