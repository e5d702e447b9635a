"""``seqframe run``: train a new run, or continue one (``--resume``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..config import RunConfig
from ..errors import ConfigError, RunFailedError
from ..runs import api
from ..runs.build import CONFIG_FILE, resolve_config
from .group import BACKEND_HELP, cli, echo_err
from .render import format_result_line, format_summary


def parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """``-o KEY=VALUE`` pairs as a dict."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-o expects KEY=VALUE, got {pair!r} (e.g. -o horizon=24).")
        options[key.strip()] = value.strip()
    return options


# (flag, type, help); the default each shows is RunConfig's (seqframe's own, before a task's
# run defaults), or what _DEFAULT_NOTES says it means
_RUN_FLAGS = [
    ("--backend", str, BACKEND_HELP),
    ("--task", str, "Task (`seqframe tasks` lists them)."),
    ("--cell", str, "Recurrent cell: rnn (Elman), lstm, gru, or a plugin's."),
    ("--hidden", int, "Hidden units per layer (H)."),
    ("--layers", int, "Stacked recurrent layers."),
    ("--dropout", float, "Dropout on every layer's output while training."),
    ("--embed", int, "Token inputs: embedding width E (0 = feed the ids one-hot)."),
    ("--tie-weights", bool, "Use the embedding table as the readout weight (E = H x dirs)."),
    ("--loss", str, "A loss the task allows instead of its own, e.g. sampled_softmax."),
    ("--sparse-grads", bool, "Update only the embedding/sampled-readout rows a step touched "
                             "(row-sparse gradients; lazy Adam)."),
    ("--batch-size", int, "Sequences (or text streams) per mini-batch (B)."),
    ("--bptt", int, "Truncated BPTT: steps per window, weights updated every window."),
    ("--bptt-back", int, "Steps backpropagated per update when longer than --bptt (k2 > k1)."),
    ("--accumulate", int, "Micro-batches whose gradients are summed per optimizer step."),
    ("--clip-norm", float, "Clip the global gradient norm to this value (0 disables)."),
    ("--clip-value", float, "Clip every gradient element to [-X, X] (0 disables)."),
    ("--optimizer", str, "sgd, adam, adamw, rmsprop or adagrad."),
    ("--lr", float, "Learning rate."),
    ("--weight-decay", float, "Weight decay (decoupled for adamw)."),
    ("--schedule", str, "Learning-rate schedule: constant, step, exponential or cosine."),
    ("--warmup-steps", int, "Linear warm-up steps before the schedule."),
    ("--epochs", int, "Passes over the training data; with --resume, train the run on to this "
     "many."),
    ("--steps", int, "Optimizer steps (instead of --epochs); with --resume, train the run on "
     "to this many."),
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
    ("--out", str, "Run directory."),
]
_DEFAULT_NOTES = {
    "bptt": "0 = the whole sequence", "bptt_back": "0 = as --bptt",
    "epochs": "1, when --steps is not given", "steps": None,
    "eval_every": "about 20 validations per run", "data": "the task's built-in data",
    "out": "runs/<task>-<cell>-<time>",
}


def shown_default(flag: str) -> str | None:
    """What ``run --help`` shows as ``flag``'s default (None: nothing)."""
    key = flag.lstrip("-").replace("-", "_")
    if key in _DEFAULT_NOTES:
        return _DEFAULT_NOTES[key]
    return str(getattr(RunConfig(), key))


# What --resume accepts besides the run directory: how to show the run, and a new length.
RESUME_FLAGS = ("quiet", "steps", "epochs")


def _run_options(func):
    for flag, kind, help_text in reversed(_RUN_FLAGS):
        default = shown_default(flag)
        shown = f"  [default: {default}]" if default is not None else ""
        if kind is bool:  # an on-switch: absent means "not given" (None), so a run file's wins
            func = click.option(flag, is_flag=True, default=None, help=help_text + shown)(func)
        else:
            func = click.option(flag, type=kind, default=None, help=help_text + shown)(func)
    return func


@cli.command()
@_run_options
@click.option("--bidirectional/--unidirectional", default=None,
              help="Run each layer both ways.  [default: unidirectional]")
@click.option("--layer-norm/--no-layer-norm", default=None,
              help="Layer-normalised lstm or gru cells (Ba et al. 2016); generic BPTT only.")
@click.option("-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A task option (`seqframe tasks NAME` lists them); repeatable.")
@click.option("--config", "config_file", type=str, default=None, metavar="FILE.toml",
              help="A run file; flags given here override it.")
@click.option("--resume", type=str, default=None, metavar="DIR",
              help="Continue the run in DIR from its last checkpoint (with --steps/--epochs: "
                   "train it on to that new limit).")
@click.option("--quiet", "-q", is_flag=True, default=None,
              help="No progress and no table: print only the final line (run directory and "
                   "result). Errors still go to stderr.")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--allow-data-change", is_flag=True,
              help="With --resume: continue although the data files changed.")
def run(options: tuple[str, ...], config_file: str | None, resume: str | None,
        overwrite: bool, allow_data_change: bool, **flags: Any) -> None:
    """Train a model on a task and write a run directory.

    The defaults shown are seqframe's own. A task may prefer others for its data (`seqframe
    tasks NAME` lists them, e.g. charlm's hidden, bptt and epochs); a --config file overrides
    both, and flags override everything.
    """
    overrides = {key: value for key, value in flags.items() if value is not None}
    if options:
        overrides["options"] = parse_options(options)
    quiet = bool(overrides.get("quiet"))
    if resume:
        if overwrite:
            raise ConfigError("--overwrite replaces a run in --out; --resume continues one. "
                              "Give one of them.")
        summary = api.resume_summary(resume, log=echo_err, allow_data_change=allow_data_change,
                                     **_resume_flags(resume, overrides, config_file))
    else:
        if allow_data_change:
            raise ConfigError("--allow-data-change goes with --resume DIR.")
        summary = api.train_config(resolve_config(overrides, config_file), log=echo_err,
                                   overwrite=overwrite)
    click.echo(format_result_line(summary) if quiet else format_summary(summary))
    if summary.get("diverged"):  # the run's files are written; the exit code says it failed
        raise RunFailedError(f"{summary['flagged']} The run's files are in {summary['run_dir']}.")


def _resume_flags(run_dir: str, overrides: dict[str, Any],
                  config_file: str | None) -> dict[str, Any]:
    """The keyword arguments of :func:`api.resume_summary` a ``--resume`` command line gives.

    Raises:
        ConfigError: a flag that would change the run's settings.
    """
    others = sorted(k for k in overrides if k not in RESUME_FLAGS)
    if config_file:
        others.insert(0, "config")
    if others:
        given = ", ".join("-o" if k == "options" else "--" + k.replace("_", "-") for k in others)
        raise ConfigError(
            f"--resume continues a run with its own settings; it takes only --steps N or "
            f"--epochs N (to train it on to a new limit) and the display flags --quiet and "
            f"--traceback, not {given}. To change settings, start a new run from its settings: "
            f"seqframe run --config {Path(run_dir) / CONFIG_FILE} FLAGS... (a new directory; "
            f"see docs/how-to/resume.md).")
    if "steps" in overrides and "epochs" in overrides:
        raise ConfigError("--resume takes --steps N or --epochs N, not both.")
    limit = {k: overrides[k] for k in ("steps", "epochs") if k in overrides}
    return {"quiet": bool(overrides.get("quiet")), "limit": limit or None}
