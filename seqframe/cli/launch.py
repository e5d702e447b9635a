"""``seqframe run --nproc N``: start N data-parallel processes on this machine with torchrun.

We do not build our own launcher: this only turns the flag into PyTorch's ``torchrun`` command
(``python -m torch.distributed.run``), waits for it and passes its exit code on. The processes it
starts find each other as :mod:`seqframe.training.distributed` describes.

Before anything starts, the run's settings are resolved and checked here (the backend can train
data-parallel, the batch splits evenly, the trainer settings are valid), so that a mistake is one
line and exit code 2 rather than N processes failing. torchrun's own traceback and log lines are
hidden unless ``--traceback`` (each process prints its one-line error itself), and the exit code
is the failed process's, not torchrun's 1. SIGTERM to this launcher is passed on to torchrun,
which passes it on to the processes: they write a checkpoint and stop (exit code 143).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..training.distributed import World, check_resume, check_run

INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C, as the CLI uses
TERMINATED = 143  # ... and by SIGTERM
# torchrun, run in a child interpreter so that its failure can be reported in one line: argv[1]
# says whether to show its traceback and log lines; the exit code is the first failed process's.
_TORCHRUN = """
import logging, runpy, sys
show = sys.argv[1] == "1"
sys.argv = ["torchrun", *sys.argv[2:]]
if not show:
    logging.disable(logging.ERROR)
try:
    runpy.run_module("torch.distributed.run", run_name="__main__", alter_sys=True)
except SystemExit:
    raise
except BaseException as exc:
    if show:
        raise
    first = getattr(exc, "get_first_failure", None)
    code = first()[1].exitcode if first is not None else 1
    sys.exit(128 - code if code < 0 else code or 1)
"""


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
    check_launch(rest, nproc)
    show = "1" if "--traceback" in argv[:command] else "0"
    cmd = [sys.executable, "-c", _TORCHRUN, show, "--standalone", f"--nproc-per-node={nproc}",
           "-m", "seqframe", *argv[:command + 1], *rest]
    code = (spawn or _wait_for)(cmd)
    run_dir = _option(rest, "--resume") or _option(rest, "--out") or "RUN_DIR"
    if code in (INTERRUPTED, TERMINATED):
        print(f"interrupted: continue with `seqframe run --resume {run_dir}`.", file=sys.stderr)
    elif code != 0:
        kept = (f"Checkpoints written before the failure are intact: continue with `seqframe run "
                f"--resume {run_dir}`." if Path(run_dir, "checkpoints").is_dir() else
                "No checkpoint had been written.")
        print(f"error: the {nproc}-process run failed (exit code {code}); the lines above say "
              f"which process failed and why (--traceback shows torchrun's own report). {kept}",
              file=sys.stderr)
    return code


def check_launch(rest: list[str], nproc: int) -> None:
    """Check a run's settings before starting ``nproc`` processes for it.

    The arguments are parsed by the ``run`` command itself and resolved as it would resolve
    them; a new run is checked as a whole (backend, batch split, trainer settings), a resume as
    far as its run directory allows (the processes check the rest).

    Raises:
        ConfigError: the backend cannot train data-parallel, the batch does not split evenly,
            or a setting is out of range.
        click.ClickException: arguments the ``run`` command does not accept (exit code 2).
    """
    from ..ops import Ops
    from ..runs.build import load_plugin, read_run_config, resolve_config
    from ..training.settings import validate
    from .training import parse_options
    from .training import run as run_command

    with run_command.make_context("run", list(rest)) as ctx:
        params = dict(ctx.params)
    if params.get("resume"):
        path = Path(params["resume"])
        if not (path / "config.toml").exists():
            return  # the processes explain what a run directory is
        config = read_run_config(path)
    else:
        options = params.pop("options", ())
        overrides = {k: v for k, v in params.items() if v is not None and k not in
                     ("config_file", "resume", "overwrite", "allow_data_change")}
        if options:
            overrides["options"] = parse_options(options)
        config = resolve_config(overrides, params.get("config_file"))
    check_run(config.replace(nproc=nproc), World(size=nproc))
    validate(config)
    backend = load_plugin("backend", config.backend)
    if getattr(backend, "collective", None) is Ops.collective:
        raise ConfigError(f"backend {config.backend!r} cannot train data-parallel (--nproc "
                          f"{nproc}); use --backend torch, or drop --nproc.")


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

    interrupted = None
    with subprocess.Popen(cmd) as proc:
        def terminate(signum, frame):  # pass SIGTERM on: torchrun passes it to the processes
            nonlocal interrupted
            interrupted = TERMINATED
            proc.send_signal(signal.SIGTERM)

        previous = signal.signal(signal.SIGTERM, terminate)
        try:
            while True:
                try:
                    code = proc.wait()
                    break
                except KeyboardInterrupt:
                    # Ctrl-C reached torchrun and the ranks too: they write a checkpoint and stop.
                    interrupted = interrupted or INTERRUPTED
        finally:
            signal.signal(signal.SIGTERM, previous)
    if interrupted and code != 0:
        return interrupted
    return 128 - code if code < 0 else code
