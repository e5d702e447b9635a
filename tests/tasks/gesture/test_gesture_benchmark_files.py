"""The committed gesture run files resolve, and the Pickup one runs on any other UCR pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seqframe_gesture.task import GestureTask

from seqframe.runs.build import resolve_config

BENCH = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"


def test_run_files_resolve_on_their_built_in_data():
    pickup = resolve_config({}, BENCH / "gesture-pickup.toml")
    vowels = resolve_config({}, BENCH / "gesture-japanesevowels.toml")
    assert pickup.ensemble == 10 and pickup.bidirectional and pickup.options["kernels"] == 32
    for config, channels, classes in ((pickup, 1 + 32, 10), (vowels, 12, 9)):
        spec = GestureTask(config.options, config.data).prepare()
        assert (spec.input_size, spec.output_size) == (channels, classes)


def test_pickup_file_runs_unchanged_on_another_pair(sf, tiny_pair, tmp_path):
    pytest.importorskip("torch", reason="the run file trains on the torch backend")
    # only the training length is cut, to keep the test short
    code, _, err = sf("run", "--config", str(BENCH / "gesture-pickup.toml"), "--data",
                      str(tiny_pair), "--epochs", "2", "--out", str(tmp_path / "run"), "-q")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["ensemble"] == 10 and len(summary["members"]) == 10
    assert 0.0 <= summary["metrics"]["test"]["accuracy"] <= 1.0
    assert set(summary["baselines"]) == {"majority_class", "1nn_euclidean", "1nn_dtw"}
