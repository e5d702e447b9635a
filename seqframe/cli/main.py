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


def split_traceback(argv: list[str]) -> tuple[list[str], bool]:
    """The arguments without ``--traceback``, and whether it was given.

    ``--traceback`` is a display flag of the whole program: accepted before the command
    (``seqframe --traceback run ...``) and after it (``seqframe run ... --traceback``) alike.
    Arguments after ``--`` are left alone.
    """
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a != "--traceback"] + argv[end:]
    return kept, len(kept) != len(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqframe`` script and ``python -m seqframe``."""
    argv, show_trace = split_traceback(sys.argv[1:] if argv is None else argv)
    try:
        registry = get_registry()
        for record in registry.failures():
            echo_err(f"seqframe: warning: plugin {record.name!r} ({record.origin}) failed to "
                      f"load: {record.error} (see `seqframe plugins`)")
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
        # Ctrl-C (exit 130) is the user's choice, not an error: say how to continue.
        echo_err(f"{'' if exc.exit_code == 130 else 'error: '}{exc}")
        sys.exit(int(exc.exit_code))
    sys.exit(ExitCode.OK)
