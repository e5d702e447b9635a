"""The task with transparent predictors: exact forecasts, intervals, forecasting, errors."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from seqframe_timeseries.task import TimeSeriesTask
from ts_helpers import ConstantModel, hourly_times, monthly_times, read_rows, write_csv

from seqframe.errors import ConfigError, DataError


def _seasonal_csv(tmp_path, n=96):
    """Multiplicative monthly series: log y = 4 + 0.01 t + 0.2 sin(2 pi t / 12)."""
    t = np.arange(n)
    y = np.exp(4 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 12))
    path = write_csv(tmp_path / "s.csv", ["month", "y"],
                     [[d, v] for d, v in zip(monthly_times(n), y, strict=True)])
    return path, y


def test_log_seasonal_difference_with_the_exact_model_forecasts_exactly(tmp_path):
    path, y = _seasonal_csv(tmp_path)
    task = TimeSeriesTask({"normalize": "none", "log": True, "seasonal_difference": 12,
                           "scaler": "none",
                           "lookback": 6, "horizon": 24, "test_size": 24, "val_size": 0}, path)
    task.prepare()
    # log y[t] - log y[t-12] = 0.12 everywhere, so a model saying 0.12 is exact at every step,
    # including steps 13..24 which integrate the model's own earlier forecasts
    metrics = task.evaluate(ConstantModel([0.12] * 24), "test")
    assert metrics["mae"] == pytest.approx(0.0, abs=1e-9) and metrics["windows"] == 1
    assert metrics["mape"] == pytest.approx(0.0, abs=1e-9)
    assert task.evaluate(ConstantModel([0.12] * 24), "val")["in_sample"] == 1.0
    off = task.evaluate(ConstantModel([0.12 + np.log(1.1)] * 24), "test")
    # ratio 1.1 on the first season, 1.21 on the second: MAPE is their mean
    assert off["mape"] == pytest.approx(100 * (0.1 + 0.21) / 2)


def test_baselines_include_transform_only(tmp_path):
    path, y = _seasonal_csv(tmp_path)
    task = TimeSeriesTask({"normalize": "none", "log": True, "seasonal_difference": 12,
                           "scaler": "standard",
                           "lookback": 6, "horizon": 24, "test_size": 24, "val_size": 0}, path)
    task.prepare()
    scores = task.baselines("test")
    assert set(scores) == {"naive", "seasonal_naive", "drift", "transform_only"}
    # zero output = the training mean difference (0.12 exactly): a perfect forecast here
    assert scores["transform_only"]["mae"] == pytest.approx(0.0, abs=1e-8)
    growth = np.exp(0.12)
    assert scores["seasonal_naive"]["mape"] == pytest.approx(
        100 * ((1 - 1 / growth) + (1 - 1 / growth ** 2)) / 2)


def test_gaussian_intervals_exact_without_differencing(tmp_path, linear_csv):
    task = TimeSeriesTask({"normalize": "none", "target": "y", "scaler": "none",
                           "likelihood": "gaussian",
                           "lookback": 4, "horizon": 2, "test_size": 10, "val_size": 10,
                           "interval": 0.8}, linear_csv)
    spec = task.prepare()
    assert (spec.loss, spec.output_size) == ("gaussian_nll", 2)
    model = ConstantModel([60.0, 61.0, np.log(4.0), np.log(9.0)])  # sd 2 and 3
    forecast, scaled, inverse = task.model_forecast(model, np.array([110]))
    lower, upper = inverse.interval(scaled, 0.8)
    z = NormalDist().inv_cdf(0.9)
    np.testing.assert_allclose(lower, [[60 - 2 * z, 61 - 3 * z]])
    np.testing.assert_allclose(upper, [[60 + 2 * z, 61 + 3 * z]])
    metrics = task.evaluate(model, "test")
    y = task.series.values
    actual = y[np.arange(110, 119)[:, None] + np.arange(2)]
    inside = (np.abs(actual - [60, 61]) <= z * np.array([2, 3])).mean()
    assert metrics["coverage"] == pytest.approx(100 * inside)


def test_gaussian_intervals_widen_like_a_random_walk_with_differencing(linear_csv):
    task = TimeSeriesTask({"normalize": "none", "target": "y", "scaler": "none",
                           "likelihood": "gaussian",
                           "difference": 1, "lookback": 4, "horizon": 9, "test_size": 10,
                           "val_size": 10}, linear_csv)
    task.prepare()
    model = ConstantModel([0.5] * 9 + [0.0] * 9)  # exact mean, unit variance per step
    forecast, scaled, inverse = task.model_forecast(model, np.array([110]))
    lower, upper = inverse.interval(scaled, 0.9)
    half = (upper - lower)[0] / 2
    expected = NormalDist().inv_cdf(0.95) * np.sqrt(np.arange(1, 10))  # var of a sum of h
    np.testing.assert_allclose(half, expected, rtol=0.15)
    np.testing.assert_allclose(forecast[0], task.series.values[110:119])


def test_forecast_past_the_end_writes_timestamps(tmp_path):
    task = TimeSeriesTask({"normalize": "none", "horizon": 12, "lookback": 12, "test_size": 36,
                           "val_size": 0,
                           "log": True, "seasonal_difference": 12, "scaler": "none"}, "airline")
    task.prepare()
    paths = task.forecast(ConstantModel([0.0] * 12), horizon=12, data=None, out_dir=tmp_path)
    assert [p.name for p in paths] == ["forecast.csv", "forecast.png"]
    rows = read_rows(paths[0])
    assert [r["time"] for r in rows[:2]] == ["1961-01", "1961-02"] and rows[-1]["time"] == "1961-12"
    # a zero seasonal log-difference repeats the last year: the seasonal-naive forecast
    np.testing.assert_allclose([float(r["forecast"]) for r in rows], task.series.values[-12:],
                               rtol=1e-5)
    assert paths[1].stat().st_size > 1000 and paths[1].read_bytes()[:4] == b"\x89PNG"


def test_forecast_longer_than_trained_horizon_is_recursive(tmp_path, linear_csv, capsys):
    task = TimeSeriesTask({"target": "y", "scaler": "none", "normalize": "last",
                           "lookback": 4, "horizon": 3, "calendar": "month"}, linear_csv)
    task.prepare()
    model = ConstantModel([0.5, 1.0, 1.5])  # the exact model of y = 10 + 0.5 t
    task.forecast(model, horizon=8, data=None, out_dir=tmp_path)
    assert capsys.readouterr().err.startswith(
        "note: --horizon 8 is longer than the 3 step(s) the model forecasts at once, so steps "
        "4-8 were forecast recursively: the model's own forecasts were fed back as if observed "
        "(3 passes).")
    rows = read_rows(tmp_path / "forecast.csv")
    assert [r["method"] for r in rows] == ["direct"] * 3 + ["recursive"] * 5
    np.testing.assert_allclose([float(r["forecast"]) for r in rows], 10 + 0.5 * np.arange(120, 128))
    assert [r["time"] for r in rows[:2]] == ["2010-01", "2010-02"]
    assert len(model.calls) == 3  # 3 + 3 + 2 steps
    # the second call reads the first call's forecasts and their calendar features
    second = model.calls[1][0]
    np.testing.assert_allclose(second[:, 0], [-1.5, -1.0, -0.5, 0.0])
    np.testing.assert_allclose(second[-1, 1:], [np.sin(2 * np.pi * 2 / 12),
                                                np.cos(2 * np.pi * 2 / 12)], atol=1e-12)


def test_recursive_strategy_trains_one_step_and_evaluates_h_steps(linear_csv):
    task = TimeSeriesTask({"target": "y", "scaler": "none", "normalize": "last",
                           "strategy": "recursive", "lookback": 4, "horizon": 6}, linear_csv)
    spec = task.prepare()
    assert spec.output_size == 1 and task.train_batches(0, 500, 0)[0].targets.shape[1] == 1
    metrics = task.evaluate(ConstantModel([0.5]), "test")
    assert metrics["mae"] == pytest.approx(0.0, abs=1e-9) and metrics["horizon"] == 6


def test_forecast_from_another_file_uses_the_fitted_scaler(tmp_path, linear_csv):
    task = TimeSeriesTask({"normalize": "none", "target": "y", "lookback": 4, "horizon": 2},
                           linear_csv)
    task.prepare()
    other = write_csv(tmp_path / "new.csv", ["month", "y", "c"],
                      [[d, 100.0 + i, 0.0] for i, d in enumerate(monthly_times(6, "2030-01"))])
    model = ConstantModel([0.0, 0.0])
    task.forecast(model, horizon=2, data=other, out_dir=tmp_path / "f")
    rows = read_rows(tmp_path / "f" / "forecast.csv")
    # output 0 in the scaled space is the training mean of y, whatever the new file holds
    np.testing.assert_allclose([float(r["forecast"]) for r in rows], task.scaler.shift)
    assert rows[0]["time"] == "2030-07"
    np.testing.assert_allclose(model.calls[0][0, :, 0], task.scaler.transform(
        np.array([102.0, 103, 104, 105])))


def test_forecast_errors(tmp_path, linear_csv):
    task = TimeSeriesTask({"normalize": "none", "target": "y", "covariates": "c", "lookback": 4,
                           "horizon": 2},
                          linear_csv)
    task.prepare()
    with pytest.raises(ConfigError, match="--horizon 5 is longer than the trained horizon 2.*"
                                          "covariates \\(c\\)"):
        task.forecast(ConstantModel([0, 0]), horizon=5, data=None, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="--horizon must be at least 1"):
        task.forecast(ConstantModel([0, 0]), horizon=0, data=None, out_dir=tmp_path)
    short = write_csv(tmp_path / "short.csv", ["month", "y", "c"],
                      [[d, 1.0, 0.0] for d in monthly_times(3)])
    with pytest.raises(DataError, match="has 3 steps; a forecast needs the last 4"):
        task.forecast(ConstantModel([0, 0]), horizon=2, data=short, out_dir=tmp_path)


def test_artefacts_csv_and_png(tmp_path):
    path, y = _seasonal_csv(tmp_path)
    task = TimeSeriesTask({"normalize": "none", "log": True, "seasonal_difference": 12,
                           "scaler": "none",
                           "likelihood": "gaussian", "lookback": 6, "horizon": 3,
                           "test_size": 6, "val_size": 6}, path)
    task.prepare()
    paths = task.write_artefacts(ConstantModel([0.12] * 3 + [-4.0] * 3), tmp_path)
    assert [p.name for p in paths] == ["forecast_test.csv", "forecast_test.png"]
    rows = read_rows(paths[0])
    assert len(rows) == 4 * 3 and rows[0]["origin"] == "2007-07" and rows[0]["time"] == "2007-07"
    assert set(rows[0]) == {"origin", "time", "step", "actual", "forecast", "lower", "upper",
                            "seasonal_naive"}
    for row in rows:
        assert float(row["actual"]) == pytest.approx(float(row["forecast"]), rel=1e-5)
        assert float(row["lower"]) < float(row["forecast"]) < float(row["upper"])


@pytest.mark.parametrize("opts, error, message", [
    ({"lookback": 0}, ConfigError, "lookback must be >= 1"),
    ({"difference": 3}, ConfigError, "difference must be 0, 1 or 2"),
    ({"seasonal_difference": 1}, ConfigError, "use -o difference=1"),
    ({"interval": 1.5}, ConfigError, "interval must be between 0 and 1"),
    ({"calendar": "hour,week"}, ConfigError, "unknown field 'week'"),
    ({"strategy": "recursive", "covariates": "c"}, ConfigError, "cannot use covariates"),
    ({"scaler": "robust"}, ConfigError, "must be one of standard, minmax, none"),
    ({"horizonn": 3}, ConfigError, "unknown option 'horizonn'.*Valid options:.*horizon"),
])
def test_bad_options(opts, error, message):
    with pytest.raises(error, match=message):
        TimeSeriesTask({"target": "y", **opts}, "airline")


@pytest.mark.parametrize("opts, error, message", [
    ({"lookback": 100}, DataError, "too short.*lookback 100 \\+ horizon 12 = 112 steps.*"
                                   "training part has 84"),
    ({"lookback": 70, "seasonal_difference": 12}, DataError, "\\+ 12 lost to differencing"),
    ({"test_size": 6}, ConfigError, "test part has 6 steps, fewer than the horizon 12"),
    ({"val_size": 5}, ConfigError, "val part has 5 steps.*or val_size=0"),
    ({"calendar": "month", "time_column": "none"}, ConfigError, "calendar needs a time column"),
    ({"test_size": 0, "val_size": 0}, ConfigError, "test part has 0 steps"),
])
def test_settings_that_do_not_fit_the_series(linear_csv, opts, error, message):
    task = TimeSeriesTask({"normalize": "none", "target": "y", "test_size": 24, "val_size": 12,
                           **opts}, linear_csv)
    with pytest.raises(error, match=message):
        task.prepare()


def test_hourly_csv_with_calendar_and_default_season(tmp_path):
    n = 24 * 20
    t = np.arange(n)
    temp = 10 + 5 * np.sin(2 * np.pi * t / 24)
    path = write_csv(tmp_path / "h.csv", ["time", "temp"],
                     [[d, v] for d, v in zip(hourly_times(n), temp, strict=True)])
    task = TimeSeriesTask({"normalize": "none", "lookback": 48, "horizon": 24,
                           "calendar": "hour,weekday"}, path)
    spec = task.prepare()
    assert task.season == 24 and spec.input_size == 5
    # a pure daily cycle: seasonal naive is exact
    assert task.baselines("test")["seasonal_naive"]["mae"] == pytest.approx(0.0, abs=1e-9)
