"""The Huber loss: seqframe's loss conformance suite, plus independent oracles."""

import math

import numpy as np
import pytest
from seqframe.errors import ConfigError
from seqframe.testing import LossConformance
from seqframe_numpy.ops import NumpyOps

from seqframe_huber.loss import HuberLoss

OPS = NumpyOps(dtype="float64")


# --8<-- [start:conformance]
class TestHuber(LossConformance):
    loss = HuberLoss
    options = {"delta": 0.5}  # residuals of the random cases fall on both sides of it
# --8<-- [end:conformance]


# --8<-- [start:oracles]
def test_values_by_hand():
    outputs = np.array([[0.5, 3.0], [9.0, 9.0]])
    targets = np.zeros((2, 2))
    result = HuberLoss(delta=1.0).loss_and_grad(OPS, outputs, targets, np.array([1.0, 0.0]))
    # row 0: 0.5**2 / 2 (inside delta) and 1 * (3 - 1/2) (outside), averaged over O = 2
    assert float(result.loss_sum) == pytest.approx((0.125 + 2.5) / 2, rel=1e-15)
    assert float(result.count) == 1.0  # row 1 does not count
    assert np.array_equal(result.d_outputs, [[0.25, 0.5], [0.0, 0.0]])


def test_agrees_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    outputs, targets = rng.normal(size=(7, 3)) * 2, rng.normal(size=(7, 3))
    ours = HuberLoss(delta=0.8).loss_and_grad(OPS, outputs, targets, np.ones(7))
    out = torch.tensor(outputs, requires_grad=True)
    ref = torch.nn.functional.huber_loss(out, torch.tensor(targets), reduction="sum", delta=0.8)
    ref.backward()
    assert float(ours.loss_sum) == pytest.approx(ref.detach().item() / 3, rel=1e-13)  # mean/O
    assert np.allclose(ours.d_outputs, out.grad.numpy() / 3, rtol=1e-13, atol=0)


def test_a_large_delta_is_half_the_squared_error_and_a_small_one_delta_times_the_absolute():
    rng = np.random.default_rng(1)
    outputs, targets, weights = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), np.ones(5)
    r = outputs - targets
    wide = HuberLoss(delta=1e6).loss_and_grad(OPS, outputs, targets, weights)
    assert float(wide.loss_sum) == pytest.approx(0.5 * np.mean(r**2, axis=1).sum(), rel=1e-13)
    narrow = HuberLoss(delta=1e-6).loss_and_grad(OPS, outputs, targets, weights)
    assert float(narrow.loss_sum) == pytest.approx(1e-6 * np.mean(abs(r), axis=1).sum(),
                                                   rel=1e-5)
# --8<-- [end:oracles]


def test_delta_must_be_positive():
    with pytest.raises(ConfigError, match="option 'delta' must be positive; got 0.0"):
        HuberLoss(delta=0.0)
    assert math.isclose(HuberLoss().opts["delta"], 1.0)
