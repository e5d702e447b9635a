"""``seqframe run``: train a new run, or continue one (``--resume``)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigError, RunFailedError
from ..runs import api
from ..runs.build import resolve_config
from .group import BACKEND_HELP, cli, echo_err
from .render import format_summary


def parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """``-o KEY=VALUE`` pairs as a dict."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-o expects KEY=VALUE, got {pair!r} (e.g. -o horizon=24).")
        options[key.strip()] = value.strip()
    return options


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
    ("--explode-factor", float, "A step loss this many times the run's first loss counts as "
                                "diverged, like a NaN (0 = off)."),
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
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--allow-data-change", is_flag=True,
              help="With --resume: continue although the data files changed.")
def run(options: tuple[str, ...], config_file: str | None, resume: str | None,
        overwrite: bool, allow_data_change: bool, **flags: Any) -> None:
    """Train a model on a task and write a run directory."""
    overrides = {key: value for key, value in flags.items() if value is not None}
    if options:
        overrides["options"] = parse_options(options)
    quiet = bool(overrides.get("quiet"))
    if resume:
        if overrides or config_file or overwrite:
            raise ConfigError("--resume continues a run with its own config; give no other flags "
                              "(but --allow-data-change).")
        summary = api.resume_summary(resume, log=echo_err, allow_data_change=allow_data_change)
    else:
        if allow_data_change:
            raise ConfigError("--allow-data-change goes with --resume DIR.")
        summary = api.train_config(resolve_config(overrides, config_file), log=echo_err,
                                   overwrite=overwrite)
    if not quiet:
        click.echo(format_summary(summary))
    if summary.get("diverged"):  # the run's files are written; the exit code says it failed
        raise RunFailedError(f"{summary['flagged']} The run's files are in {summary['run_dir']}.")
