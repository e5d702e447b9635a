"""``seqframe run --nproc N``: start N data-parallel processes on this machine with torchrun.

We do not build our own launcher: this only turns the flag into PyTorch's ``torchrun`` command
(``python -m torch.distributed.run``), waits for it and passes its exit code on. The processes it
starts find each other as :mod:`seqframe.training.distributed` describes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..training.distributed import World, check_resume

INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C, as the CLI uses


def launch_from_argv(argv: list[str], environ: dict[str, str] | None = None,
                     spawn: Callable[[list[str]], int] | None = None) -> int | None:
    """Start a ``seqframe run`` asking for several processes under torchrun; None otherwise.

    The CLI calls this before parsing. When ``--nproc N`` (or ``nproc`` in the ``--config`` file,
    or, with ``--resume DIR``, the run's own ``nproc``) is above 1 it runs::

        python -m torch.distributed.run --standalone --nproc-per-node N -m seqframe run ARGS

    with ARGS the same arguments minus ``--nproc``, and returns torchrun's exit code (torchrun
    stops every process when one fails). Inside torchrun (``WORLD_SIZE`` set) it does nothing.

    Raises:
        ConfigError: ``--nproc`` is not a whole number, a resume asks for another number of
            processes than the run was trained with, or the run is an ensemble.
        MissingDependencyError: PyTorch is not installed.
    """
    env = os.environ if environ is None else environ
    command = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if "WORLD_SIZE" in env or command is None or argv[command] != "run":
        return None
    given, rest = _pop_nproc(argv[command + 1:])
    nproc = _planned_nproc(given, rest)
    if nproc is None or nproc <= 1:
        return None
    if _planned_ensemble(rest) > 1:  # refused here, before torchrun starts N copies to refuse it
        from ..runs.ensemble import NPROC_REFUSED

        raise ConfigError(NPROC_REFUSED)
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            f"--nproc {nproc} starts the processes with torchrun, which comes with PyTorch: "
            f"pip install 'seqframe[torch]'.")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", "-m", "seqframe", *argv[:command + 1], *rest]
    code = (spawn or _wait_for)(cmd)
    run_dir = _option(rest, "--resume") or _option(rest, "--out") or "RUN_DIR"
    if code == INTERRUPTED:
        print(f"interrupted: continue with `seqframe run --resume {run_dir}`.", file=sys.stderr)
    elif code != 0:
        print(f"error: the {nproc}-process run failed (torchrun exit code {code}); the lines "
              f"above say which rank failed and why. Checkpoints written before the failure are "
              f"intact: continue with `seqframe run --resume {run_dir}`.", file=sys.stderr)
    return code


def _option(args: list[str], flag: str) -> str | None:
    """The value of ``flag`` in ``args`` (``--flag V`` or ``--flag=V``), or None."""
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return None


def _pop_nproc(args: list[str]) -> tuple[int | None, list[str]]:
    """``--nproc``'s value and the arguments without it."""
    raw, rest, i = None, [], 0
    while i < len(args):
        if args[i] == "--nproc" and i + 1 < len(args):
            raw, i = args[i + 1], i + 2
            continue
        if args[i].startswith("--nproc="):
            raw = args[i][len("--nproc="):]
        else:
            rest.append(args[i])
        i += 1
    if raw is None:
        return None, rest
    try:
        return int(raw), rest
    except ValueError:
        raise ConfigError(f"--nproc expects a whole number of processes; got {raw!r}.") from None


def _planned_nproc(given: int | None, rest: list[str]) -> int | None:
    """Processes to start: ``--nproc``, else the resumed run's, else the ``--config`` file's."""
    from ..config import read_resolved

    resume = _option(rest, "--resume")
    if resume is not None:
        path = Path(resume) / "config.toml"
        if not path.exists():
            return given  # the CLI explains what a run directory is
        trained = read_resolved(path).nproc
        if given is not None:
            check_resume(trained, World(size=max(given, 1)), resume)
        return trained
    return given if given is not None else _file_value(rest, "nproc")


def _planned_ensemble(rest: list[str]) -> int:
    """Members to train: ``--ensemble``, else the ``--config`` file's (1 when unreadable: the
    CLI explains a bad value)."""
    given = _option(rest, "--ensemble")
    if given is not None:
        return int(given) if given.isdigit() else 1
    return _file_value(rest, "ensemble") or 1


def _file_value(rest: list[str], key: str) -> int | None:
    """The whole number ``key`` of the ``--config`` file, or None (absent, or not a number)."""
    from ..config import load_toml

    config_file = _option(rest, "--config")
    if config_file is None or not Path(config_file).exists():
        return None
    value = load_toml(config_file).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _wait_for(cmd: list[str]) -> int:
    """Run ``cmd`` to its end; its exit code (128 + N when killed by signal N), or 130 when
    Ctrl-C stopped it."""
    import subprocess

    interrupted = False
    with subprocess.Popen(cmd) as proc:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                # Ctrl-C reached torchrun and the ranks too: they write a checkpoint and stop.
                interrupted = True
    if interrupted and code != 0:
        return INTERRUPTED
    return 128 - code if code < 0 else code
