"""A short airline run through the Python API on the numpy backend, then `forecast` from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ts_helpers import read_rows

from seqframe.errors import MissingDependencyError, PluginError

OPTIONS = {"log": True, "seasonal_difference": 12, "normalize": "last", "lookback": 12,
           "horizon": 12, "test_size": 24, "val_size": 12}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from seqframe.runs.api import train_config as run
    from seqframe.runs.build import resolve_config

    root = tmp_path_factory.mktemp("timeseries")
    config = resolve_config({
        "task": "timeseries", "backend": "numpy", "steps": 40, "hidden": 8, "batch_size": 16,
        "lr": 1e-2, "out": str(root / "run"), "quiet": True, "options": OPTIONS,
    })
    run(config, log=lambda _: None)
    return root / "run"


def test_summary_metrics_and_baselines_on_the_same_windows(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "timeseries" and summary["steps"] == 40
    test = summary["metrics"]["test"]
    assert set(test) == {"mae", "rmse", "mape", "smape", "mase"}  # settings are not metrics
    assert summary["evaluation"]["test"] == {"windows": 13, "horizon": 12, "mase_season": 12}
    base = summary["baselines"]
    assert set(base) == {"naive", "seasonal_naive", "drift", "transform_only"}
    assert all(set(b) == set(test) for b in base.values())
    assert np.isfinite(test["mase"])


def test_artefacts_match_the_reported_test_metrics(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = read_rows(run_dir / "forecast_test.csv")
    actual = np.array([float(r["actual"]) for r in rows])
    forecast = np.array([float(r["forecast"]) for r in rows])
    snaive = np.array([float(r["seasonal_naive"]) for r in rows])
    # the CSV holds 6 significant digits
    assert np.mean(np.abs(actual - forecast)) == pytest.approx(
        summary["metrics"]["test"]["mae"], rel=1e-4)
    assert np.mean(np.abs(actual - snaive)) == pytest.approx(
        summary["baselines"]["seasonal_naive"]["mae"], rel=1e-6)
    assert (run_dir / "forecast_test.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_forecast_from_the_run_dir(run_dir, tmp_path, backend, capsys):
    from seqframe.runs.api import open_run

    try:
        task, predictor, _ = open_run(run_dir, backend=backend)
    except (MissingDependencyError, PluginError) as exc:
        pytest.skip(f"backend {backend} not available: {exc}")
    paths = task.forecast(predictor, horizon=18, data=None, out_dir=tmp_path)
    assert "steps 13-18 were forecast recursively" in capsys.readouterr().err
    rows = read_rows(paths[0])
    assert [r["method"] for r in rows] == ["direct"] * 12 + ["recursive"] * 6
    assert [r["time"] for r in (rows[0], rows[-1])] == ["1961-01", "1962-06"]
    assert all(float(r["forecast"]) > 0 for r in rows)
    if backend == "torch":  # the same checkpoint gives the same forecast on both backends
        task_np, predictor_np, _ = open_run(run_dir, backend="numpy")
        rows_np = read_rows(task_np.forecast(predictor_np, horizon=18, data=None,
                                             out_dir=tmp_path / "np")[0])
        np.testing.assert_allclose([float(r["forecast"]) for r in rows],
                                   [float(r["forecast"]) for r in rows_np], rtol=1e-4)
