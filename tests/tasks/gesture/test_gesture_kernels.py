"""Random convolution features (-o kernels): the convolution by hand, the bank, the task wiring."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_gesture import kernels
from seqframe_gesture.task import GestureTask

from seqframe.errors import ConfigError, ExitCode


def make(data=None, **options) -> GestureTask:
    task = GestureTask(options, data)
    task.spec = task.prepare()
    return task


def test_convolve_matches_a_hand_computed_dilated_kernel():
    series = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0], [3.0, 2.0], [-1.0, 0.5]])  # (T=5, D=2)
    w = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]])  # taps 0, 1, 2 over channels
    kernel = kernels.Kernel(w, bias=-0.5, dilation=2)
    # span (3-1)*2 = 4: two zero steps padded on each side; output t reads steps t-2, t, t+2
    padded = np.vstack([np.zeros((2, 2)), series, np.zeros((2, 2))])
    expected = [max(0.0, padded[t] @ w[0] + padded[t + 2] @ w[1] + padded[t + 4] @ w[2] - 0.5)
                for t in range(5)]
    np.testing.assert_allclose(kernels.convolve(series, kernel), expected)
    assert list(np.round(expected, 6)) == [0.0, 0.5, 0.0, 5.5, 0.5]  # worked by hand


def test_bank_is_seeded_centred_and_bounded_by_the_reference_length():
    bank = kernels.make_bank(50, channels=3, reference_length=40, seed=7)
    again = kernels.make_bank(50, channels=3, reference_length=40, seed=7)
    other = kernels.make_bank(50, channels=3, reference_length=40, seed=8)
    assert all(np.array_equal(a.weights, b.weights) and a.bias == b.bias
               and a.dilation == b.dilation for a, b in zip(bank, again, strict=True))
    assert not all(np.array_equal(a.weights, b.weights) for a, b in zip(bank, other, strict=True))
    for k in bank:
        L = len(k.weights)
        assert L in kernels.LENGTHS and k.weights.shape == (L, 3)
        np.testing.assert_allclose(k.weights.mean(axis=0), 0.0, atol=1e-12)
        assert -1.0 <= k.bias <= 1.0
        assert 1 <= k.dilation and (L - 1) * k.dilation <= 39  # never wider than the series
    assert len({k.dilation for k in bank}) > 1  # several time scales


def test_features_keep_length_and_append_one_channel_per_kernel():
    series = np.random.default_rng(0).normal(size=(12, 2))
    bank = kernels.make_bank(5, channels=2, reference_length=12, seed=0)
    out = kernels.with_kernel_features(series, bank)
    assert out.shape == (12, 7)
    np.testing.assert_array_equal(out[:, :2], series)
    assert np.all(out[:, 2:] >= 0.0)
    np.testing.assert_array_equal(out[:, 3], kernels.convolve(series, bank[1]))
    assert kernels.with_kernel_features(series, []) is series


def test_task_feeds_kernel_channels_to_the_model_everywhere(tiny_pair):
    task = make(str(tiny_pair), kernels=6, kernel_seed=3, augment=0.1)
    plain = make(str(tiny_pair))
    assert task.spec.input_size == 2 + 6 and plain.spec.input_size == 2
    assert task.kernel_span == max(len(s) for s in task.sets["train_full"][0])
    for split in ("val", "test"):
        for scaled, seen in zip(task.sets[split][0], task.model_inputs[split], strict=True):
            np.testing.assert_array_equal(seen, kernels.with_kernel_features(scaled, task.bank))
    for batch in task.train_batches(epoch=0, batch_size=4, seed=0):
        assert batch.inputs.shape[2] == 8
    # baselines compare the scaled series, not the features
    assert task.sets["test"][0][0].shape[1] == 2


def test_reopened_run_rebuilds_the_same_kernels(tiny_pair):
    task = make(str(tiny_pair), kernels=4)
    again = GestureTask({"kernels": 4}, str(tiny_pair))
    again.prepare(task.state_dict())
    assert again.kernel_span == task.kernel_span
    for a, b in zip(task.bank, again.bank, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)


def test_negative_kernel_count_is_refused(tiny_pair):
    with pytest.raises(ConfigError, match=r"option 'kernels' must be 0 \(off\) or a positive "
                                          r"count, got -3") as info:
        make(str(tiny_pair), kernels=-3)
    assert info.value.exit_code == ExitCode.USAGE
