"""Commands for checking and timing, and for plugin authors: ``check``, ``bench``,
``new-plugin``."""

from __future__ import annotations

from typing import Any

import click

from ..diagnostics.bench import format_rows, run_bench
from ..diagnostics.checks import run_check
from ..diagnostics.seq2seq_bench import format_seq2seq_rows, run_seq2seq_bench
from ..errors import ConfigError, ExitCode
from .group import BACKEND_HELP, cli, echo_err
from .scaffold import KINDS as SCAFFOLD_KINDS
from .scaffold import new_plugin as scaffold


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
@click.option("--out", default=None,
              help="Plot file for --grad-flow (default: gradient-flow.png and .json in a new "
                   "gradflow-CELLS-TIME folder).")
@click.option("--embed", type=int, default=None, metavar="E",
              help="Check a model on token ids embedded E wide (0: ids fed one-hot).")
@click.option("--tie-weights", is_flag=True, help="Check a readout tied to the embedding.")
@click.option("--sparse-grads", is_flag=True,
              help="Check the model with row-sparse embedding/readout gradients (with --embed "
                   "or --loss sampled_softmax).")
@click.option("--loss", default=None, metavar="NAME",
              help="Check this loss's gradient against finite differences, and a model "
                   "trained with it where it fits the cell's model (one class per step).")
@click.option("--layer-norm", is_flag=True,
              help="Check the cell's layer-normalised variant (lstm, gru).")
@click.option("--seq2seq", is_flag=True,
              help="Check the encoder-decoder (every attention kind) instead of a single stack.")
def check(**kwargs: Any) -> None:
    """Run a cell's conformance suite and gradient check, compare a backend with another
    (--parity), plot gradient flow (--grad-flow), check a loss's gradient (--loss), check the
    model around the cell: token embedding, tied readout, row-sparse gradients (--embed,
    --tie-weights, --sparse-grads), or check the encoder-decoder (--seq2seq)."""
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
@click.option("--seq2seq", is_flag=True,
              help="Time the encoder-decoder step and decoding instead (torch backend).")
def bench(backends: tuple[str, ...], cells: tuple[str, ...], seq2seq: bool,
          **kwargs: Any) -> None:
    """Training throughput on the char-LM workload against a hand-written torch.nn loop
    (--seq2seq: the encoder-decoder's step and decoding speed)."""
    if seq2seq:
        if backends or cells:
            raise ConfigError("--seq2seq times the torch backend's GRU encoder-decoder; drop "
                              "--backend and --cell.")
        rows = run_seq2seq_bench(log=echo_err, **kwargs)
        click.echo(format_seq2seq_rows(rows))
        return
    rows = run_bench(backends=backends or ("torch", "numpy"), cells=cells or ("lstm",),
                     log=echo_err, **kwargs)
    click.echo(format_rows(rows))


# ---- plugin authors --------------------------------------------------------------------------

@cli.command("new-plugin")
@click.option("--kind", type=click.Choice(list(SCAFFOLD_KINDS)), required=True,
              help="What the plugin adds.")
@click.argument("name")
@click.option("--directory", default=None, metavar="DIR",
              help="Where to write the package (default ./seqframe-NAME); must be new or empty.")
def new_plugin(kind: str, name: str, directory: str | None) -> None:
    """Write a working plugin package (entry point, module, tests, README) to start from."""
    for path in scaffold(kind, name, directory):
        click.echo(str(path))
