"""Checks of a run's training settings that need neither data nor a backend.

Run :func:`validate` before anything is created (a run directory, N processes): a setting that
cannot work is then one line and exit code 2, and nothing is left behind.
"""

from __future__ import annotations

import math

from ..errors import ConfigError
from . import guard
from .optim import build_schedule, check_optimizer


def validate(config) -> None:
    """Every check of a run's settings that needs neither data nor a backend: trainer settings,
    optimizer, learning-rate schedule.

    Raises:
        ConfigError: naming the setting, the value and what is expected.
        UnknownNameError: an optimizer or schedule nobody registered.
    """
    check_config(config)
    check_optimizer(config)
    build_schedule(config, None)


def check_config(config) -> None:
    """Reject trainer settings that cannot work, with what to change."""
    guard.check_policy(config.nonfinite)
    if config.seed < 0:
        raise ConfigError(f"--seed must be a whole number >= 0; got {config.seed}.")
    for key in ("time_budget", "explode_factor"):
        value = getattr(config, key)
        if not (value >= 0 and math.isfinite(value)):
            raise ConfigError(f"{key} must be a number >= 0 (0 = off); got {value:g}.")
    for key in ("batch_size", "accumulate"):
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be at least 1; got {getattr(config, key)}.")
    for key in ("bptt", "bptt_back", "eval_every", "patience", "checkpoint_every"):
        if getattr(config, key) < 0:
            raise ConfigError(f"{key} must be >= 0 (0 = default); got {getattr(config, key)}.")
    if config.bptt_back and config.bptt_back < config.bptt:
        raise ConfigError(f"bptt_back (k2={config.bptt_back}) must be >= bptt "
                          f"(k1={config.bptt}): each update backpropagates at least its window.")
    if config.bptt_back and not config.bptt:
        raise ConfigError("bptt_back needs bptt > 0: with bptt 0 a window is the whole batch.")
    for key in ("steps", "epochs"):
        value = getattr(config, key)
        if value is not None and value < 1:
            raise ConfigError(f"--{key} must be at least 1; got {value}.")


