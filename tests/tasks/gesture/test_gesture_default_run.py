"""The default `seqframe run --task gesture` beats its own baselines (the first-hour issue: the
old default scored 0.62 test accuracy against 1-NN DTW's 0.70 without a word)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_the_default_gesture_run_beats_its_baselines_on_val_and_test(sf, tmp_path):
    run_dir = tmp_path / "run"
    code, out, err = sf("run", "--task", "gesture", "--out", str(run_dir), "--quiet")
    assert code == 0, err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["ensemble"] == 3 and summary["backend"] == "numpy"
    comparison = summary["baseline_comparison"]
    assert summary["beats_best_baseline"] is True and comparison["metric"] == "accuracy"
    assert comparison["model"] > max(comparison["baselines"].values())
    test = summary["metrics"]["test"]["accuracy"]
    assert test > max(b["accuracy"] for b in summary["baselines"].values())
    assert "beats the best baseline on val" in out
