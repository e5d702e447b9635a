"""The IndRNN cell: seqframe's cell conformance suite, the bound, and independent oracles."""

import numpy as np
import pytest
from seqframe.cells import RNNCell
from seqframe.engine.bptt import forward, to_window, window_loss_and_grad
from seqframe.engine.model import Model, ModelConfig
from seqframe.task import Batch
from seqframe.testing import CellConformance, check_step_gradients, check_window_parity
from seqframe_numpy.ops import NumpyOps

from seqframe_indrnn.cell import IndRNNCell

SHAPE = dict(input_size=3, hidden_size=5, output_size=2, readout="every_step", loss="mse")


# --8<-- [start:conformance]
class TestIndRNN(CellConformance):
    cell = IndRNNCell  # own parameter weight_hh_diag: its gradient is checked too
# --8<-- [end:conformance]


# --8<-- [start:bounded]
class BoundedIndRNNCell(IndRNNCell):
    """|u| <= 2 ** (1 / T) for gradients over T = 100 steps (Li et al.'s rule for ReLU)."""

    name = "indrnn-bounded"  # a plugin registers it under this name, like IndRNNCell
    recurrent_bound = 2 ** (1 / 100)
# --8<-- [end:bounded]


def oracle(p, x, bound=None):
    """IndRNN by the paper's equation, one step at a time in plain NumPy: outputs (B, T, O)."""
    u = p["weight_hh_diag_l0"] if bound is None else np.clip(p["weight_hh_diag_l0"], -bound, bound)
    h = np.zeros((x.shape[0], u.shape[0]))
    outs = []
    for t in range(x.shape[1]):
        h = np.maximum(x[:, t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + u * h, 0.0)
        outs.append(h @ p["readout.weight"].T + p["readout.bias"])
    return np.stack(outs, axis=1)


def model_and_inputs(cell, seed=0):
    model = Model(ModelConfig(cell=cell.name, **SHAPE), cell)
    params = model.init_params(seed)
    x = np.random.default_rng(seed + 1).normal(size=(2, 7, 3))  # (B, T, D)
    return model, params, x


def test_the_forward_is_the_papers_equation():
    model, p, x = model_and_inputs(IndRNNCell())
    out, _ = forward(model, NumpyOps(dtype="float64"), p, x)
    assert np.allclose(out, oracle(p, x), rtol=1e-12, atol=1e-12)


def test_an_indrnn_is_torchs_relu_rnn_with_a_diagonal_recurrent_matrix():
    torch = pytest.importorskip("torch")
    model, p, x = model_and_inputs(IndRNNCell())
    rnn = torch.nn.RNN(3, 5, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(p["weight_ih_l0"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(p["bias_ih_l0"]))
        rnn.weight_hh_l0.copy_(torch.diag(torch.from_numpy(p["weight_hh_diag_l0"])))
        rnn.bias_hh_l0.zero_()
        h_torch, _ = rnn(torch.from_numpy(x))
    expected = h_torch.numpy() @ p["readout.weight"].T + p["readout.bias"]
    out, _ = forward(model, NumpyOps(dtype="float64"), p, x)
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_init_follows_li_et_al_for_relu():
    rng = np.random.default_rng(0)
    p = IndRNNCell().init_params(rng, 40, 300)
    assert p["weight_hh_diag"].min() >= 0 and p["weight_hh_diag"].max() < 1
    assert p["weight_hh_diag"].mean() == pytest.approx(0.5, abs=0.05)  # U(0, 1)
    assert np.abs(p["weight_ih"]).max() <= np.sqrt(6 / 40)  # He uniform, fan-in D = 40
    assert not p["bias_ih"].any()
    bounded = BoundedIndRNNCell().init_params(rng, 40, 300)["weight_hh_diag"]
    assert bounded.max() < 1.0  # the bound 2^(1/100) > 1 does not widen U(0, 1)


def test_no_dead_recurrent_matrix():
    model, p, _ = model_and_inputs(IndRNNCell())
    elman = Model(ModelConfig(cell="rnn", **SHAPE), RNNCell())
    assert {k for k in p if k.endswith("_l0")} == {
        "weight_ih_l0", "bias_ih_l0", "weight_hh_diag_l0"}
    count = sum(np.prod(s) for s in model.param_shapes().values())
    elman_count = sum(np.prod(s) for s in elman.param_shapes().values())
    assert elman_count - count == (5 * 5 + 5) - 5  # W_hh (H x H) and b_hh (H) become u (H)


def test_the_bound_clips_u_in_the_forward_and_stops_its_gradient():
    cell = BoundedIndRNNCell()
    bound = cell.recurrent_bound
    model, p, x = model_and_inputs(cell)
    p["weight_hh_diag_l0"] = np.array([0.3, 1.5, -2.0, bound, 0.9])  # two beyond the bound
    ops = NumpyOps(dtype="float64")
    out, _ = forward(model, ops, p, x)
    assert np.allclose(out, oracle(p, x, bound), rtol=1e-12, atol=1e-12)
    targets = np.random.default_rng(3).normal(size=(2, 7, 2))
    window = to_window(ops, Batch(x, targets, np.ones((2, 7), bool), np.ones(2, bool)))
    d_u = window_loss_and_grad(model, ops, p, window).grads["weight_hh_diag_l0"]
    assert d_u[1] == 0 and d_u[2] == 0 and np.all(d_u[[0, 4]] != 0)


def test_the_bounded_cell_passes_the_gradient_and_parity_checks():
    # own parameters drawn N(0, 1): some beyond the bound, where the gradient must be zero
    check_step_gradients(BoundedIndRNNCell(), NumpyOps(dtype="float64"))
    check_window_parity(NumpyOps(dtype="float32"), BoundedIndRNNCell())
