"""The many-series task with transparent predictors: batches of both layouts by hand,
per-series scaling, skipped series, exact forecasts, metrics, baselines and forecasting."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_timeseries.task import TimeSeriesTask
from ts_helpers import ConstantModel, monthly_times, read_rows, write_csv

from seqframe.errors import ConfigError, DataError

EXACT = {"scaler": "none", "normalize": "last", "lookback": 3, "horizon": 2, "test_size": 6,
         "val_size": 4, "season": 1}


def _linear_long(tmp_path, slopes=(2.0, 2.0), n=24, late=(0, 0)):
    """Long file: series k is 10 * (k + 1) + slope_k * t, starting `late[k]` months in."""
    months = monthly_times(n)
    rows = [[f"s{k}", months[t], 10.0 * (k + 1) + b * t]
            for k, b in enumerate(slopes) for t in range(late[k], n)]
    return write_csv(tmp_path / "lin.csv", ["id", "month", "y"], rows)


def _task(path, **options):
    task = TimeSeriesTask({"id": "id", **options}, path)
    return task, task.prepare()


def test_global_batches_by_hand(tmp_path):
    task, spec = _task(_linear_long(tmp_path, slopes=(1.0, 3.0)), scaler="none",
                       normalize="none", lookback=3, horizon=2, series_id=True,
                       test_size=6, val_size=4, calendar="month")
    assert (spec.input_size, spec.output_size, spec.readout) == (1 + 2 + 2, 2, "last")
    batches = task.train_batches(0, 4, seed=0)
    many = task.many
    for i in range(len(batches)):
        batch = batches[i]
        rows = batches.order[i * 4:(i + 1) * 4]
        for r, (s, o) in enumerate(zip(many.train_series[rows], many.train_origins[rows],
                                       strict=True)):
            y = 10.0 * (s + 1) + (1.0, 3.0)[s] * np.arange(o - 3, o + 2)
            np.testing.assert_allclose(batch.inputs[r, :, 0], y[:3])
            np.testing.assert_array_equal(batch.inputs[r, :, 1 + s], 1.0)
            np.testing.assert_array_equal(batch.inputs[r, :, 2 - s], 0.0)
            month = (np.arange(o - 3, o) % 12) * 2 * np.pi / 12  # the grid starts in January
            np.testing.assert_allclose(batch.inputs[r, :, 3], np.sin(month), atol=1e-12)
            np.testing.assert_allclose(batch.targets[r], y[3:])
            assert o + 2 <= many.parts.train_end  # training targets stay in the training part
    assert sum(len(b.inputs) for b in batches) == len(many.train_origins) == 2 * (14 - 3 - 1)


def test_joint_outputs_are_series_major(tmp_path):
    # series 0 rises by 1 a month, series 1 by 5: the exact joint model outputs, series by
    # series, the rise over 1 and 2 steps from the last input (normalize=last)
    task, spec = _task(_linear_long(tmp_path, slopes=(1.0, 5.0)), layout="joint", **EXACT)
    assert (spec.input_size, spec.output_size) == (2, 4)
    batch = task.train_batches(0, 64, seed=0)[0]
    np.testing.assert_allclose(batch.targets, np.tile([1.0, 2.0, 5.0, 10.0], (len(batch.targets),
                                                                               1)))
    np.testing.assert_allclose(batch.inputs[:, :, 1] * 1, np.tile([-10.0, -5.0, 0.0],
                                                                   (len(batch.inputs), 1)))
    exact = task.evaluate(ConstantModel([1.0, 2.0, 5.0, 10.0]), "test")
    assert exact["mae"] == pytest.approx(0.0, abs=1e-9) and exact["series"] == 2
    swapped = task.evaluate(ConstantModel([5.0, 10.0, 1.0, 2.0]), "test")
    # |5-1|, |10-2| for series 0 and the same for series 1: mean 6
    assert swapped["mae"] == pytest.approx(6.0) and swapped["mae_h1"] == pytest.approx(4.0)


def test_exact_global_model_and_metrics_by_hand(tmp_path):
    task, _ = _task(_linear_long(tmp_path), **EXACT)
    assert task.evaluate(ConstantModel([2.0, 4.0]), "test")["rmse"] == pytest.approx(0, abs=1e-9)
    off = task.evaluate(ConstantModel([3.0, 4.0]), "test")  # step 1 one too high, step 2 exact
    # test part: months 18..23; origins 18..22 per series; actuals y = 10(k+1) + 2t
    origins = np.arange(18, 23)
    step1 = np.concatenate([10 + 2.0 * origins, 20 + 2.0 * origins])  # actual at step 1
    assert off["windows"] == 10 and off["series"] == 2 and off["horizon"] == 2
    assert off["mae_h1"] == pytest.approx(1.0) and off["rmse_h1"] == pytest.approx(1.0)
    assert off["mae_h2"] == pytest.approx(0.0) and off["mae"] == pytest.approx(0.5)
    assert off["rmse"] == pytest.approx(np.sqrt(0.5))
    assert off["mape_h1"] == pytest.approx(100 * np.mean(1 / step1))
    # MASE: the in-sample MAE of the lag-1 naive forecast on each training part is 2
    assert off["mase"] == pytest.approx(0.25) and off["mase_season"] == 1


def test_scaling_is_per_series_and_fitted_on_the_training_part(tmp_path):
    path = _linear_long(tmp_path, slopes=(1.0, 4.0))
    task, _ = _task(path, lookback=3, horizon=2, test_size=6, val_size=4)
    # training part: months 0..13 -> mean of 10 + t and 20 + 4 t, std of t and 4 t
    t = np.arange(14)
    np.testing.assert_allclose(task.many.scaler.shift, [10 + t.mean(), 20 + 4 * t.mean()])
    np.testing.assert_allclose(task.many.scaler.scale, [t.std(), 4 * t.std()])


def test_series_too_short_are_skipped_with_a_count(tmp_path):
    notes = []
    task = TimeSeriesTask({"id": "id", **EXACT}, _linear_long(tmp_path, late=(0, 10)))
    task.log = notes.append
    task.prepare()
    # s1 has 4 training months (10..13), fewer than lookback 3 + horizon 2
    assert task.many.panel.ids == ["s0"] and task.state_dict()["skipped"] == ["s1"]
    assert notes == ["skipped 1 of 2 series with fewer than lookback 3 + horizon 2 = 5 steps in "
                     "the training part: s1 (4)"]
    with pytest.raises(DataError, match=r"none of the 2 series .* lookback 13 \+ horizon 2 = 15 "
                                        r"steps .*the longest series has 14"):
        _task(_linear_long(tmp_path, late=(0, 10)), **{**EXACT, "lookback": 13})


def test_baselines_by_hand(tmp_path):
    # season 4: y = pattern[t % 4] + 100 k, so the seasonal naive and historical average are
    # exact, and the naive forecast misses by the pattern's change
    pattern = np.array([1.0, 5.0, 2.0, 8.0])
    months = monthly_times(24)
    rows = [[f"s{k}", months[t], pattern[t % 4] + 100 * k] for k in range(2) for t in range(24)]
    path = write_csv(tmp_path / "p.csv", ["id", "month", "y"], rows)
    task, _ = _task(path, lookback=4, horizon=2, test_size=8, val_size=0, season=4)
    scores = task.baselines("test")
    assert scores["seasonal_naive"]["mae"] == pytest.approx(0.0)
    assert scores["historical_average"]["rmse"] == pytest.approx(0.0)
    origins = np.arange(16, 23)  # test part 16..23, horizon 2
    last = pattern[(origins - 1) % 4]
    err = np.abs(np.stack([pattern[origins % 4], pattern[(origins + 1) % 4]], 1) - last[:, None])
    assert scores["naive"]["mae"] == pytest.approx(err.mean())
    assert scores["naive"]["mae_h2"] == pytest.approx(err[:, 1].mean())
    assert set(scores) == {"naive", "seasonal_naive", "historical_average"}


def test_state_round_trip_and_forecast_per_series(tmp_path):
    path = _linear_long(tmp_path, late=(0, 6))
    task, spec = _task(path, **EXACT)
    again = TimeSeriesTask({"id": "id", **EXACT}, path)
    assert again.prepare(task.state_dict()) == spec
    model = ConstantModel([2.0, 4.0])
    result = again.forecast_series(model, horizon=2)
    assert list(result) == ["s0", "s1"]
    times, values = result["s1"]
    assert [str(t)[:7] for t in times] == ["2002-01", "2002-02"]
    np.testing.assert_allclose(values, [20 + 2 * 24, 20 + 2 * 25])
    paths = again.forecast(model, horizon=1, data=None, out_dir=tmp_path / "f", series="s0")
    rows = read_rows(paths[0])
    assert rows == [{"series": "s0", "step": "1", "time": "2002-01", "forecast": "58"}]
    assert paths[1].name == "forecast_s0.png"
    with pytest.raises(ConfigError, match="no series 's00' in this run. Did you mean s0"):
        again.forecast(model, horizon=1, data=None, out_dir=tmp_path, series="s00")
    with pytest.raises(ConfigError, match="longer than the trained horizon 2"):
        again.forecast(model, horizon=3, data=None, out_dir=tmp_path)


def test_forecast_new_series_from_another_file(tmp_path):
    task, _ = _task(_linear_long(tmp_path), **{**EXACT, "scaler": "standard"})
    other = write_csv(tmp_path / "other.csv", ["id", "month", "y"],
                      [["new", m, 5.0 + 2 * t] for t, m in enumerate(monthly_times(10))])
    # standard scaling, fitted on the new series' own history (std of 2t over t = 0..9)
    scale = 2 * np.arange(10).std()
    result = task.forecast_series(ConstantModel([2.0 / scale, 4.0 / scale]), horizon=2,
                                  data=other)
    np.testing.assert_allclose(result["new"][1], [25.0, 27.0])
    ids = TimeSeriesTask({"id": "id", **EXACT, "series_id": True}, _linear_long(tmp_path))
    ids.prepare()
    with pytest.raises(DataError, match="has no series 's0', which this run was trained on"):
        ids.forecast_series(ConstantModel([0.0, 0.0]), horizon=2, data=other)


def test_artefacts_agree_with_the_metrics(tmp_path):
    task, _ = _task(_linear_long(tmp_path, slopes=(2.0, 3.0)),
                    **{**EXACT, "plot_series": "s1"})
    model = ConstantModel([2.5, 4.0])
    metrics = task.evaluate(model, "test")
    paths = task.write_artefacts(model, tmp_path)
    names = [p.name for p in paths]
    assert names == ["horizon_errors_test.csv", "horizon_errors_test.txt", "forecast_test.csv",
                     "forecast_test_s1.png"]
    table = {(r["forecaster"], r["step"]): r for r in read_rows(paths[0])}
    for k in (1, 2):
        assert float(table["model", str(k)]["rmse"]) == pytest.approx(metrics[f"rmse_h{k}"],
                                                                     rel=1e-5)
    naive = task.baselines("test")["naive"]
    assert float(table["naive", "2"]["mae"]) == pytest.approx(naive["mae_h2"], rel=1e-5)
    rows = read_rows(paths[2])
    assert {r["series"] for r in rows} == {"s1"} and len(rows) == 5 * 2
    with pytest.raises(ConfigError, match="-o plot_series: no series 'zz'"):
        _task(_linear_long(tmp_path), **{**EXACT, "plot_series": "zz"})[0].write_artefacts(
            model, tmp_path)


@pytest.mark.parametrize("options, message", [
    ({"layout": "joint", "series_id": True}, "series_id=true is for the global layout"),
    ({"difference": 1}, "-o difference=1 is a single-series option"),
    ({"covariates": "x"}, "-o covariates=x is a single-series option"),
    ({"likelihood": "gaussian"}, "single-series option"),
    ({"layout": "single"}, "makes this many series; use -o layout=global"),
    ({"horizons": "0,3"}, r"every step must lie in 1..2"),
    ({"horizons": "a"}, "must list whole steps ahead"),
])
def test_option_conflicts(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        _task(_linear_long(tmp_path), **{**EXACT, **options})


@pytest.mark.parametrize("key, value", [("start", "2000-01-01"), ("freq", "M"),
                                        ("horizons", "1"), ("plot_series", "y")])
def test_many_series_options_are_refused_for_one_series(tmp_path, key, value):
    path = write_csv(tmp_path / "one.csv", ["month", "y"],
                     [[m, float(i)] for i, m in enumerate(monthly_times(40))])
    with pytest.raises(ConfigError, match=f"-o {key} is for many series"):
        TimeSeriesTask({key: value}, path).prepare()
