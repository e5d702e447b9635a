"""The conformance checks fail on plugins that break the contract, and say what broke.

Each test plants one fault in an otherwise correct backend, cell or task and expects the check
that guards it to raise AssertionError naming the fault.
"""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.cells import Cell, GRUCell, LayerNormLSTMCell, RNNCell
from seqframe.cells.layernorm import layer_norm_backward
from seqframe.task import Batch, ModelSpec, Task, TaskOption
from seqframe.testing import (
    FunctionPredictor,
    MetricCase,
    check_ops,
    check_step_gradients,
    check_task,
    check_window_gradients,
    check_window_parity,
)
from seqframe.testing.cellcheck import check_cell_contract, run_checks
from seqframe.testing.neutrality import check_backend_neutrality

# ---- backends --------------------------------------------------------------------------------


class NaiveSigmoidOps(NumpyOps):
    name = "naive"

    def sigmoid(self, x):
        return 1.0 / (1.0 + np.exp(-x))  # overflows exp for x < -709


class SplitOffByOneOps(NumpyOps):
    name = "offbyone"

    def split(self, x, sizes, axis=-1):
        return np.array_split(x, len(sizes), axis=axis)  # ignores the sizes


class SloppyTanhOps(NumpyOps):
    name = "sloppy"

    def tanh(self, x):
        return np.clip(x, -1, 1)  # a "fast tanh" that is only right near 0


def test_a_sigmoid_that_overflows_is_caught():
    with pytest.raises(AssertionError, match="sigmoid_does_not_overflow"):
        check_ops(NaiveSigmoidOps(dtype="float64"))


def test_split_that_ignores_sizes_is_caught():
    with pytest.raises(AssertionError, match=r"concat_stack_split: split\(\[2, 4, 1\]"):
        check_ops(SplitOffByOneOps(dtype="float32"))


def test_every_failing_behaviour_is_listed_not_just_the_first():
    with pytest.raises(AssertionError) as info:
        check_ops(SloppyTanhOps(dtype="float64"), only=["unary_functions", "zeros", "matmul"])
    assert "1 check(s) failed" in str(info.value) and "tanh(x)" in str(info.value)


def test_a_wrong_backend_fails_window_parity_with_numpy():
    with pytest.raises(AssertionError, match=r"sloppy float64 gru .*generic: loss_sum"):
        check_window_parity(SloppyTanhOps(dtype="float64"), GRUCell())


# ---- cells -----------------------------------------------------------------------------------


class ForgetfulBackwardCell(RNNCell):
    """tanh RNN whose backward forgets the tanh derivative."""

    name = "forgetful"

    def step_backward(self, ops, d_state, cache):
        return d_state[0], d_state[0], (ops.zeros_like(cache),)


class InPlaceCell(RNNCell):
    name = "inplace"

    def step(self, ops, xp, hp, state):
        xp += hp  # writes into the caller's projection
        h = ops.tanh(xp)
        return (h,), h


class TwoStateCell(RNNCell):
    name = "twostate"
    state_names = ("h", "c")  # but step returns one array


def test_a_wrong_step_backward_fails_the_step_check():
    with pytest.raises(AssertionError, match=r"forgetful: d_xp: differs"):
        check_step_gradients(ForgetfulBackwardCell(), NumpyOps(dtype="float64"))


def test_a_wrong_step_backward_fails_the_window_check():
    with pytest.raises(AssertionError, match=r"forgetful on numpy float64"):
        check_window_gradients(NumpyOps(dtype="float64"), ForgetfulBackwardCell())


def test_a_cell_writing_into_its_inputs_is_caught():
    with pytest.raises(AssertionError, match="wrote into its xp"):
        check_step_gradients(InPlaceCell(), NumpyOps(dtype="float64"))


def test_a_state_layout_mismatch_is_caught():
    with pytest.raises(AssertionError, match=r"expected a tuple of 2 arrays \(h, c\)"):
        check_step_gradients(TwoStateCell(), NumpyOps(dtype="float64"))


