"""Metrics and baselines against hand-computed values, and the airline seasonal-naive oracle."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_timeseries import baselines as base
from seqframe_timeseries import metrics as met
from seqframe_timeseries.task import TimeSeriesTask

ACTUAL = np.array([[2.0, 4.0], [5.0, -1.0]])
FORECAST = np.array([[1.0, 5.0], [5.0, 1.0]])


def test_point_metrics_by_hand():
    # errors 1, 1, 0, 2: MAE 4/4, RMSE sqrt(6/4)
    assert met.mae(ACTUAL, FORECAST) == pytest.approx(1.0)
    assert met.rmse(ACTUAL, FORECAST) == pytest.approx(np.sqrt(1.5))
    # |e|/|a|: 1/2, 1/4, 0, 2/1 -> mean 0.6875
    assert met.mape(ACTUAL, FORECAST) == pytest.approx(68.75)
    # 2|e|/(|a|+|f|): 2/3, 2/9, 0, 4/2 -> mean (2/3 + 2/9 + 2) / 4
    assert met.smape(ACTUAL, FORECAST) == pytest.approx(100 * (2 / 3 + 2 / 9 + 2) / 4)


def test_mape_undefined_at_zero_and_smape_zero_pair():
    assert met.mape(np.array([0.0, 1.0]), np.array([1.0, 1.0])) is None
    assert met.smape(np.array([0.0, 2.0]), np.array([0.0, 1.0])) == pytest.approx(
        100 * (0 + 2 / 3) / 2)
    out = met.all_metrics(np.array([0.0, 2.0]), np.array([1.0, 2.0]), scale=None)
    assert "mape" not in out and "mase" not in out and out["mae"] == pytest.approx(0.5)


def test_mase_scale_is_in_sample_seasonal_naive():
    train = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    # season 2: |4-1|, |7-2|, |11-4| -> mean 5
    assert met.mase_scale(train, 2) == pytest.approx(5.0)
    assert met.mase_scale(np.ones(5), 1) is None
    out = met.all_metrics(ACTUAL, FORECAST, scale=5.0)
    assert out["mase"] == pytest.approx(1.0 / 5.0)


def test_coverage_counts_inside_inclusive():
    assert met.coverage(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, 3.5, 0.0]),
                        np.array([2.0, 1.0, 4.0, 4.0])) == pytest.approx(50.0)
    # steps without an interval (NaN bounds) are left out, not counted as misses
    assert met.coverage(np.array([1.0, 5.0, 3.0]), np.array([0.0, np.nan, 4.0]),
                        np.array([2.0, np.nan, 5.0])) == pytest.approx(50.0)


def test_baselines_by_hand():
    y = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 8.0, 9.0])
    origins = np.array([4, 5])
    np.testing.assert_array_equal(base.naive(y, origins, 3), [[6, 6, 6], [4, 4, 4]])
    # season 2 from origin 4: steps 4, 5, 6 take y[2], y[3], y[2]
    np.testing.assert_array_equal(base.seasonal_naive(y, origins, 3, 2), [[2, 6, 2], [6, 4, 6]])
    # drift from origin 4: last 6, slope (6 - 1) / 3
    np.testing.assert_allclose(base.drift(y, origins, 2)[0], [6 + 5 / 3, 6 + 10 / 3])
    np.testing.assert_allclose(base.drift(y, origins, 1)[1], [4 + 3 / 4])


def test_airline_seasonal_naive_reproduces_published_13_19_percent():
    task = TimeSeriesTask({"horizon": 36, "test_size": 36, "val_size": 0, "lookback": 12},
                          "airline")
    task.prepare()
    np.testing.assert_array_equal(task.eval_origins("test"), [108])
    snaive = task.baselines("test")["seasonal_naive"]
    assert snaive["mape"] == pytest.approx(13.19, abs=0.005)
    assert snaive["mase_season"] == 12 and snaive["windows"] == 1 and snaive["horizon"] == 36
    # MASE: MAE over in-sample seasonal-naive MAE of the first 108 months, computed here again
    y = task.series.values
    assert snaive["mase"] == pytest.approx(
        np.mean(np.abs(y[108:] - np.tile(y[96:108], 3))) / np.mean(np.abs(y[12:108] - y[:96])))
