"""torch.nn as the oracle: seqframe models loaded with the same weights compute the same thing.

Parameter names are PyTorch's, so a seqframe parameter dict is a ``state_dict`` for
``nn.RNN``/``nn.LSTM``/``nn.GRU`` plus an ``nn.Linear`` readout. Outputs of the eval forward and
the gradients of a training window (both paths) must agree with torch.nn's own autograd.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.engine import bptt  # noqa: E402
from tests.plugins.torch.window_cases import make_case, random_state  # noqa: E402

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def torch_nn_model(model, params):
    """``nn.RNN``/``LSTM``/``GRU`` + ``nn.Linear`` holding ``params`` (float64)."""
    cfg = model.config
    rnn = MODULES[cfg.cell](cfg.input_size, cfg.hidden_size, num_layers=cfg.layers,
                            bidirectional=cfg.bidirectional, batch_first=True).double()
    head = torch.nn.Linear(model.feature_size, model.output_size).double()
    rnn.load_state_dict({k: torch.tensor(v) for k, v in params.items() if "readout" not in k})
    head.load_state_dict({"weight": torch.tensor(params["readout.weight"]),
                          "bias": torch.tensor(params["readout.bias"])})
    return rnn, head


def nn_state(model, state):
    """seqframe's nested state -> torch.nn's (layers * directions, B, H) hx (tuple for LSTM)."""
    parts = len(model.cell.state_names)
    stacked = [torch.stack([cell[i] for layer in state for cell in layer]) for i in range(parts)]
    return tuple(stacked) if parts == 2 else stacked[0]


@pytest.fixture(scope="module")
def ops():
    return TorchOps(dtype="float64", device="cpu", fused=False)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_eval_forward_matches_torch_nn(ops, cell, bidirectional):
    model, params, batch = make_case(cell, layers=2, bidirectional=bidirectional, masks="none")
    state = random_state(ops, model, batch.batch_size)
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    outputs, final = bptt.forward(model, ops, device_params, ops.asarray(batch.inputs),
                                  state=state)
    rnn, head = torch_nn_model(model, params)
    with torch.no_grad():
        seq, h_n = rnn(torch.tensor(batch.inputs), nn_state(model, state))
        want = head(seq)
    torch.testing.assert_close(outputs, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(nn_state(model, final), h_n, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_window_gradients_match_torch_nn_autograd(cell, fused):
    ops = TorchOps(dtype="float64", device="cpu", fused=fused)
    model, params, batch = make_case(cell, layers=2, bidirectional=True, masks="none")
    batch.reset[:] = False  # torch.nn has no per-row reset; start every row from `state`
    state = random_state(ops, model, batch.batch_size)
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    window = bptt.to_window(ops, batch)
    recurrence = ops.fused_recurrence(model.cell) if fused else None
    result = bptt.window_loss_and_grad(model, ops, device_params, window, state,
                                       fused=recurrence)

    rnn, head = torch_nn_model(model, params)
    logits = head(rnn(torch.tensor(batch.inputs), nn_state(model, state))[0])
    loss = F.cross_entropy(logits.reshape(-1, model.output_size),
                           torch.tensor(batch.targets).reshape(-1), reduction="sum")
    loss.backward()
    want = {k: p.grad for k, p in rnn.named_parameters()}
    want.update({"readout.weight": head.weight.grad, "readout.bias": head.bias.grad})
    torch.testing.assert_close(result.loss_sum, loss.detach(), rtol=1e-12, atol=0)
    assert set(result.grads) == set(want)
    for name, grad in want.items():
        torch.testing.assert_close(result.grads[name], grad, rtol=1e-10, atol=1e-12, msg=name)


def test_fused_parameters_load_back_into_torch_nn():
    """A parameter dict the torch backend trained is a valid torch.nn state dict."""
    model, params, _ = make_case("gru", layers=2)
    rnn, head = torch_nn_model(model, params)
    for name, value in rnn.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), params[name])
