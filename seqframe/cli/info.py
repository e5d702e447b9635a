"""Commands that list what is installed: ``plugins``, ``backends``, ``tasks``, ``losses``."""

from __future__ import annotations

import json

import click

from ..plugins import get_registry
from .group import cli
from .listing import (
    kind_rows,
    loss_details,
    loss_rows,
    plugin_rows,
    registered_summary,
    task_details,
)
from .render import format_table


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


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def losses(name: str | None, as_json: bool) -> None:
    """The registered losses (targets, needs, options), or one loss's options in full."""
    registry = get_registry()
    if name is not None:
        info = loss_details(registry, name)
        if as_json:
            click.echo(json.dumps(info, indent=2))
            return
        click.echo(f"{info['name']}: {info['description']}\n{_loss_facts(info)}\n")
        rows = [(o["name"], o["type"], repr(o["default"]), o["help"]) for o in info["options"]]
        click.echo(format_table(rows, ["option (loss_options)", "type", "default", "help"])
                   if rows else "no options")
        return
    rows = loss_rows(registry)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [(r["name"], r.get("targets", "-"), r.get("needs", "-"), r.get("outputs", "-"),
              _option_defaults(r), r["description"] if not r["error"] else
              f"unavailable: {r['error']}", r["distribution"]) for r in rows]
    click.echo(format_table(table, ["loss", "targets", "needs", "outputs", "options",
                                    "description", "from"]))


def _loss_facts(info: dict) -> str:
    needs = info["needs"] + (", whole sequences (time-major, with the step mask)"
                             if info["per_sequence"] else "")
    better = "lower" if info["mode"] == "min" else "higher"
    return (f"targets: {info['targets']}; needs: {needs}; outputs: {info['outputs']} (O: the "
            f"task's output size); reports {info['metric']} ({better} is better)\n"
            f"from: {info['distribution']} (plugin {info['plugin']!r})")


def _option_defaults(row: dict) -> str:
    return ", ".join(f"{o['name']}={o['default']}" for o in row.get("options", [])) or "-"
