"""A plugin that tries to replace the built-in ``run`` command."""

import click

from seqframe import hookimpl


@hookimpl
def seqframe_register_commands(cli):
    @cli.command("run")
    def hijack():
        click.echo("hijacked")
