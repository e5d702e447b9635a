"""Losses: values against hand computation and torch, gradients against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.losses import MSE, CrossEntropy, GaussianNLL
from seqframe.testing.numerics import numeric_grad

OPS = NumpyOps("float64")


def _as_tuple(loss):
    def call(ops, outputs, targets, weights):
        result = loss.loss_and_grad(ops, outputs, targets, weights)
        return result.loss_sum, result.count, result.d_outputs
    return call


cross_entropy, mse, gaussian_nll = (_as_tuple(CrossEntropy()), _as_tuple(MSE()),
                                    _as_tuple(GaussianNLL()))


def test_cross_entropy_by_hand():
    logits = np.array([[0.0, math.log(3.0)], [2.0, 2.0], [5.0, -1.0]])
    targets = np.array([1, 0, 1])
    weights = np.array([1.0, 1.0, 0.0])
    loss_sum, count, d = cross_entropy(OPS, logits, targets, weights)
    # softmax row 0 = (1/4, 3/4), row 1 = (1/2, 1/2); row 2 does not count.
    assert float(loss_sum) == pytest.approx(-math.log(0.75) - math.log(0.5), rel=1e-14)
    assert float(count) == 2.0
    np.testing.assert_allclose(d, [[0.25, -0.25], [-0.5, 0.5], [0.0, 0.0]], atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 1.0]])
    loss_sum, _, d = cross_entropy(OPS, logits, np.array([2, 2]), np.ones(2))
    assert np.isfinite(loss_sum) and np.isfinite(d).all()
    expected = 2e4 + (-math.log(1.0 / (2 * math.exp(-1.0) + 1.0)))
    assert float(loss_sum) == pytest.approx(expected, rel=1e-12)


def test_mse_by_hand():
    out = np.array([[1.0, 2.0], [0.0, 0.0], [9.0, 9.0]])
    tgt = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    loss_sum, count, d = mse(OPS, out, tgt, np.array([1.0, 1.0, 0.0]))
    # per target: mean over O of squared errors: (1 + 4) / 2 and (1 + 1) / 2
    assert float(loss_sum) == pytest.approx(2.5 + 1.0) and float(count) == 2.0
    np.testing.assert_allclose(d, [[1.0, 2.0], [-1.0, -1.0], [0.0, 0.0]])


def test_gaussian_nll_by_hand():
    out = np.array([[1.0, math.log(4.0)]])  # mean 1, variance 4
    loss_sum, count, _ = gaussian_nll(OPS, out, np.array([[3.0]]), np.ones(1))
    expected = 0.5 * (math.log(2 * math.pi) + math.log(4.0) + 4.0 / 4.0)
    assert float(loss_sum) == pytest.approx(expected, rel=1e-14) and float(count) == 1.0


def test_gaussian_nll_clamps_the_log_variance_without_overflow():
    out = np.array([[0.0, -500.0], [0.0, 500.0]], dtype=np.float32)
    ops32 = NumpyOps("float32")
    target = np.array([[1.0], [1.0]], np.float32)
    loss_sum, _, d = gaussian_nll(ops32, out, target, np.ones(2, np.float32))
    assert np.isfinite(loss_sum) and np.isfinite(d).all()
    assert d[0, 1] == 0.0 and d[1, 1] == 0.0  # no gradient beyond the clamp


@pytest.mark.parametrize("name", ["cross_entropy", "mse", "gaussian_nll"])
def test_gradients_match_finite_differences(name):
    rng = np.random.default_rng(0)
    n, o = 6, 3
    out = rng.normal(size=(n, 2 * o if name == "gaussian_nll" else o))
    targets = rng.integers(0, o, size=n) if name == "cross_entropy" else rng.normal(size=(n, o))
    weights = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    fn = {"cross_entropy": cross_entropy, "mse": mse, "gaussian_nll": gaussian_nll}[name]
    _, _, d = fn(OPS, out, targets, weights)
    numeric = numeric_grad(lambda: float(fn(OPS, out, targets, weights)[0]), out, eps=1e-6)
    np.testing.assert_allclose(d, numeric, atol=1e-8)
    assert not d[[1, 4]].any()  # rows with weight 0 get no gradient


def test_losses_agree_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits, classes = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    ours = float(cross_entropy(OPS, logits, classes, np.ones(5))[0])
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(classes),
                                            reduction="sum")
    assert ours == pytest.approx(float(ref), rel=1e-13)

    mean, logvar, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    ours = float(gaussian_nll(OPS, np.concatenate([mean, logvar], 1), target, np.ones(5))[0])
    ref = torch.nn.GaussianNLLLoss(full=True, reduction="sum")(
        torch.from_numpy(mean), torch.from_numpy(target), torch.from_numpy(np.exp(logvar)))
    assert ours == pytest.approx(float(ref) / 2, rel=1e-12)  # ours averages over O = 2 values

    pred = rng.normal(size=(5, 2))
    ours = float(mse(OPS, pred, target, np.ones(5))[0])
    ref = torch.nn.functional.mse_loss(torch.from_numpy(pred), torch.from_numpy(target),
                                       reduction="sum")
    assert ours == pytest.approx(float(ref) / 2, rel=1e-13)
