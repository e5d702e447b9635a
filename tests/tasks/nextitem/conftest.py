"""Fixtures of the nextitem tests; helpers live in ni_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ni_helpers import DATA  # noqa: E402


@pytest.fixture
def tiny_inter() -> Path:
    return DATA / "tiny.inter"


@pytest.fixture
def sessions_csv() -> Path:
    return DATA / "sessions.csv"


@pytest.fixture
def write(tmp_path):
    """``write(name, text)`` -> the path of a new file in ``tmp_path``."""

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def ml100k(shared_data) -> Path:
    path = shared_data / "ml-100k" / "ml-100k.inter"
    if not path.is_file():
        pytest.skip("ml-100k not in the shared data folder")
    return path


@pytest.fixture
def run_error(sf, tmp_path):
    """``run_error(data, *flags)``: a nextitem run that must fail with exit code 2; its stderr."""

    def invoke(data, *flags: str) -> str:
        code, _, err = sf("run", "--task", "nextitem", "--data", str(data), "--steps", "1",
                          "--quiet", "--out", str(tmp_path / "never"), *flags)
        assert code == 2, err
        assert not (tmp_path / "never").exists()
        return " ".join(err.split())  # one line, whatever the terminal wrapped

    return invoke
