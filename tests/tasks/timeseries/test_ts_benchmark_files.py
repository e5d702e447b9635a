"""The committed benchmark run files resolve, and the hourly one fits any hourly CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from seqframe_timeseries.task import TimeSeriesTask
from ts_helpers import hourly_times, write_csv

from seqframe.runs.build import resolve_config

BENCH = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"


def _prepared(config):
    task = TimeSeriesTask(config.options, config.data)
    return task, task.prepare()


def test_airline_file_is_the_last_36_months_protocol():
    task, spec = _prepared(resolve_config({}, BENCH / "timeseries-airline.toml"))
    assert spec.output_size == 36 and task.splits() == ("val", "test")
    np.testing.assert_array_equal(task.eval_origins("test"), [108])
    assert task.baselines("test")["seasonal_naive"]["mape"] == pytest.approx(13.19, abs=0.005)


def test_seattle_file_scores_every_rolling_day_of_the_last_fifth():
    task, spec = _prepared(resolve_config({}, BENCH / "timeseries-seattle.toml"))
    assert spec.output_size == 24 and task.season == 24
    origins = task.eval_origins("test")
    assert origins[0] == 8759 - 1752 and origins[-1] == 8759 - 24 and len(origins) == 1729


def test_seattle_file_works_unchanged_on_another_hourly_csv(tmp_path):
    n = 24 * 60
    rng = np.random.default_rng(0)
    hours = np.arange(n)
    load = 100 + 20 * np.sin(2 * np.pi * hours / 24) + rng.normal(size=n).cumsum() * 0.3
    rows = [[t, v, 20 + rng.normal()] for t, v in zip(hourly_times(n), load, strict=True)]
    path = write_csv(tmp_path / "load.csv", ["timestamp", "load_mw", "temp_c"], rows)
    config = resolve_config({"data": path, "options": {"target": "load_mw"}},
                            BENCH / "timeseries-seattle.toml")
    task, spec = _prepared(config)
    assert task.series.target == "load_mw" and task.series.time_column == "timestamp"
    assert spec.input_size == 1 and len(task.eval_origins("test")) == 288 - 24 + 1
