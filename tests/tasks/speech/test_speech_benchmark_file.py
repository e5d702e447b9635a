"""The committed speech run file is valid: it trains unchanged (but for its data and length) on
the shipped subset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tests.tasks.speech._audio import SUBSET

BENCH = Path(__file__).resolve().parents[3] / "docs" / "benchmarks" / "speech-fsdd-words.toml"


def test_run_file_settings():
    config = tomllib.loads(BENCH.read_text())
    assert (config["task"], config["backend"], config["data"]) == (
        "speech", "torch", "../shared/data/fsdd/recordings")
    assert config["options"]["mode"] == "words" and config["time_budget"] <= 30 * 60


@pytest.mark.slow  # ~7 s of CPU: torch start-up, a 107k-parameter biLSTM, evaluation
def test_run_file_trains_on_the_shipped_subset(sf, tmp_path):
    pytest.importorskip("torch", reason="the run file trains on the torch backend")
    code, _, err = sf("run", "--config", str(BENCH), "--data", str(SUBSET), "--epochs", "1",
                      "--out", str(tmp_path / "run"), "-q")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["backend"] == "torch" and summary["epochs"] == 1
    assert 0.0 <= summary["metrics"]["test"]["accuracy"] <= 1.0
