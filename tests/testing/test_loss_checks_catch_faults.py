"""The loss conformance checks pass correct losses and catch planted faults, saying what broke.

The correct losses here are the built-ins and three written for the tests
(tests/plugin_fixtures/loss_target.py): an absolute error with an option, and two losses over
whole sequences -- a per-sequence mean squared error on values, and a bag-of-labels loss on
padded label sequences -- so the ``per_sequence`` path (time-major outputs, a (T, B) step mask)
is exercised before any task ships such a loss. Each fault is planted in an otherwise correct
loss and must fail the check that guards it, and only for that reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.errors import ConfigError
from seqframe.losses import MSE, CrossEntropy, Loss, SampledSoftmax
from seqframe.task import TaskOption
from seqframe.testing import (
    check_loss,
    check_loss_combine,
    check_loss_contract,
    check_loss_count,
    check_loss_gradients,
    check_loss_masking,
    check_loss_options,
    check_loss_parity,
    make_case,
)
from tests.plugin_fixtures.loss_target import AbsoluteError, LabelBag, SequenceMSE

OPS = NumpyOps(dtype="float64")


def case_for(loss: Loss):
    return make_case(loss, np.random.default_rng(0), size=4)


# ---- correct losses pass ---------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [AbsoluteError, SequenceMSE, LabelBag])
def test_correct_plugin_losses_pass_every_check(loss_cls):
    skipped = check_loss(loss_cls)
    assert all("torch" in line for line in skipped)  # only a missing torch may be skipped


def test_make_case_gives_per_sequence_losses_time_major_outputs_and_a_step_mask():
    case = make_case(LabelBag(), np.random.default_rng(0), steps=5, batch=3, size=4)
    assert case.outputs.shape == (5, 3, 4) and case.weights.shape == (5, 3)
    assert case.weights.sum(axis=0).tolist() == [5, 3, 4]  # trailing padding, every row valid
    assert case.targets.shape == (3, 2) and case.targets.dtype == np.int64
    assert case.targets[0, 1] == 0 and (case.targets[case.targets != 0] >= 1).all()


def test_a_sequence_of_padding_alone_is_never_counted():
    loss, case = SequenceMSE(), make_case(SequenceMSE(), np.random.default_rng(1), size=2)
    case.weights[:, 2] = 0.0  # the third sequence has no valid step
    check_loss_masking(loss, OPS, case)  # its outputs change nothing, get no gradient
    check_loss_count(loss, OPS, case)  # and it is not counted: 2 sequences


# ---- the gradient ----------------------------------------------------------------------------


class HalfGradientMSE(MSE):
    """Forgets the 2 of d(r**2)/dr."""

    name = "half-gradient"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        result = super().loss_and_grad(ops, outputs, targets, weights, grad=grad, rng=rng)
        if grad:
            result.d_outputs = result.d_outputs * 0.5
        return result


class WrongWeightGradient(SampledSoftmax):
    """Sampled softmax whose gradient for the readout weight has the wrong sign."""

    name = "wrong-weight"

    def loss_and_grad_features(self, ops, features, weight, bias, targets, weights, *,
                               grad=True, rng=None):
        result = super().loss_and_grad_features(ops, features, weight, bias, targets, weights,
                                                grad=grad, rng=rng)
        if grad:
            result.d_weight = -1.0 * result.d_weight  # dense or row-sparse
        return result


class InPlaceCrossEntropy(CrossEntropy):
    """Subtracts the row maximum from the caller's array."""

    name = "in-place"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        outputs -= ops.max(outputs, axis=1, keepdims=True)
        return super().loss_and_grad(ops, outputs, targets, weights, grad=grad, rng=rng)


def test_a_wrong_gradient_is_caught():
    loss = HalfGradientMSE()
    with pytest.raises(AssertionError, match=r"d loss_sum / d outputs: differs by up to"):
        check_loss_gradients(loss, OPS, case_for(loss))


def test_a_wrong_readout_weight_gradient_of_a_features_loss_is_caught():
    loss = WrongWeightGradient(samples=3)
    with pytest.raises(AssertionError, match=r"d loss_sum / d weight"):
        check_loss_gradients(loss, OPS, case_for(loss))
    check_loss_gradients(SampledSoftmax(samples=3), OPS, case_for(loss))  # the original passes


def test_a_loss_that_writes_into_its_outputs_is_caught():
    loss = InPlaceCrossEntropy()
    with pytest.raises(AssertionError, match="wrote into its outputs"):
        check_loss_gradients(loss, OPS, case_for(loss))


def test_gradient_checks_refuse_float32():
    with pytest.raises(ValueError, match="float64"):
        check_loss_gradients(MSE(), NumpyOps(dtype="float32"), case_for(MSE()))


# ---- masking and the count -------------------------------------------------------------------