def test_finite_differences_refuse_float32():
    with pytest.raises(ValueError, match="need a float64 Ops"):
        check_step_gradients(RNNCell(), NumpyOps(dtype="float32"))


def test_bad_state_names_are_caught():
    class NoH(RNNCell):
        name = "noh"
        state_names = ("c",)

    with pytest.raises(AssertionError, match="first entry is 'h'"):
        check_cell_contract(NoH)


def test_run_checks_reports_every_check_and_turns_any_exception_into_a_failure():
    def wrong():
        raise AssertionError("d_xp differs\nworst at index (0, 1)")

    results = run_checks([("raises", lambda: {}["missing"]), ("asserts", wrong),
                          ("passes", lambda: None)])
    assert [(r.name, r.status) for r in results] == [
        ("raises", "FAIL"), ("asserts", "FAIL"), ("passes", "PASS")]
    assert results[0].line() == "FAIL raises: raised KeyError: 'missing'"
    assert results[1].line() == "FAIL asserts: d_xp differs"  # the first line only
    assert results[2].line() == "PASS passes"


# ---- cells with their own parameters -------------------------------------------------------


class DiagonalCell(Cell):
    """``h = tanh(xp + u * h_prev)``: own parameter ``u`` (H,), no W_hh. Correct."""

    name = "diagonal"
    gates = 1
    recurrent = False

    def own_param_shapes(self, input_size, hidden_size):
        return {"u": (hidden_size,)}

    def step(self, ops, xp, hp, state, params):
        h_prev, u = state[0], params["u"]
        h = ops.tanh(xp + u * h_prev)
        return (h,), (h, h_prev, u)

    def step_backward(self, ops, d_state, cache):
        h, h_prev, u = cache
        d_a = d_state[0] * (1.0 - h * h)
        return d_a, None, (d_a * u,), {"u": self.d_u(ops, d_a, h_prev)}

    def d_u(self, ops, d_a, h_prev):
        return ops.sum(d_a * h_prev, axis=0)  # (H,): u is shared by every row


class WrongOwnGradientCell(DiagonalCell):
    name = "wrongown"

    def d_u(self, ops, d_a, h_prev):
        return ops.sum(d_a, axis=0)  # forgets the factor h_prev


class UnsummedOwnGradientCell(DiagonalCell):
    name = "unsummed"

    def d_u(self, ops, d_a, h_prev):
        return d_a * h_prev  # (B, H): one gradient per row, never summed over the batch


class MissingOwnGradientCell(DiagonalCell):
    name = "missingown"

    def step_backward(self, ops, d_state, cache):
        return super().step_backward(ops, d_state, cache)[:3]  # no d_params


class WrongCellStateGainLSTM(LayerNormLSTMCell):
    """The layer-normalised LSTM with one planted bug: the gain of the cell-state LN gets the
    gradient of the LN bias (the normalised value left out)."""

    name = "wronggain"

    def step_backward(self, ops, d_state, cache):
        d_xp, d_hp, d_prev, d_params = super().step_backward(ops, d_state, cache)
        d_h = d_state[0]
        act, tanh_c, cache_c = cache[0], cache[2], cache[5]
        o = act[:, 3 * tanh_c.shape[-1]:]
        d_params["ln_weight_c"] = layer_norm_backward(ops, d_h * o * (1 - tanh_c**2), cache_c)[2]
        return d_xp, d_hp, d_prev, d_params


def test_a_correct_cell_with_own_parameters_passes():
    ops = NumpyOps(dtype="float64")
    check_cell_contract(DiagonalCell)
    check_step_gradients(DiagonalCell(), ops)
    check_window_gradients(ops, DiagonalCell())
    check_window_parity(NumpyOps(dtype="float32"), DiagonalCell())
    check_backend_neutrality(DiagonalCell(), ops)


