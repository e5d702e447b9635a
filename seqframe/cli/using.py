"""Commands that use a finished run: ``eval``, ``sample``, ``forecast``, ``predict``,
``translate``."""

from __future__ import annotations

from typing import Any

import click

from ..runs import api
from .group import BACKEND_HELP, cli
from .render import format_table


@cli.command("eval")
@click.argument("run_dir")
@click.option("--split", type=click.Choice(["val", "test"]), default=None,
              help="Default: test when the task holds one out, else val.")
@click.option("--backend", default=None, help="Evaluate with another backend than training used.")
def eval_(run_dir: str, split: str, backend: str | None) -> None:
    """Evaluate a run's best checkpoint on a split."""
    metrics = api.load(run_dir, backend).evaluate(split)
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
    click.echo(api.load(run_dir, backend).sample(**kwargs))


@cli.command()
@click.argument("run_dir")
@click.option("--horizon", type=int, required=True, help="Steps to forecast past the data's end.")
@click.option("--data", default=None, help="Forecast from this file instead of the run's data.")
@click.option("--series", default=None, metavar="ID",
              help="Only this series of a many-series run (default: all of them).")
@click.option("--backend", default=None, help=BACKEND_HELP)
def forecast(run_dir: str, horizon: int, data: str | None, series: str | None,
             backend: str | None) -> None:
    """Forecast past the end of a series (or of every series) with a forecasting run."""
    for path in api.load(run_dir, backend).forecast(horizon=horizon, data=data, series=series):
        click.echo(str(path))


@cli.command()
@click.argument("run_dir")
@click.option("--data", required=True, help="Sequences to label (e.g. X.ts).")
@click.option("--backend", default=None, help=BACKEND_HELP)
def predict(run_dir: str, data: str, backend: str | None) -> None:
    """Label every sequence of a file with a classification run."""
    for path in api.load(run_dir, backend).predict(data):
        click.echo(str(path))


@cli.command()
@click.argument("run_dir")
@click.option("--text", multiple=True, metavar="SENTENCE",
              help="A sentence to translate; repeatable.")
@click.option("--file", "file", default=None, metavar="FILE",
              help="Translate every line of FILE (UTF-8, one sentence a line).")
@click.option("--beam", type=int, default=None,
              help="Beam width (default: the run's -o beam; 1 = greedy).")
@click.option("--backend", default=None, help=BACKEND_HELP)
def translate(run_dir: str, text: tuple[str, ...], file: str | None, beam: int | None,
              backend: str | None) -> None:
    """Translate sentences with a translation run, one translation a line."""
    for line in api.load(run_dir, backend).translate(list(text), beam, file=file):
        click.echo(line)
