"""Fixtures shared across the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqframe.cli.main import main

# The real data sets of ../shared/data sit beside a CI clone but not beside a user's clone: every
# test reaches them through the `shared_data` fixture, which skips cleanly when they are absent.
SHARED_DATA_ENV = "SEQFRAME_SHARED_DATA"
REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$SEQFRAME_SHARED_DATA``, else ``../shared/data`` beside the repository; None if absent
    or empty (an empty folder holds no data set, so the tests that need one skip)."""
    raw = os.environ.get(SHARED_DATA_ENV, "").strip()
    path = Path(raw) if raw else REPO.parent / "shared" / "data"
    return path if path.is_dir() and any(path.iterdir()) else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data sets for tests and benchmarks, or a skip when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(f"shared data folder not present (../shared/data beside the repository, or "
                    f"${SHARED_DATA_ENV})")
    return path


@pytest.fixture
def sf(capsys):
    """Run ``seqframe ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str):
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return info.value.code, out, err

    return invoke
