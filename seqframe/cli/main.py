"""The ``seqframe`` command: parse, call one library function, render, map errors to exit codes.

No numerics and no file formats live here. Exit codes are :class:`seqframe.errors.ExitCode`:
0 ok, 1 run failed, 2 usage error, 3 plugin could not be loaded.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .. import __version__
from ..errors import ConfigError, ExitCode, SeqframeError
from ..plugins import get_registry
from .listing import format_table, kind_rows, plugin_rows, registered_summary, task_details

BACKEND_HELP = "Array backend (`seqframe backends` lists them)."


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-o expects KEY=VALUE, got {pair!r} (e.g. -o horizon=24).")
        options[key.strip()] = value.strip()
    return options


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="seqframe")
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
def cli(traceback: bool) -> None:
    """Recurrent sequence models (Elman RNN, LSTM, GRU) with hand-written BPTT.

    Any backend runs any task: seqframe run --backend torch --task timeseries
    """


# ---- run -------------------------------------------------------------------------------------

_RUN_FLAGS = [
    ("--backend", str, BACKEND_HELP),
    ("--task", str, "Task (`seqframe tasks` lists them)."),
    ("--cell", str, "Recurrent cell: rnn (Elman), lstm, gru, or a plugin's."),
    ("--hidden", int, "Hidden units per layer (H)."),
    ("--layers", int, "Stacked recurrent layers."),
    ("--dropout", float, "Dropout on every layer's output while training."),
    ("--batch-size", int, "Sequences (or text streams) per mini-batch (B)."),
    ("--bptt", int, "Truncated BPTT: steps per window, weights updated every window (0 = whole)."),
    ("--bptt-back", int, "Steps backpropagated per update when longer than --bptt (k2 > k1)."),
    ("--accumulate", int, "Micro-batches whose gradients are summed per optimizer step."),
    ("--clip-norm", float, "Clip the global gradient norm to this value (0 disables)."),
    ("--clip-value", float, "Clip every gradient element to [-X, X] (0 disables)."),
    ("--optimizer", str, "sgd, adam, adamw, rmsprop or adagrad."),
    ("--lr", float, "Learning rate."),
    ("--weight-decay", float, "Weight decay (decoupled for adamw)."),
    ("--schedule", str, "Learning-rate schedule: constant, step, exponential or cosine."),
    ("--warmup-steps", int, "Linear warm-up steps before the schedule."),
    ("--epochs", int, "Passes over the training data."),
    ("--steps", int, "Optimizer steps (instead of --epochs)."),
    ("--eval-every", int, "Optimizer steps between validations (0 = once per epoch)."),
    ("--patience", int, "Validations without improvement before stopping early (0 = never)."),
    ("--checkpoint-every", int, "Optimizer steps between checkpoints (0 = at each validation)."),
    ("--time-budget", float, "Stop training after this many seconds (0 = no budget)."),
    ("--nonfinite", str, "On a NaN/Inf loss or gradient: stop, skip or rollback."),
    ("--seed", int, "Random seed (weights, dropout, data order)."),
    ("--ensemble", int, "Train this many models (seeds seed*K+m) and combine their outputs."),
    ("--device", str, "auto, cpu, cuda, cuda:N or mps (torch backend)."),
    ("--dtype", click.Choice(["float32", "float64"]), "Floating-point precision."),
    ("--amp", click.Choice(["off", "bf16", "fp16"]), "Autocast precision on CUDA (torch)."),
    ("--nproc", int, "Data-parallel processes to launch on this machine (torch backend)."),
    ("--data", str, "A file, a built-in data set name, or hf:NAME for Hugging Face."),
    ("--out", str, "Run directory (default runs/<task>-<cell>-<time>)."),
]


def _run_options(func):
    for flag, kind, help_text in reversed(_RUN_FLAGS):
        func = click.option(flag, type=kind, default=None, help=help_text)(func)
    return func


@cli.command()
@_run_options
@click.option("--bidirectional/--unidirectional", default=None, help="Run each layer both ways.")
@click.option("-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A task option (`seqframe tasks NAME` lists them); repeatable.")
@click.option("--config", "config_file", type=str, default=None, metavar="FILE.toml",
              help="A run file; flags given here override it.")
@click.option("--resume", type=str, default=None, metavar="DIR",
              help="Continue the run in DIR from its last checkpoint.")
@click.option("--quiet", "-q", is_flag=True, default=None, help="No progress bar and no table.")
def run(options: tuple[str, ...], config_file: str | None, resume: str | None,
        **flags: Any) -> None:
    """Train a model on a task and write a run directory."""
    overrides = {key: value for key, value in flags.items() if value is not None}
    if options:
        overrides["options"] = _parse_options(options)
    from ..runs import run as runs

    quiet = bool(overrides.get("quiet"))
    log = (lambda _msg: None) if quiet else _echo_err
    if resume:
        if overrides or config_file:
            raise ConfigError("--resume continues a run with its own config; give no other flags.")
        summary = runs.resume(resume, log=log)
    else:
        summary = runs.run(runs.resolve_config(overrides, config_file), log=log)
    if not quiet:
        click.echo(runs.format_summary(summary))


# ---- using a finished run --------------------------------------------------------------------

@cli.command("eval")
@click.argument("run_dir")
@click.option("--split", type=click.Choice(["val", "test"]), default=None,
              help="Default: test when the task holds one out, else val.")
@click.option("--backend", default=None, help="Evaluate with another backend than training used.")
def eval_(run_dir: str, split: str, backend: str | None) -> None:
    """Evaluate a run's best checkpoint on a split."""
    from ..runs import run as runs

    metrics = runs.evaluate(run_dir, split, backend=backend)
    click.echo(format_table([(k, f"{v:.6g}") for k, v in metrics.items()],
                            ["metric", split or "value"]))


