"""The ``seqframe`` command line: parse, call the library, render, map errors to exit codes."""

from .main import BUILTIN_COMMANDS, cli, main

__all__ = ["BUILTIN_COMMANDS", "cli", "main"]
