"""A well-behaved plugin: one lazily registered task and one command."""

import click

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register("good-task", "tests.plugin_fixtures.good_target:GoodTask", "a task for tests")


@hookimpl
def seqframe_register_commands(cli):
    @cli.command("hello-good")
    def hello_good():
        """Say hello from a plugin command."""
        click.echo("hello from good")