def test_a_wrong_own_parameter_gradient_fails_the_step_and_window_checks():
    with pytest.raises(AssertionError, match=r"wrongown: d_params\['u'\]: differs"):
        check_step_gradients(WrongOwnGradientCell(), NumpyOps(dtype="float64"))
    # the finer steps a curved forward gets do not rescue a wrong backward
    with pytest.raises(AssertionError, match=r"wrongown on numpy float64[\s\S]*FAILED \(u_l0"):
        check_window_gradients(NumpyOps(dtype="float64"), WrongOwnGradientCell())


def test_a_wrong_gain_gradient_in_the_layer_normalised_lstm_is_caught():
    with pytest.raises(AssertionError, match=r"wronggain: d_params\['ln_weight_c'\]: differs"):
        check_step_gradients(WrongCellStateGainLSTM(), NumpyOps(dtype="float64"))


def test_an_own_parameter_gradient_not_summed_over_the_batch_is_caught():
    with pytest.raises(AssertionError, match=r"d_params\['u'\]: shape \(2, 3\), expected \(3,\)"):
        check_step_gradients(UnsummedOwnGradientCell(), NumpyOps(dtype="float64"))


def test_a_missing_own_parameter_gradient_is_caught():
    with pytest.raises(AssertionError, match=r"returned gradients for \[\]; the cell declares "
                                             r"own parameters \['u'\]"):
        check_step_gradients(MissingOwnGradientCell(), NumpyOps(dtype="float64"))


def test_an_own_parameter_named_like_a_projection_is_caught():
    class Clash(DiagonalCell):
        name = "clash"

        def own_param_shapes(self, input_size, hidden_size):
            return {"weight_hh": (hidden_size,)}  # the engine would read it as W_hh

    with pytest.raises(AssertionError, match=r"declares \['weight_hh'\], a projection's name"):
        check_cell_contract(Clash)


def test_a_cell_without_biases_must_not_declare_them():
    class StrayBias(DiagonalCell):
        name = "straybias"
        bias = False  # yet param_shapes below still lists bias_ih

        def param_shapes(self, input_size, hidden_size):
            return {"weight_ih": (hidden_size, input_size), "bias_ih": (hidden_size,),
                    "u": (hidden_size,)}

    with pytest.raises(AssertionError, match=r"bias=False"):
        check_cell_contract(StrayBias)


# ---- tasks -----------------------------------------------------------------------------------


class CountTask(Task):
    """Count the ones in a 0/1 sequence (readout last, mse): small, correct, easy to break."""

    name = "count"
    options = (TaskOption("length", int, 5, "steps"),)
    metric = "mse"

    def prepare(self, state=None):
        rng = np.random.default_rng(7)
        self.x = {s: rng.integers(0, 2, size=(n, self.opts["length"], 1)).astype(float)
                  for s, n in (("train", 12), ("val", 6), ("test", 6))}
        return ModelSpec(input_size=1, output_size=1, readout="last", loss="mse")

    def state_dict(self):
        return {"length": self.opts["length"]}

    def batch(self, x):
        return Batch(x, x.sum(axis=1), np.ones(x.shape[:2], bool), np.ones(len(x), bool))

    def train_batches(self, epoch, batch_size, seed):
        order = np.random.default_rng([seed, epoch]).permutation(12)
        x = self.x["train"][order]
        return [self.batch(x[i:i + batch_size]) for i in range(0, 12, batch_size)]

    def evaluate(self, predictor, split):
        x = self.x[split]
        out, _ = predictor.predict(x)
        return {"mse": float(np.mean((out - x.sum(axis=1)) ** 2))}


def counting(x, mask):
    return x.sum(axis=1)  # the exact answer


def test_a_correct_task_passes():
    check_task(CountTask, metric_cases=lambda task: [
        MetricCase("val", FunctionPredictor(counting), {"mse": 0.0})])


class UnseededTask(CountTask):
    def train_batches(self, epoch, batch_size, seed):
        order = np.random.permutation(12)  # global RNG: a resumed run sees other batches
        x = self.x["train"][order]
        return [self.batch(x[i:i + batch_size]) for i in range(0, 12, batch_size)]


