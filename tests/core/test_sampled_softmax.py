"""Sampled softmax: the proposals against TensorFlow's documented definitions, the loss against
hand computation, its gradients against finite differences, and planted bugs caught.

TensorFlow's ``tf.random.log_uniform_candidate_sampler`` documents the base distribution
``P(class) = (log(class + 2) - log(class + 1)) / log(range_max + 1)`` and returns, as the
"expected count" of a class, the number of times it is expected to occur among the draws; for
draws with replacement (``unique=False``) that is ``num_sampled * P(class)``.
``tf.nn.sampled_softmax_loss`` subtracts the log of that expected count from the true and the
sampled logits and gives a sampled class equal to the row's label a very large negative logit
(``remove_accidental_hits=True``). The cases below are worked out from those definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell
from seqframe.diagnostics.gradcheck import check_gradients
from seqframe.errors import ConfigError
from seqframe.losses import SampledSoftmax
from seqframe.rowsparse import RowSparse, dense
from seqframe.task import ModelSpec
from seqframe.testing.numerics import numeric_grad

OPS = NumpyOps("float64")


class FixedDraw(SampledSoftmax):
    """Sampled softmax whose draw is given, so a case can be worked out by hand."""

    def __init__(self, drawn, **options):
        super().__init__(samples=len(drawn), **options)
        self.drawn = np.asarray(drawn, np.int64)

    def draw(self, rng, classes):
        return self.drawn.copy()


def test_log_uniform_proposal_is_tensorflows_formula_worked_out_for_four_classes():
    # log(range_max + 1) = log 5; P(c) = log((c + 2) / (c + 1)) / log 5
    want = [math.log(2) / math.log(5), math.log(1.5) / math.log(5),
            math.log(4 / 3) / math.log(5), math.log(1.25) / math.log(5)]
    got = SampledSoftmax().proposal(4)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    np.testing.assert_allclose(got, [0.430677, 0.251930, 0.178747, 0.138646], atol=1e-6)
    assert got.sum() == pytest.approx(1.0, abs=1e-15)  # the logs telescope to log 5 / log 5


def test_log_uniform_draws_follow_the_proposal():
    loss = SampledSoftmax(samples=200_000)
    drawn = loss.draw(np.random.default_rng(3), 10)
    freq = np.bincount(drawn, minlength=10) / drawn.size
    p = loss.proposal(10)
    # binomial standard error of each frequency, 5 sigma
    np.testing.assert_array_less(np.abs(freq - p), 5 * np.sqrt(p * (1 - p) / drawn.size))


def test_popularity_proposal_is_count_to_the_alpha():
    loss = SampledSoftmax(sampler="popularity", alpha=0.5)
    loss.prepare(ModelSpec(3, 3, "every_step", "sampled_softmax",
                           class_frequencies=[1.0, 4.0, 9.0]))
    np.testing.assert_allclose(loss.proposal(3), [1 / 6, 2 / 6, 3 / 6], rtol=1e-14)
    drawn = loss.draw(np.random.default_rng(0), 3)
    assert drawn.shape == (512,) and set(drawn) <= {0, 1, 2}
    many = SampledSoftmax(sampler="popularity", alpha=0.5, samples=100_000)
    many.set_frequencies(np.array([1.0, 4.0, 9.0]))
    freq = np.bincount(many.draw(np.random.default_rng(1), 3), minlength=3) / 100_000
    np.testing.assert_allclose(freq, [1 / 6, 2 / 6, 3 / 6], atol=0.006)


def _case():
    """One row, F = 2, three classes; the target is class 1."""
    features = np.array([[1.0, -0.5]])  # (N=1, F=2)
    weight = np.array([[0.5, 0.2], [1.0, 0.4], [-1.0, 0.3]])  # (O=3, F)
    bias = np.array([0.0, 0.1, 0.2])
    return features, weight, bias, np.array([1]), np.ones(1)


def test_loss_worked_out_by_hand_with_the_log_q_correction():
    features, weight, bias, targets, weights = _case()
    # scores f . w_c + b_c: class 0: 0.5 - 0.1 = 0.4; class 1: 1.0 - 0.2 + 0.1 = 0.9;
    # class 2: -1.0 - 0.15 + 0.2 = -0.95. log-uniform over 3 classes: P = log((c+2)/(c+1))/log 4
    p = [math.log(2) / math.log(4), math.log(1.5) / math.log(4), math.log(4 / 3) / math.log(4)]
    s = 2  # draws: classes 0 and 2, expected counts Q(c) = 2 P(c)
    z_true = 0.9 - math.log(s * p[1])
    z0, z2 = 0.4 - math.log(s * p[0]), -0.95 - math.log(s * p[2])
    want = -z_true + math.log(math.exp(z_true) + math.exp(z0) + math.exp(z2))
    res = FixedDraw([0, 2]).loss_and_grad_features(OPS, features, weight, bias, targets, weights)
    assert float(res.loss_sum) == pytest.approx(want, rel=1e-14)
    assert float(res.count) == 1.0
    # softmax over the three columns: the gradient of the scores is softmax - one-hot(column 0)
    e = np.exp([z_true, z0, z2])
    soft = e / e.sum()
    d_scores = {1: soft[0] - 1.0, 0: soft[1], 2: soft[2]}
    np.testing.assert_allclose(dense(OPS, res.d_bias), [d_scores[0], d_scores[1], d_scores[2]],
                               rtol=1e-13)
    np.testing.assert_allclose(dense(OPS, res.d_weight),
                               np.outer([d_scores[c] for c in range(3)], features[0]), rtol=1e-13)
    np.testing.assert_allclose(res.d_outputs[0], sum(d_scores[c] * weight[c] for c in range(3)),
                               rtol=1e-13)


def test_an_accidental_hit_is_removed_and_a_repeated_draw_counts_twice():
    features, weight, bias, targets, weights = _case()
    p = [math.log(2) / math.log(4), math.log(1.5) / math.log(4), math.log(4 / 3) / math.log(4)]
    s = 4  # draws 1 (the target: removed), 0, 0 (counted twice), 1 (removed again)
    z_true = 0.9 - math.log(s * p[1])
    z0 = 0.4 - math.log(s * p[0])
    want = -z_true + math.log(math.exp(z_true) + 2 * math.exp(z0))
    res = FixedDraw([1, 0, 0, 1]).loss_and_grad_features(OPS, features, weight, bias, targets,
                                                         weights)
    assert float(res.loss_sum) == pytest.approx(want, rel=1e-14)
    soft0 = math.exp(z0) / (math.exp(z_true) + 2 * math.exp(z0))
    # the hit columns get nothing; class 0 gets both its columns' share; the true column gets
    # softmax - 1 = -2 soft0; class 2 was never drawn
    np.testing.assert_allclose(dense(OPS, res.d_bias), [2 * soft0, -2 * soft0, 0.0], rtol=1e-13,
                               atol=1e-16)
    assert dense(OPS, res.d_weight)[2].tolist() == [0.0, 0.0]


def _gradients_match_finite_differences(loss):
    rng = np.random.default_rng(0)
    n, f, o = 5, 3, 6
    features, weight, bias = rng.normal(size=(n, f)), rng.normal(size=(o, f)), rng.normal(size=o)
    targets = np.array([0, 3, 0, 5, 1])
    weights = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    res = loss.loss_and_grad_features(OPS, features, weight, bias, targets, weights)

    def value():
        return float(loss.loss_and_grad_features(OPS, features, weight, bias, targets, weights,
                                                 grad=False).loss_sum)

    pairs = ((res.d_outputs, features), (dense(OPS, res.d_weight), weight),
             (dense(OPS, res.d_bias), bias))
    for got, x in pairs:
        np.testing.assert_allclose(got, numeric_grad(value, x, 1e-6), rtol=1e-7, atol=1e-9)
    assert not res.d_outputs[2].any()  # a row with weight 0 gets no gradient
    return res


def test_gradients_match_finite_differences_with_hits_and_repeats():
    # draws 0 twice (a hit for rows 0 and 2), 3 (a hit for row 1), 4 and 2
    _gradients_match_finite_differences(FixedDraw([0, 3, 0, 4, 2]))


def test_only_the_rows_of_targets_and_draws_carry_a_gradient():
    # targets 0, 3, 0, 5, 1 and draws 0, 3, 0, 4, 2: rows 0-5 but never 6 or 7 of eight classes
    rng = np.random.default_rng(0)
    features, weight, bias = rng.normal(size=(5, 3)), rng.normal(size=(8, 3)), rng.normal(size=8)
    res = FixedDraw([0, 3, 0, 4, 2]).loss_and_grad_features(
        OPS, features, weight, bias, np.array([0, 3, 0, 5, 1]), np.ones(5))
    for grad, shape in ((res.d_weight, (8, 3)), (res.d_bias, (8,))):
        assert isinstance(grad, RowSparse) and grad.shape == shape
        assert grad.rows.tolist() == [0, 1, 2, 3, 4, 5]  # coalesced: each row once, in order
        assert not dense(OPS, grad)[6:].any()


def test_rows_with_weight_zero_add_nothing():
    features, weight, bias, _, _ = _case()
    two = np.vstack([features, [[3.0, 3.0]]])
    loss = FixedDraw([0, 2])
    one = loss.loss_and_grad_features(OPS, features, weight, bias, np.array([1]), np.ones(1))
    both = loss.loss_and_grad_features(OPS, two, weight, bias, np.array([1, 2]),
                                       np.array([1.0, 0.0]))
    assert float(both.loss_sum) == float(one.loss_sum) and float(both.count) == 1.0
    np.testing.assert_array_equal(dense(OPS, both.d_weight), dense(OPS, one.d_weight))
    np.testing.assert_array_equal(dense(OPS, both.d_bias), dense(OPS, one.d_bias))


def test_an_ensemble_averages_probabilities_as_the_full_softmax_does():
    outputs = [np.array([[0.0, 2.0, -1.0]]), np.array([[1.0, -1.0, 0.5]])]  # full-softmax logits
    probs = [np.exp(o) / np.exp(o).sum() for o in outputs]
    combined = SampledSoftmax().combine(outputs)
    np.testing.assert_allclose(np.exp(combined), (probs[0] + probs[1]) / 2, rtol=1e-13)


def test_options_are_checked():
    with pytest.raises(ConfigError, match="'samples' must be at least 1; got 0"):
        SampledSoftmax(samples=0)
    with pytest.raises(ConfigError, match="needs class frequencies, which this task does not"):
        SampledSoftmax(sampler="popularity").prepare(ModelSpec(3, 3, "every_step", "x"))
    with pytest.raises(ConfigError, match="frequencies for 3 classes, but the model has 5"):
        loss = SampledSoftmax(sampler="popularity")
        loss.set_frequencies(np.ones(3))
        loss.draw(np.random.default_rng(0), 5)


# ---- planted bugs: the checks must fail --------------------------------------------------------


class BufferedIndexAdd(NumpyOps):
    """The classic NumPy slip ``out[idx] += values``: fancy-index assignment is buffered, so a
    row indexed twice keeps one addition instead of the sum."""

    def index_add(self, x, indices, values):
        out = np.array(x, copy=True)
        out[np.asarray(indices, np.int64)] += values
        return out


class KeepsHitsInTheGradient(FixedDraw):
    """Bug: the forward removes accidental hits but the backward still pushes them down."""

    def loss_and_grad_features(self, ops, features, weight, bias, targets, weights, *,
                               grad=True, rng=None):
        res = super().loss_and_grad_features(ops, features, weight, bias, targets, weights,
                                             grad=grad, rng=rng)
        if grad:
            hits = self.drawn[None, :] == np.asarray(targets)[:, None]  # (N, S)
            res.d_bias = dense(ops, res.d_bias) + np.bincount(self.drawn, hits.sum(0) * 0.1,
                                                  minlength=len(bias))
        return res


def test_planted_backward_bugs_fail_the_finite_difference_checks():
    with pytest.raises(AssertionError):
        _gradients_match_finite_differences(KeepsHitsInTheGradient([0, 3, 0, 4, 2]))
    with pytest.raises(AssertionError):  # repeated draws of 0 lose one column's gradient
        loss = FixedDraw([0, 3, 0, 4, 2])
        rng = np.random.default_rng(0)
        features, weight = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
        args = (features, weight, rng.normal(size=6), np.array([1, 3, 2, 5, 1]), np.ones(5))
        res = loss.loss_and_grad_features(BufferedIndexAdd("float64"), *args)
        numeric = numeric_grad(lambda: float(loss.loss_and_grad_features(
            OPS, *args, grad=False).loss_sum), weight, 1e-6)
        np.testing.assert_allclose(dense(OPS, res.d_weight), numeric, rtol=1e-7, atol=1e-9)
    # the whole-model check: dense features, sampled softmax, the buggy scatter-add
    report = check_gradients(BufferedIndexAdd("float64"), GRUCell, layers=1,
                             loss="sampled_softmax")
    assert not report.passed and set(report.failing()) <= {"readout.weight", "readout.bias"}
    assert report.failing(), report.format()
    good = check_gradients(OPS, GRUCell, layers=1, embed=4, tie_weights=True,
                           loss="sampled_softmax")
    assert good.passed, good.format()
