"""Hook implementations: what this distribution adds to seqframe."""

import click

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register("demo-sum", "seqframe_demo.task:SumTask", "predict the sum of a short sequence")


@hookimpl
def seqframe_register_commands(cli):
    @cli.command("demo-hello")
    @click.option("--name", default="world")
    def demo_hello(name):
        """Greet, to show that plugins can add commands."""
        click.echo(f"hello {name} from seqframe-demo")