class FloatMaskTask(CountTask):
    def batch(self, x):
        return Batch(x, x.sum(axis=1), np.ones(x.shape[:2]), np.ones(len(x), bool))


class NumpyStateTask(CountTask):
    def state_dict(self):
        return {"mean": np.zeros(3)}


class CarryingTask(CountTask):
    def batch(self, x):
        return Batch(x, x.sum(axis=1), np.ones(x.shape[:2], bool), np.zeros(len(x), bool))


class WrongMetricNameTask(CountTask):
    def evaluate(self, predictor, split):
        return {"mean_squared_error": super().evaluate(predictor, split)["mse"]}


class ShiftedMemberTask(CountTask):
    def member_options(self, member):
        return {"length": self.opts["length"] + member + 1}  # member 0 is not the plain run


@pytest.mark.parametrize("task_cls, message", [
    (ShiftedMemberTask, r"member options: .*member_options\(0\) = \{'length': 6\} changes the "
                        r"task's own options"),
    (UnseededTask, r"determinism: .*epoch 0: batch 0 inputs differ"),
    (FloatMaskTask, r"mask is float64 \(3, 5\); expected bool"),
    (NumpyStateTask, "state_dict\\(\\) is not JSON-serialisable"),
    (CarryingTask, "reset must be all True for a task that is not stateful"),
    (WrongMetricNameTask, r"has no 'mse' \(the task's `metric`"),
])
def test_a_broken_task_is_caught(task_cls, message):
    with pytest.raises(AssertionError, match=message):
        check_task(task_cls, batch_size=3)


class TokenCountTask(CountTask):
    """The same count with token inputs: ids 0/1 (B, T), class frequencies as an array."""

    def prepare(self, state=None):
        super().prepare(state)
        self.x = {s: x[..., 0].astype(np.int64) for s, x in self.x.items()}
        return ModelSpec(input_size=2, output_size=1, readout="last", loss="mse", tokens=True,
                         class_frequencies=np.bincount(self.x["train"].ravel(), minlength=2))

    def batch(self, x):
        return Batch(x, x.sum(axis=1, keepdims=True).astype(float), np.ones(x.shape, bool),
                     np.ones(len(x), bool))

    def evaluate(self, predictor, split):
        x = self.x[split]
        out, _ = predictor.predict(x)
        return {"mse": float(np.mean((out[:, 0] - x.sum(axis=1)) ** 2))}


class OneHotToThePredictorTask(TokenCountTask):
    def evaluate(self, predictor, split):
        x = self.x[split]
        out, _ = predictor.predict(np.eye(2)[x])  # one-hot rows to a model that reads ids
        return {"mse": float(np.mean((out[:, 0] - x.sum(axis=1)) ** 2))}


def test_a_token_task_passes_and_one_hot_rows_to_its_predictor_are_caught():
    check_task(TokenCountTask, batch_size=3)
    with pytest.raises(AssertionError, match=r"passed inputs of shape \(6, 5, 2\); the task "
                                             r"declares token inputs, so expected ids \(B, T\)"):
        check_task(OneHotToThePredictorTask, batch_size=3)


def test_a_wrong_metric_is_caught_by_the_hand_computed_case():
    off_by_one = FunctionPredictor(lambda x, mask: x.sum(axis=1) + 1.0)
    with pytest.raises(AssertionError, match=r"mse = 1\.0 on val, expected 0\.5"):
        check_task(CountTask, metric_cases=lambda task: [
            MetricCase("val", off_by_one, {"mse": 0.5})])


def test_an_unknown_option_must_be_rejected():
    class Lenient(CountTask):
        @classmethod
        def parse_options(cls, raw):
            return {"length": int(raw.get("length", 5))}

    with pytest.raises(AssertionError, match="an unknown -o option was accepted"):
        check_task(Lenient)
