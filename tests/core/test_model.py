"""Model: PyTorch parameter names and shapes, init rule, state layout, clear config errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.engine.model import Model, ModelConfig
from seqframe.errors import ConfigError, ShapeError


def _model(cell=LSTMCell, **kw):
    base = dict(cell=cell.name, input_size=3, hidden_size=4, output_size=5)
    base.update(kw)
    return Model(ModelConfig(**base), cell())


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_names_and_shapes_are_pytorchs(cls):
    torch = pytest.importorskip("torch")
    model = _model(cls, layers=2, bidirectional=True)
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cls.name](
        3, 4, num_layers=2, bidirectional=True)
    expected = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    expected.update({"readout.weight": (5, 8), "readout.bias": (5,)})
    assert model.param_shapes() == expected
    assert list(model.param_shapes()) == list(expected)  # same order too


def test_gaussian_nll_doubles_the_readout():
    model = _model(loss="gaussian_nll", output_size=2)
    assert model.output_size == 4 and model.param_shapes()["readout.weight"] == (4, 4)


def test_init_is_deterministic_and_follows_the_rules():
    model = _model(layers=2, hidden_size=16)
    a, b = model.init_params(7), model.init_params(np.random.default_rng(7))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight_ih_l0"], model.init_params(8)["weight_ih_l0"])
    assert all(v.dtype == np.float64 and v.shape == s for (k, v), s in
               zip(a.items(), model.param_shapes().values(), strict=True))
    recurrent = np.concatenate([v.ravel() for k, v in a.items() if not k.startswith("readout")])
    assert np.abs(recurrent).max() <= 1 / math.sqrt(16)
    assert np.abs(a["readout.weight"]).max() <= 1 / math.sqrt(16)  # nn.Linear: 1/sqrt(fan_in)


def test_zero_state_layout():
    model = _model(GRUCell, layers=3, bidirectional=True)
    state = model.zero_state(NumpyOps("float32"), 2)
    assert len(state) == 3 and all(len(layer) == 2 for layer in state)
    assert all(len(cell) == 1 and cell[0].shape == (2, 4) for layer in state for cell in layer)
    model.check_state(state, 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"readout": "first"}, "unknown readout 'first'; expected one of every_step, last, mean, max"),
    ({"loss": "hinge"}, r"loss 'hinge' is not built in; pass its Loss instance to Model"),
    ({"embed": 8}, r"--embed 8 needs token inputs, but this task gives dense features"),
    ({"tokens": True, "padding_id": 7}, r"padding_id 7 is outside the input vocabulary \[0, 3\)"),
    ({"tokens": True, "tie_weights": True}, r"--tie-weights shares the embedding table"),
    ({"tokens": True, "embed": 4, "tie_weights": True, "output_size": 5},
     r"the embedding table of 3 input ids as the readout's weight, but the readout has 5 "),
    ({"tokens": True, "embed": 5, "tie_weights": True, "output_size": 3},
     r"--tie-weights needs --embed equal to the readout's input, hidden x directions = 4 x 1 = "
     r"4; got --embed 5. Use --embed 4 or --hidden 5."),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\); got 1.0"),
    ({"hidden_size": 0}, "model hidden_size must be a positive integer; got 0"),
    ({"layers": 1.5}, "model layers must be a positive integer; got 1.5"),
])
def test_bad_configs_say_what_is_allowed(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        _model(**kwargs)


def test_a_cell_class_instead_of_an_instance_is_explained():
    with pytest.raises(ConfigError, match="Pass e.g. LSTMCell\\(\\), not the class"):
        Model(ModelConfig("lstm", 3, 4, 5), LSTMCell)


def test_check_params_names_the_problem():
    model = _model()
    params = model.init_params(0)
    del params["bias_hh_l0"]
    with pytest.raises(ShapeError, match="parameter 'bias_hh_l0' is missing"):
        model.check_params(params)
    params = model.init_params(0)
    params["weight_hh_l0"] = np.zeros((16, 5))
    with pytest.raises(ShapeError, match=r"'weight_hh_l0' has shape \(16, 5\) but this model "
                                         r"expects \(16, 4\)"):
        model.check_params(params)


def test_check_state_explains_the_expected_layout():
    model = _model(layers=2)
    ops = NumpyOps("float64")
    with pytest.raises(ShapeError, match=r"expected 2 layer\(s\) x 1 direction\(s\) x 2 "
                                         r"array\(s\) \(h, c\) of shape \(3, 4\)"):
        model.check_state(model.zero_state(ops, 2), 3)
