"""The ``seqframe`` command: parse, call one library function, render, map errors to exit codes.

No numerics and no file formats live here: each command module (:mod:`.training`,
:mod:`.using`, :mod:`.info`, :mod:`.tools`) parses its flags, calls the Python API
(:mod:`seqframe.runs.api`) or a library function, and renders the result. Exit codes are
:class:`seqframe.errors.ExitCode`: 0 ok, 1 run failed, 2 usage error, 3 plugin could not be loaded.
"""

from __future__ import annotations

import sys

import click

from ..errors import ExitCode, SeqframeError
from ..plugins import get_registry
from . import info, tools, training, using  # noqa: F401  (each registers its commands)
from .group import cli, echo_err

BUILTIN_COMMANDS = tuple(cli.commands)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqframe`` script and ``python -m seqframe``."""
    argv = sys.argv[1:] if argv is None else argv
    show_trace = "--traceback" in argv
    try:
        registry = get_registry()
        for record in registry.failures():
            echo_err(f"seqframe: warning: plugin {record.name!r} ({record.origin}) failed to "
                      f"load: {record.error} (see `seqframe plugins`)")
        for warning in registry.warnings:
            echo_err(f"seqframe: warning: {warning}")
        registry.add_commands(cli, BUILTIN_COMMANDS)
        from .launch import launch_from_argv

        launched = launch_from_argv(argv)  # `run --nproc N`: N processes under torchrun
        if launched is not None:
            sys.exit(launched)
        cli.main(args=argv, prog_name="seqframe", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        echo_err("Aborted.")
        sys.exit(130)
    except SeqframeError as exc:
        if show_trace:
            import traceback

            traceback.print_exc()
            if getattr(exc, "detail", None):
                echo_err(exc.detail.rstrip())
        # Ctrl-C (130) and SIGTERM (143) stop a run on purpose, not in error: say how to go on.
        echo_err(f"{'' if exc.exit_code in INTERRUPTED else 'error: '}{exc}")
        sys.exit(int(exc.exit_code))
    except OSError as exc:  # the operating system refused: permissions, a full disk, ...
        if show_trace:
            import traceback

            traceback.print_exc()
        echo_err(f"error: {os_message(exc)}")
        sys.exit(int(ExitCode.USAGE if isinstance(exc, _USAGE_OS_ERRORS) else
                     ExitCode.RUN_FAILED))
    sys.exit(ExitCode.OK)


INTERRUPTED = (130, 143)  # 128 + SIGINT, 128 + SIGTERM
# a file or folder the user named cannot be used as asked; other OS errors (a full disk, an
# I/O error) are the run failing
_USAGE_OS_ERRORS = (PermissionError, FileNotFoundError, FileExistsError, IsADirectoryError,
                    NotADirectoryError)


def os_message(exc: OSError) -> str:
    """One line for an operating-system error: what, on which file, and what to do."""
    where = f" {exc.filename!r}" if exc.filename else ""
    if exc.filename2:
        where += f" -> {exc.filename2!r}"
    what = exc.strerror or str(exc)
    hint = ("Check the permissions of the folder (or choose another --out)."
            if isinstance(exc, PermissionError) else
            "Check the path and free disk space; --traceback shows where it happened.")
    return f"{what}:{where}. {hint}"
