"""docs/reference/cli.md is generated from the commands' --help and cannot drift from them."""

from __future__ import annotations

import subprocess
import sys

from seqframe.cli.main import BUILTIN_COMMANDS
from tests.docs._tools import DOCS, REPO, tool


def test_committed_cli_reference_matches_the_commands():
    result = subprocess.run([sys.executable, str(REPO / "tools" / "gen_cli_reference.py"),
                             "--check"], capture_output=True, text=True, env={"COLUMNS": "37",
                             **{k: v for k, v in __import__("os").environ.items()
                                if k != "COLUMNS"}})
    assert result.returncode == 0, (
        "docs/reference/cli.md is out of date with the commands in seqframe/cli/: run "
        "`python tools/gen_cli_reference.py` and commit the result.\n" + result.stderr)


def test_every_builtin_command_has_a_section_with_its_usage_line():
    text = (DOCS / "reference" / "cli.md").read_text()
    for name in BUILTIN_COMMANDS:
        assert f"\n## seqframe {name}\n" in text
        assert f"Usage: seqframe {name} " in text


def test_rendering_is_independent_of_the_terminal_width(monkeypatch):
    gen = tool("gen_cli_reference")
    monkeypatch.setenv("COLUMNS", "200")
    wide = gen.render()
    monkeypatch.setenv("COLUMNS", "30")
    assert gen.render() == wide
