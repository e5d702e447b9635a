"""Token inputs: the embedding lookup and its scatter-add backward by hand, whole models against
finite differences (padding id, repeated ids, tied readout), one-hot ids equal to one-hot
features bit for bit, bad ids refused, and planted bugs in the backward caught."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.diagnostics import gradcheck
from seqframe.diagnostics.gradcheck import check_gradients
from seqframe.engine import bptt, inputs
from seqframe.engine.model import Model, ModelConfig
from seqframe.engine.predictor import ModelPredictor
from seqframe.errors import DataError
from seqframe.losses import SampledSoftmax
from seqframe.task import Batch

OPS = NumpyOps("float64")


def _model(vocab=4, embed=2, padding_id=None, tie=False, hidden=3, **kw):
    config = ModelConfig("rnn", vocab, hidden, vocab, tokens=True, embed=embed,
                         padding_id=padding_id, tie_weights=tie, **kw)
    return Model(config, RNNCell())


def test_lookup_and_scatter_add_worked_out_by_hand():
    model = _model(padding_id=0)
    table = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (V=4, E=2)
    params = {"embedding.weight": table}
    ids = np.array([[1, 3, 1], [0, 1, 2]])  # (B=2, T=3): 1 three times, the padding id once
    window = bptt.to_window(OPS, Batch(ids, ids, np.ones((2, 3), bool), np.ones(2, bool)))
    x = inputs.first_layer_inputs(model, OPS, params, window)  # (T, B, E), time-major
    np.testing.assert_array_equal(x[:, 0], table[[1, 3, 1]])
    np.testing.assert_array_equal(x[:, 1], table[[0, 1, 2]])
    d_x = np.arange(12.0).reshape(3, 2, 2)  # dLoss/dx at (t, b)
    grad = inputs.embedding_grad(model, OPS, params, window, d_x)
    # row 1 was read at (t=0, b=0), (t=2, b=0) and (t=1, b=1): the three gradients add up
    want = np.zeros((4, 2))
    want[1] = d_x[0, 0] + d_x[2, 0] + d_x[1, 1]
    want[3] = d_x[1, 0]
    want[2] = d_x[2, 1]
    # row 0 is the padding id: read at (t=0, b=1), but it never learns
    np.testing.assert_array_equal(grad, want)


@pytest.mark.parametrize(("cell", "options"), [
    (LSTMCell, dict(embed=5)),
    (GRUCell, dict(embed=4, tie_weights=True)),
    (RNNCell, dict(embed=4, tie_weights=True, bidirectional=False, readout="mean",
                   loss="sampled_softmax")),
    (GRUCell, dict(embed=4, tie_weights=True, bidirectional=True, layers=1)),
    (LSTMCell, dict(tokens=True, padding_id=None)),  # ids fed one-hot
    (RNNCell, dict(embed=3, padding_id=None, readout="last", loss="sampled_softmax")),
])
def test_models_with_token_inputs_pass_the_gradient_check(cell, options):
    report = check_gradients(OPS, cell, **{"layers": 1, **options})
    assert report.passed, report.format()
    if options.get("embed"):
        assert report.rows[0].name == "embedding.weight" and report.rows[0].max_grad > 0
    if options.get("tie_weights"):
        assert "readout.weight" not in [r.name for r in report.rows]


def test_the_check_window_repeats_ids_and_pads_real_and_masked_steps():
    model = Model(ModelConfig("gru", 9, 4, 9, tokens=True, embed=4, padding_id=0), GRUCell())
    mask = np.ones((3, 5), bool)
    mask[1, 3:] = False
    mask[2, 1] = False
    ids = gradcheck._inputs(model, np.random.default_rng(0), mask)
    assert (ids[~mask] == 0).all() and ids[0, 2] == 0  # masked steps and one real step
    counts = np.bincount(ids[mask], minlength=9)
    assert (counts[1:] >= 1).sum() >= 5 and counts[1:].max() >= 2  # ids read more than once
    # the sampled softmax of the check draws repeats, and hits some targets
    drawn = SampledSoftmax(samples=gradcheck.CHECK_SAMPLES).draw(np.random.default_rng(2), 9)
    assert len(set(drawn)) < len(drawn)


def test_the_padding_row_starts_at_zero_and_never_learns_from_lookups():
    model = _model(vocab=5, embed=3, padding_id=2)
    params = model.init_params(0)
    assert not params["embedding.weight"][2].any() and params["embedding.weight"][3].any()
    ids = np.array([[2, 2, 1, 2]])  # the padding id at real steps
    batch = Batch(ids, np.array([[1, 3, 4, 0]]), np.ones((1, 4), bool), np.ones(1, bool))
    result = bptt.window_loss_and_grad(model, OPS, params, bptt.to_window(OPS, batch))
    assert not result.grads["embedding.weight"][2].any()
    assert result.grads["embedding.weight"][1].any()


def test_tied_padding_row_keeps_the_readout_gradient():
    """Tied, the padding row is also class 2's readout weight: that part still flows."""
    model = _model(vocab=5, embed=3, padding_id=2, tie=True)
    params = model.init_params(0)
    batch = Batch(np.array([[2, 1, 2]]), np.array([[2, 3, 4]]), np.ones((1, 3), bool),
                  np.ones(1, bool))
    result = bptt.window_loss_and_grad(model, OPS, params, bptt.to_window(OPS, batch))
    assert result.grads["embedding.weight"][2].any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ids_fed_one_hot_equal_one_hot_features_bit_for_bit(dtype):
    ops = NumpyOps(dtype)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, size=(4, 7))
    targets = rng.integers(0, 6, size=(4, 7))
    mask, reset = np.ones((4, 7), bool), np.zeros(4, bool)
    cell = LSTMCell()
    tokens = Model(ModelConfig("lstm", 6, 5, 6, tokens=True), cell)
    dense = Model(ModelConfig("lstm", 6, 5, 6), cell)
    params = {k: ops.asarray(v) for k, v in dense.init_params(1).items()}
    onehot = np.eye(6, dtype=np.float32)[ids]  # what a task writing one-hot rows feeds
    a = bptt.window_loss_and_grad(tokens, ops, params,
                                  bptt.to_window(ops, Batch(ids, targets, mask, reset)))
    b = bptt.window_loss_and_grad(dense, ops, params,
                                  bptt.to_window(ops, Batch(onehot, targets, mask, reset)))
    assert ops.item(a.loss_sum) == ops.item(b.loss_sum)
    for name in b.grads:
        np.testing.assert_array_equal(a.grads[name], b.grads[name])
    np.testing.assert_array_equal(a.outputs, b.outputs)


