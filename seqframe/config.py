"""The run configuration: defaults < the task's preferences < ``--config FILE.toml`` < flags.

One flat :class:`RunConfig` holds everything a run needs; task options live in its ``options``
table (``-o KEY=VALUE`` on the command line, ``[options]`` in TOML). The resolved config is
written to the run directory as ``config.toml`` and is all ``--resume`` needs.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass
class RunConfig:
    """Everything one training run needs. Field names are the CLI flags with ``_`` for ``-``."""

    # what to run
    backend: str = "numpy"
    task: str = "timeseries"
    data: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # the model
    cell: str = "lstm"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    bidirectional: bool = False
    embed: int = 0  # width of the embedding of token inputs; 0 = feed the ids one-hot
    tie_weights: bool = False  # the readout shares the embedding table (needs equal sizes)
    layer_norm: bool = False  # layer-normalised LSTM/GRU cells (Ba et al. 2016)
    # row-sparse gradients for the embedding and a sampled readout: only touched rows update
    sparse_grads: bool = False
    loss: str = ""  # the task's loss when empty; another one the task allows (sampled_softmax)
    loss_options: dict[str, Any] = field(default_factory=dict)  # the loss's own settings
    # encoder-decoders (tasks whose spec is a Seq2SeqSpec, e.g. translate)
    attention: str = "general"  # additive | general | dot | none
    input_feed: bool = False  # feed the previous attentional vector into the decoder's input
    sampling: float = 0.0  # scheduled sampling: share of decoder inputs from its own predictions
    # batching and truncated BPTT
    batch_size: int = 32
    bptt: int = 0  # k1: steps per window (weights updated every k1 steps); 0 = whole sequence
    bptt_back: int = 0  # k2: steps backpropagated per update, >= k1; 0 = same as k1
    accumulate: int = 1  # micro-batches whose gradients are summed before one optimizer step
    # gradient clipping, once per optimizer step after accumulation; 0 disables
    clip_norm: float = 5.0
    clip_value: float = 0.0
    # optimizer and learning-rate schedule
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    schedule: str = "constant"  # constant | step | exponential | cosine
    warmup_steps: int = 0
    decay_every: int = 1000  # step schedule: multiply by decay_rate every decay_every steps
    decay_rate: float = 0.5  # step/exponential schedules
    min_lr: float = 0.0  # cosine floor
    # how long, how often
    epochs: int | None = None
    steps: int | None = None
    # optimizer steps between validations; 0 = once per epoch; unset = about 20 per run
    # (seqframe.training.windows.evaluation_interval says how)
    eval_every: int | None = None
    patience: int = 0  # validations without improvement before stopping; 0 = never stop early
    checkpoint_every: int = 0  # optimizer steps between checkpoints; 0 = at every validation
    time_budget: float = 0.0  # seconds of training wall time; 0 = no budget
    nonfinite: str = "stop"  # stop | skip | rollback
    explode_factor: float = 1e4  # a step loss this many times the run's first loss: diverged
    # numerics and placement
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    amp: str = "off"  # off | bf16 | fp16: autocast on CUDA (torch backend)
    nproc: int = 1  # data-parallel processes launched locally (torch backend, torchrun)
    ensemble: int = 1  # K members trained with seeds seed*K + m; their outputs combined
    # output
    out: str | None = None
    quiet: bool = False

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


FIELD_TYPES = {f.name: f.type for f in fields(RunConfig)}


def _normalise_key(key: str) -> str:
    """Config keys are the flag names with ``_`` for ``-``; both spellings are accepted."""
    return key.replace("-", "_")


# what an unset-by-default key holds when it is set
_OPTIONAL_TYPES = {"int | None": int, "float | None": float, "str | None": str}


def _check_value(key: str, value: Any) -> Any:
    default = getattr(RunConfig(), key)
    if key in ("options", "loss_options"):
        if not isinstance(value, dict):
            raise ConfigError(f"`{key}` must be a table of settings, got {value!r}.")
        return dict(value)
    if value is None:
        return value
    expected = type(default) if default is not None else _OPTIONAL_TYPES[FIELD_TYPES[key]]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key {key!r} expects {expected.__name__}, got {value!r} "
            f"({type(value).__name__})."
        )
    return value


def merge(base: RunConfig, overrides: dict[str, Any], source: str) -> RunConfig:
    """Apply ``overrides`` (from a file, a task, or flags) on top of ``base``.

    ``options`` tables are merged key by key, so a flag ``-o horizon=24`` keeps the file's
    other task options.

    Raises:
        ConfigError: an unknown key (listing the valid ones) or a value of the wrong type.
    """
    changes: dict[str, Any] = {}
    for raw_key, value in overrides.items():
        key = _normalise_key(raw_key)
        if key not in FIELD_TYPES:
            from .errors import closest

            guess = closest(key, FIELD_TYPES)
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise ConfigError(
                f"unknown config key {raw_key!r} in {source}.{hint} "
                f"Valid keys: {', '.join(sorted(FIELD_TYPES))}."
            )
        value = _check_value(key, value)
        if key in ("options", "loss_options"):
            value = {**getattr(base, key), **changes.get(key, {}), **value}
        changes[key] = value
    return base.replace(**changes)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a run file (``--config``), with errors that name the file and the problem."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a folder; --config expects a TOML file "
                          f"(e.g. a run's config.toml).") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start} "
                          f"cannot be decoded); --config expects a TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: "
                          f"{exc.strerror or exc}.") from None


def to_dict(config: RunConfig) -> dict[str, Any]:
    """The config as plain data, ``None`` values left out (TOML has no null)."""
    return {k: v for k, v in dataclasses.asdict(config).items() if v is not None}


# Where a run is and how it was displayed are not its settings: a run directory's config.toml
# leaves them out, so a copy of it passed to --config starts a new run in a new directory.
NOT_RECORDED = ("out", "quiet")


def toml_text(config: RunConfig) -> str:
    """The resolved config as the text of a ``config.toml``, without the keys of
    :data:`NOT_RECORDED`."""
    data = {k: v for k, v in to_dict(config).items() if k not in NOT_RECORDED}
    tables = {key: data.pop(key, {}) for key in ("options", "loss_options")}
    return tomli_w.dumps({**data, **tables})


def write_toml(config: RunConfig, path: str | Path) -> None:
    """Write the resolved config (what ``--resume`` and ``eval`` read back).

    Run directories are written through :func:`seqframe.training.safefiles.atomic_write_text`
    with :func:`toml_text` instead (atomic, never through a symbolic link).
    """
    Path(path).write_text(toml_text(config), encoding="utf-8")


def read_resolved(path: str | Path) -> RunConfig:
    """Read back a ``config.toml`` written by :func:`write_toml`."""
    return merge(RunConfig(), load_toml(path), source=str(path))
