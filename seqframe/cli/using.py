"""Commands that use a finished run: ``eval``, ``sample``, ``forecast``, ``predict``,
``transcribe``, ``recommend``, ``translate``."""

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
    run = api.load(run_dir, backend)
    split = split or run.default_split
    metrics = run.evaluate(split)
    click.echo(format_table([(k, f"{v:.6g}") for k, v in metrics.items()], ["metric", split]))


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
@click.argument("files", nargs=-1, required=True, metavar="FILE.wav...")
@click.option("--backend", default=None, help=BACKEND_HELP)
def transcribe(run_dir: str, files: tuple[str, ...], backend: str | None) -> None:
    """Print the words spoken in audio files with a speech run (an isolated-word run: the
    label), and the model's probability of them."""
    results = api.load(run_dir, backend).transcribe(list(files))
    click.echo(format_table([(r.path, " ".join(r.words), f"{r.probability:.4g}")
                             for r in results], ["file", "transcript", "probability"]))


@cli.command()
@click.argument("run_dir")
@click.option("--history", "histories", multiple=True, required=True, metavar="IDS",
              help="Item ids, comma-separated, oldest first, as in the data (repeat the option "
                   "for several histories).")
@click.option("--k", type=int, default=10, show_default=True, help="Items to recommend.")
@click.option("--include-seen", is_flag=True, help="Also recommend items of the history.")
@click.option("--backend", default=None, help=BACKEND_HELP)
def recommend(run_dir: str, histories: tuple[str, ...], k: int, include_seen: bool,
              backend: str | None) -> None:
    """Recommend the next items after item histories with a recommendation run."""
    parsed = [[part.strip() for part in text.split(",") if part.strip()] for text in histories]
    ranked = api.load(run_dir, backend).recommend(parsed, k=k, exclude_seen=not include_seen)
    for text, items in zip(histories, ranked, strict=True):
        if len(histories) > 1:
            click.echo(f"after {text}:")
        titled = any(title for _, _, title in items)
        rows = [(rank, item, f"{score:.4g}", *([title or ""] if titled else []))
                for rank, (item, score, title) in enumerate(items, start=1)]
        click.echo(format_table(rows, ["rank", "item", "score", *(["title"] if titled else [])]))


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