@cli.command()
@click.argument("run_dir")
@click.option("--prime", default="", help="Text to start from (its characters must be known).")
@click.option("--length", type=int, default=500, show_default=True, help="Characters to generate.")
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=int, default=None, help="Sample among the K likeliest only.")
@click.option("--greedy", is_flag=True, help="Always take the likeliest character.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--backend", default=None, help=BACKEND_HELP)
def sample(run_dir: str, backend: str | None, **kwargs: Any) -> None:
    """Generate text from a language-model run."""
    from ..runs import run as runs

    task, predictor, _ = runs.open_run(run_dir, backend=backend)
    click.echo(task.sample(predictor, **kwargs))


@cli.command()
@click.argument("run_dir")
@click.option("--horizon", type=int, required=True, help="Steps to forecast past the data's end.")
@click.option("--data", default=None, help="Forecast from this file instead of the run's data.")
@click.option("--backend", default=None, help=BACKEND_HELP)
def forecast(run_dir: str, horizon: int, data: str | None, backend: str | None) -> None:
    """Forecast past the end of a series with a forecasting run."""
    from pathlib import Path

    from ..runs import run as runs

    task, predictor, _ = runs.open_run(run_dir, backend=backend)
    for path in task.forecast(predictor, horizon=horizon, data=data, out_dir=Path(run_dir)):
        click.echo(str(path))


@cli.command()
@click.argument("run_dir")
@click.option("--data", required=True, help="Sequences to label (e.g. X.ts).")
@click.option("--backend", default=None, help=BACKEND_HELP)
def predict(run_dir: str, data: str, backend: str | None) -> None:
    """Label every sequence of a file with a classification run."""
    from pathlib import Path

    from ..runs import run as runs

    task, predictor, _ = runs.open_run(run_dir, backend=backend)
    for path in task.predict_file(predictor, data=data, out_dir=Path(run_dir)):
        click.echo(str(path))


# ---- listing ---------------------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """Every plugin: distribution, version, what it registered, status."""
    rows = plugin_rows(get_registry())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [(r["name"], r["distribution"], r["version"], registered_summary(r["registered"]),
              r["status"] + (f": {r['error']}" if r["error"] else "")) for r in rows]
    click.echo(format_table(table, ["plugin", "distribution", "version", "registered", "status"]))


@cli.command()
def backends() -> None:
    """The registered array backends."""
    rows = kind_rows(get_registry(), "backend")
    click.echo(format_table([(r["name"], r["description"], r["distribution"]) for r in rows],
                            ["backend", "description", "from"]))


