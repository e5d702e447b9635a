"""Fixtures of the trainer tests: the tiny task registered, quick configs, a trainer factory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from seqframe import plugins
from seqframe.config import RunConfig

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path; the tiny task
# is a plain module so that subprocess tests can import it too (PYTHONPATH=this folder).
HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import trainer_tinytask  # noqa: E402


@pytest.fixture(autouse=True)
def tiny_registered(monkeypatch):
    monkeypatch.setattr(plugins, "_REGISTRY", trainer_tinytask.registry_with_tiny())


@pytest.fixture
def tiny_config(tmp_path):
    """A fast float64 config on the tiny task; tests replace what they exercise."""

    def make(**changes):
        base = RunConfig(backend="numpy", task="tiny", cell="lstm", hidden=6, batch_size=8,
                         dtype="float64", optimizer="adam", lr=0.01, clip_norm=1.0, epochs=1,
                         out=str(tmp_path / "run"), quiet=True, seed=3)
        return base.replace(**changes)

    return make