def test_ids_outside_the_vocabulary_are_refused_with_the_id():
    model = _model(vocab=5, embed=2)
    params = model.init_params(0)
    batch = Batch(np.array([[1, 5]]), np.array([[1, 2]]), np.ones((1, 2), bool), np.ones(1, bool))
    with pytest.raises(DataError, match=r"a token id is 5, outside the input vocabulary \[0, 5\)"):
        bptt.window_loss_and_grad(model, OPS, params, bptt.to_window(OPS, batch))
    with pytest.raises(DataError, match="a token id is -1"):
        ModelPredictor(model, OPS, params).predict(np.array([[0, -1]]))


# ---- planted bugs: the gradient check must fail -----------------------------------------------


def _assigns(model, ops, params, window, d_inputs):
    """Bug: the rows are written, not added, so an id read twice keeps one gradient."""
    steps, batch, width = d_inputs.shape
    ids = np.asarray(window.inputs).T.reshape(-1)
    grad = np.zeros(params["embedding.weight"].shape)
    grad[ids] = np.reshape(d_inputs, (steps * batch, width))
    if model.config.padding_id is not None:
        grad[model.config.padding_id] = 0.0
    return grad


def _forgets_padding(model, ops, params, window, d_inputs):
    """Bug: the padding row learns from its lookups like any other row."""
    steps, batch, width = d_inputs.shape
    ids = ops.reshape(ops.permute_dims(window.inputs, (1, 0)), (steps * batch,))
    return ops.index_add(ops.zeros_like(params["embedding.weight"]), ids,
                         ops.reshape(d_inputs, (steps * batch, width)))


@pytest.mark.parametrize("bug", [_assigns, _forgets_padding])
@pytest.mark.parametrize("tie", [False, True])
def test_planted_embedding_backward_bugs_fail_the_check(monkeypatch, bug, tie):
    monkeypatch.setattr(bptt, "embedding_grad", bug)
    report = check_gradients(OPS, GRUCell, layers=1, embed=4, tie_weights=tie)
    assert not report.passed and report.failing() == ["embedding.weight"], report.format()


def test_clearing_the_tied_padding_row_fails_the_check(monkeypatch):
    original = bptt.window_loss_and_grad

    def clears_padding_row(model, *args, **kwargs):
        result = original(model, *args, **kwargs)
        grad = np.array(result.grads["embedding.weight"], copy=True)
        grad[model.config.padding_id] = 0.0
        result.grads["embedding.weight"] = grad
        return result

    monkeypatch.setattr(gradcheck, "window_loss_and_grad", clears_padding_row)
    report = check_gradients(OPS, GRUCell, layers=1, embed=4, tie_weights=True)
    assert report.failing() == ["embedding.weight"], report.format()