@cli.command()
@click.argument("name", required=False)
def tasks(name: str | None) -> None:
    """The registered tasks, or one task's options with types and defaults."""
    registry = get_registry()
    if name is None:
        rows = kind_rows(registry, "task")
        click.echo(format_table([(r["name"], r["description"], r["distribution"]) for r in rows],
                                ["task", "description", "from"]))
        return
    info = task_details(registry, name)
    click.echo(f"{info['name']}: {info['description']}\nvalidation metric: {info['metric']}\n")
    rows = [(o["name"], o["type"], repr(o["default"]), o["help"]) for o in info["options"]]
    click.echo(format_table(rows, ["option (-o KEY=VALUE)", "type", "default", "help"]))
    if info["run_defaults"]:
        defaults = ", ".join(f"{k}={v}" for k, v in info["run_defaults"].items())
        click.echo(f"\nrun defaults of this task: {defaults}")


# ---- checks and benchmarks -------------------------------------------------------------------

@cli.command()
@click.option("--backend", default="numpy", show_default=True, help=BACKEND_HELP)
@click.option("--cell", default="lstm", show_default=True,
              help="Cell to check (with --grad-flow: a comma-separated list to compare).")
@click.option("--layers", type=int, default=None,
              help="Stacked layers (default 2 for the gradient check, 1 otherwise).")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64",
              show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--parity", default=None, metavar="OTHER",
              help="Train the same steps on OTHER and compare per-step losses.")
@click.option("--steps", type=int, default=50, show_default=True, help="Steps for --parity.")
@click.option("--fused/--generic", default=None,
              help="With --parity: force the backend's fused or generic path.")
@click.option("--grad-flow", is_flag=True, help="Norm of dE_T/dh_t against the lag T-t.")
@click.option("--length", type=int, default=100, show_default=True, help="T for --grad-flow.")
@click.option("--run", "run_dir", default=None, metavar="DIR",
              help="With --grad-flow: use the trained weights of this run.")
@click.option("--out", default=None, help="Plot file for --grad-flow.")
def check(**kwargs: Any) -> None:
    """Check gradients against finite differences, a backend against another, or grad flow."""
    from ..diagnostics.checks import run_check

    outcome = run_check(**kwargs)
    click.echo(outcome.text)
    for path in outcome.files:
        click.echo(f"wrote {path}")
    if not outcome.passed:
        raise SystemExit(ExitCode.RUN_FAILED)


@cli.command()
@click.option("--backend", "backends", multiple=True,
              help="Backend to time (NAME, NAME:generic or NAME:fused); repeatable.")
@click.option("--cell", "cells", multiple=True, help="Cell to time; repeatable (default lstm).")
@click.option("--steps", type=int, default=10, show_default=True, help="Steps per round.")
@click.option("--rounds", type=int, default=5, show_default=True, help="Interleaved rounds.")
@click.option("--threads", type=int, default=None, help="torch intra-op threads.")
def bench(backends: tuple[str, ...], cells: tuple[str, ...], **kwargs: Any) -> None:
    """Training throughput on the char-LM workload against a hand-written torch.nn loop."""
    from ..diagnostics.bench import format_rows, run_bench

    rows = run_bench(backends=backends or ("torch", "numpy"), cells=cells or ("lstm",),
                     log=_echo_err, **kwargs)
    click.echo(format_rows(rows))


# ---- plugin authors --------------------------------------------------------------------------

@cli.command("new-plugin")
@click.option("--kind", type=click.Choice(["task", "cell", "backend"]), required=True,
              help="What the plugin adds.")
@click.argument("name")
@click.option("--directory", default=None, metavar="DIR",
              help="Where to write the package (default ./seqframe-NAME); must be new or empty.")
def new_plugin(kind: str, name: str, directory: str | None) -> None:
    """Write a working plugin package (entry point, module, tests, README) to start from."""
    from .scaffold import new_plugin as scaffold

    for path in scaffold(kind, name, directory):
        click.echo(str(path))


BUILTIN_COMMANDS = tuple(cli.commands)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqframe`` script and ``python -m seqframe``."""
    argv = sys.argv[1:] if argv is None else argv
    show_trace = "--traceback" in argv
    try:
        registry = get_registry()
        for record in registry.failures():
            _echo_err(f"seqframe: warning: plugin {record.name!r} ({record.origin}) failed to "
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
        _echo_err("Aborted.")
        sys.exit(130)
    except SeqframeError as exc:
        if show_trace:
            import traceback

            traceback.print_exc()
            if getattr(exc, "detail", None):
                _echo_err(exc.detail.rstrip())
        # Ctrl-C (exit 130) is the user's choice, not an error: say how to continue.
        _echo_err(f"{'' if exc.exit_code == 130 else 'error: '}{exc}")
        sys.exit(int(exc.exit_code))
    sys.exit(ExitCode.OK)
