"""The ``seqframe`` click group, and what every command module shares."""

from __future__ import annotations

import click

from .. import __version__

BACKEND_HELP = "Array backend (`seqframe backends` lists them)."


def echo_err(message: str) -> None:
    """A line on standard error (run messages, warnings, errors)."""
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="seqframe")
@click.option("--traceback", is_flag=True,
              help="Show the full Python traceback on errors (also accepted after the command).")
def cli(traceback: bool) -> None:
    """Recurrent sequence models (Elman RNN, LSTM, GRU) with hand-written BPTT.

    Any backend runs any task: seqframe run --backend torch --task timeseries
    """
