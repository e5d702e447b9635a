"""Splits, window origins and contents, and the Batch contract of training batches."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_timeseries.task import TimeSeriesTask
from seqframe_timeseries.windows import make_splits, origins_in, split_steps, spread

from seqframe.errors import ConfigError


def test_split_sizes_fraction_or_steps():
    assert split_steps(0.2, 8759, "test_size") == 1752
    assert split_steps(36, 144, "test_size") == 36
    parts = make_splits(144, 36, 0.1)
    assert (parts.train_end, parts.val_end, parts.n) == (94, 108, 144)
    assert parts.size("train") + parts.size("val") + parts.size("test") == 144


@pytest.mark.parametrize("size, message", [(-1, "must be >= 0"), (2.5, "must be whole")])
def test_bad_split_sizes(size, message):
    with pytest.raises(ConfigError, match=message):
        split_steps(size, 100, "test_size")


def test_splits_leaving_no_training_data():
    with pytest.raises(ConfigError, match="leave no training data"):
        make_splits(50, 30, 20)


def test_origins_keep_targets_inside_and_inputs_defined():
    # targets o..o+2 in [10, 20), inputs o-4..o-1 at or after time 3
    np.testing.assert_array_equal(origins_in(10, 20, 4, 3, 3), np.arange(10, 18))
    np.testing.assert_array_equal(origins_in(0, 20, 4, 3, 3), np.arange(7, 18))
    assert len(origins_in(0, 5, 4, 3, 0)) == 0
    np.testing.assert_array_equal(spread(np.arange(10, 20), 3), [10, 14, 19])
    np.testing.assert_array_equal(spread(np.arange(10, 13), 5), [10, 11, 12])


def _task(linear_csv, **opts):
    task = TimeSeriesTask({"lookback": 5, "horizon": 4, "test_size": 20, "val_size": 10,
                           "scaler": "none", "target": "y", "normalize": "none",
                           **opts}, linear_csv)
    return task, task.prepare()


def test_batch_contract_and_window_contents(linear_csv):
    task, spec = _task(linear_csv, covariates="c", calendar="month")
    assert (spec.input_size, spec.output_size, spec.readout, spec.loss, spec.stateful) == (
        1 + 1 + 2, 4, "last", "mse", False)
    # training targets end before the validation part at 90: origins 5 .. 86
    np.testing.assert_array_equal(np.sort(task.train_origins), np.arange(5, 87))
    batches = task.train_batches(epoch=0, batch_size=16, seed=7)
    assert len(batches) == 6 and batches[-1].batch_size == 82 - 5 * 16
    y = task.series.values
    seen = []
    for batch in batches:
        assert batch.inputs.dtype == np.float64 and batch.targets.dtype == np.float64
        assert batch.inputs.shape[1:] == (5, 4) and batch.targets.shape[1:] == (4,)
        assert batch.mask.dtype == bool and batch.mask.all()
        assert batch.reset.dtype == bool and batch.reset.all()
        assert batch.mask.shape == batch.inputs.shape[:2]
        # y = 10 + 0.5 t and no scaling: each row's origin can be read off its last input
        origins = ((batch.inputs[:, -1, 0] - 10) / 0.5 + 1).round().astype(int)
        seen.extend(origins)
        for row, o in enumerate(origins):
            np.testing.assert_allclose(batch.inputs[row, :, 0], y[o - 5:o])
            np.testing.assert_allclose(batch.targets[row], y[o:o + 4])
            months = (np.arange(o - 5, o) % 12) * 2 * np.pi / 12  # data starts in January
            np.testing.assert_allclose(batch.inputs[row, :, 2], np.sin(months), atol=1e-12)
            np.testing.assert_allclose(batch.inputs[row, :, 3], np.cos(months), atol=1e-12)
    assert sorted(seen) == list(range(5, 87))


def test_normalize_last_anchors_inputs_and_targets(linear_csv):
    task, _ = _task(linear_csv, normalize="last")
    batch = task.train_batches(0, 200, 0)[0]
    np.testing.assert_allclose(batch.inputs[:, -1, 0], 0.0)
    np.testing.assert_allclose(batch.inputs[:, 0, 0], -2.0)  # 4 steps of 0.5 back
    np.testing.assert_allclose(batch.targets, np.tile([0.5, 1.0, 1.5, 2.0], (82, 1)))


def test_epochs_are_deterministic_shuffles(linear_csv):
    task, _ = _task(linear_csv)

    def order(epoch, seed):
        return np.concatenate([b.inputs[:, -1, 0] for b in task.train_batches(epoch, 10, seed)])

    np.testing.assert_array_equal(order(0, 1), order(0, 1))
    assert not np.array_equal(order(0, 1), order(1, 1))
    assert not np.array_equal(order(0, 1), order(0, 2))
    sliced = task.train_batches(0, 10, 1)[2:4]
    np.testing.assert_array_equal(sliced[0].inputs, task.train_batches(0, 10, 1)[2].inputs)
    with pytest.raises(IndexError):
        task.train_batches(0, 10, 1)[99]


def test_windows_per_epoch_subsamples(linear_csv):
    task, _ = _task(linear_csv, windows_per_epoch=20)
    assert sum(b.batch_size for b in task.train_batches(0, 8, 0)) == 20


def test_evaluation_windows_per_split(linear_csv):
    task, _ = _task(linear_csv)
    np.testing.assert_array_equal(task.eval_origins("val"), np.arange(90, 97))
    np.testing.assert_array_equal(task.eval_origins("test"), np.arange(100, 117))
    backtest, _ = _task(linear_csv, backtest=3)
    np.testing.assert_array_equal(backtest.eval_origins("test"), [100, 108, 116])
    in_sample, _ = _task(linear_csv, val_size=0)
    np.testing.assert_array_equal(in_sample.eval_origins("val"), np.arange(12, 97))
    assert in_sample.splits() == ("val", "test")


def test_differencing_shifts_the_first_origin(linear_csv):
    task, _ = _task(linear_csv, seasonal_difference=12, difference=1)
    assert task.train_origins.min() == 13 + 5