class WeightBlindMSE(MSE):
    """Scores every row, whatever its weight, but counts only the weighted ones."""

    name = "weight-blind"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        result = super().loss_and_grad(ops, outputs, targets, weights * 0.0 + 1.0, grad=grad)
        result.count = ops.sum(weights)
        return result


class RowCountMSE(MSE):
    """Counts every row, weighted or not."""

    name = "row-count"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        result = super().loss_and_grad(ops, outputs, targets, weights, grad=grad)
        result.count = float(outputs.shape[0])
        return result


class MeanMSE(MSE):
    """Returns the mean over counted rows instead of their sum."""

    name = "mean-mse"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        result = super().loss_and_grad(ops, outputs, targets, weights, grad=grad)
        result.loss_sum = result.loss_sum / result.count
        if grad:
            result.d_outputs = result.d_outputs / result.count
        return result


class MaskBlindSequenceMSE(SequenceMSE):
    """A per-sequence loss that reads the padded steps too."""

    name = "mask-blind"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        everything = weights * 0.0 + 1.0
        return super().loss_and_grad(ops, outputs, targets, everything, grad=grad)


class LabelCountingBag(LabelBag):
    """Counts labels instead of sequences."""

    name = "label-count"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        result = super().loss_and_grad(ops, outputs, targets, weights, grad=grad)
        result.count = float((ops.to_numpy(targets) != 0).sum())
        return result


def test_a_loss_that_ignores_the_weights_is_caught():
    loss = WeightBlindMSE()
    with pytest.raises(AssertionError, match="rows with weight 0 get a nonzero gradient"):
        check_loss_masking(loss, OPS, case_for(loss))
    check_loss_count(loss, OPS, case_for(loss))  # its count is right: only masking catches it


def test_a_wrong_count_is_caught():
    loss = RowCountMSE()
    with pytest.raises(AssertionError, match=r"count is 6.0; expected 4, the rows with weight 1"):
        check_loss_count(loss, OPS, case_for(loss))


def test_a_mean_instead_of_a_sum_is_caught():
    loss = MeanMSE()
    with pytest.raises(AssertionError, match="do not add up to the whole: loss_sum"):
        check_loss_count(loss, OPS, case_for(loss))


def test_a_per_sequence_loss_that_reads_the_padding_is_caught():
    loss = MaskBlindSequenceMSE()
    with pytest.raises(AssertionError, match="rows with weight 0 get a nonzero gradient"):
        check_loss_masking(loss, OPS, case_for(loss))


def test_a_per_sequence_loss_counting_labels_is_caught():
    loss = LabelCountingBag()
    with pytest.raises(AssertionError, match="expected 3, the sequences with a valid step"):
        check_loss_count(loss, OPS, case_for(loss))


def test_a_sampled_loss_draws_the_same_classes_for_every_check():
    loss = SampledSoftmax(samples=2)  # two draws out of 4 classes: rows differ by draw
    case = case_for(loss)
    check_loss_count(loss, OPS, case)  # halves add up only if both draw what the whole drew
    check_loss_masking(loss, OPS, case)


# ---- options, contract, combine --------------------------------------------------------------


class SwallowsOptions(MSE):
    """Takes any option without a word."""

    name = "swallows"
    options = (TaskOption("delta", float, 1.0, "a threshold"),)

    def __init__(self, **options):
        super().__init__(**{k: v for k, v in options.items() if k == "delta"})


class VagueOptions(MSE):
    """Refuses unknown options without saying which."""

    name = "vague"

    def __init__(self, **options):
        if options:
            raise ConfigError("bad options")
        super().__init__()


class FeaturesWithoutMethod(Loss):
    name = "no-method"
    needs = "features"


class StackingCombine(MSE):
    name = "stacking"

    def combine(self, outputs):
        return np.stack(outputs)


class FirstMemberCombine(MSE):
    name = "first-member"

    def combine(self, outputs):
        return np.asarray(outputs[0])


class ProbabilityCombine(CrossEntropy):
    """Returns the mean probability instead of logits whose softmax it is."""

    name = "probability-combine"

    def combine(self, outputs):
        stacked = np.stack(outputs)
        probs = np.exp(stacked) / np.exp(stacked).sum(axis=-1, keepdims=True)
        return probs.mean(axis=0)


def test_an_unknown_option_accepted_is_caught():
    with pytest.raises(AssertionError, match="no_such_option_for_conformance=1 was accepted"):
        check_loss_options(SwallowsOptions)


def test_an_option_error_that_does_not_name_the_option_is_caught():
    with pytest.raises(AssertionError, match="does not name the option: bad options"):
        check_loss_options(VagueOptions)


def test_options_of_the_builtins_are_checked_by_type_and_choice():
    check_loss_options(SampledSoftmax)  # samples (int), sampler (choices), alpha (float)
    with pytest.raises(ConfigError, match="'sampler'"):
        SampledSoftmax(sampler="not-one-of-the-choices")
    with pytest.raises(ConfigError, match="'samples'"):
        SampledSoftmax(samples="not-an-int")


