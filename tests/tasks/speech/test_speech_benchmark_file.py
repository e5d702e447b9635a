"""The committed speech run files are valid: they train unchanged (but for their data and length)
on the shipped subset."""

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

BENCH = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"
FILES = {"words": BENCH / "speech-fsdd-words.toml", "ctc": BENCH / "speech-fsdd-ctc.toml"}


@pytest.mark.parametrize("mode", sorted(FILES))
def test_run_file_settings(mode):
    config = tomllib.loads(FILES[mode].read_text())
    assert (config["task"], config["backend"], config["data"]) == (
        "speech", "torch", "../shared/data/fsdd/recordings")
    assert config["options"]["mode"] == mode and config["time_budget"] <= 30 * 60


@pytest.mark.slow  # ~7 s of CPU each: torch start-up, a biLSTM, evaluation
@pytest.mark.parametrize("mode", sorted(FILES))
def test_run_file_trains_on_the_shipped_subset(sf, tmp_path, mode):
    pytest.importorskip("torch", reason="the run files train on the torch backend")
    small = ["-o", "ctc_train=16", "-o", "ctc_eval=4"] if mode == "ctc" else []
    code, _, err = sf("run", "--config", str(FILES[mode]), "--data", str(SUBSET), "--epochs",
                      "1", *small, "--out", str(tmp_path / "run"), "-q")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["backend"] == "torch" and summary["epochs"] == 1
    if mode == "ctc":  # an untrained model inserts freely: WER has no upper bound
        assert summary["metrics"]["test"]["wer_beam"] >= 0.0
    else:
        assert 0.0 <= summary["metrics"]["test"]["accuracy"] <= 1.0
