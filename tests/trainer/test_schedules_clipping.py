"""Learning-rate schedules and gradient clipping against hand-computed values."""

import math

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.config import RunConfig
from seqframe.errors import ConfigError, UnknownNameError
from seqframe.training.clipping import Clipper, global_norm
from seqframe.training.optim import Schedule, build_schedule

OPS = NumpyOps(dtype="float64")


def test_constant_with_linear_warmup():
    s = Schedule("constant", 0.1, warmup=4)
    assert [s(i) for i in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])


def test_step_schedule_halves_every_n_steps_after_warmup():
    s = Schedule("step", 1.0, warmup=2, every=3, rate=0.5)
    # steps 2..4 -> u 0..2 -> 1.0; steps 5..7 -> 0.5; step 8 -> 0.25
    assert [s(i) for i in range(2, 9)] == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25])


def test_exponential_is_the_smooth_step():
    s = Schedule("exponential", 2.0, every=10, rate=0.1)
    assert s(0) == pytest.approx(2.0)
    assert s(5) == pytest.approx(2.0 * 0.1**0.5)
    assert s(20) == pytest.approx(2.0 * 0.01)


def test_cosine_goes_from_lr_to_min_lr_at_the_last_step():
    s = Schedule("cosine", 1.0, warmup=2, min_lr=0.1, total=12)
    assert s(0) == pytest.approx(0.5)
    assert s(2) == pytest.approx(1.0)
    assert s(7) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 10)))
    assert s(12) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.1)


def test_build_schedule_reads_the_config():
    s = build_schedule(RunConfig(schedule="step", lr=0.4, decay_every=2, decay_rate=0.1), 100)
    assert s(3) == pytest.approx(0.04)


def test_schedule_errors_say_what_is_wrong():
    with pytest.raises(UnknownNameError, match=r"unknown schedule 'cosin'; did you mean 'cosine'"):
        build_schedule(RunConfig(schedule="cosin"), 10)
    with pytest.raises(ConfigError, match=r"--lr must be a positive number; got -0.1"):
        build_schedule(RunConfig(lr=-0.1), 10)
    with pytest.raises(ConfigError, match=r"decay_every=0 \(>= 1\)"):
        build_schedule(RunConfig(decay_every=0), 10)


def grads():
    return {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}  # global norm 5


def test_global_norm_by_hand():
    assert global_norm(OPS, grads()) == pytest.approx(5.0)


def test_clip_norm_scales_to_the_bound_like_torch():
    clipped, norm, hit = Clipper(OPS, clip_norm=1.0)(grads())
    assert norm == pytest.approx(5.0) and hit
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(clipped["a"], [3 * scale, 0])
    np.testing.assert_allclose(clipped["b"], [[0], [4 * scale]])


def test_clip_norm_leaves_small_gradients_alone_and_still_reports_the_norm():
    clipper = Clipper(OPS, clip_norm=10.0)
    clipped, norm, hit = clipper(grads())
    assert not hit and norm == pytest.approx(5.0)
    np.testing.assert_array_equal(clipped["a"], grads()["a"])


def test_clip_value_per_element_then_norm():
    clipped, norm, hit = Clipper(OPS, clip_value=2.0)(grads())
    assert hit and norm == pytest.approx(5.0)
    np.testing.assert_array_equal(clipped["a"], [2.0, 0.0])
    np.testing.assert_array_equal(clipped["b"], [[0.0], [2.0]])
    both, _, _ = Clipper(OPS, clip_norm=1.0, clip_value=2.0)(grads())
    # value first -> (2, 2), norm sqrt(8) -> scaled to 1
    np.testing.assert_allclose(both["a"], [2 / (math.sqrt(8) + 1e-6), 0.0])


def test_zero_disables_and_stats_count_clipped_steps():
    clipper = Clipper(OPS, clip_norm=4.0)
    clipper(grads())
    clipper({"a": np.array([1.0])})
    assert clipper.stats.summary() == pytest.approx(
        {"clipped_fraction": 0.5, "grad_norm_mean": 3.0, "grad_norm_max": 5.0,
         "grad_norm_last": 1.0})
    off = Clipper(OPS)
    out, _, hit = off({"a": np.array([1e6])})
    assert not hit and out["a"][0] == 1e6


def test_non_finite_gradients_are_reported_not_recorded():
    clipper = Clipper(OPS, clip_norm=1.0)
    _, norm, hit = clipper({"a": np.array([np.nan, 1.0])})
    assert math.isnan(norm) and not hit and clipper.stats.steps == 0


def test_negative_clip_is_a_config_error():
    with pytest.raises(ConfigError, match=r"--clip-norm must be >= 0 \(0 disables clipping\)"):
        Clipper(OPS, clip_norm=-1.0)
