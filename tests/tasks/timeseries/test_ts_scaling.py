"""Scaling, log and differencing: exact inverses, and fitting on the training part only."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_timeseries.scaling import Scaler, TargetTransform
from seqframe_timeseries.task import TimeSeriesTask
from ts_helpers import monthly_times, write_csv

from seqframe.errors import DataError


def test_standard_and_minmax_by_hand():
    values = np.array([1.0, 2.0, 3.0, 6.0])
    std = Scaler.fit("standard", values)
    assert std.shift == pytest.approx(3.0) and std.scale == pytest.approx(np.sqrt(3.5))
    mm = Scaler.fit("minmax", values)
    np.testing.assert_allclose(mm.transform(values), [0, 0.2, 0.4, 1.0])
    np.testing.assert_allclose(mm.inverse(mm.transform(values)), values)
    none = Scaler.fit("none", values)
    np.testing.assert_array_equal(none.transform(values), values)


def test_scaler_ignores_nan_and_keeps_constant_columns_finite():
    cols = np.array([[np.nan, 5.0], [1.0, 5.0], [3.0, 5.0]])
    fitted = Scaler.fit("standard", cols)
    np.testing.assert_allclose(fitted.shift, [2.0, 5.0])
    np.testing.assert_allclose(fitted.scale, [1.0, 1.0])  # std of [1, 3] is 1; constant -> 1
    again = Scaler.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.shift, fitted.shift)


@pytest.mark.parametrize("lags", [(), (1,), (12,), (12, 1), (1, 1), (24, 1, 1)])
def test_integrate_undoes_forward_differencing(lags):
    rng = np.random.default_rng(3)
    y = np.exp(rng.normal(size=80).cumsum() * 0.1 + 3)
    transform = TargetTransform(log=True, lags=lags)
    u = transform.forward(y)
    z = np.log(y)
    origins = np.array([40, 55, 64])
    offset = transform.offset
    assert np.all(np.isnan(u[:offset])) and np.all(np.isfinite(u[offset:]))
    hist = z[origins[:, None] + np.arange(-offset, 0)]  # (W, offset)
    future = u[origins[:, None] + np.arange(16)]  # (W, 16) true differences
    restored = transform.integrate(hist, future)
    np.testing.assert_allclose(restored, z[origins[:, None] + np.arange(16)], rtol=1e-12)
    np.testing.assert_allclose(transform.to_data_units(restored),
                               y[origins[:, None] + np.arange(16)], rtol=1e-10)


def test_log_of_nonpositive_values_is_a_data_error():
    with pytest.raises(DataError, match="log=true needs positive values.*-2"):
        TargetTransform(log=True).forward(np.array([1.0, -2.0]))


def _task(path, **opts):
    task = TimeSeriesTask({"lookback": 6, "horizon": 3, "test_size": 12, "val_size": 12,
                           "difference": 1, **opts}, path)
    task.prepare()
    return task


def test_scaler_sees_the_training_part_only(tmp_path):
    rng = np.random.default_rng(1)
    y = 50 + rng.normal(size=60).cumsum()
    times = monthly_times(60)
    first = write_csv(tmp_path / "a.csv", ["t", "y", "c"],
                      [[t, v, v / 2] for t, v in zip(times, y, strict=True)])
    changed = y.copy()
    changed[36:] = 1e4 * rng.normal(size=24)  # wild validation and test values
    second = write_csv(tmp_path / "b.csv", ["t", "y", "c"],
                       [[t, v, v / 2] for t, v in zip(times, changed, strict=True)])
    a, b = _task(first, covariates="c"), _task(second, covariates="c")
    assert a.state_dict()["scaler"] == b.state_dict()["scaler"]
    assert a.state_dict()["cov_scaler"] == b.state_dict()["cov_scaler"]
    # the fitted shift is the mean of the training differences, computed here independently
    assert a.scaler.shift == pytest.approx(np.mean(np.diff(y[:36])))
    for batch_a, batch_b in zip(a.train_batches(0, 8, 5), b.train_batches(0, 8, 5), strict=True):
        np.testing.assert_array_equal(batch_a.inputs, batch_b.inputs)
        np.testing.assert_array_equal(batch_a.targets, batch_b.targets)
    assert not np.array_equal(a.actual(a.eval_origins("test")), b.actual(b.eval_origins("test")))


def test_restored_state_replaces_fitting(tmp_path):
    y = np.arange(40, dtype=float) ** 1.5 + 1
    path = write_csv(tmp_path / "s.csv", ["t", "y"],
                     [[t, v] for t, v in zip(monthly_times(40), y, strict=True)])
    fitted = _task(path)
    state = fitted.state_dict()
    state["scaler"]["shift"] = 123.0
    restored = TimeSeriesTask({"lookback": 6, "horizon": 3, "test_size": 12, "val_size": 12,
                               "difference": 1}, path)
    restored.prepare(state)
    assert restored.scaler.shift == 123.0
    assert restored.x[5] == pytest.approx((y[5] - y[4] - 123.0) / fitted.scaler.scale)
