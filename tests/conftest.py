"""Fixtures shared across the test suite."""

from __future__ import annotations

import pytest

from seqframe.cli import main


@pytest.fixture
def sf(capsys):
    """Run ``seqframe ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str):
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return info.value.code, out, err

    return invoke