def test_a_features_loss_without_its_method_is_caught():
    with pytest.raises(AssertionError, match="does not implement loss_and_grad_features"):
        check_loss_contract(FeaturesWithoutMethod)


@pytest.mark.parametrize("loss_cls, message", [
    (StackingCombine, r"gave \(3, 2, 4, 4\); expected finite values shaped like one member"),
    (FirstMemberCombine, "depends on the order of the members"),
    (ProbabilityCombine, "3 identical members combine to outputs scored"),
])
def test_a_wrong_combine_is_caught(loss_cls, message):
    loss = loss_cls()
    with pytest.raises(AssertionError, match=message):
        check_loss_combine(loss, case_for(loss))


def test_sampled_softmax_ensembles_average_class_probabilities():
    # Two members whose softmax probabilities are known: the ensemble's are their average.
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.3, 0.6])
    merged = SampledSoftmax().combine([np.log(p) + 3.0, np.log(q) - 1.0])  # any shift per member
    probs = np.exp(merged) / np.exp(merged).sum()
    np.testing.assert_allclose(probs, (p + q) / 2, rtol=1e-13)


# ---- backends --------------------------------------------------------------------------------


class SloppyExpOps(NumpyOps):
    """A backend whose exp is a short Taylor series: right near 0 only."""

    name = "sloppy-exp"

    def exp(self, x):
        return 1.0 + x + x * x / 2.0


@pytest.mark.parametrize("loss_cls", [CrossEntropy, LabelBag])
def test_a_backend_that_computes_the_loss_wrongly_fails_parity(loss_cls):
    loss = loss_cls()
    with pytest.raises(AssertionError, match="on sloppy-exp float64: loss_sum"):
        check_loss_parity(loss, SloppyExpOps(dtype="float64"), case_for(loss))


class CarelessMSE(MSE):
    """Treats every row as counted: scores, gradients and the count ignore the weights."""

    name = "careless"

    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        return super().loss_and_grad(ops, outputs, targets, weights * 0.0 + 1.0, grad=grad)


def test_every_failing_check_is_listed_not_just_the_first():
    with pytest.raises(AssertionError) as info:
        check_loss(CarelessMSE, backends=["numpy"])
    text = str(info.value)
    assert text.startswith("2 check(s) failed")
    assert "numpy float64 masking: loss 'careless'" in text
    assert "numpy float64 count: loss 'careless': numpy: count is 6.0; expected 4" in text


# ---- the pytest class, as an author uses it --------------------------------------------------

AUTHOR_TESTS = '''
from seqframe.testing import LossConformance
from tests.plugin_fixtures.loss_target import LabelBag
from tests.testing.test_loss_checks_catch_faults import HalfGradientMSE, RowCountMSE


class TestLabelBag(LossConformance):
    loss = LabelBag
    size = 4
    backends = ("numpy", "torch")


class TestHalfGradient(LossConformance):
    loss = HalfGradientMSE


class TestRowCount(LossConformance):
    loss = RowCountMSE
'''


def test_loss_conformance_subclasses_fail_exactly_where_the_loss_is_wrong(tmp_path):
    from tests.testing.test_suites_under_pytest import REPO

    (tmp_path / "test_author.py").write_text(AUTHOR_TESTS)
    # hide torch, as on a machine without it: importing it raises ModuleNotFoundError
    (tmp_path / "conftest.py").write_text("import sys\nsys.modules['torch'] = None\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error",
         "--rootdir", str(tmp_path), str(tmp_path / "test_author.py")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300)
    outcomes = dict(re.findall(r"::(\S+) (PASSED|FAILED|SKIPPED|ERROR)", result.stdout))
    assert not [name for name in outcomes if "Conformance" in name], outcomes
    bag = {k: v for k, v in outcomes.items() if k.startswith("TestLabelBag::")}
    assert bag.pop("TestLabelBag::test_registered") == "FAILED"  # not installed as a plugin
    assert bag.pop("TestLabelBag::test_gradients[torch]") == "SKIPPED"  # torch hidden
    assert {v for k, v in bag.items() if "[numpy" in k or "[" not in k} == {"PASSED", "SKIPPED"}
    assert outcomes["TestHalfGradient::test_gradients[numpy]"] == "FAILED"
    assert outcomes["TestHalfGradient::test_masking[numpy]"] == "PASSED"
    assert outcomes["TestHalfGradient::test_reduction_by_count[numpy]"] == "PASSED"
    assert outcomes["TestRowCount::test_reduction_by_count[numpy]"] == "FAILED"
    assert outcomes["TestRowCount::test_gradients[numpy]"] == "PASSED"
    assert outcomes["TestRowCount::test_contract"] == "PASSED"
