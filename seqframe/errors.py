"""Errors a user can trigger, and the exit codes the CLI maps them to.

Every message says what was wrong, what was expected, and what to do. The CLI prints
``error: <message>`` and exits with the error's ``exit_code``; ``--traceback`` shows the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``seqframe`` command (documented in docs/reference/errors.md)."""

    OK = 0
    RUN_FAILED = 1  # the run itself failed, e.g. the loss diverged
    USAGE = 2  # unknown name, bad option, bad input file
    PLUGIN = 3  # a plugin could not be loaded, or two plugins claim one name


class SeqframeError(Exception):
    """Base class of every error a user can trigger."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(SeqframeError):
    """A flag, option or argument that cannot be used as given."""


class ConfigError(UsageError):
    """A malformed or inconsistent run configuration (flags, ``--config`` file, ``-o`` options)."""


class DataError(UsageError):
    """An input file or data set that cannot be read or does not fit the task."""


class ShapeError(UsageError):
    """Arrays whose shapes do not fit the model or the task's contract."""


class UnknownNameError(UsageError):
    """A backend, task, cell, optimizer, ... name that nothing registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = ""):
        known = sorted(known)
        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(name, known, n=1)
        msg = f"unknown {kind} {name!r}"
        msg += f"; did you mean {close[0]!r}?" if close else "."
        msg += f" Available: {', '.join(known) if known else '(none registered)'}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class PluginError(SeqframeError):
    """A plugin failed to import or register, or two plugins claim the same name."""

    exit_code = ExitCode.PLUGIN


class MissingDependencyError(PluginError):
    """An optional dependency a plugin needs is not installed."""


class RunFailedError(SeqframeError):
    """The run could not go on, e.g. a non-finite loss; the last good checkpoint is kept."""

    exit_code = ExitCode.RUN_FAILED


class NonFiniteError(RunFailedError):
    """A NaN or Inf appeared in the loss or the gradients."""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The registered name closest to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(known), n=1)
    return matches[0] if matches else None
