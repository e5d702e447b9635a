"""`seqframe check --embed/--tie-weights/--loss` through the CLI: the model around the cell
(token embedding, tied readout, sampled softmax) against finite differences, and on torch
against the numpy reference; planted bugs fail it (exit 1); bad flag combinations exit 2."""

from __future__ import annotations

import re

import numpy as np
import pytest

from seqframe.engine import bptt, inputs
from seqframe.losses import SampledSoftmax
from seqframe.rowsparse import RowSparse, dense
from tests.test_cli_check import lines


def test_embedding_tied_readout_and_sampled_softmax_pass_on_numpy(sf):
    code, out, _ = sf("check", "--backend", "numpy", "--cell", "gru", "--layers", "1",
                      "--embed", "4", "--tie-weights", "--loss", "sampled_softmax")
    assert code == 0, out
    assert lines(out) == {"numpy model gradients (1 layer, float64)": "PASS"}
    assert "token ids V=9 embedded E=4, padding id 0 (masked steps and a real step)" in out
    assert "tied readout" in out and "SampledSoftmax(samples=6" in out
    table = [line.split()[0] for line in out.splitlines() if line.startswith(("embedding",
                                                                             "readout"))]
    assert table == ["embedding.weight", "readout.bias"]  # tied: no readout.weight of its own


def test_ids_fed_one_hot_with_embed_zero(sf):
    code, out, _ = sf("check", "--cell", "rnn", "--layers", "1", "--embed", "0")
    assert code == 0, out
    assert "token ids V=9 one-hot" in out and "embedding.weight" not in out
    assert re.search(r"weight_ih_l0 +\(4, 9\)", out)  # the first layer reads 9 one-hot columns


@pytest.mark.torch
def test_torch_passes_and_matches_the_numpy_reference(sf):
    pytest.importorskip("torch")
    code, out, _ = sf("check", "--backend", "torch", "--cell", "rnn", "--layers", "1",
                      "--embed", "3", "--tie-weights", "--loss", "sampled_softmax")
    assert code == 0, out
    assert lines(out) == {
        "torch model gradients (1 layer, float64)": "PASS",
        "torch parity float64 with numpy float64 (generic and fused paths)": "PASS"}


def test_a_planted_embedding_bug_fails_the_check(sf, monkeypatch):
    def assigns(model, ops, params, window, d_inputs):  # an id read twice keeps one gradient
        steps, batch, width = d_inputs.shape
        grad = np.zeros(params["embedding.weight"].shape)
        grad[np.asarray(window.inputs).T.reshape(-1)] = d_inputs.reshape(steps * batch, width)
        grad[model.config.padding_id] = 0.0
        return grad

    monkeypatch.setattr(bptt, "embedding_grad", assigns)
    code, out, _ = sf("check", "--cell", "gru", "--layers", "1", "--embed", "3")
    assert code == 1
    assert lines(out) == {"numpy model gradients (1 layer, float64)": "FAIL"}
    assert "FAILED (embedding.weight)" in out
    assert inputs.embedding_grad is not assigns  # only the engine's reference was replaced


def test_a_planted_sampled_softmax_bug_fails_the_check(sf, monkeypatch):
    original = SampledSoftmax.loss_and_grad_features

    def bias_gradient_of_hits_kept(self, ops, features, weight, bias, targets, weights, *,
                                   grad=True, rng=None):
        state = None if rng is None else rng.bit_generator.state
        res = original(self, ops, features, weight, bias, targets, weights, grad=grad, rng=rng)
        if grad and state is not None:
            again = np.random.default_rng()
            again.bit_generator.state = state
            drawn = self.draw(again, weight.shape[0])
            hits = drawn[None, :] == np.asarray(targets)[:, None]
            res.d_bias = dense(ops, res.d_bias) + np.bincount(drawn, 0.5 * hits.sum(0), len(bias))
        return res

    monkeypatch.setattr(SampledSoftmax, "loss_and_grad_features", bias_gradient_of_hits_kept)
    code, out, _ = sf("check", "--cell", "rnn", "--layers", "1", "--embed", "3",
                      "--loss", "sampled_softmax")
    assert code == 1, out
    assert "FAILED (readout.bias)" in out


def test_row_sparse_gradients_pass_and_a_planted_coalescing_bug_fails(sf, monkeypatch):
    code, out, _ = sf("check", "--cell", "gru", "--layers", "1", "--embed", "4",
                      "--tie-weights", "--loss", "sampled_softmax", "--sparse-grads")
    assert code == 0, out
    assert "tied readout, row-sparse gradients" in out

    def keeps_one_of_each_row(cls, ops, shape, indices, values):  # repeats overwrite, not add
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        rows, last = np.unique(flat[::-1], return_index=True)
        picked = ops.take(values, ops.asarray(len(flat) - 1 - last, "int64"), axis=0)
        return cls(rows, picked, tuple(shape))

    monkeypatch.setattr(RowSparse, "scatter", classmethod(keeps_one_of_each_row))
    code, out, _ = sf("check", "--cell", "gru", "--layers", "1", "--embed", "4",
                      "--sparse-grads")
    assert code == 1, out
    assert "FAILED (embedding.weight)" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--sparse-grads",), "--sparse-grads checks row-sparse gradients of an embedding table or a "
                          "sampled readout: give --embed E or --loss sampled_softmax (and no "
                          "--seq2seq)."),
    (("--tie-weights",), "--tie-weights shares the embedding table with the readout, so it "
                         "needs token inputs and --embed E."),
    (("--embed", "4", "--parity", "torch"), "they do not combine with --parity or --grad-flow"),
    (("--loss", "hinge"), "unknown loss 'hinge'"),
    (("--embed", "4", "--dtype", "float32"), "cannot reach a relative tolerance of 1e-06"),
])
def test_bad_combinations_exit_2_and_say_why(sf, args, message):
    code, out, err = sf("check", *args)
    assert code == 2 and message in err and not out
